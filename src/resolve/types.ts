/**
 * The resolved model: what libvirt 10.7 does at start (and on vCPU
 * hot-plug) with a domain definition — which host CPUs and NUMA nodes each
 * thread may use, with which scheduler and bandwidth — and why
 * (spec §1, §4, §5). Every resolved value carries a `Provenance`.
 *
 * Masks stay symbolic (`'all'`, `'numad'`) until host facts make them
 * concrete. `toJSON` turns a model into plain JSON described by
 * schemas/resolved-model.schema.json.
 */
import type { CpuSet } from '../cpuset/index.js';
import type { Driver } from '../domain/definition.js';
import type { NumaMode, Placement, Scheduler } from '../domain/types.js';

/**
 * Facts about the host the domain starts on. Plain data; a `HostTopology`
 * from src/host satisfies it. Discovering them is src/host's job.
 */
export interface HostFacts {
  /** `/sys/devices/system/cpu/online`. */
  onlineCpus: CpuSet;
  /** `/sys/devices/system/cpu/isolated` (isolcpus); excluded from "all host CPUs" since libvirt 10.4. */
  isolatedCpus?: CpuSet;
  /** Host NUMA nodes and their (online) CPUs; needed to turn numad advice and nodesets into CPUs. */
  nodes?: { id: number; cpus: CpuSet; memoryKiB?: number }[];
  /** The node set numad advises for this domain (only known at start time). */
  numadNodeset?: CpuSet;
}

/**
 * A thread's CPU mask: concrete, or symbolic while host facts are missing.
 * `'all'` = host online CPUs minus isolated CPUs; `'numad'` = the CPUs of
 * the NUMA nodes numad advises at start.
 */
export type CpuMask = CpuSet | 'all' | 'numad';

/** A host NUMA node mask: concrete, or `'numad'` (the advised nodes that have memory). */
export type NodeMask = CpuSet | 'numad';

/** R1 steps (spec §1): which rule gave a thread its CPU mask. */
export type CpuRule = 'vcpupin' | 'emulatorpin' | 'iothreadpin' | 'numad' | 'vcpu-cpuset' | 'all';

/** Rules behind the initial (pre-exec) process affinity (spec §5.1). */
export type InitialAffinityRule = 'numatune-strict' | 'emulatorpin' | 'all';

/** Rules behind a thread's cgroup `cpuset.mems` (spec §5.2). */
export type MemoryRule = 'numatune-strict' | 'numatune-restrictive' | 'memnode-restrictive';

export type SchedRule = 'vcpusched' | 'iothreadsched' | 'emulatorsched';
export type BandwidthRule = 'vcpu-bandwidth' | 'emulator-bandwidth' | 'iothread-bandwidth';
export type GuestCellRule = 'numa-cell' | 'numa-cell0-fill';
export type ResctrlRule = 'cachetune' | 'memorytune';

/** An XML element, as a user finds it in the file. */
export interface ElementPointer {
  /** e.g. `/domain/cputune/vcpupin[2]`. */
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** Why a value is what it is: the rule step, the element it came from, and a sentence. */
export interface Provenance<R extends string = string> {
  rule: R;
  element?: ElementPointer;
  because: string;
}

export interface ResolvedMemoryNodes {
  nodes: NodeMask;
  provenance: Provenance<MemoryRule>;
}

export interface ResolvedSched {
  scheduler: Scheduler;
  /** fifo/rr only. */
  priority?: number;
  provenance: Provenance<SchedRule>;
}

/** cgroup CPU bandwidth of one thread (0/absent = unset; negative quota = unlimited). */
export interface ResolvedBandwidth {
  period?: bigint;
  quota?: bigint;
  provenance: Provenance<BandwidthRule>;
}

export interface ResolvedGuestCell {
  id: number;
  provenance: Provenance<GuestCellRule>;
}

export interface ResolvedResctrl {
  kind: ResctrlRule;
  /** All vCPUs of the group (after truncation to the maximum). */
  vcpus: CpuSet;
  provenance: Provenance<ResctrlRule>;
}

export interface ResolvedThread {
  cpus: CpuMask;
  /** = provenance.rule, repeated for convenience (the CLI JSON contract names it `source`). */
  source: CpuRule;
  provenance: Provenance<CpuRule>;
  /**
   * Whether libvirt writes the mask into the thread's cgroup `cpuset.cpus`.
   * False when R1 ends in "all host CPUs": then only sched_setaffinity is
   * used (spec §5.2, §12.7).
   */
  cgroupCpus: boolean;
  /** cgroup `cpuset.mems`; absent when libvirt leaves it alone. */
  memoryNodes?: ResolvedMemoryNodes;
  sched?: ResolvedSched;
  bandwidth?: ResolvedBandwidth;
}

export interface ResolvedVcpu extends ResolvedThread {
  id: number;
  /** Offline vCPUs resolve to what they get when hot-plugged (spec §5.3). */
  online: boolean;
  hotpluggable: boolean;
  /** `<vcpus><vcpu order>`, when set (non-zero). */
  order?: number;
  guestCell?: ResolvedGuestCell;
  /** resctrl groups this vCPU thread joins (only vCPU threads ever do). */
  resctrl?: ResolvedResctrl[];
}

export type ResolvedEmulator = ResolvedThread;

export interface ResolvedIOThread extends ResolvedThread {
  id: number;
  /** The id was filled in by libvirt (spec §3.3). */
  autofilled: boolean;
}

/** Initial affinity of the QEMU process, set between fork and exec (spec §5.1). */
export interface ResolvedInitialAffinity {
  /**
   * Concrete, `'all'`, `'numad'`, or `'nodes'` = the host CPUs of `nodes`
   * (static nodeset without host NUMA facts).
   */
  cpus: CpuSet | 'all' | 'numad' | 'nodes';
  /** The numatune nodeset behind a `numatune-strict` affinity. */
  nodes?: NodeMask;
  source: InitialAffinityRule;
  provenance: Provenance<InitialAffinityRule>;
}

export interface ResolvedPlacement {
  /** Effective `<vcpu placement>` after the §4 promotion. */
  vcpu: Placement;
  /** Effective `<numatune><memory placement>`; absent when there is no global memory element. */
  memory?: Placement;
  /** An explicit or default static vCPU placement was promoted to auto (spec §4 step 3). */
  promoted: boolean;
  /** libvirt synthesised `<memory mode='strict' placement='auto'/>` (spec §4 step 2). */
  implicitNumatune: boolean;
  /** libvirt asks numad for advice at start (either placement auto); start fails without numad. */
  numadAdvice: boolean;
  /** From host facts: the advised nodes, the CPUs of those nodes (R1 step 2) and those nodes that have memory. */
  numadNodeset?: CpuSet;
  numadCpus?: CpuSet;
  numadMemoryNodes?: CpuSet;
}

export interface ResolvedMemnode {
  cellid: number;
  mode: NumaMode;
  nodes: CpuSet;
  element: ElementPointer;
}

export interface ResolvedMemory {
  mode?: NumaMode;
  placement?: Placement;
  /** Global nodeset (static) or `'numad'` (auto). */
  nodes?: NodeMask;
  implicit: boolean;
  element?: ElementPointer;
  memnodes: ResolvedMemnode[];
}

/** Whole-domain cgroup settings (spec §5.6). */
export interface ResolvedDomainBandwidth {
  shares?: bigint;
  globalPeriod?: bigint;
  globalQuota?: bigint;
}

/** Something the user should know about the resolution; `code` is stable. */
export interface ResolveNote {
  code: string;
  message: string;
}

export interface ResolvedModel {
  schemaVersion: 1;
  /** The file the XML came from, when known. */
  file?: string;
  domain: { name?: string; type?: string };
  driver: Driver;
  /** Host facts were given: masks are concrete where the facts allow. */
  hostFacts: boolean;
  /** What R1 step 4 ("all host CPUs") means here: online − isolated with host facts, else `'all'`. */
  allCpus: CpuSet | 'all';
  maxVcpus: number;
  placement: ResolvedPlacement;
  vcpus: ResolvedVcpu[];
  emulator: ResolvedEmulator;
  iothreads: ResolvedIOThread[];
  initialAffinity: ResolvedInitialAffinity;
  memory: ResolvedMemory;
  domainBandwidth: ResolvedDomainBandwidth;
  notes: ResolveNote[];
}
