/**
 * The runtime plan: what virt-pin would do to a running domain, as plain
 * JSON data (schemas/plan.schema.json). A plan names targets logically
 * (vCPU 2, IOThread 1, the emulator, the IRQs of PCI device 0000:01:00.0);
 * src/apply binds them to thread ids and IRQ numbers on the live host.
 * See docs/runtime-plan.md and docs/irq-policy.md.
 */

/** Why an action exists: the rule, the XML element behind it when there is one, and a sentence. */
export interface PlanProvenance {
  rule: string;
  element?: { path: string; line: number; column: number };
  because: string;
}

/** A thread class of the QEMU process. `emulator` = every thread that is neither a vCPU nor an IOThread. */
export type ThreadTarget = { thread: 'vcpu'; id: number } | { thread: 'iothread'; id: number } | { thread: 'emulator' };

export interface ThreadAffinityAction {
  /** Stable within a plan: `vcpu0`, `iothread1`, `emulator`. */
  id: string;
  kind: 'thread-affinity';
  target: ThreadTarget;
  /** Canonical cpuset (libvirt list format), never symbolic. */
  cpus: string;
  provenance: PlanProvenance;
}

export type PlanScheduler = 'batch' | 'idle' | 'fifo' | 'rr';

export interface ThreadSchedAction {
  /** `sched-vcpu0`, `sched-iothread1`, `sched-emulator`. */
  id: string;
  kind: 'thread-sched';
  target: ThreadTarget;
  scheduler: PlanScheduler;
  /** fifo/rr only. */
  priority?: number;
  provenance: PlanProvenance;
}

/** How a device's host interrupts are treated. */
export type IrqPolicyKind = 'auto' | 'cpuset' | 'native';

export interface IrqAffinityAction {
  /** `irq-0000:01:00.0`. */
  id: string;
  kind: 'irq-affinity';
  target: { device: string; via: 'hostdev' | 'interface' };
  policy: 'auto' | 'cpuset';
  cpus: string;
  provenance: PlanProvenance;
}

export type PlanAction = ThreadAffinityAction | ThreadSchedAction | IrqAffinityAction;

/** Where a device's IRQ policy came from. */
export type IrqPolicySource = 'option' | 'metadata-device' | 'metadata-default' | 'option-default' | 'builtin-default';

/** One PCI hostdev of the domain and what the plan does with its interrupts. */
export interface PlanDevice {
  address: string;
  via: 'hostdev' | 'interface';
  policy: IrqPolicyKind;
  policySource: IrqPolicySource;
  /** The CPUs its IRQs get (absent for `native`). */
  cpus?: string;
  /** Host NUMA node of the device, when the host facts say. */
  numaNode?: number;
}

/** Same shape as src/validate's Diagnostic (so the CLI prints both alike). */
export interface PlanDiagnostic {
  code: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  line: number;
  column: number;
  hint?: string;
}

export interface RuntimePlan {
  schemaVersion: 1;
  kind: 'virt-pin-runtime-plan';
  domain: { name?: string };
  /** Host online CPUs the plan was made for (canonical cpuset). */
  hostCpus: string;
  /**
   * Ordered: vCPU threads (by id), IOThreads (by id), the emulator (every
   * other thread, the main thread last), scheduler settings, device IRQs.
   */
  actions: PlanAction[];
  devices: PlanDevice[];
  /** Errors mean the plan is incomplete; src/apply refuses such a plan. */
  diagnostics: PlanDiagnostic[];
}

// ------------------------------------------------------------------ inputs

/** Provenance as the resolved-model JSON carries it. */
export interface InputProvenance {
  rule: string;
  element?: { path: string; line: number; column: number };
  because: string;
}

/** One thread of the resolved model (JSON form, schemas/resolved-model.schema.json). */
export interface InputThread {
  /** Canonical cpuset, or `all` / `numad` while symbolic. */
  cpus: string;
  source: string;
  provenance?: InputProvenance;
  sched?: { scheduler: string; priority?: number; provenance?: InputProvenance };
}

/**
 * What plan() reads of a resolved model: the JSON contract of src/resolve
 * (`toJSON(resolve(…))` satisfies it).
 */
export interface PlanInput {
  domain?: { name?: string };
  vcpus: (InputThread & { id: number; online: boolean })[];
  emulator: InputThread;
  iothreads: (InputThread & { id: number })[];
  /** For `numad` masks: the CPUs of the advised nodes, when known. */
  placement?: { numadCpus?: string };
}

/** Host facts plan() uses. A `HostTopology` from src/host satisfies it. */
export interface PlanHost {
  onlineCpus: { toString(): string } | string;
  isolatedCpus?: { toString(): string } | string;
  nodes?: { id: number; cpus: { toString(): string } | string }[];
  pciDevices?: { address: string; numaNode?: number; localCpus?: { toString(): string } | string }[];
  /** One device by address, read when asked (preferred over `pciDevices`; src/host's hostFactsFromSysfsOnDemand). */
  pciDevice?(address: string): { address: string; numaNode?: number; localCpus?: { toString(): string } | string } | undefined;
}

/** A PCI device the domain passes through. */
export interface PlanHostdev {
  /** `DDDD:BB:SS.F`; anything else is reported and skipped. */
  address: string;
  via: 'hostdev' | 'interface';
  element?: { path: string; line: number; column: number };
}

/** An IRQ affinity setting: `auto`, `native`, or a cpuset string. */
export type IrqAffinitySetting = string;

/** IRQ policy as read from `<metadata>` (see readIrqPolicy) or given by a caller. */
export interface IrqPolicySet {
  /** Applies to devices without their own entry. */
  default?: { affinity: IrqAffinitySetting; element?: { path: string; line: number; column: number } };
  devices: { address: string; affinity: IrqAffinitySetting; element?: { path: string; line: number; column: number } }[];
}

export interface PlanOptions {
  hostdevs?: readonly PlanHostdev[];
  /** From the domain's metadata (readIrqPolicy). */
  irqPolicy?: IrqPolicySet;
  /** Caller overrides (CLI flags): win over the metadata. */
  irqOverrides?: { default?: IrqAffinitySetting; devices?: Record<string, IrqAffinitySetting> };
  /** Include thread affinity actions (default true). */
  threads?: boolean;
}
