/**
 * The resolved model as plain JSON (schemas/resolved-model.schema.json).
 *
 * - CPU and node sets are libvirt canonical strings (`0-3,8`); `""` is the
 *   empty set. Symbolic masks are the strings `all` and `numad` (and
 *   `nodes` for an initial affinity that is "the CPUs of these host nodes"
 *   while the host's node → CPU map is unknown).
 * - 64-bit values (shares, periods, quotas) are JSON numbers when they are
 *   safe integers — always the case for values libvirt accepts at start
 *   (quota ≤ 17592186044415 < 2^53) — and decimal strings otherwise, so
 *   nothing is ever rounded.
 */
import type { CpuSet } from '../cpuset/index.js';
import type { NumaMode, Placement, Scheduler } from '../domain/types.js';
import type {
  BandwidthRule,
  CpuRule,
  ElementPointer,
  GuestCellRule,
  InitialAffinityRule,
  MemoryRule,
  Provenance,
  ResctrlRule,
  ResolvedModel,
  ResolvedThread,
  ResolveNote,
  SchedRule,
} from './types.js';

/** A 64-bit integer: a number when exact, else a decimal string. */
export type BigIntJson = number | string;

export interface ProvenanceJson<R extends string = string> {
  rule: R;
  element?: ElementPointer;
  because: string;
}

export interface ThreadJson {
  /** Canonical cpuset, or `all` / `numad` while symbolic. */
  cpus: string;
  source: CpuRule;
  provenance: ProvenanceJson<CpuRule>;
  cgroupCpus: boolean;
  memoryNodes?: { nodes: string; provenance: ProvenanceJson<MemoryRule> };
  sched?: { scheduler: Scheduler; priority?: number; provenance: ProvenanceJson<SchedRule> };
  bandwidth?: { period?: BigIntJson; quota?: BigIntJson; provenance: ProvenanceJson<BandwidthRule> };
}

export interface VcpuJson extends ThreadJson {
  id: number;
  online: boolean;
  hotpluggable: boolean;
  order?: number;
  guestCell?: { id: number; provenance: ProvenanceJson<GuestCellRule> };
  resctrl?: { kind: ResctrlRule; vcpus: string; provenance: ProvenanceJson<ResctrlRule> }[];
}

export interface IOThreadJson extends ThreadJson {
  id: number;
  autofilled: boolean;
}

export interface ResolvedModelJson {
  schemaVersion: 1;
  file?: string;
  domain: { name?: string; type?: string };
  driver: 'qemu' | 'generic';
  hostFacts: boolean;
  allCpus: string;
  maxVcpus: number;
  placement: {
    vcpu: Placement;
    memory?: Placement;
    promoted: boolean;
    implicitNumatune: boolean;
    numadAdvice: boolean;
    numadNodeset?: string;
    numadCpus?: string;
    numadMemoryNodes?: string;
  };
  vcpus: VcpuJson[];
  emulator: ThreadJson;
  iothreads: IOThreadJson[];
  initialAffinity: { cpus: string; nodes?: string; source: InitialAffinityRule; provenance: ProvenanceJson<InitialAffinityRule> };
  memory: {
    mode?: NumaMode;
    placement?: Placement;
    nodes?: string;
    implicit: boolean;
    element?: ElementPointer;
    memnodes: { cellid: number; mode: NumaMode; nodes: string; element: ElementPointer }[];
  };
  domainBandwidth: { shares?: BigIntJson; globalPeriod?: BigIntJson; globalQuota?: BigIntJson };
  notes: ResolveNote[];
}

function mask(m: CpuSet | string): string {
  return typeof m === 'string' ? m : m.toString();
}

/** A bigint as JSON: a number when it is exactly representable, else its decimal string. */
export function bigIntJson(v: bigint): BigIntJson {
  const n = Number(v);
  return Number.isSafeInteger(n) && BigInt(n) === v ? n : v.toString();
}

function prov<R extends string>(p: Provenance<R>): ProvenanceJson<R> {
  return {
    rule: p.rule,
    ...(p.element ? { element: { path: p.element.path, line: p.element.line, column: p.element.column } } : {}),
    because: p.because,
  };
}

function threadJson(t: ResolvedThread): ThreadJson {
  const out: ThreadJson = { cpus: mask(t.cpus), source: t.source, provenance: prov(t.provenance), cgroupCpus: t.cgroupCpus };
  if (t.memoryNodes) out.memoryNodes = { nodes: mask(t.memoryNodes.nodes), provenance: prov(t.memoryNodes.provenance) };
  if (t.sched) {
    out.sched = {
      scheduler: t.sched.scheduler,
      ...(t.sched.priority !== undefined ? { priority: t.sched.priority } : {}),
      provenance: prov(t.sched.provenance),
    };
  }
  if (t.bandwidth) {
    out.bandwidth = {
      ...(t.bandwidth.period !== undefined ? { period: bigIntJson(t.bandwidth.period) } : {}),
      ...(t.bandwidth.quota !== undefined ? { quota: bigIntJson(t.bandwidth.quota) } : {}),
      provenance: prov(t.bandwidth.provenance),
    };
  }
  return out;
}

/** Plain JSON form of a resolved model; `JSON.stringify` of it is stable. */
export function toJSON(r: ResolvedModel): ResolvedModelJson {
  const p = r.placement;
  return {
    schemaVersion: 1,
    ...(r.file !== undefined ? { file: r.file } : {}),
    domain: { ...(r.domain.name !== undefined ? { name: r.domain.name } : {}), ...(r.domain.type !== undefined ? { type: r.domain.type } : {}) },
    driver: r.driver,
    hostFacts: r.hostFacts,
    allCpus: mask(r.allCpus),
    maxVcpus: r.maxVcpus,
    placement: {
      vcpu: p.vcpu,
      ...(p.memory !== undefined ? { memory: p.memory } : {}),
      promoted: p.promoted,
      implicitNumatune: p.implicitNumatune,
      numadAdvice: p.numadAdvice,
      ...(p.numadNodeset ? { numadNodeset: p.numadNodeset.toString() } : {}),
      ...(p.numadCpus ? { numadCpus: p.numadCpus.toString() } : {}),
      ...(p.numadMemoryNodes ? { numadMemoryNodes: p.numadMemoryNodes.toString() } : {}),
    },
    vcpus: r.vcpus.map((v) => ({
      id: v.id,
      online: v.online,
      hotpluggable: v.hotpluggable,
      ...(v.order !== undefined ? { order: v.order } : {}),
      ...threadJson(v),
      ...(v.guestCell ? { guestCell: { id: v.guestCell.id, provenance: prov(v.guestCell.provenance) } } : {}),
      ...(v.resctrl ? { resctrl: v.resctrl.map((g) => ({ kind: g.kind, vcpus: g.vcpus.toString(), provenance: prov(g.provenance) })) } : {}),
    })),
    emulator: threadJson(r.emulator),
    iothreads: r.iothreads.map((t) => ({ id: t.id, autofilled: t.autofilled, ...threadJson(t) })),
    initialAffinity: {
      cpus: mask(r.initialAffinity.cpus),
      ...(r.initialAffinity.nodes !== undefined ? { nodes: mask(r.initialAffinity.nodes) } : {}),
      source: r.initialAffinity.source,
      provenance: prov(r.initialAffinity.provenance),
    },
    memory: {
      ...(r.memory.mode !== undefined ? { mode: r.memory.mode } : {}),
      ...(r.memory.placement !== undefined ? { placement: r.memory.placement } : {}),
      ...(r.memory.nodes !== undefined ? { nodes: mask(r.memory.nodes) } : {}),
      implicit: r.memory.implicit,
      ...(r.memory.element ? { element: { ...r.memory.element } } : {}),
      memnodes: r.memory.memnodes.map((m) => ({ cellid: m.cellid, mode: m.mode, nodes: m.nodes.toString(), element: { ...m.element } })),
    },
    domainBandwidth: {
      ...(r.domainBandwidth.shares !== undefined ? { shares: bigIntJson(r.domainBandwidth.shares) } : {}),
      ...(r.domainBandwidth.globalPeriod !== undefined ? { globalPeriod: bigIntJson(r.domainBandwidth.globalPeriod) } : {}),
      ...(r.domainBandwidth.globalQuota !== undefined ? { globalQuota: bigIntJson(r.domainBandwidth.globalQuota) } : {}),
    },
    notes: r.notes.map((n) => ({ code: n.code, message: n.message })),
  };
}
