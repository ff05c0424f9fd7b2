/**
 * bindPlan → apply → restore. The applier snapshots every target into the
 * state file before its first change, changes targets in plan order, reads
 * each one back, and on any failure puts back everything it changed, in
 * reverse order, before it reports. See docs/runtime-plan.md.
 */
import { readdirSync } from 'node:fs';
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import type { RuntimePlan } from '../plan/index.js';
import { discoverDeviceIrqs, discoverThreads, processStartTime, readInterrupts, readLibvirtPid, type DeviceIrqs, type QemuThread, type ThreadKind } from './discover.js';
import { AffinityWriteError, defaultIo, type AffinityIo, type ThreadMethod } from './io.js';
import { checkTaskId, Confined, LIVE_PATHS, type HostPaths } from './paths.js';
import { queryQmpThreads } from './qmp.js';
import { entryKey, readStateFile, removeStateFile, statePath, writeStateFile, type StateEntry, type StateFile } from './state.js';

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
  /** Emulator-class thread kinds to leave alone (default none: vhost, kvm-nx, kvm-pit and others follow the emulator mask). */
  leaveKinds?: ThreadKind[];
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

export interface Binding {
  name: string;
  /** 0 when the plan has no thread actions. */
  pid: number;
  startTime?: string;
  threads: QemuThread[];
  devices: DeviceIrqs[];
  /** In plan order; emulator threads with the main thread last. */
  targets: BoundTarget[];
  /** Plan actions not carried out by this applier, and why. */
  notApplied: { actionId: string; why: string }[];
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

/** Discover the live targets of a plan. Reads only. */
export async function bindPlan(plan: RuntimePlan, options: TargetOptions = {}): Promise<Binding> {
  planErrors(plan);
  const paths = options.paths ?? LIVE_PATHS;
  const threadActions = plan.actions.filter((a) => a.kind === 'thread-affinity');
  const name = options.domain ?? plan.domain.name;
  let pid = 0;
  if (threadActions.length) {
    if (options.pid !== undefined) pid = checkTaskId(options.pid);
    else if (name !== undefined) pid = readLibvirtPid(paths, name);
    else throw new VirtPinError('APPLY_NO_TARGET', 'the plan changes threads but names no domain and no pid was given', { hint: 'pass --pid or --domain' });
  }
  const binding: Binding = { name: name ?? `pid-${pid}`, pid, threads: [], devices: [], targets: [], notApplied: [], notes: [] };
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
  const leave = new Set(options.leaveKinds ?? []);
  const claimed = new Set<number>();
  let emulatorAction: (typeof threadActions)[number] | undefined;
  for (const a of threadActions) {
    const cpus = parseKernelCpuList(a.cpus);
    const t = a.target;
    if (t.thread === 'emulator') {
      emulatorAction = a;
      continue;
    }
    const wanted = t.thread === 'iothread' ? (options.iothreadNames?.[t.id] ?? `iothread${t.id}`) : undefined;
    const found = binding.threads.filter((x) => (t.thread === 'vcpu' ? x.kind === 'vcpu' && x.vcpu === t.id : x.kind === 'iothread' && x.iothread === wanted));
    if (!found.length) {
      throw new VirtPinError('APPLY_THREAD_NOT_FOUND', `${t.thread === 'vcpu' ? `vCPU ${t.id}` : `IOThread ${wanted}`} has no thread in process ${pid}`, {
        hint: t.thread === 'vcpu' ? 'is the vCPU online (virsh setvcpus)? re-plan from the live XML' : 'pass iothreadNames when QEMU ids differ from libvirt’s iothreadN',
      });
    }
    for (const x of found) {
      claimed.add(x.tid);
      binding.targets.push({ key: `thread:${x.tid}`, kind: 'thread', actionId: a.id, label: `${a.id} (${x.comm}, tid ${x.tid})`, cpus, tid: x.tid, comm: x.comm, role: x.kind });
    }
  }
  if (emulatorAction) {
    const cpus = parseKernelCpuList(emulatorAction.cpus);
    // IOThreads the plan does not name (QEMU's own `mon_iothread`) are emulator-class, as in libvirt's cgroups.
    const rest = binding.threads.filter((x) => !claimed.has(x.tid) && x.kind !== 'vcpu');
    // The main thread last, as libvirt does: the threads it spawns later inherit its mask.
    rest.sort((a, b) => Number(a.kind === 'main') - Number(b.kind === 'main') || a.tid - b.tid);
    for (const x of rest) {
      if (leave.has(x.kind)) {
        binding.notes.push(`thread ${x.tid} (${x.comm}, ${x.kind}) left alone`);
        continue;
      }
      binding.targets.push({ key: `thread:${x.tid}`, kind: 'thread', actionId: 'emulator', label: `emulator (${x.comm}, tid ${x.tid}, ${x.kind})`, cpus, tid: x.tid, comm: x.comm, role: x.kind });
    }
    const unclaimedNamed = binding.threads.filter((x) => !claimed.has(x.tid) && x.kind === 'vcpu');
    for (const x of unclaimedNamed) binding.notes.push(`thread ${x.tid} (${x.comm}) is not in the plan; left alone`);
  }
  for (const a of plan.actions) if (a.kind === 'thread-sched') binding.notApplied.push({ actionId: a.id, why: 'scheduler settings are not applied by virt-pin apply yet (libvirt applies them at start)' });
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
  /** Wrap or replace the low-level readers and writers (tests inject faults here). */
  io?: Partial<AffinityIo>;
  threadMethod?: ThreadMethod;
  /** Kernel-managed IRQs (EIO/EPERM) fail the apply instead of being skipped. */
  strict?: boolean;
  /** Discover and compare only; write nothing (not even the state file). */
  dryRun?: boolean;
  /** EBUSY/EAGAIN: attempts and base delay (default 5 × 20 ms, linear back-off). */
  retry?: { attempts: number; delayMs: number };
}

export type TargetStatus = 'unchanged' | 'changed' | 'would-change' | 'managed-skipped' | 'vanished' | 'failed' | 'rolled-back' | 'not-reached';

export interface TargetResult {
  key: string;
  label: string;
  actionId: string;
  requested: string;
  before?: string;
  status: TargetStatus;
  /** Read back after the write: thread affinity, or the IRQ's effective_affinity_list. */
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ioFor(paths: HostPaths, options: { io?: Partial<AffinityIo>; threadMethod?: ThreadMethod }): AffinityIo {
  return { ...defaultIo(paths.irqProc ?? paths.proc, options.threadMethod), ...options.io };
}

async function writeWithRetry(io: AffinityIo, t: { kind: 'thread' | 'irq'; tid?: number; irq?: number }, cpus: CpuSet, retry: { attempts: number; delayMs: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (t.kind === 'thread') io.writeThreadAffinity(t.tid as number, cpus);
      else io.writeIrqAffinity(t.irq as number, cpus);
      return;
    } catch (e) {
      if (e instanceof AffinityWriteError && (e.code === 'EBUSY' || e.code === 'EAGAIN') && attempt < retry.attempts) {
        await sleep(retry.delayMs * attempt);
        continue;
      }
      throw e;
    }
  }
}

function readCurrent(io: AffinityIo, t: BoundTarget): { cpus: CpuSet; writable: boolean; effective?: CpuSet } {
  if (t.kind === 'thread') return { cpus: io.readThreadAffinity(t.tid as number), writable: true };
  const s = io.readIrqAffinity(t.irq as number);
  return { cpus: s.requested, writable: s.writable, ...(s.effective ? { effective: s.effective } : {}) };
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

/** Map a kernel answer to a report error. */
function failureOf(t: BoundTarget, e: unknown): { code: string; message: string; hint?: string } {
  const code = e instanceof AffinityWriteError ? e.code : 'EIO';
  const msg = e instanceof Error ? e.message : String(e);
  if (t.kind === 'irq') {
    if (code === 'ENOSPC') return { code: 'APPLY_IRQ_NO_VECTOR', message: `${t.label}: CPU(s) ${t.cpus.toString()} have no free interrupt vector (ENOSPC)`, hint: 'choose other CPUs for this device or free vectors there' };
    if (code === 'EBUSY' || code === 'EAGAIN') return { code: 'APPLY_IRQ_BUSY', message: `${t.label}: the kernel stayed busy (${code}) after retries` };
    if (code === 'EIO' || code === 'EPERM') return { code: 'APPLY_IRQ_MANAGED', message: `${t.label}: kernel-managed, cannot be moved (${code}); --strict makes this an error` };
    if (code === 'EINVAL' || code === 'ERANGE') return { code: 'APPLY_IRQ_NO_ONLINE_CPU', message: `${t.label}: no online CPU in ${t.cpus.toString()} (${code})` };
    return { code: 'APPLY_WRITE_FAILED', message: `${t.label}: ${msg}` };
  }
  if (code === 'EINVAL') {
    return {
      code: 'APPLY_THREAD_CPUSET',
      message: `${t.label}: CPUs ${t.cpus.toString()} lie outside the thread's cgroup cpuset (EINVAL)`,
      hint: "for a libvirt domain use 'virsh vcpupin/emulatorpin/iothreadpin --live', which widens the cgroup first",
    };
  }
  if (code === 'ESRCH') return { code: 'APPLY_THREAD_GONE', message: `${t.label}: the thread exited (ESRCH)` };
  if (code === 'EPERM') return { code: 'APPLY_NOT_PERMITTED', message: `${t.label}: not permitted (needs CAP_SYS_NICE)` };
  return { code: 'APPLY_WRITE_FAILED', message: `${t.label}: ${msg}` };
}

/**
 * Apply a plan. Throws VirtPinError for bad input (not a plan, plan with
 * errors, no such process, path escapes); every kernel answer ends up in
 * the report, with everything rolled back when `ok` is false.
 */
export async function apply(plan: RuntimePlan, options: ApplyOptions = {}): Promise<ApplyReport> {
  const paths = options.paths ?? LIVE_PATHS;
  const binding = await bindPlan(plan, options);
  const io = ioFor(paths, options);
  const retry = options.retry ?? { attempts: 5, delayMs: 20 };
  const path = statePath(options.stateDir ?? `${paths.run}/virt-pin`, binding.name);
  const report: ApplyReport = {
    ok: true,
    name: binding.name,
    pid: binding.pid,
    dryRun: options.dryRun === true,
    statePath: path,
    changed: 0,
    results: [],
    notApplied: binding.notApplied,
    notes: binding.notes,
    warnings: [],
    binding,
  };

  // 1. snapshot
  const snapshot = new Map<string, { before: CpuSet; writable: boolean }>();
  const live: BoundTarget[] = [];
  for (const t of binding.targets) {
    try {
      const cur = readCurrent(io, t);
      snapshot.set(t.key, { before: cur.cpus, writable: cur.writable });
      live.push(t);
    } catch (e) {
      if (t.kind === 'thread' && t.actionId === 'emulator' && e instanceof AffinityWriteError && e.code === 'ESRCH') {
        report.results.push({ key: t.key, label: t.label, actionId: t.actionId, requested: t.cpus.toString(), status: 'vanished', message: 'exited before it was read' });
        continue;
      }
      throw new VirtPinError('APPLY_SNAPSHOT_FAILED', `cannot read the current affinity of ${t.label}: ${(e as Error).message}`);
    }
  }
  const pending = live.filter((t) => !(snapshot.get(t.key)?.before.equals(t.cpus) ?? false));
  for (const t of live) {
    if (!pending.includes(t)) report.results.push({ key: t.key, label: t.label, actionId: t.actionId, requested: t.cpus.toString(), before: snapshot.get(t.key)?.before.toString() ?? '', status: 'unchanged' });
  }
  if (options.dryRun || !pending.length) {
    for (const t of pending) report.results.push({ key: t.key, label: t.label, actionId: t.actionId, requested: t.cpus.toString(), before: snapshot.get(t.key)?.before.toString() ?? '', status: 'would-change' });
    return report;
  }

  // 2. state file, before the first change (merged with an earlier apply to the same process: keep the original masks)
  const previous = readStateFile(path);
  const samePid = previous !== undefined && previous.pid === binding.pid && previous.startTime === binding.startTime;
  const entries: StateEntry[] = samePid ? [...previous.entries] : [];
  const known = new Set(entries.map(entryKey));
  for (const t of pending) {
    if (known.has(t.key)) continue;
    const before = snapshot.get(t.key)?.before.toString() ?? '';
    entries.push(t.kind === 'thread' ? { kind: 'thread', tid: t.tid as number, comm: t.comm ?? '', role: t.role ?? 'other', before } : { kind: 'irq', irq: t.irq as number, device: t.device as string, ...(t.name ? { name: t.name } : {}), before });
  }
  const state: StateFile = {
    schemaVersion: 1,
    kind: 'virt-pin-state',
    name: binding.name,
    pid: binding.pid,
    ...(binding.startTime !== undefined ? { startTime: binding.startTime } : {}),
    createdAt: samePid ? previous.createdAt : new Date().toISOString(),
    phase: 'applying',
    entries,
  };
  writeStateFile(path, state);

  // 3. apply in order; on failure roll back in reverse
  const done: BoundTarget[] = [];
  let failedAt = -1;
  for (let i = 0; i < pending.length; i++) {
    const t = pending[i] as BoundTarget;
    const snap = snapshot.get(t.key);
    const result: TargetResult = { key: t.key, label: t.label, actionId: t.actionId, requested: t.cpus.toString(), before: snap?.before.toString() ?? '', status: 'changed' };
    report.results.push(result);
    try {
      if (t.kind === 'irq' && snap && !snap.writable) throw new AffinityWriteError('EPERM', `${t.label}: smp_affinity_list is read-only`);
      await writeWithRetry(io, t, t.cpus, retry);
      done.push(t);
      report.changed++;
      const after = readCurrent(io, t);
      result.effective = (t.kind === 'irq' ? (after.effective ?? after.cpus) : after.cpus).toString();
      if (t.kind === 'irq' && !after.cpus.equals(t.cpus)) result.message = `kernel kept ${after.cpus.toString()}`;
    } catch (e) {
      const code = e instanceof AffinityWriteError ? e.code : '';
      if (t.kind === 'irq' && (code === 'EIO' || code === 'EPERM') && !options.strict) {
        result.status = 'managed-skipped';
        result.message = 'kernel-managed IRQ: cannot be moved from user space; skipped';
        continue;
      }
      if (t.kind === 'thread' && t.actionId === 'emulator' && code === 'ESRCH') {
        result.status = 'vanished';
        result.message = 'exited during apply';
        continue;
      }
      result.status = 'failed';
      const f = failureOf(t, e);
      result.message = f.message;
      report.error = f;
      failedAt = i;
      break;
    }
  }
  const irqsChanged = done.filter((t) => t.kind === 'irq').map((t) => t.irq as number);
  if (failedAt < 0) {
    writeStateFile(path, { ...state, phase: 'applied' });
    const w = irqbalanceWarning(paths, irqsChanged);
    if (w) report.warnings.push(w);
    return report;
  }
  report.ok = false;
  for (const t of pending.slice(failedAt + 1)) report.results.push({ key: t.key, label: t.label, actionId: t.actionId, requested: t.cpus.toString(), before: snapshot.get(t.key)?.before.toString() ?? '', status: 'not-reached' });
  const rollback: NonNullable<ApplyReport['rollback']> = { restored: 0, failed: [] };
  for (const t of [...done].reverse()) {
    const before = snapshot.get(t.key)?.before as CpuSet;
    try {
      await writeWithRetry(io, t, before, retry);
      rollback.restored++;
      const r = report.results.find((x) => x.key === t.key);
      if (r) r.status = 'rolled-back';
    } catch (e) {
      rollback.failed.push({ key: t.key, message: (e as Error).message });
    }
  }
  report.rollback = rollback;
  report.changed = 0;
  if (!rollback.failed.length) {
    // Nothing of this apply is left on the host: the state file goes back to what it was.
    if (samePid) writeStateFile(path, previous);
    else removeStateFile(path);
  } else {
    report.warnings.push(`rollback left ${rollback.failed.length} target(s) changed; the state file ${path} keeps their original masks: run restore`);
  }
  return report;
}

// ---------------------------------------------------------------- restore

export interface RestoreOptions {
  paths?: HostPaths;
  stateDir?: string;
  io?: Partial<AffinityIo>;
  threadMethod?: ThreadMethod;
  retry?: { attempts: number; delayMs: number };
}

export interface RestoreReport {
  ok: boolean;
  name: string;
  statePath: string;
  /** False when there was no state file (nothing to restore). */
  found: boolean;
  results: { key: string; status: 'restored' | 'unchanged' | 'gone' | 'reused' | 'failed'; before: string; message?: string }[];
}

/** Put back every mask recorded in NAME's state file (reverse order), then remove the file. */
export async function restore(name: string, options: RestoreOptions = {}): Promise<RestoreReport> {
  const paths = options.paths ?? LIVE_PATHS;
  const path = statePath(options.stateDir ?? `${paths.run}/virt-pin`, name);
  const state = readStateFile(path);
  const report: RestoreReport = { ok: true, name, statePath: path, found: state !== undefined, results: [] };
  if (!state) return report;
  const io = ioFor(paths, options);
  const retry = options.retry ?? { attempts: 5, delayMs: 20 };
  const alive = state.pid > 0 && processStartTime(paths, state.pid) === state.startTime && state.startTime !== undefined;
  const proc = new Confined(paths.proc);
  const ints = state.entries.some((e) => e.kind === 'irq') ? readInterrupts(paths) : undefined;
  for (const e of [...state.entries].reverse()) {
    const key = entryKey(e);
    const before = parseKernelCpuList(e.before);
    if (e.kind === 'thread') {
      if (!alive || !proc.resolve([String(state.pid), 'task', String(e.tid)])) {
        report.results.push({ key, status: 'gone', before: e.before, message: 'the thread (or its process) no longer exists' });
        continue;
      }
    } else {
      const owner = discoverDeviceIrqs(paths, e.device, ints).irqs.find((i) => i.irq === e.irq);
      if (!owner || (e.name !== undefined && owner.name !== undefined && owner.name !== e.name)) {
        report.results.push({ key, status: 'reused', before: e.before, message: `IRQ ${e.irq} no longer belongs to ${e.device}${owner?.name ? ` as ${e.name}` : ''}; left alone` });
        continue;
      }
    }
    const target = { kind: e.kind, ...(e.kind === 'thread' ? { tid: e.tid } : { irq: e.irq }) } as const;
    try {
      const cur = e.kind === 'thread' ? io.readThreadAffinity(e.tid) : io.readIrqAffinity(e.irq).requested;
      if (cur.equals(before)) {
        report.results.push({ key, status: 'unchanged', before: e.before });
        continue;
      }
      await writeWithRetry(io, target, before, retry);
      report.results.push({ key, status: 'restored', before: e.before });
    } catch (err) {
      const code = err instanceof AffinityWriteError ? err.code : '';
      if (e.kind === 'thread' && code === 'ESRCH') report.results.push({ key, status: 'gone', before: e.before, message: 'the thread exited' });
      else {
        report.ok = false;
        report.results.push({ key, status: 'failed', before: e.before, message: (err as Error).message });
      }
    }
  }
  if (report.ok) removeStateFile(path);
  return report;
}
