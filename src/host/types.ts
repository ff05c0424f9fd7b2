/**
 * Host topology as plain data. One shape for every source (libvirt
 * capabilities XML, sysfs), so the resolver, the lints and `virt-pin show`
 * never care where the facts came from. Structurally a superset of
 * resolve's `HostFacts`: a `HostTopology` can be passed wherever
 * `HostFacts` is expected.
 */
import type { CpuSet } from '../cpuset/index.js';

/** Where a topology was read from. */
export type HostSource = 'capabilities' | 'sysfs';

/** One logical CPU (hardware thread). */
export interface HostCpu {
  id: number;
  /** Physical package. −1 when the source does not say (the kernel prints −1 too on some platforms). */
  socket: number;
  die?: number;
  cluster?: number;
  /** Core id within the package; −1 when the source does not say. */
  core: number;
  /** NUMA node whose cpulist holds this CPU. */
  node?: number;
  /** SMT siblings sharing this CPU's core, including the CPU itself. */
  siblings: CpuSet;
  /** False for a CPU that is present but offline (sysfs only; capabilities list online CPUs). */
  online: boolean;
  /**
   * Performance or efficiency core on a hybrid host (Intel P/E cores, Arm
   * big.LITTLE); absent when every CPU is of one kind or the source does not
   * say (capabilities XML never does). `HostTopology.coreTypeSource` says how
   * it was decided.
   */
  coreType?: CoreType;
}

export type CoreType = 'performance' | 'efficiency';

/**
 * Which sysfs facts told the core types apart, best first: the hybrid PMUs'
 * CPU lists (`/sys/devices/cpu_core/cpus`, `cpu_atom/cpus`), the scheduler's
 * `cpu_capacity` (Arm), cpufreq `base_frequency`, cpufreq `cpuinfo_max_freq`.
 */
export type CoreTypeSource = 'cpu_core/cpu_atom' | 'cpu_capacity' | 'base_frequency' | 'cpuinfo_max_freq';

export interface HostNode {
  id: number;
  /** Online CPUs of the node. */
  cpus: CpuSet;
  memoryKiB?: number;
  /**
   * ACPI SLIT distances: `distances[i]` is the distance to `nodes[i]` of the
   * same topology (nodes are sorted by id), exactly as sysfs `nodeN/distance`
   * lists them.
   */
  distances?: number[];
}

export type HostCacheType = 'data' | 'instruction' | 'unified';

/** One cache instance (deduplicated: a shared L3 appears once). */
export interface HostCache {
  /** The kernel's cache id (`cache/indexN/id`, libvirt's `<bank id>`): unique per level and type. */
  id?: number;
  level: number;
  type: HostCacheType;
  sizeKiB?: number;
  /** CPUs sharing this cache instance. */
  cpus: CpuSet;
}

/** `DDDD:BB:SS.F`, lower-case hex, as sysfs names PCI devices. */
export type PciAddress = string;

export interface HostPciDevice {
  address: PciAddress;
  /** Undefined when the kernel reports −1 (no NUMA affinity known). */
  numaNode?: number;
  /** CPUs the kernel considers local to the device (`local_cpulist`). */
  localCpus?: CpuSet;
}

export interface HostTopology {
  source: HostSource;
  onlineCpus: CpuSet;
  /** `isolcpus=` domain-isolated CPUs; empty when none (or not known). */
  isolatedCpus: CpuSet;
  /** `nohz_full=` CPUs (sysfs `cpu/nohz_full`); absent when the source does not say. */
  nohzFullCpus?: CpuSet;
  /** Sorted by id. */
  cpus: HostCpu[];
  /** Sorted by id. */
  nodes: HostNode[];
  /** Sorted by level, type, then lowest CPU. */
  caches: HostCache[];
  /** Sorted by address. */
  pciDevices: HostPciDevice[];
  /** Set when some CPUs are performance and others efficiency cores (see `HostCpu.coreType`). */
  coreTypeSource?: CoreTypeSource;
  /**
   * CPUs and memory nodes the cpuset cgroup of the reading process allows
   * (`/proc/self/cgroup` → `cpuset.cpus.effective`, or cgroup v1 `cpuset.cpus`);
   * absent when no cpuset controller restricts it (or the source cannot say:
   * capabilities XML). The planner keeps guests inside them.
   */
  allowedCpus?: CpuSet;
  allowedNodes?: CpuSet;
  /** The node set numad advised, when known (never read from sysfs or capabilities). */
  numadNodeset?: CpuSet;
}
