/**
 * Pinning policies: what the admin asks for, and the placement the planner
 * answers with. Both are plain data (the policy has a JSON Schema in
 * schemas/policy.schema.json), so a policy can live in a file and a
 * placement can be printed, compared and tested.
 */
import type { CpuSet } from '../cpuset/index.js';

export type VcpuPolicy = 'dedicated' | 'shared';
/** Nova's cpu_thread_policy, for dedicated vCPUs on SMT hosts. */
export type ThreadPolicy = 'prefer' | 'isolate' | 'require';
/**
 * `housekeeping`: emulator + IOThreads on the reserved host CPUs (the VFIO
 * guides' layout); `share`: they float over the guest's CPUs (Nova's
 * default); `isolate`: a core of their own (Nova's emulator_threads_policy=isolate).
 */
export type EmulatorPolicy = 'housekeeping' | 'share' | 'isolate' | { cpus: string };
export type NumaPolicy = 'strict' | 'preferred' | 'none';
export type HostdevPolicy = 'local' | 'ignore';
/**
 * L3 awareness: `prefer` fills one L3 group (the largest that holds the
 * guest) and spills into whole groups only when none can; `require` refuses
 * a guest that no single L3 group holds; `ignore` takes cores in id order.
 */
export type CachePolicy = 'prefer' | 'require' | 'ignore';
/** Core type on hybrid hosts; `any` ignores it. */
export type CoreTypePolicy = 'performance' | 'efficiency' | 'any';

export interface RealtimePolicy {
  scheduler: 'fifo' | 'rr';
  priority: number;
  /** Guest vCPUs to make real-time (cpuset grammar); default every vCPU but 0. */
  vcpus?: string;
}

export interface PinPolicy {
  /** Host CPUs the guest may use (cpuset grammar). Default: online − isolated − reserve. */
  cpus?: string;
  /**
   * Host CPUs kept for the host; `none` (or '') for no reserve. Default: the
   * first core of each NUMA node with its siblings — on a hybrid host the
   * first efficiency-core cluster of each node instead, unless
   * `housekeepingCoreType` says otherwise.
   */
  reserve?: string;
  vcpu?: VcpuPolicy;
  threads?: ThreadPolicy;
  /** One vCPU per physical core; the siblings stay unused (qemu-pinning helper's layout). */
  perCore?: boolean;
  /** Default: `housekeeping` for dedicated vCPUs, `share` for shared ones. */
  emulator?: EmulatorPolicy;
  numa?: NumaPolicy;
  hostdev?: HostdevPolicy;
  realtime?: RealtimePolicy;
  /** `match-host`: write guest `<cpu><topology>` (and `<cache>`) consistent with the pinning. */
  topology?: 'keep' | 'match-host';
  /** Default `prefer`. */
  cache?: CachePolicy;
  /** Core type for vCPUs. Default on hybrid hosts: performance cores first, spilling to efficiency cores only when they run out; `performance` insists. */
  coreType?: CoreTypePolicy;
  /** Core type for the emulator and IOThreads (the default reserve). Default on hybrid hosts: efficiency. */
  housekeepingCoreType?: CoreTypePolicy;
}

/** The host facts the planner needs (a HostTopology satisfies it). */
export interface PlannerHost {
  onlineCpus: CpuSet;
  isolatedCpus?: CpuSet;
  cpus: ReadonlyArray<{ id: number; socket: number; die?: number; core: number; node?: number; siblings: CpuSet; coreType?: 'performance' | 'efficiency' }>;
  nodes: ReadonlyArray<{ id: number; cpus: CpuSet; memoryKiB?: number }>;
  pciDevices?: ReadonlyArray<{ address: string; numaNode?: number }>;
  /** Caches by instance; the planner uses level 3 (unified or data). */
  caches?: ReadonlyArray<{ level: number; type: string; sizeKiB?: number; cpus: CpuSet }>;
  /** CPUs/nodes the cpuset cgroup allows, when it restricts them. */
  allowedCpus?: CpuSet;
  allowedNodes?: CpuSet;
}

/** What the planner needs to know about the guest. */
export interface PlannerGuest {
  vcpus: number;
  /** Guest SMT threads per core (`<cpu><topology threads>`), default 1. */
  threadsPerCore?: number;
  /** The guest declares `<cpu><topology>`: its threads=1 is a promise of separate cores. */
  topologyDeclared?: boolean;
  iothreadIds: readonly number[];
  /** PCI addresses (`DDDD:BB:SS.F`) of passed-through devices. */
  hostdevs: readonly string[];
  /** Guest memory in KiB, split across guest NUMA cells when the guest spans nodes. */
  memoryKiB?: number;
}

export interface GuestCellPlan {
  id: number;
  vcpus: CpuSet;
  hostNode: number;
  memoryKiB?: number;
}

/** The placement the planner chose; `toDomainEdits` turns it into XML. */
export interface PinPlacement {
  vcpuPolicy: VcpuPolicy;
  /** Per vCPU (index = vCPU id) the host CPUs it is pinned to. */
  vcpuPins: CpuSet[];
  emulator: CpuSet;
  iothreads: ReadonlyArray<{ id: number; cpus: CpuSet }>;
  /** Host NUMA nodes the guest uses. */
  hostNodes: CpuSet;
  /** Memory binding; absent under numa 'none'. */
  memory?: { mode: 'strict' | 'preferred'; nodeset: CpuSet };
  /** Guest NUMA cells when the guest spans more than one host node. */
  cells: GuestCellPlan[];
  realtime?: { vcpus: CpuSet; scheduler: 'fifo' | 'rr'; priority: number };
  topology?: { sockets: number; dies: number; cores: number; threads: number };
  /** Guest `<cpu><cache>` proposed with `topology: 'match-host'`. */
  cache?: { level: 3; mode: 'emulate' };
  /** Host CPUs left to the host. */
  reserved: CpuSet;
  /** One sentence per decision, in order. */
  explanation: string[];
}
