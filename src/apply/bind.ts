/**
 * Step 1 of apply: bind a runtime plan to the live host. Reads only: the
 * QEMU process (pidfile or pid, start time), its threads by name or QMP,
 * and each device's IRQs, keeping only the ones vfio owns for the guest
 * (the rest goes to `skipped` with the reason). See docs/runtime-plan.md.
 */
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import type { PlanScheduler, RuntimePlan, ThreadTarget } from '../plan/index.js';
import { discoverDeviceIrqs, discoverThreads, processStartTime, readInterrupts, readLibvirtPid, type DeviceIrqs, type QemuThread, type ThreadKind } from './discover.js';
import { checkTaskId, LIVE_PATHS, type HostPaths } from './paths.js';
import { queryQmpThreads } from './qmp.js';
import { isRealtime } from './sched.js';

/** Thread kinds the applier leaves where the kernel and libvirt put them unless told otherwise. */
export const DEFAULT_LEAVE_KINDS: readonly ThreadKind[] = ['kvm-nx'];

export interface TargetOptions {
  /** Host roots (default the live /proc, /sys, /run). */
  paths?: HostPaths;
  /** The QEMU process; else read from libvirt's pidfile for `domain`. */
  pid?: number;
  /** Domain name: pidfile lookup and state file name (default the plan's domain name). */
  domain?: string;
  /** QMP monitor socket: thread ids from query-cpus-fast / query-iothreads instead of thread names. */
  qmpSocket?: string;
  /** QEMU IOThread object id for a plan IOThread id (default `iothread<N>`, libvirt's naming). */
  iothreadNames?: Record<number, string>;
  /**
   * Emulator-class thread kinds to leave alone. Default `['kvm-nx']`: the
   * kernel spawns `kvm-nx-lpage-recovery` from the vCPU thread that ran first,
   * inside that vCPU's cgroup, and libvirt never moves it (docs/fidelity.md,
   * Oracle B); every other kind follows the emulator mask. `[]` moves it too.
   */
  leaveKinds?: ThreadKind[];
  /**
   * Also move an INTx line the device shares with host handlers
   * (`ehci_hcd:usb1, vfio-intx(…)`): that moves the host device's interrupt
   * too. Default off: such a line is reported as skipped.
   */
  sharedIrqs?: boolean;
}

export interface BoundTarget {
  /** `thread:TID` or `irq:N`. */
  key: string;
  kind: 'thread' | 'irq';
  actionId: string;
  label: string;
  cpus: CpuSet;
  tid?: number;
  comm?: string;
  role?: ThreadKind;
  irq?: number;
  device?: string;
  name?: string;
}

/** A scheduler setting bound to one thread. */
export interface BoundSched {
  /** `sched:TID`. */
  key: string;
  actionId: string;
  label: string;
  tid: number;
  comm: string;
  role: ThreadKind;
  policy: PlanScheduler;
  /** 1–99 for fifo/rr, 0 for batch/idle. */
  priority: number;
}

export interface Binding {
  name: string;
  /** 0 when the plan has no thread actions. */
  pid: number;
  startTime?: string;
  threads: QemuThread[];
  devices: DeviceIrqs[];
  /** Affinity targets in plan order; emulator threads with the main thread last. */
  targets: BoundTarget[];
  /** Scheduler settings (`thread-sched` actions), per thread, in plan order. */
  sched: BoundSched[];
  /** Plan actions not carried out by this applier, and why. */
  notApplied: { actionId: string; why: string }[];
  /** IRQs of the plan's devices that are not the guest's (host driver, shared line, no vfio handler): left alone. */
  skipped: { key: string; actionId: string; label: string; requested: string; why: string }[];
  notes: string[];
}

export function planErrors(plan: RuntimePlan): void {
  if (plan?.kind !== 'virt-pin-runtime-plan' || plan.schemaVersion !== 1 || !Array.isArray(plan.actions)) {
    throw new VirtPinError('APPLY_NOT_A_PLAN', 'the input is not a virt-pin runtime plan (kind virt-pin-runtime-plan, schemaVersion 1)');
  }
  const errors = (plan.diagnostics ?? []).filter((d) => d.severity === 'error');
  if (errors.length) {
    throw new VirtPinError('APPLY_PLAN_HAS_ERRORS', `the plan has ${errors.length} error(s), first: ${errors[0]?.code}: ${errors[0]?.message}`, { hint: 'fix the domain XML or options and plan again' });
  }
}

/** fifo/rr need a priority 1–99; batch/idle take none (0). */
function schedSetting(a: { id: string; scheduler: PlanScheduler; priority?: number }): { policy: PlanScheduler; priority: number } {
  const rt = isRealtime(a.scheduler);
  const priority = a.priority ?? 0;
  const known = a.scheduler === 'fifo' || a.scheduler === 'rr' || a.scheduler === 'batch' || a.scheduler === 'idle';
  if (!known || !Number.isInteger(priority) || (rt ? priority < 1 || priority > 99 : priority !== 0)) {
    throw new VirtPinError('APPLY_SCHED_INVALID', `${a.id}: '${String(a.scheduler)}' with priority ${String(a.priority)} is not a scheduler setting the kernel accepts`, { hint: 'fifo and rr take a priority 1–99; batch and idle take none' });
  }
  return { policy: a.scheduler, priority };
}

/** Discover the live targets of a plan. Reads only. */
export async function bindPlan(plan: RuntimePlan, options: TargetOptions = {}): Promise<Binding> {
  planErrors(plan);
  const paths = options.paths ?? LIVE_PATHS;
  const affinityActions = plan.actions.filter((a) => a.kind === 'thread-affinity');
  const schedActions = plan.actions.filter((a) => a.kind === 'thread-sched');
  const threadActions = [...affinityActions, ...schedActions];
  const name = options.domain ?? plan.domain.name;
  let pid = 0;
  if (threadActions.length) {
    if (options.pid !== undefined) pid = checkTaskId(options.pid);
    else if (name !== undefined) pid = readLibvirtPid(paths, name);
    else throw new VirtPinError('APPLY_NO_TARGET', 'the plan changes threads but names no domain and no pid was given', { hint: 'pass --pid or --domain' });
  }
  const binding: Binding = { name: name ?? `pid-${pid}`, pid, threads: [], devices: [], targets: [], sched: [], notApplied: [], skipped: [], notes: [] };
  if (pid) {
    const st = processStartTime(paths, pid);
    if (st !== undefined) binding.startTime = st;
    const qmp = options.qmpSocket ? await queryQmpThreads(options.qmpSocket) : undefined;
    binding.threads = discoverThreads(paths, pid, qmp);
    const named = binding.threads.some((t) => t.kind === 'vcpu' || t.kind === 'iothread');
    const wantsNamed = threadActions.some((a) => a.target.thread !== 'emulator');
    if (wantsNamed && !named) {
      throw new VirtPinError('APPLY_THREADS_UNNAMED', `no vCPU or IOThread thread of process ${pid} can be identified`, { hint: 'start QEMU with -name …,debug-threads=on (libvirt always does) or pass a QMP socket' });
    }
  }
  const leave = new Set(options.leaveKinds ?? DEFAULT_LEAVE_KINDS);
  // Threads by vCPU index and by IOThread id, in tid order: one lookup per action (a scan per action was quadratic in the vCPUs).
  const byVcpu = new Map<number, QemuThread[]>();
  const byIothread = new Map<string, QemuThread[]>();
  for (const x of binding.threads) {
    if (x.kind === 'vcpu' && x.vcpu !== undefined) byVcpu.set(x.vcpu, [...(byVcpu.get(x.vcpu) ?? []), x]);
    else if (x.kind === 'iothread' && x.iothread !== undefined) byIothread.set(x.iothread, [...(byIothread.get(x.iothread) ?? []), x]);
  }
  const namedThreads = (t: Exclude<ThreadTarget, { thread: 'emulator' }>): QemuThread[] => {
    const wanted = t.thread === 'iothread' ? (options.iothreadNames?.[t.id] ?? `iothread${t.id}`) : undefined;
    const found = (t.thread === 'vcpu' ? byVcpu.get(t.id) : byIothread.get(wanted as string)) ?? [];
    if (!found.length) {
      throw new VirtPinError('APPLY_THREAD_NOT_FOUND', `${t.thread === 'vcpu' ? `vCPU ${t.id}` : `IOThread ${wanted}`} has no thread in process ${pid}`, {
        hint: t.thread === 'vcpu' ? 'is the vCPU online (virsh setvcpus)? re-plan from the live XML' : 'pass iothreadNames when QEMU ids differ from libvirt’s iothreadN',
      });
    }
    return found;
  };
  // Threads a vCPU/IOThread action names are not emulator-class; IOThreads the plan does not name (QEMU's own `mon_iothread`) are, as in libvirt's cgroups.
  const claimed = new Set<number>();
  for (const a of threadActions) if (a.target.thread !== 'emulator') for (const x of namedThreads(a.target)) claimed.add(x.tid);
  const emulatorClass = binding.threads
    .filter((x) => !claimed.has(x.tid) && x.kind !== 'vcpu')
    // The main thread last, as libvirt does: the threads it spawns later inherit its mask and policy.
    .sort((a, b) => Number(a.kind === 'main') - Number(b.kind === 'main') || a.tid - b.tid);
  const emulatorThreads = emulatorClass.filter((x) => !leave.has(x.kind));
  if (threadActions.some((a) => a.target.thread === 'emulator')) {
    for (const x of emulatorClass) if (leave.has(x.kind)) binding.notes.push(`thread ${x.tid} (${x.comm}, ${x.kind}) left alone`);
  }
  const threadsOf = (t: ThreadTarget): QemuThread[] => (t.thread === 'emulator' ? emulatorThreads : namedThreads(t));
  // A plan of 256 vCPUs pinned to a few CPUs repeats the same lists: parse each once (sets are immutable, so targets may share one).
  const listSets = new Map<string, CpuSet>();
  const cpusOf = (list: string): CpuSet => {
    let set = listSets.get(list);
    if (set === undefined) listSets.set(list, (set = parseKernelCpuList(list)));
    return set;
  };

  let emulatorAction: (typeof affinityActions)[number] | undefined;
  for (const a of affinityActions) {
    if (a.target.thread === 'emulator') {
      emulatorAction = a;
      continue;
    }
    const cpus = cpusOf(a.cpus);
    for (const x of threadsOf(a.target)) binding.targets.push({ key: `thread:${x.tid}`, kind: 'thread', actionId: a.id, label: `${a.id} (${x.comm}, tid ${x.tid})`, cpus, tid: x.tid, comm: x.comm, role: x.kind });
  }
  if (emulatorAction) {
    const cpus = cpusOf(emulatorAction.cpus);
    for (const x of emulatorThreads) binding.targets.push({ key: `thread:${x.tid}`, kind: 'thread', actionId: 'emulator', label: `emulator (${x.comm}, tid ${x.tid}, ${x.kind})`, cpus, tid: x.tid, comm: x.comm, role: x.kind });
    for (const x of binding.threads.filter((t) => !claimed.has(t.tid) && t.kind === 'vcpu')) binding.notes.push(`thread ${x.tid} (${x.comm}) is not in the plan; left alone`);
  }
  const schedKeys = new Set<string>();
  for (const a of schedActions) {
    const setting = schedSetting(a);
    // <emulatorsched> reaches the main thread only: libvirt calls sched_setscheduler on the
    // QEMU pid, which is one thread; helper threads keep their policy (spec §12.8).
    const targets = a.target.thread === 'emulator' ? emulatorThreads.filter((x) => x.kind === 'main') : threadsOf(a.target);
    for (const x of targets) {
      const key = `sched:${x.tid}`;
      if (schedKeys.has(key)) {
        binding.notes.push(`${a.id}: thread ${x.tid} already has a scheduler setting from an earlier action; kept that one`);
        continue;
      }
      schedKeys.add(key);
      binding.sched.push({ key, actionId: a.id, label: `${a.id} (${x.comm}, tid ${x.tid})`, tid: x.tid, comm: x.comm, role: x.kind, ...setting });
    }
  }
  const irqActions = plan.actions.filter((a) => a.kind === 'irq-affinity');
  if (irqActions.length) {
    const ints = readInterrupts(paths);
    const taken = new Set<number>();
    for (const a of irqActions) {
      const found = discoverDeviceIrqs(paths, a.target.device, ints);
      binding.devices.push(found);
      for (const n of found.notes) binding.notes.push(`${a.target.device}: ${n}`);
      if (found.present && !found.irqs.length) binding.notes.push(`${a.target.device}: no IRQs yet (the guest driver has not enabled MSI/MSI-X); apply again or wait`);
      const cpus = cpusOf(a.cpus);
      for (const i of found.irqs) {
        if (taken.has(i.irq)) continue;
        taken.add(i.irq);
        if (i.ownership !== 'vfio' && !(i.ownership === 'shared' && options.sharedIrqs)) {
          const why = i.ownership === 'shared' ? `${i.why ?? 'shared line'}; pass sharedIrqs (CLI --shared-irqs) to move it anyway` : (i.why ?? 'not a vfio vector of the device');
          binding.skipped.push({ key: `irq:${i.irq}`, actionId: a.id, label: `IRQ ${i.irq} (${i.name ?? i.kind} of ${a.target.device})`, requested: a.cpus, why });
          continue;
        }
        binding.targets.push({ key: `irq:${i.irq}`, kind: 'irq', actionId: a.id, label: `IRQ ${i.irq} (${i.name ?? i.kind} of ${a.target.device})`, cpus, irq: i.irq, device: a.target.device, ...(i.name ? { name: i.name } : {}) });
      }
    }
  }
  return binding;
}
