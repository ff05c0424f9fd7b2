/**
 * bindPlan → apply → restore. The applier snapshots every target into the
 * state file before its first change, changes targets in plan order, reads
 * each one back, and on any failure puts back everything it changed, in
 * reverse order, before it reports. One apply or restore per domain runs at
 * a time (NAME.lock). See docs/runtime-plan.md.
 *
 * Error contract: anything found wrong before the first change (bad plan,
 * no such process, lock held, state file unwritable, a parent cgroup too
 * narrow) is thrown as a VirtPinError and the host is untouched; anything
 * the kernel answers once changes have started ends up in the report, with
 * everything rolled back when `ok` is false.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import type { PlanScheduler, RuntimePlan, ThreadTarget } from '../plan/index.js';
import { cgroupCpusFile, planWidening, readCgroup, relParts, relText, threadCgroup, type CgroupWidening, type ThreadCgroup } from './cgroup.js';
import { discoverDeviceIrqs, discoverThreads, processAlive, processStartTime, procIsCallers, readInterrupts, readLibvirtPid, threadComm, type DeviceIrqs, type QemuThread, type ThreadKind } from './discover.js';
import { AffinityWriteError, defaultIo, type HostIo, type ThreadMethod } from './io.js';
import { acquireLockWaiting, type HeldLock } from './lock.js';
import { checkTaskId, Confined, LIVE_PATHS, type HostPaths } from './paths.js';
import { queryQmpThreads } from './qmp.js';
import { explainSchedRefusal, formatSched, isRealtime, parseSched, sameSched, type SchedState } from './sched.js';
import { checkStateOwner, entryKey, legacyStatePath, lockPath, readStateFile, removeStateFile, statePath, writeStateFile, type StateEntry, type StateFile } from './state.js';

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

function planErrors(plan: RuntimePlan): void {
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
  const namedThreads = (t: Exclude<ThreadTarget, { thread: 'emulator' }>): QemuThread[] => {
    const wanted = t.thread === 'iothread' ? (options.iothreadNames?.[t.id] ?? `iothread${t.id}`) : undefined;
    const found = binding.threads.filter((x) => (t.thread === 'vcpu' ? x.kind === 'vcpu' && x.vcpu === t.id : x.kind === 'iothread' && x.iothread === wanted));
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

  let emulatorAction: (typeof affinityActions)[number] | undefined;
  for (const a of affinityActions) {
    if (a.target.thread === 'emulator') {
      emulatorAction = a;
      continue;
    }
    const cpus = parseKernelCpuList(a.cpus);
    for (const x of threadsOf(a.target)) binding.targets.push({ key: `thread:${x.tid}`, kind: 'thread', actionId: a.id, label: `${a.id} (${x.comm}, tid ${x.tid})`, cpus, tid: x.tid, comm: x.comm, role: x.kind });
  }
  if (emulatorAction) {
    const cpus = parseKernelCpuList(emulatorAction.cpus);
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
      const cpus = parseKernelCpuList(a.cpus);
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

// ---------------------------------------------------------------- apply

export interface ApplyOptions extends TargetOptions {
  /** Default `${paths.run}/virt-pin`. */
  stateDir?: string;
  /**
   * Wrap or replace the low-level readers and writers (tests inject faults
   * here). A write may return a promise; the applier awaits it.
   */
  io?: Partial<HostIo>;
  threadMethod?: ThreadMethod;
  /** Kernel-managed IRQs (EIO/EPERM) and IRQs that vanish mid-apply fail the apply (rolled back) instead of being skipped. */
  strict?: boolean;
  /** Discover and compare only; write nothing (not even the state file or the lock). */
  dryRun?: boolean;
  /** EBUSY/EAGAIN: attempts and base delay (default 5 × 20 ms, linear back-off). */
  retry?: { attempts: number; delayMs: number };
  /**
   * Before a thread's affinity is written, widen the thread's own cpuset
   * cgroup (`cpuset.cpus`, e.g. libvirt's `…/libvirt/vcpuN`) when the new
   * CPUs lie outside it, as libvirt does. The previous list goes into the
   * state file; parents are never changed (APPLY_CGROUP_PARENT). Default off.
   */
  widenCgroups?: boolean;
  /** Wait up to this long for another apply/restore of the same domain to finish (default 0: APPLY_LOCKED at once). */
  lockWaitMs?: number;
  /**
   * Called once the domain's lock is held, before anything is read or
   * written; throwing stops the apply with nothing changed. The late-IRQ
   * waiter checks here that its domain has not been restored meanwhile.
   */
  whileLocked?: () => void;
}

export type TargetStatus = 'unchanged' | 'changed' | 'would-change' | 'managed-skipped' | 'not-owned' | 'vanished' | 'failed' | 'rolled-back' | 'not-reached';

export interface TargetResult {
  /** `thread:TID`, `irq:N`, `sched:TID` or `cgroup:PATH`. */
  key: string;
  label: string;
  actionId: string;
  /** A CPU list, or a scheduler setting (`fifo 1`) for `sched:` keys. */
  requested: string;
  before?: string;
  status: TargetStatus;
  /** Read back after the write: thread affinity, the IRQ's effective_affinity_list, the policy, the cgroup's effective CPUs. */
  effective?: string;
  message?: string;
}

export interface ApplyReport {
  ok: boolean;
  name: string;
  pid: number;
  dryRun: boolean;
  statePath: string;
  /** Targets written. 0 = the plan was already in force (re-apply is a no-op). */
  changed: number;
  results: TargetResult[];
  notApplied: { actionId: string; why: string }[];
  notes: string[];
  warnings: string[];
  error?: { code: string; message: string; hint?: string };
  rollback?: { restored: number; failed: { key: string; message: string }[] };
  binding: Binding;
}

interface Failure {
  code: string;
  message: string;
  hint?: string;
}

/** One change the applier may make, with everything needed to make it, undo it and explain it. */
interface Step {
  key: string;
  label: string;
  actionId: string;
  kind: 'thread' | 'irq' | 'sched' | 'cgroup';
  requested: string;
  before: string;
  inForce: boolean;
  entry: StateEntry;
  /** Thread and scheduler changes die with the process: nothing to roll back then. */
  ofProcess: boolean;
  /** vCPU/IOThread targets must not vanish; emulator-class threads and IRQs may. */
  mayVanish: boolean;
  /** IRQ whose smp_affinity_list is read-only (kernel-managed). */
  readOnly?: boolean;
  write(to: 'requested' | 'before'): void | Promise<void>;
  readBack(): { effective: string; message?: string };
  failure(e: unknown): Failure;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ioFor(paths: HostPaths, options: { io?: Partial<HostIo>; threadMethod?: ThreadMethod }): HostIo {
  return { ...defaultIo(paths.irqProc ?? paths.proc, options.threadMethod), ...options.io };
}

const errnoOf = (e: unknown): string => (e instanceof AffinityWriteError ? e.code : '');

async function withRetry(write: () => void | Promise<void>, retry: { attempts: number; delayMs: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (e) {
      const code = errnoOf(e);
      if ((code === 'EBUSY' || code === 'EAGAIN') && attempt < retry.attempts) {
        await sleep(retry.delayMs * attempt);
        continue;
      }
      throw e;
    }
  }
}

function irqbalanceWarning(paths: HostPaths, irqs: number[]): string | undefined {
  if (!irqs.length) return undefined;
  try {
    const dir = new Confined(paths.run).resolve(['irqbalance']);
    if (!dir) return undefined;
    const sock = readdirSync(dir).find((f) => /^irqbalance\d+\.sock$/.test(f));
    if (!sock) return undefined;
    return `irqbalance is running and will move these IRQs back. Ban them, merging with its current list (the 'settings ban irqs' command replaces it): read 'setup' from ${dir}/${sock}, then send 'settings ban irqs <current> ${irqs.join(' ')}'`;
  } catch {
    return undefined;
  }
}

function irqFailure(t: BoundTarget, e: unknown): Failure {
  const code = errnoOf(e) || 'EIO';
  if (code === 'ENOENT') return { code: 'APPLY_IRQ_GONE', message: `${t.label}: the IRQ disappeared before it was written (the guest freed the vector)`, hint: 'without --strict a vanished vector is skipped; apply again when the vectors settle' };
  if (code === 'ENOSPC') return { code: 'APPLY_IRQ_NO_VECTOR', message: `${t.label}: CPU(s) ${t.cpus.toString()} have no free interrupt vector (ENOSPC)`, hint: 'choose other CPUs for this device or free vectors there' };
  if (code === 'EBUSY' || code === 'EAGAIN') return { code: 'APPLY_IRQ_BUSY', message: `${t.label}: the kernel stayed busy (${code}) after retries` };
  if (code === 'EIO' || code === 'EPERM') return { code: 'APPLY_IRQ_MANAGED', message: `${t.label}: kernel-managed, cannot be moved (${code}); --strict makes this an error` };
  if (code === 'EINVAL' || code === 'ERANGE') return { code: 'APPLY_IRQ_NO_ONLINE_CPU', message: `${t.label}: no online CPU in ${t.cpus.toString()} (${code})` };
  return { code: 'APPLY_WRITE_FAILED', message: `${t.label}: ${(e as Error).message}` };
}

function threadFailure(t: BoundTarget, e: unknown, widen: boolean): Failure {
  const code = errnoOf(e);
  if (code === 'EINVAL') {
    return {
      code: 'APPLY_THREAD_CPUSET',
      message: `${t.label}: CPUs ${t.cpus.toString()} lie outside the thread's cgroup cpuset (EINVAL)`,
      hint: widen
        ? 'the thread has no cpuset cgroup virt-pin can widen (or the CPUs are offline); check /proc/PID/task/TID/cgroup'
        : "pass widenCgroups (CLI --cgroups) to widen the thread's own cgroup first, or use 'virsh vcpupin/emulatorpin/iothreadpin --live' for a libvirt domain",
    };
  }
  if (code === 'ESRCH') return { code: 'APPLY_THREAD_GONE', message: `${t.label}: the thread exited (ESRCH)`, hint: 'a vCPU was unplugged or an IOThread deleted; plan again from the live domain' };
  if (code === 'EPERM') return { code: 'APPLY_NOT_PERMITTED', message: `${t.label}: not permitted (needs CAP_SYS_NICE)` };
  return { code: 'APPLY_WRITE_FAILED', message: `${t.label}: ${(e as Error).message}` };
}

function schedFailure(paths: HostPaths, pid: number, s: BoundSched, e: unknown): Failure {
  const code = errnoOf(e);
  const want = `${s.policy}${isRealtime(s.policy) ? ` ${s.priority}` : ''}`;
  if (code === 'EPERM') {
    return { code: 'APPLY_SCHED_NOT_PERMITTED', message: `${s.label}: the kernel refused SCHED_${s.policy.toUpperCase()} (EPERM): ${explainSchedRefusal(paths, pid, s.tid)}`, hint: 'run as root with CAP_SYS_NICE and give the thread a real-time budget (sched_rt_runtime_us, cpu.rt_runtime_us)' };
  }
  if (code === 'EINVAL') return { code: 'APPLY_SCHED_INVALID', message: `${s.label}: the kernel refused '${want}' (EINVAL)` };
  if (code === 'ESRCH') return { code: 'APPLY_THREAD_GONE', message: `${s.label}: the thread exited (ESRCH)`, hint: 'plan again from the live domain' };
  return { code: 'APPLY_WRITE_FAILED', message: `${s.label}: ${(e as Error).message}` };
}

function cgroupFailure(label: string, cpus: string, e: unknown): Failure {
  const code = errnoOf(e) || 'EIO';
  if (code === 'ENOENT') return { code: 'APPLY_CGROUP_GONE', message: `${label}: the cgroup disappeared (the domain stopped?)` };
  return {
    code: 'APPLY_CGROUP_WRITE_FAILED',
    message: `${label}: the kernel refused cpuset.cpus ${cpus} (${code})`,
    hint: code === 'EINVAL' ? 'the CPUs must lie within the parent cgroup and must not collide with an exclusive sibling' : 'virt-pin needs write access to the cgroup tree',
  };
}

function readCgroupText(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/** Group the threads that need more CPUs than their cgroup allows, per cgroup, and plan each widening. */
function cgroupWidenings(paths: HostPaths, pid: number, threads: { t: BoundTarget }[]): CgroupWidening[] {
  const groups = new Map<string, { cg: ThreadCgroup; need: CpuSet; labels: string[] }>();
  for (const { t } of threads) {
    const cg = threadCgroup(paths, pid, t.tid as number);
    if (!cg || t.cpus.isSubsetOf(cg.effective)) continue;
    const g = groups.get(cg.dir) ?? { cg, need: CpuSet.empty(), labels: [] };
    g.need = g.need.union(t.cpus);
    g.labels.push(t.label);
    groups.set(cg.dir, g);
  }
  const out: CgroupWidening[] = [];
  for (const g of groups.values()) {
    const w = planWidening(paths, g.cg, g.need, g.labels);
    if (w) out.push(w);
  }
  return out;
}

function thrownBeforeChange(t: { label: string }, e: unknown, processGone: boolean): VirtPinError {
  if (e instanceof VirtPinError) return e;
  if (processGone) return new VirtPinError('APPLY_PROCESS_GONE', `the QEMU process exited before anything was changed (${t.label})`);
  if (errnoOf(e) === 'ESRCH') return new VirtPinError('APPLY_THREAD_GONE', `${t.label} exited before anything was changed`, { hint: 'a vCPU was unplugged or an IOThread deleted; plan again from the live domain' });
  return new VirtPinError('APPLY_SNAPSHOT_FAILED', `cannot read the current setting of ${t.label}: ${(e as Error).message}`);
}

/** Read every target's current setting and turn it into steps (plus results for targets that vanished). */
function snapshot(paths: HostPaths, io: HostIo, binding: Binding, options: ApplyOptions, report: ApplyReport): Step[] {
  const steps: Step[] = [];
  const gone = (): boolean => binding.pid > 0 && !processAlive(paths, binding.pid, binding.startTime);
  const vanished = (key: string, label: string, actionId: string, requested: string, message: string): void => {
    report.results.push({ key, label, actionId, requested, status: 'vanished', message });
  };
  const threadSteps: { t: BoundTarget; step: Step }[] = [];
  for (const t of binding.targets) {
    let cur: CpuSet;
    let readOnly = false;
    try {
      if (t.kind === 'thread') cur = io.readThreadAffinity(t.tid as number);
      else {
        const s = io.readIrqAffinity(t.irq as number);
        cur = s.requested;
        readOnly = !s.writable;
      }
    } catch (e) {
      const code = errnoOf(e);
      if (t.kind === 'thread' && t.actionId === 'emulator' && code === 'ESRCH' && !gone()) {
        vanished(t.key, t.label, t.actionId, t.cpus.toString(), 'exited before it was read');
        continue;
      }
      if (t.kind === 'irq' && code === 'ENOENT') {
        vanished(t.key, t.label, t.actionId, t.cpus.toString(), 'the IRQ disappeared before it was read (the guest freed the vector)');
        continue;
      }
      throw thrownBeforeChange(t, e, t.kind === 'thread' && gone());
    }
    const before = cur.toString();
    const step: Step = {
      key: t.key,
      label: t.label,
      actionId: t.actionId,
      kind: t.kind,
      requested: t.cpus.toString(),
      before,
      inForce: cur.equals(t.cpus),
      entry: t.kind === 'thread' ? { kind: 'thread', tid: t.tid as number, comm: t.comm ?? '', role: t.role ?? 'other', before } : { kind: 'irq', irq: t.irq as number, device: t.device as string, ...(t.name ? { name: t.name } : {}), before },
      ofProcess: t.kind === 'thread',
      mayVanish: t.kind === 'irq' || t.actionId === 'emulator',
      readOnly,
      write: (to) => (t.kind === 'thread' ? io.writeThreadAffinity(t.tid as number, to === 'requested' ? t.cpus : cur) : io.writeIrqAffinity(t.irq as number, to === 'requested' ? t.cpus : cur)),
      readBack: () => {
        if (t.kind === 'thread') {
          const after = io.readThreadAffinity(t.tid as number);
          return { effective: after.toString(), ...(after.equals(t.cpus) ? {} : { message: `the kernel kept ${after.toString()} (the thread's cpuset allows only part of ${t.cpus.toString()})` }) };
        }
        const after = io.readIrqAffinity(t.irq as number);
        return { effective: (after.effective ?? after.requested).toString(), ...(after.requested.equals(t.cpus) ? {} : { message: `kernel kept ${after.requested.toString()}` }) };
      },
      failure: (e) => (t.kind === 'thread' ? threadFailure(t, e, options.widenCgroups === true) : irqFailure(t, e)),
    };
    if (t.kind === 'thread') threadSteps.push({ t, step });
    steps.push(step);
  }

  const schedSteps: Step[] = [];
  for (const s of binding.sched) {
    let cur: SchedState;
    try {
      cur = io.readThreadSched(s.tid);
    } catch (e) {
      if (errnoOf(e) === 'ESRCH' && !gone() && s.role !== 'vcpu' && s.role !== 'iothread') {
        vanished(s.key, s.label, s.actionId, formatSched({ ...s, resetOnFork: false }), 'exited before it was read');
        continue;
      }
      throw thrownBeforeChange(s, e, gone());
    }
    if (cur.policy === 'deadline') {
      throw new VirtPinError('APPLY_SCHED_UNSUPPORTED', `${s.label} runs under SCHED_DEADLINE, which virt-pin cannot restore; nothing was changed`, { hint: 'leave this thread out of the plan or reset it first' });
    }
    // Keep the thread's own reset-on-fork flag: the plan does not speak about it.
    const wanted: SchedState = { policy: s.policy, priority: s.priority, resetOnFork: cur.resetOnFork };
    const before = formatSched(cur);
    schedSteps.push({
      key: s.key,
      label: s.label,
      actionId: s.actionId,
      kind: 'sched',
      requested: formatSched({ ...wanted, resetOnFork: false }),
      before,
      inForce: sameSched(cur, wanted),
      entry: { kind: 'sched', tid: s.tid, comm: s.comm, role: s.role, before },
      ofProcess: true,
      mayVanish: s.role !== 'vcpu' && s.role !== 'iothread',
      write: (to) => io.writeThreadSched(s.tid, to === 'requested' ? wanted : cur),
      readBack: () => {
        const after = io.readThreadSched(s.tid);
        return { effective: formatSched(after), ...(sameSched(after, wanted) ? {} : { message: `the kernel kept ${formatSched(after)}` }) };
      },
      failure: (e) => schedFailure(paths, binding.pid, s, e),
    });
  }

  // cgroups first (libvirt's order: cpuset.cpus, then sched_setaffinity), then affinity, then scheduler settings, then IRQs.
  const cgroupSteps: Step[] = [];
  if (options.widenCgroups && binding.pid) {
    for (const w of cgroupWidenings(paths, binding.pid, threadSteps.filter((x) => !x.step.inForce))) {
      const file = cgroupCpusFile(paths, w.cgroup.rel);
      if (!file) continue;
      const before = w.cgroup.cpus;
      const path = relText(w.cgroup.rel);
      const label = `cgroup ${path} (for ${w.threads.join(', ')})`;
      cgroupSteps.push({
        key: `cgroup:${path}`,
        label,
        actionId: threadSteps.find((x) => w.threads.includes(x.t.label))?.t.actionId ?? 'cgroup',
        kind: 'cgroup',
        requested: w.cpus.toString(),
        before: before.toString(),
        inForce: false,
        entry: { kind: 'cgroup', path, version: w.cgroup.version, before: before.toString(), after: w.cpus.toString() },
        ofProcess: false,
        mayVanish: false,
        write: (to) => io.writeCgroupCpus(file, to === 'requested' ? w.cpus : before),
        readBack: () => ({ effective: readCgroup(paths, w.cgroup.version, w.cgroup.rel)?.effective.toString() ?? '' }),
        failure: (e) => cgroupFailure(label, w.cpus.toString(), e),
      });
    }
  }
  const irqSteps = steps.filter((x) => x.kind === 'irq');
  return [...cgroupSteps, ...steps.filter((x) => x.kind === 'thread'), ...schedSteps, ...irqSteps];
}

/**
 * Apply a plan. Throws VirtPinError for what is wrong before the first
 * change (bad plan, no such process, APPLY_LOCKED, APPLY_STATE_UNWRITABLE,
 * APPLY_CGROUP_PARENT, path escapes): the host is then untouched. Every
 * kernel answer after that ends up in the report, with everything rolled
 * back when `ok` is false.
 */
export async function apply(plan: RuntimePlan, options: ApplyOptions = {}): Promise<ApplyReport> {
  const paths = options.paths ?? LIVE_PATHS;
  const stateDir = options.stateDir ?? `${paths.run}/virt-pin`;
  if (options.dryRun) return applyHeld(plan, options);
  planErrors(plan);
  // The lock goes by the name the state file will have: the domain, else the plan's, else the pid.
  const threads = plan.actions.some((a) => a.kind === 'thread-affinity' || a.kind === 'thread-sched');
  const name = options.domain ?? plan.domain?.name ?? `pid-${threads && options.pid !== undefined ? checkTaskId(options.pid) : 0}`;
  const lock = await lockDomain(stateDir, name, options.lockWaitMs ?? 0);
  try {
    options.whileLocked?.();
    return await applyHeld(plan, options);
  } finally {
    lock.release();
  }
}

/** The per-domain lock, shared by apply(), restore() and the libvirt path (applyDomain, restoreLive). */
export function lockDomain(stateDir: string, name: string, waitMs = 0): Promise<HeldLock> {
  return acquireLockWaiting(lockPath(stateDir, name), waitMs);
}

/** apply() for a caller that already holds the domain's lock (lockDomain). */
export async function applyHeld(plan: RuntimePlan, options: ApplyOptions = {}): Promise<ApplyReport> {
  const paths = options.paths ?? LIVE_PATHS;
  const binding = await bindPlan(plan, options);
  const stateDir = options.stateDir ?? `${paths.run}/virt-pin`;
  const path = statePath(stateDir, binding.name);
  refuseForeignThreads(paths, options, { affinity: binding.targets.some((t) => t.kind === 'thread'), sched: binding.sched.length > 0 });
  return applyBound(paths, binding, path, options);
}

/**
 * Thread ids come from `paths.proc`, but sched_setaffinity and
 * sched_setscheduler act on the caller's PID namespace: under a /proc that
 * is not the caller's (VIRT_PIN_HOST_ROOT, a container given the host's
 * /proc) the same number names another thread. Refuse before anything is
 * written, unless the caller supplies its own thread writers.
 */
function refuseForeignThreads(paths: HostPaths, options: { io?: Partial<HostIo> }, touches: { affinity: boolean; sched: boolean }): void {
  const own = (!touches.affinity || options.io?.writeThreadAffinity !== undefined) && (!touches.sched || options.io?.writeThreadSched !== undefined);
  if (own || procIsCallers(paths.proc)) return;
  throw new VirtPinError('APPLY_FOREIGN_PROC', `${paths.proc} is not the /proc of this process's PID namespace: its thread ids would name other threads here; no thread was touched`, {
    hint: 'thread affinity and scheduler settings are applied only under the real /proc (VIRT_PIN_HOST_ROOT unset or /); IRQs are still applied',
  });
}

async function applyBound(paths: HostPaths, binding: Binding, path: string, options: ApplyOptions): Promise<ApplyReport> {
  const io = ioFor(paths, options);
  const retry = options.retry ?? { attempts: 5, delayMs: 20 };
  const report: ApplyReport = { ok: true, name: binding.name, pid: binding.pid, dryRun: options.dryRun === true, statePath: path, changed: 0, results: [], notApplied: binding.notApplied, notes: binding.notes, warnings: [], binding };

  for (const k of binding.skipped) report.results.push({ key: k.key, label: k.label, actionId: k.actionId, requested: k.requested, status: 'not-owned', message: `left alone: ${k.why}` });
  // 1. snapshot
  const steps = snapshot(paths, io, binding, options, report);
  const pending = steps.filter((s) => !s.inForce);
  for (const s of steps) if (s.inForce) report.results.push({ key: s.key, label: s.label, actionId: s.actionId, requested: s.requested, before: s.before, status: 'unchanged' });
  if (options.dryRun || !pending.length) {
    for (const s of pending) report.results.push({ key: s.key, label: s.label, actionId: s.actionId, requested: s.requested, before: s.before, status: 'would-change' });
    return report;
  }

  // 2. state file, before the first change (merged with an earlier apply to the same process: keep the original settings)
  const previous = checkStateOwner(path, readStateFile(path), binding.name);
  const samePid = previous !== undefined && previous.pid === binding.pid && previous.startTime === binding.startTime;
  // Another process (QEMU restarted without a restore): its threads are gone, but the IRQ and cgroup originals are still the host's.
  const entries: StateEntry[] = previous ? previous.entries.filter((e) => samePid || e.kind === 'irq' || e.kind === 'cgroup').map((e) => ({ ...e })) : [];
  const byKey = new Map(entries.map((e) => [entryKey(e), e]));
  const added = new Set<string>();
  for (const s of pending) {
    const known = byKey.get(s.key);
    if (known?.kind === 'cgroup' && s.entry.kind === 'cgroup') known.after = s.entry.after; // keep the first `before`, remember the latest write
    if (known) continue;
    entries.push(s.entry);
    added.add(s.key);
  }
  const state: StateFile = {
    schemaVersion: 2,
    kind: 'virt-pin-state',
    name: binding.name,
    pid: binding.pid,
    ...(binding.startTime !== undefined ? { startTime: binding.startTime } : {}),
    createdAt: previous ? previous.createdAt : new Date().toISOString(),
    phase: 'applying',
    entries,
  };
  writeStateFile(path, state); // throws APPLY_STATE_UNWRITABLE: nothing changed yet

  // 3. apply in order; on failure roll back in reverse
  const processGone = (): boolean => binding.pid > 0 && !processAlive(paths, binding.pid, binding.startTime);
  const done: Step[] = [];
  const vanishedKeys = new Set<string>();
  let failedAt = -1;
  let diedMidway = false;
  for (let i = 0; i < pending.length; i++) {
    const s = pending[i] as Step;
    const result: TargetResult = { key: s.key, label: s.label, actionId: s.actionId, requested: s.requested, before: s.before, status: 'changed' };
    report.results.push(result);
    try {
      if (s.readOnly) throw new AffinityWriteError('EPERM', `${s.label}: smp_affinity_list is read-only`);
      await withRetry(() => s.write('requested'), retry);
      done.push(s);
      report.changed++;
    } catch (e) {
      const code = errnoOf(e);
      if (s.kind === 'irq' && (code === 'EIO' || code === 'EPERM') && !options.strict) {
        result.status = 'managed-skipped';
        result.message = 'kernel-managed IRQ: cannot be moved from user space; skipped';
        continue;
      }
      if (s.kind === 'irq' && code === 'ENOENT' && !options.strict) {
        result.status = 'vanished';
        result.message = 'the IRQ disappeared before it was written (the guest freed the vector); apply again when the vectors settle';
        vanishedKeys.add(s.key);
        continue;
      }
      if (s.ofProcess && code === 'ESRCH') {
        if (processGone()) {
          diedMidway = true;
          result.status = 'failed';
          result.message = 'the QEMU process exited';
          report.error = { code: 'APPLY_PROCESS_GONE', message: `the QEMU process ${binding.pid} exited during apply (at ${s.label}); its threads need no restore, every other change is rolled back`, hint: 'start the domain and apply again' };
          failedAt = i;
          break;
        }
        if (s.mayVanish) {
          result.status = 'vanished';
          result.message = 'exited during apply';
          vanishedKeys.add(s.key);
          continue;
        }
      }
      result.status = 'failed';
      const f = s.failure(e);
      result.message = f.message;
      report.error = f;
      failedAt = i;
      break;
    }
    // The write succeeded; a failed read-back (the thread exited just now) is for the next write to discover.
    try {
      const back = s.readBack();
      result.effective = back.effective;
      if (back.message) result.message = back.message;
    } catch (e) {
      result.message = `written; reading it back failed: ${(e as Error).message}`;
    }
  }
  const forget = (list: StateEntry[]): StateEntry[] => list.filter((e) => !(vanishedKeys.has(entryKey(e)) && added.has(entryKey(e))));
  if (failedAt < 0) {
    try {
      writeStateFile(path, { ...state, phase: 'applied', entries: forget(entries) });
    } catch (e) {
      report.warnings.push(`${(e as Error).message}; the file still records every original setting (phase 'applying'), so restore works`);
    }
    const w = irqbalanceWarning(paths, done.filter((s) => s.kind === 'irq').map((s) => Number(s.key.slice(4))));
    if (w) report.warnings.push(w);
    return report;
  }
  report.ok = false;
  for (const s of pending.slice(failedAt + 1)) report.results.push({ key: s.key, label: s.label, actionId: s.actionId, requested: s.requested, before: s.before, status: 'not-reached' });
  const rollback: NonNullable<ApplyReport['rollback']> = { restored: 0, failed: [] };
  const dead = diedMidway || (done.some((s) => s.ofProcess) && processGone());
  for (const s of [...done].reverse()) {
    const r = report.results.find((x) => x.key === s.key);
    if (s.ofProcess && dead) {
      if (r) r.status = 'vanished';
      continue;
    }
    try {
      await withRetry(() => s.write('before'), retry);
      rollback.restored++;
      if (r) r.status = 'rolled-back';
    } catch (e) {
      const code = errnoOf(e);
      if ((s.ofProcess && code === 'ESRCH') || ((s.kind === 'cgroup' || s.kind === 'irq') && code === 'ENOENT')) {
        if (r) r.status = 'vanished'; // exited or removed meanwhile: nothing left to put back
        continue;
      }
      rollback.failed.push({ key: s.key, message: (e as Error).message });
    }
  }
  report.rollback = rollback;
  report.changed = 0;
  if (!rollback.failed.length) {
    // Nothing of this apply is left on the host: the state file goes back to what it was.
    try {
      if (previous) writeStateFile(path, previous);
      else removeStateFile(path);
    } catch (e) {
      report.warnings.push(`${(e as Error).message}; the state file now records settings that are already back in force, restore will find them unchanged`);
    }
  } else {
    report.warnings.push(`rollback left ${rollback.failed.length} target(s) changed; the state file ${path} keeps their original settings: run restore`);
  }
  return report;
}

// ---------------------------------------------------------------- restore

export interface RestoreOptions {
  paths?: HostPaths;
  stateDir?: string;
  io?: Partial<HostIo>;
  threadMethod?: ThreadMethod;
  retry?: { attempts: number; delayMs: number };
  /**
   * Wait up to this long for an apply of the same domain (the hook's
   * late-IRQ waiter) to finish its round, and take the lock even when no
   * state file exists yet (that round may be writing one). Default: answer
   * APPLY_LOCKED at once, and take no lock when nothing is recorded.
   */
  lockWaitMs?: number;
}

export interface RestoreReport {
  ok: boolean;
  name: string;
  statePath: string;
  /** False when there was no state file (nothing to restore). */
  found: boolean;
  /**
   * `gone`: the thread, process, IRQ or cgroup no longer exists; `reused`:
   * it exists but is no longer what was recorded (another thread name, an
   * IRQ no longer the device's vfio vector, a cgroup changed by someone
   * else) and was left alone.
   */
  results: { key: string; status: 'restored' | 'unchanged' | 'gone' | 'reused' | 'failed'; before: string; message?: string }[];
  /** How many recorded targets were left alone (`gone` + `reused`), each with its reason in `results`. */
  skipped: number;
}

/**
 * Put back every setting recorded in NAME's state file (reverse order;
 * widened cgroups last, after the thread affinities inside them), then
 * remove the file. A state file that fails its checks is refused
 * (APPLY_STATE_INVALID) before anything is written.
 */
export async function restore(name: string, options: RestoreOptions = {}): Promise<RestoreReport> {
  const paths = options.paths ?? LIVE_PATHS;
  const stateDir = options.stateDir ?? `${paths.run}/virt-pin`;
  let path = statePath(stateDir, name);
  // No state file, nothing to do: do not even create the lock (the directory may be read-only).
  if (!existsSync(path) && options.lockWaitMs === undefined) {
    const legacy = legacyStatePath(stateDir, name);
    if (!legacy) return { ok: true, name, statePath: path, found: false, results: [], skipped: 0 };
    path = legacy;
  }
  const lock = await lockDomain(stateDir, name, options.lockWaitMs ?? 0);
  try {
    return await restoreLocked(paths, name, path, options);
  } finally {
    lock.release();
  }
}

async function restoreLocked(paths: HostPaths, name: string, path: string, options: RestoreOptions): Promise<RestoreReport> {
  const state = checkStateOwner(path, readStateFile(path), name);
  const report: RestoreReport = { ok: true, name, statePath: path, found: state !== undefined, results: [], skipped: 0 };
  if (!state) return report;
  const alive = state.pid > 0 && processAlive(paths, state.pid, state.startTime);
  refuseForeignThreads(paths, options, { affinity: alive && state.entries.some((e) => e.kind === 'thread'), sched: alive && state.entries.some((e) => e.kind === 'sched') });
  const io = ioFor(paths, options);
  const retry = options.retry ?? { attempts: 5, delayMs: 20 };
  const proc = new Confined(paths.proc);
  const ints = state.entries.some((e) => e.kind === 'irq') ? readInterrupts(paths) : undefined;
  // One discovery per device, not one per recorded vector (that is quadratic: 256 vectors, 65 536 sysfs reads).
  const discovered = new Map<string, DeviceIrqs>();
  const deviceIrqsOf = (device: string): DeviceIrqs => {
    let d = discovered.get(device);
    if (!d) discovered.set(device, (d = discoverDeviceIrqs(paths, device, ints)));
    return d;
  };
  const reversed = [...state.entries].reverse();
  const ordered = [...reversed.filter((e) => e.kind !== 'cgroup'), ...reversed.filter((e) => e.kind === 'cgroup')];
  // Resolve every recorded cgroup first: one leading outside the tree (APPLY_PATH_ESCAPE) stops the restore before any write.
  const cgroupFiles = new Map<string, string | undefined>();
  for (const e of ordered) if (e.kind === 'cgroup') cgroupFiles.set(e.path, cgroupCpusFile(paths, relParts(e.path) ?? []));
  for (const e of ordered) {
    const key = entryKey(e);
    const push = (status: RestoreReport['results'][number]['status'], message?: string): void => {
      report.results.push({ key, status, before: e.before, ...(message ? { message } : {}) });
    };
    try {
      if (e.kind === 'thread' || e.kind === 'sched') {
        if (!alive || !proc.resolve([String(state.pid), 'task', String(e.tid)])) {
          push('gone', 'the thread (or its process) no longer exists');
          continue;
        }
        // Same pid, same start time, and the same thread name: a state file naming some other thread gets nothing written.
        const comm = threadComm(paths, state.pid, e.tid);
        if (comm !== e.comm) {
          push(comm === undefined ? 'gone' : 'reused', comm === undefined ? 'the thread exited' : `thread ${e.tid} is now '${comm.slice(0, 16)}', not the recorded '${e.comm.slice(0, 16)}'; left alone`);
          continue;
        }
        if (e.kind === 'thread') {
          const before = parseKernelCpuList(e.before);
          if (io.readThreadAffinity(e.tid).equals(before)) push('unchanged');
          else {
            await withRetry(() => io.writeThreadAffinity(e.tid, before), retry);
            push('restored');
          }
        } else {
          const before = parseSched(e.before) as SchedState;
          const cur = io.readThreadSched(e.tid);
          if (sameSched(cur, before) && cur.resetOnFork === before.resetOnFork) push('unchanged');
          else {
            await withRetry(() => io.writeThreadSched(e.tid, before), retry);
            push('restored');
          }
        }
      } else if (e.kind === 'irq') {
        // Only an IRQ that is still the recorded device's vfio vector (or its shared vfio-intx line), under the recorded handler name.
        const owner = deviceIrqsOf(e.device).irqs.find((i) => i.irq === e.irq);
        if (!owner || owner.ownership === 'not-vfio' || (e.name !== undefined && owner.name !== e.name)) {
          push('reused', owner ? `IRQ ${e.irq} is no longer ${e.device}'s vfio vector${e.name ? ` ${e.name}` : ''} (${owner.why ?? `now ${owner.name ?? 'unnamed'}`}); left alone` : `IRQ ${e.irq} no longer belongs to ${e.device}; left alone`);
          continue;
        }
        const before = parseKernelCpuList(e.before);
        if (io.readIrqAffinity(e.irq).requested.equals(before)) push('unchanged');
        else {
          await withRetry(() => io.writeIrqAffinity(e.irq, before), retry);
          push('restored');
        }
      } else {
        const file = cgroupFiles.get(e.path);
        if (!file) {
          push('gone', 'the cgroup no longer exists');
          continue;
        }
        const cur = parseKernelCpuList(readCgroupText(file));
        const before = parseKernelCpuList(e.before);
        if (cur.equals(before)) push('unchanged');
        else if (!cur.equals(parseKernelCpuList(e.after))) push('reused', `cpuset.cpus is now ${cur.toString()}, not the ${e.after} virt-pin wrote: changed by someone else since; left alone`);
        else {
          await withRetry(() => io.writeCgroupCpus(file, before), retry);
          push('restored');
        }
      }
    } catch (err) {
      if ((e.kind === 'thread' || e.kind === 'sched') && errnoOf(err) === 'ESRCH') push('gone', 'the thread exited');
      else {
        report.ok = false;
        push('failed', (err as Error).message);
      }
    }
  }
  report.skipped = report.results.filter((r) => r.status === 'gone' || r.status === 'reused').length;
  if (report.ok) removeStateFile(path);
  return report;
}
