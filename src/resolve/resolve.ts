/**
 * libvirt's runtime rules applied to a domain definition (spec §1, §4, §5).
 * Pure: no I/O, never throws for odd definitions (definitionOf already
 * took libvirt's choices; validate reports refusals).
 */
import { CpuSet, MAX_CPUSET_ID } from '../cpuset/index.js';
import { CpuBitmap } from '../cpuset/cpuset.js';
import type { DomainDefinition, PinDef, ThreadSched } from '../domain/definition.js';
import type { DomainModel, ElementRef, NumaMode } from '../domain/types.js';
import { hasChange } from '../domain/libvirt-version.js';
import type {
  CpuMask,
  CpuRule,
  ElementPointer,
  HostFacts,
  NodeMask,
  Provenance,
  ResolveNote,
  ResolvedBandwidth,
  ResolvedDomainBandwidth,
  ResolvedEmulator,
  ResolvedGuestCell,
  ResolvedInitialAffinity,
  ResolvedIOThread,
  ResolvedMemory,
  ResolvedMemoryNodes,
  ResolvedModel,
  ResolvedPlacement,
  ResolvedResctrl,
  ResolvedSched,
  ResolvedThread,
  ResolvedVcpu,
  SchedRule,
} from './types.js';

/** Extra, optional knowledge that only the parsed document has. */
export interface ResolveContext {
  /** File name to record in the model. */
  file?: string;
  /** The parse-phase model: domain name/type, the `<vcpu>` element, cells as written. */
  model?: DomainModel;
}

export function pointer(ref: ElementRef | undefined): ElementPointer | undefined {
  if (!ref) return undefined;
  return new Pointer(ref.path, ref.loc.line, ref.loc.column);
}

// Records made once per vCPU are class instances, not object literals: V8 pretenures an object literal's
// allocation site (allocates its objects straight in the old generation, for good) once a young-generation
// collection finds nearly all of them alive, which happens as soon as one call allocates about as much as the
// young generation holds (a 4,096-vCPU check + resolve does); from then on every such record of every later
// call is old-generation garbage (measured with --trace-pretenuring-statistics). A constructor has no allocation site.
class Pointer implements ElementPointer {
  constructor(
    public path: string,
    public line: number,
    public column: number,
  ) {}
}

// Fields are declared in the JSON output's key order and set in the constructor (a field initializer would run
// before the parameters are assigned and move its key first).
class PinProvenance implements Provenance<'vcpupin'> {
  rule: 'vcpupin';
  element: ElementPointer;
  because: string;
  constructor(element: ElementPointer, because: string) {
    this.rule = 'vcpupin';
    this.element = element;
    this.because = because;
  }
}

/** A vCPU its own <vcpupin> pins (the usual large domain). */
class PinnedVcpu implements ResolvedVcpu {
  id: number;
  online: boolean;
  hotpluggable: boolean;
  cpus: CpuMask;
  source: 'vcpupin';
  provenance: Provenance<'vcpupin'>;
  cgroupCpus: true;
  constructor(id: number, online: boolean, hotpluggable: boolean, cpus: CpuMask, provenance: Provenance<'vcpupin'>) {
    this.id = id;
    this.online = online;
    this.hotpluggable = hotpluggable;
    this.cpus = cpus;
    this.source = 'vcpupin';
    this.provenance = provenance;
    this.cgroupCpus = true;
  }
}

/** What the host facts make of the symbolic masks. */
interface HostView {
  all: CpuSet | 'all';
  /** autoCpuset: CPUs of the advised nodes (R1 step 2). */
  numadCpus: CpuSet | 'numad';
  /** autoNodeset: the advised nodes that have memory. */
  numadNodes: NodeMask;
  nodeCpus?: Map<number, CpuSet>;
}

function hostView(host: HostFacts | undefined, notes: ResolveNote[], numadAdvice: boolean, excludeIsolated: boolean): HostView {
  if (!host) return { all: 'all', numadCpus: 'numad', numadNodes: 'numad' };
  const all = excludeIsolated ? host.onlineCpus.difference(host.isolatedCpus ?? CpuSet.empty()) : host.onlineCpus;
  const nodeCpus = host.nodes ? new Map(host.nodes.map((n) => [n.id, n.cpus] as const)) : undefined;
  let numadCpus: CpuSet | 'numad' = 'numad';
  let numadNodes: NodeMask = 'numad';
  if (host.numadNodeset) {
    // Nodes with no memory are advised for CPUs but never for memory (spec §4, last paragraph).
    const memoryless = (host.nodes ?? []).filter((n) => n.memoryKiB === 0).map((n) => n.id);
    numadNodes = host.numadNodeset.difference(CpuSet.fromIds(memoryless));
    if (nodeCpus) {
      numadCpus = cpusOfNodes(host.numadNodeset, nodeCpus);
    } else if (numadAdvice) {
      notes.push({
        code: 'RESOLVE_NUMAD_CPUS_UNKNOWN',
        message: 'host facts give the numad nodeset but no NUMA node → CPU map, so numad-derived CPU masks stay symbolic',
      });
    }
  } else if (numadAdvice) {
    notes.push({
      code: 'RESOLVE_NUMAD_UNKNOWN',
      message: 'numad advice is only known at start time; masks derived from it stay symbolic (pass a numad nodeset in the host facts to make them concrete)',
    });
  }
  return { all, numadCpus, numadNodes, ...(nodeCpus ? { nodeCpus } : {}) };
}

function cpusOfNodes(nodes: CpuSet, nodeCpus: Map<number, CpuSet>): CpuSet {
  let out = CpuSet.empty();
  for (const id of nodes.ids()) out = out.union(nodeCpus.get(id) ?? CpuSet.empty());
  return out;
}

/** R1 (spec §1): own pin → numad (vCPU placement auto) → `<vcpu cpuset>` → all host CPUs. */
function evaluateCpuMask(
  def: DomainDefinition,
  view: HostView,
  who: string,
  own: { pin: PinDef | undefined; rule: CpuRule; element: string },
  vcpuElement: ElementRef | undefined,
): ResolvedThread {
  const pin = own.pin;
  if (pin) return thread(pin.cpus, own.rule, pointer(pin.from), hasOwn(who, own.element));
  const noPin = `${who} has no <${own.element}>`;
  if (def.placement === 'auto') {
    const promoted = def.changes.some(isPromotion);
    return thread(
      view.numadCpus,
      'numad',
      pointer(promoted ? def.numatune.memory?.from : (vcpuElement ?? def.numatune.memory?.from)),
      `${noPin} and the vCPU placement is auto${promoted ? ' (promoted from static by <numatune> placement auto)' : ''}, so libvirt uses the CPUs of the NUMA nodes numad advises at start`,
    );
  }
  if (def.cpuset) {
    return thread(def.cpuset.cpus, 'vcpu-cpuset', pointer(def.cpuset.from), noPin);
  }
  return thread(
    view.all,
    'all',
    undefined,
    `${noPin} and <vcpu> has no cpuset, so libvirt allows all host CPUs (${hasChange(def.libvirtVersion, 'isolated-cpus-excluded') ? 'online minus isolated' : 'every online CPU, isolated ones too before libvirt 10.4'}) and writes no cgroup cpuset.cpus`,
  );
}

/**
 * `vCPU 3 has its own <vcpupin>`: the name and one constant tail, one concatenation (a template makes three,
 * each kept alive with the resolved model, per vCPU).
 */
function hasOwn(who: string, element: string): string {
  return who + (element === 'vcpupin' ? ' has its own <vcpupin>' : element === 'iothreadpin' ? ' has its own <iothreadpin>' : ` has its own <${element}>`);
}

/**
 * `vCPU 7` and `vCPU 7 has its own <vcpupin>` as the same strings in every resolve (ids below 16,384, as
 * MAX_CPUSET_ID bounds the vCPUs): two strings per vCPU per resolve otherwise, for a large domain resolved by
 * every check. Only strings are kept.
 */
const VCPU_NAMES: string[] = [];
const VCPU_HAS_OWN_PIN: string[] = [];
function vcpuName(id: number): string {
  return id <= MAX_CPUSET_ID ? (VCPU_NAMES[id] ??= `vCPU ${id}`) : `vCPU ${id}`;
}
function vcpuHasOwnPin(id: number): string {
  return id <= MAX_CPUSET_ID ? (VCPU_HAS_OWN_PIN[id] ??= hasOwn(vcpuName(id), 'vcpupin')) : hasOwn(vcpuName(id), 'vcpupin');
}

function thread(cpus: CpuMask, rule: CpuRule, element: ElementPointer | undefined, because: string): ResolvedThread {
  return {
    cpus,
    source: rule,
    provenance: element ? { rule, element, because } : { rule, because },
    cgroupCpus: rule !== 'all',
  };
}

function isPromotion(c: { code: string; specItem: number }): boolean {
  return c.code === 'PLACEMENT_PROMOTED_AUTO' || c.specItem === 5;
}

function sched(s: ThreadSched | undefined, rule: SchedRule, because: string): ResolvedSched | undefined {
  if (!s) return undefined;
  const element = pointer(s.from);
  return {
    scheduler: s.scheduler,
    ...((s.scheduler === 'fifo' || s.scheduler === 'rr') && s.priority !== undefined ? { priority: s.priority } : {}),
    provenance: { rule, ...(element ? { element } : {}), because },
  };
}

function bandwidth(
  period: bigint | undefined,
  quota: bigint | undefined,
  rule: ResolvedBandwidth['provenance']['rule'],
  because: string,
): ResolvedBandwidth | undefined {
  const p = period !== undefined && period !== 0n ? period : undefined;
  const q = quota !== undefined && quota !== 0n ? quota : undefined;
  if (p === undefined && q === undefined) return undefined;
  return { ...(p !== undefined ? { period: p } : {}), ...(q !== undefined ? { quota: q } : {}), provenance: { rule, because } };
}

/** Memory side (spec §5.2): what libvirt writes to a thread's cgroup cpuset.mems. */
interface MemoryPlan {
  /** For the emulator, IOThreads and vCPUs outside a restrictive memnode cell. */
  base?: ResolvedMemoryNodes;
  /** cellid → restrictive memnode nodeset (vCPU threads of that cell). */
  restrictiveCells: Map<number, ResolvedMemoryNodes>;
}

function memoryPlan(def: DomainDefinition, view: HostView): MemoryPlan {
  const memory = def.numatune.memory;
  const restrictiveCells = new Map<number, ResolvedMemoryNodes>();
  let base: ResolvedMemoryNodes | undefined;
  const globalNodes: NodeMask | undefined = memory
    ? memory.placement === 'auto'
      ? view.numadNodes
      : memory.nodeset
    : undefined;
  const memoryElement = pointer(memory?.from);
  if (memory && globalNodes !== undefined) {
    if (memory.mode === 'strict') {
      // Strict: the union of the global nodeset and every memnode nodeset.
      let nodes: NodeMask = globalNodes;
      if (typeof nodes !== 'string') for (const m of def.numatune.memnodes) nodes = nodes.union(m.nodeset);
      base = {
        nodes,
        provenance: {
          rule: 'numatune-strict',
          ...(memoryElement ? { element: memoryElement } : {}),
          because:
            def.numatune.memnodes.length > 0
              ? 'the global <numatune> memory mode is strict, so libvirt binds every thread to the union of its nodeset and all memnode nodesets'
              : `the global <numatune> memory mode is strict${memory.implicit ? ' (implicit, from <vcpu placement=auto>)' : ''}, so libvirt binds every thread to its ${memory.placement === 'auto' ? 'numad-advised nodes' : 'nodeset'}`,
        },
      };
    } else if (memory.mode === 'restrictive') {
      base = {
        nodes: globalNodes,
        provenance: {
          rule: 'numatune-restrictive',
          ...(memoryElement ? { element: memoryElement } : {}),
          because: 'the global <numatune> memory mode is restrictive, so libvirt only restricts cpuset.mems to its nodeset (no memory policy)',
        },
      };
    }
  }
  for (const m of def.numatune.memnodes) {
    if (m.mode !== 'restrictive') continue;
    const element = pointer(m.from);
    restrictiveCells.set(m.cellid, {
      nodes: m.nodeset,
      provenance: {
        rule: 'memnode-restrictive',
        ...(element ? { element } : {}),
        because: `the vCPU is in guest cell ${m.cellid}, whose <memnode> mode is restrictive`,
      },
    });
  }
  return { ...(base ? { base } : {}), restrictiveCells };
}

/**
 * Where every vCPU, the emulator and every IOThread may run, on which
 * memory nodes, under which scheduler, and the rule that decided each —
 * libvirt's runtime rules. Without `host`, masks stay symbolic (`all`,
 * `numad`) where only the host can make them concrete.
 */
export function resolve(def: DomainDefinition, host?: HostFacts, context: ResolveContext = {}): ResolvedModel {
  const notes: ResolveNote[] = [];
  const model = context.model;
  const memory = def.numatune.memory;
  const numadAdvice = def.placement === 'auto' || memory?.placement === 'auto';
  // Before libvirt 10.4 "all host CPUs" kept the isolated ones (LIBVIRT_CHANGES isolated-cpus-excluded).
  const excludeIsolated = hasChange(def.libvirtVersion, 'isolated-cpus-excluded');
  const view = hostView(host, notes, numadAdvice, excludeIsolated);
  const vcpuElement = model?.vcpu;
  const mem = memoryPlan(def, view);

  // ---- placement
  const promoted = def.changes.some(isPromotion);
  // Assigned in key order rather than a literal with conditional spreads (see the result at the end).
  const placement = { vcpu: def.placement } as ResolvedPlacement;
  if (memory) placement.memory = memory.placement;
  placement.promoted = promoted;
  placement.implicitNumatune = memory?.implicit ?? false;
  placement.numadAdvice = numadAdvice;
  if (host?.numadNodeset && numadAdvice) placement.numadNodeset = host.numadNodeset;
  if (numadAdvice && typeof view.numadCpus !== 'string') placement.numadCpus = view.numadCpus;
  if (numadAdvice && host?.numadNodeset && typeof view.numadNodes !== 'string') placement.numadMemoryNodes = view.numadNodes;
  if (promoted) {
    notes.push({
      code: 'RESOLVE_PLACEMENT_PROMOTED',
      message: '<numatune> memory placement is auto and nothing is pinned, so libvirt turns the vCPU placement to auto (spec §4 step 3)',
    });
  }
  if (numadAdvice) {
    notes.push({
      code: 'RESOLVE_NUMAD_REQUIRED',
      message: 'a placement is auto: libvirt asks numad for advice at start, and the start fails if numad is not available',
    });
  }

  // ---- guest cells (QEMU has absorbed unlisted vCPUs into cell 0 already)
  // The first cell listing a vCPU owns it. Only the ids no earlier cell took
  // are expanded, so this costs the cells' ranges plus the vCPU count, not
  // cells × width (2,000 cells of cpus='0-16383').
  const cellOf = new Map<number, number>();
  const assigned = new CpuBitmap();
  const cellById = new Map<number, DomainDefinition['guestCells'][number]>();
  for (const cell of def.guestCells) {
    if (!cellById.has(cell.id)) cellById.set(cell.id, cell);
    for (const v of assigned.missing(cell.cpus)) cellOf.set(v, cell.id);
    assigned.add(cell.cpus);
  }
  const modeOfCell = new Map<number, NumaMode>();
  for (const m of def.numatune.memnodes) if (!modeOfCell.has(m.cellid)) modeOfCell.set(m.cellid, m.mode);
  const writtenCellCpus = new Map<number, CpuSet>();
  for (const c of model?.cpu?.numa?.cells ?? []) {
    const id = c.id?.value ?? c.index;
    if (c.cpus?.value) writtenCellCpus.set(id, c.cpus.value);
  }
  const absorbed = def.changes.some((c) => c.specItem === 13);

  // ---- vCPUs
  const vcpus: ResolvedVcpu[] = def.vcpus.map((v) => {
    const who = vcpuName(v.id);
    // In the order of the JSON output, no spread temporaries per vCPU; without an order (the usual case) as one
    // literal, so that V8 gives the object room for these fields instead of a separate property store. A pinned
    // vCPU (the usual large domain) is built directly, without the intermediate thread object of evaluateCpuMask.
    let out: ResolvedVcpu;
    const pin = v.pin;
    if (pin && v.order === 0) {
      out = new PinnedVcpu(v.id, v.online, v.hotpluggable, pin.cpus, new PinProvenance(pointer(pin.from)!, vcpuHasOwnPin(v.id)));
    } else {
      const t = evaluateCpuMask(def, view, who, { pin, rule: 'vcpupin', element: 'vcpupin' }, vcpuElement);
      if (v.order === 0) out = { id: v.id, online: v.online, hotpluggable: v.hotpluggable, cpus: t.cpus, source: t.source, provenance: t.provenance, cgroupCpus: t.cgroupCpus };
      else {
        out = { id: v.id, online: v.online, hotpluggable: v.hotpluggable } as ResolvedVcpu;
        out.order = v.order;
        out.cpus = t.cpus;
        out.source = t.source;
        out.provenance = t.provenance;
        out.cgroupCpus = t.cgroupCpus;
      }
    }
    const cellid = cellOf.get(v.id);
    let memoryNodes = mem.base;
    if (cellid !== undefined) {
      const cell = cellById.get(cellid);
      const written = writtenCellCpus.get(cellid);
      // Which vCPUs QEMU added to cell 0 is only known from the cells as written (the model).
      const filled = cellid === 0 && written !== undefined && !written.has(v.id);
      const maybeFilled = cellid === 0 && absorbed && !model;
      const element = pointer(cell?.from);
      const guestCell: ResolvedGuestCell = {
        id: cellid,
        provenance: {
          rule: filled ? 'numa-cell0-fill' : 'numa-cell',
          ...(element ? { element } : {}),
          because: filled
            ? `no guest NUMA cell lists ${who}, so QEMU puts it in cell 0`
            : `guest NUMA cell ${cellid} holds ${who}${maybeFilled ? ' (listed there, or added by QEMU because no cell lists it)' : ' in its cpus'}`,
        },
      };
      out.guestCell = guestCell;
      if ((modeOfCell.get(cellid) ?? def.numatune.memory?.mode) === 'restrictive') memoryNodes = mem.restrictiveCells.get(cellid) ?? memoryNodes;
    }
    if (memoryNodes) out.memoryNodes = memoryNodes;
    // The reason string only when there is a <vcpusched>: most vCPUs have none.
    const s = v.sched && sched(v.sched, 'vcpusched', `${who} is named by a <vcpusched>`);
    if (s) out.sched = s;
    const b = bandwidth(def.bandwidth.period, def.bandwidth.quota, 'vcpu-bandwidth', 'every vCPU thread gets <cputune><period>/<quota>');
    if (b) out.bandwidth = b;
    // A memorytune that joined a cachetune's group is one allocation with both sides: show each side.
    // Most domains have no resctrl: skip the three per-vCPU arrays the chain below would allocate.
    if (def.resctrl.length === 0) return out;
    const groups: ResolvedResctrl[] = def.resctrl
      .filter((g) => g.vcpus.has(v.id))
      .flatMap((g) => [{ kind: g.kind, vcpus: g.vcpus, from: g.from }, ...(g.memorytune ? [{ kind: 'memorytune' as const, vcpus: g.vcpus, from: g.memorytune }] : [])])
      .map((side) => {
        const element = pointer(side.from);
        return {
          kind: side.kind,
          vcpus: side.vcpus,
          provenance: { rule: side.kind, ...(element ? { element } : {}), because: `the <${side.kind}> vcpus list contains ${who}` },
        };
      });
    if (groups.length > 0) out.resctrl = groups;
    return out;
  });

  // ---- emulator
  const emulator: ResolvedEmulator = evaluateCpuMask(
    def,
    view,
    'the emulator',
    { pin: def.emulatorPin, rule: 'emulatorpin', element: 'emulatorpin' },
    vcpuElement,
  );
  if (mem.base) emulator.memoryNodes = mem.base;
  const es = sched(def.emulatorSched, 'emulatorsched', '<emulatorsched> applies to the QEMU main thread only, and libvirt applies it last');
  if (es) emulator.sched = es;
  const eb = bandwidth(def.bandwidth.emulatorPeriod, def.bandwidth.emulatorQuota, 'emulator-bandwidth', 'the emulator threads get <emulator_period>/<emulator_quota>');
  if (eb) emulator.bandwidth = eb;

  // ---- IOThreads
  const iothreads: ResolvedIOThread[] = def.iothreads.map((io) => {
    const who = `IOThread ${io.id}${io.autofilled ? ' (id filled in by libvirt)' : ''}`;
    const t = evaluateCpuMask(def, view, who, { pin: io.pin, rule: 'iothreadpin', element: 'iothreadpin' }, vcpuElement);
    const out: ResolvedIOThread = { id: io.id, autofilled: io.autofilled, ...t };
    if (mem.base) out.memoryNodes = mem.base;
    const s = io.sched && sched(io.sched, 'iothreadsched', `IOThread ${io.id} is named by an <iothreadsched>`);
    if (s) out.sched = s;
    const b = bandwidth(def.bandwidth.iothreadPeriod, def.bandwidth.iothreadQuota, 'iothread-bandwidth', 'every IOThread gets <iothread_period>/<iothread_quota>');
    if (b) out.bandwidth = b;
    return out;
  });

  // ---- initial process affinity (§5.1)
  const initialAffinity = initialAffinityOf(def, view);

  // ---- memory summary
  const memoryElement = pointer(memory?.from);
  // This summary, the bandwidth and the result are built by assignment in their documented key order, not as
  // literals with conditional spreads: V8 builds a literal holding a spread one property at a time, and these
  // run for every document resolved (a tenth of resolve's time in a warm profile of check over the corpus).
  const resolvedMemory = {} as ResolvedMemory;
  if (memory) {
    resolvedMemory.mode = memory.mode;
    resolvedMemory.placement = memory.placement;
  }
  if (memory?.placement === 'auto') resolvedMemory.nodes = view.numadNodes;
  else if (memory?.nodeset) resolvedMemory.nodes = memory.nodeset;
  resolvedMemory.implicit = memory?.implicit ?? false;
  if (memoryElement) resolvedMemory.element = memoryElement;
  resolvedMemory.memnodes = [...def.numatune.memnodes]
    .sort((a, b) => a.cellid - b.cellid)
    .map((m) => ({ cellid: m.cellid, mode: m.mode, nodes: m.nodeset, element: pointer(m.from)! }));

  const domainBandwidth: ResolvedDomainBandwidth = {};
  if (def.bandwidth.shares !== undefined) domainBandwidth.shares = def.bandwidth.shares;
  if (def.bandwidth.globalPeriod !== undefined && def.bandwidth.globalPeriod !== 0n) domainBandwidth.globalPeriod = def.bandwidth.globalPeriod;
  if (def.bandwidth.globalQuota !== undefined && def.bandwidth.globalQuota !== 0n) domainBandwidth.globalQuota = def.bandwidth.globalQuota;

  addThreadNotes(notes, def, vcpus, emulator, iothreads, host);

  const name = model?.name?.value;
  const type = model?.type?.value ?? def.domainType;
  const domain: ResolvedModel['domain'] = {};
  if (name !== undefined) domain.name = name;
  if (type !== undefined) domain.type = type;
  const out = { schemaVersion: 1 } as ResolvedModel;
  if (context.file !== undefined) out.file = context.file;
  out.domain = domain;
  out.driver = def.driver;
  out.hostFacts = host !== undefined;
  out.allCpus = view.all;
  out.maxVcpus = def.maxVcpus;
  out.placement = placement;
  out.vcpus = vcpus;
  out.emulator = emulator;
  out.iothreads = iothreads;
  out.initialAffinity = initialAffinity;
  out.memory = resolvedMemory;
  out.domainBandwidth = domainBandwidth;
  out.notes = notes;
  return out;
}

/** spec §5.1 — `<vcpu cpuset>` is deliberately not consulted here (§12.5). */
function initialAffinityOf(def: DomainDefinition, view: HostView): ResolvedInitialAffinity {
  const memory = def.numatune.memory;
  if (def.guestCells.length <= 1 && memory?.mode === 'strict') {
    const element = pointer(memory.from);
    const nodes: NodeMask | undefined = memory.placement === 'auto' ? view.numadNodes : memory.nodeset;
    if (nodes !== undefined) {
      let cpus: ResolvedInitialAffinity['cpus'];
      if (nodes === 'numad') cpus = 'numad';
      else if (view.nodeCpus) cpus = cpusOfNodes(nodes, view.nodeCpus);
      else cpus = 'nodes';
      return {
        cpus,
        nodes,
        source: 'numatune-strict',
        provenance: {
          rule: 'numatune-strict',
          ...(element ? { element } : {}),
          because: `the guest has ${def.guestCells.length === 0 ? 'no' : 'one'} NUMA cell and the global <numatune> memory mode is strict, so libvirt starts QEMU on the host CPUs of ${nodes === 'numad' ? 'the numad-advised nodes' : `nodes ${nodes.toString()}`}`,
        },
      };
    }
  }
  if (def.emulatorPin) {
    const element = pointer(def.emulatorPin.from);
    return {
      cpus: def.emulatorPin.cpus,
      source: 'emulatorpin',
      provenance: {
        rule: 'emulatorpin',
        ...(element ? { element } : {}),
        because: 'there is no strict single-cell <numatune>, so libvirt starts QEMU on the <emulatorpin> CPUs (<vcpu cpuset> is not used before exec)',
      },
    };
  }
  return {
    cpus: view.all,
    source: 'all',
    provenance: {
      rule: 'all',
      because: 'there is neither a strict single-cell <numatune> nor an <emulatorpin>, so QEMU starts on all host CPUs (<vcpu cpuset> is not used before exec)',
    },
  };
}

function addThreadNotes(
  notes: ResolveNote[],
  def: DomainDefinition,
  vcpus: ResolvedVcpu[],
  emulator: ResolvedEmulator,
  iothreads: ResolvedIOThread[],
  host: HostFacts | undefined,
): void {
  const allThreads = [
    ...vcpus.filter((v) => v.source === 'all').map((v) => `vCPU ${v.id}`),
    ...(emulator.source === 'all' ? ['the emulator'] : []),
    ...iothreads.filter((t) => t.source === 'all').map((t) => `IOThread ${t.id}`),
  ];
  if (allThreads.length > 0) {
    notes.push({
      code: 'RESOLVE_ALL_NO_CGROUP',
      message: `${listOf(allThreads)} may use all host CPUs: libvirt sets only their scheduler affinity and writes no cgroup cpuset.cpus`,
    });
  }
  if (hasChange(def.libvirtVersion, 'isolated-cpus-excluded') && host?.isolatedCpus && !host.isolatedCpus.isEmpty() && allThreads.length > 0) {
    notes.push({
      code: 'RESOLVE_ALL_EXCLUDES_ISOLATED',
      message: `"all host CPUs" excludes the isolated CPUs ${host.isolatedCpus.toString()} (libvirt ≥ 10.4), though pin queries still report them`,
    });
  }
  const offline = vcpus.filter((v) => !v.online).map((v) => v.id);
  if (offline.length > 0) {
    notes.push({
      code: 'RESOLVE_OFFLINE_VCPUS',
      message: `vCPUs ${CpuSet.fromIds(offline).toString()} are offline; they are shown with the mask they get when hot-plugged`,
    });
  }
  const bootHotplug = vcpus.filter((v) => v.online && v.hotpluggable);
  if (bootHotplug.length > 0) {
    notes.push({
      code: 'RESOLVE_HOTPLUG_AT_BOOT',
      message: `online hotpluggable vCPUs ${CpuSet.fromIds(bootHotplug.map((v) => v.id)).toString()} are hot-added right after QEMU starts (sorted by order), then pinned like the others`,
    });
  }
  if (def.emulatorSched) {
    notes.push({
      code: 'RESOLVE_EMULATORSCHED_MAIN_ONLY',
      message: '<emulatorsched> applies to the QEMU main thread only, last; other emulator threads keep the default policy',
    });
  }
  if (def.resctrl.length > 0) {
    notes.push({
      code: 'RESOLVE_RESCTRL_VCPUS_ONLY',
      message: 'resctrl groups (cachetune/memorytune) hold vCPU threads only; the emulator and IOThreads are never placed in them',
    });
  }
}

function listOf(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

