/**
 * Keeping a plan in force while the guest runs. MSI-X vectors appear when
 * the guest driver enables them, after the VM has started; threads appear
 * too (vCPU hot-plug, IOThreads, vhost workers). watchPlan re-runs apply()
 * — idempotent, and merging with the state file of the same process — but
 * only when the set of things it would bind has changed: every poll reads a
 * cheap fingerprint (the process's task list with thread names, each
 * device's `msi_irqs` and `irq`, and which of those IRQs have a
 * /proc/irq/N directory and handlers) and calls apply() only when the
 * fingerprint moved. Masks changed by someone else are not fought over.
 * See docs/runtime-plan.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { VirtPinError } from '../errors.js';
import type { RuntimePlan } from '../plan/index.js';
import { apply, type ApplyOptions, type ApplyReport } from './apply.js';
import { processStartTime, readLibvirtPid } from './discover.js';
import { checkPciAddress, checkTaskId, Confined, LIVE_PATHS, parseIrqNumber, type HostPaths } from './paths.js';

export interface WatchOptions extends ApplyOptions {
  /** Stop at this time (milliseconds since the epoch). Without it the watch runs until the process exits (or `signal`). */
  untilMs?: number;
  /** Time between polls (default 1000 ms, at least 20 ms). */
  intervalMs?: number;
  /**
   * Stop early once every IRQ action has at least one IRQ bound and nothing
   * has changed for this long. Without it only the deadline, the process's
   * exit or `signal` end the watch.
   */
  settleMs?: number;
  /** Failed apply rounds in a row before the watch gives up (default 3). */
  maxFailures?: number;
  /** Abort to stop after the round in progress; applied state stays recorded. */
  signal?: AbortSignal;
  /** Called after every poll, whether it applied or not. */
  onRound?(round: WatchRound): void;
}

export interface WatchRound {
  /** 1 for the first apply, then one per poll. */
  n: number;
  /** Whether this round called apply(): the first round, a change, or a retry after a failure. */
  applied: boolean;
  reason: 'start' | 'changed' | 'retry' | 'quiet';
  /** The apply report, when apply() returned one. */
  report?: ApplyReport;
  /** apply() threw (the target vanished mid-round, …). */
  error?: { code: string; message: string };
}

export type WatchEnd = 'deadline' | 'settled' | 'process-exited' | 'aborted' | 'failed';

export interface WatchReport {
  /** False when the first apply failed or rounds kept failing (`ended: 'failed'`). */
  ok: boolean;
  ended: WatchEnd;
  /** The watched process (0: none, the watch was bounded by its deadline only). */
  pid: number;
  /** Polls made, the first apply included. */
  rounds: number;
  /** apply() calls. */
  applies: number;
  /** Targets changed, summed over every successful apply. */
  changed: number;
  first?: ApplyReport;
  /** The last successful apply's report. */
  last?: ApplyReport;
  error?: { code: string; message: string; hint?: string };
}

const MIN_INTERVAL_MS = 20;

/**
 * Apply a plan, then keep it applied as threads and IRQs come and go.
 * Throws VirtPinError for what apply() throws on its first round (bad plan,
 * no such process) and WATCH_NO_PROCESS when no deadline is given and there
 * is no process whose exit could end the watch.
 */
export async function watchPlan(plan: RuntimePlan, options: WatchOptions = {}): Promise<WatchReport> {
  const paths = options.paths ?? LIVE_PATHS;
  const interval = Math.max(MIN_INTERVAL_MS, options.intervalMs ?? 1000);
  const maxFailures = Math.max(1, options.maxFailures ?? 3);
  const { untilMs, settleMs, signal, onRound } = options;
  const applyOptions = withoutWatchOptions(options);
  // Refuse an endless watch before changing anything, not after.
  if (untilMs === undefined && !hasThreadActions(plan) && options.pid === undefined && pidfileOf(paths, options.domain ?? plan.domain.name) === undefined) throw noProcess(options.domain ?? plan.domain.name ?? '');

  const first = await apply(plan, applyOptions);
  const report: WatchReport = { ok: first.ok, ended: 'failed', pid: 0, rounds: 1, applies: 1, changed: first.changed, first };
  onRound?.({ n: 1, applied: true, reason: 'start', report: first });
  if (!first.ok) {
    if (first.error) report.error = first.error;
    return report;
  }
  report.last = first;
  const watched = watchedProcess(paths, plan, options, first);
  if (!watched && untilMs === undefined) throw noProcess(first.name);
  report.pid = watched?.pid ?? 0;
  const devices = irqDevices(plan);
  const withThreads = report.pid > 0 && hasThreadActions(plan);
  const roots: Roots = { proc: new Confined(paths.proc), sys: new Confined(paths.sys), irqProc: new Confined(paths.irqProc ?? paths.proc) };
  const fingerprint = (): string => targetFingerprint(roots, withThreads ? report.pid : 0, devices);
  const alive = (): boolean => (watched ? isAlive(roots.proc, watched) : true);

  let seen = fingerprint();
  let quietSince = Date.now();
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return end(report, 'aborted');
    const now = Date.now();
    if (untilMs !== undefined && now >= untilMs) return end(report, 'deadline');
    if (settleMs !== undefined && failures === 0 && now - quietSince >= settleMs && everyDeviceHasIrqs(report.last)) return end(report, 'settled');
    await pause(untilMs === undefined ? interval : Math.min(interval, untilMs - now), signal);
    if (signal?.aborted) return end(report, 'aborted');
    report.rounds++;
    if (!alive()) return end(report, 'process-exited');
    const current = fingerprint();
    const changed = current !== seen;
    if (changed) {
      seen = current;
      quietSince = Date.now();
    }
    if (!changed && failures === 0) {
      onRound?.({ n: report.rounds, applied: false, reason: 'quiet' });
      continue;
    }
    const round: WatchRound = { n: report.rounds, applied: true, reason: changed ? 'changed' : 'retry' };
    report.applies++;
    try {
      const r = await apply(plan, applyOptions);
      round.report = r;
      if (r.ok) {
        failures = 0;
        report.changed += r.changed;
        report.last = r;
      } else {
        failures++;
        if (r.error) report.error = r.error;
      }
    } catch (e) {
      // The domain was restored meanwhile (whileLocked said so): nothing left to keep in force.
      if (e instanceof VirtPinError && e.code === 'WATCH_WITHDRAWN') return end(report, 'aborted');
      failures++;
      round.error = errorOf(e);
      report.error = round.error;
    }
    onRound?.(round);
    if (failures && !alive()) return end(report, 'process-exited');
    if (failures >= maxFailures) {
      report.ok = false;
      return end(report, 'failed');
    }
  }
}

function end(report: WatchReport, ended: WatchEnd): WatchReport {
  report.ended = ended;
  // A failure that a later round repaired is history, not the outcome.
  if (report.ok && ended !== 'failed') delete report.error;
  return report;
}

function withoutWatchOptions(options: WatchOptions): ApplyOptions {
  const { untilMs: _u, intervalMs: _i, settleMs: _s, maxFailures: _m, signal: _g, onRound: _o, ...rest } = options;
  return rest;
}

function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof VirtPinError) return { code: e.code, message: e.message };
  return { code: 'WATCH_ROUND_FAILED', message: e instanceof Error ? e.message : String(e) };
}

/** Sleep, cut short by an abort. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

// ---------------------------------------------------------------- the watched process

const hasThreadActions = (plan: RuntimePlan): boolean => plan.actions.some((a) => a.kind === 'thread-affinity' || a.kind === 'thread-sched');

function noProcess(name: string): VirtPinError {
  return new VirtPinError('WATCH_NO_PROCESS', `no running QEMU process to watch for '${name}'`, { hint: 'give a pid or a running libvirt domain, or a deadline (--wait-irqs)' });
}

function pidfileOf(paths: HostPaths, name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  try {
    return readLibvirtPid(paths, name);
  } catch {
    return undefined; // no pidfile: nothing to watch but a deadline
  }
}

interface Watched {
  pid: number;
  startTime: string;
}

/** The process whose exit ends the watch: the one apply() bound, else the given pid, else libvirt's pidfile. */
function watchedProcess(paths: HostPaths, plan: RuntimePlan, options: WatchOptions, first: ApplyReport): Watched | undefined {
  let pid = first.pid;
  if (!pid) {
    if (options.pid !== undefined) pid = checkTaskId(options.pid);
    else {
      const fromPidfile = pidfileOf(paths, options.domain ?? plan.domain.name);
      if (fromPidfile === undefined) return undefined;
      pid = fromPidfile;
    }
  }
  const startTime = first.pid === pid && first.binding.startTime !== undefined ? first.binding.startTime : startTimeOf(paths, pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

function startTimeOf(paths: HostPaths, pid: number): string | undefined {
  try {
    return processStartTime(paths, pid);
  } catch {
    return undefined; // exited between the lookup and the read
  }
}

/**
 * Same pid, same start time (a recycled pid is another process), and not a
 * zombie: a QEMU that exited stays in /proc until its parent reaps it.
 */
function isAlive(proc: Confined, w: Watched): boolean {
  const stat = textOf(under(proc, [String(w.pid), 'stat']));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] !== undefined && fields[0] !== 'Z' && fields[0] !== 'X' && fields[19] === w.startTime;
}

// ---------------------------------------------------------------- what would be bound

function irqDevices(plan: RuntimePlan): string[] {
  const out: string[] = [];
  for (const a of plan.actions) if (a.kind === 'irq-affinity') out.push(checkPciAddress(a.target.device));
  return [...new Set(out)];
}

/**
 * Every device has an IRQ vfio owns (a vector allocated but without its
 * vfio handler yet does not count: the handler comes later), or is bound
 * to a host driver, whose IRQs will never be the guest's.
 */
function everyDeviceHasIrqs(r: ApplyReport | undefined): boolean {
  return r !== undefined && r.binding.devices.every((d) => (d.present && d.driver !== undefined && d.driver !== 'vfio-pci') || d.irqs.some((i) => i.ownership !== 'not-vfio'));
}

/** A path under a root, or undefined when it is missing or refused (a poll must not throw; apply() reports refusals). */
function under(root: Confined, parts: string[]): string | undefined {
  try {
    return root.resolve(parts);
  } catch {
    return undefined;
  }
}

function listing(dir: string | undefined): string[] {
  if (!dir) return [];
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function textOf(file: string | undefined): string {
  if (!file) return '';
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Everything bindPlan's result depends on, read cheaply: thread ids with
 * their names (a new thread is renamed after it starts), each device's
 * vectors, and per vector whether /proc/irq/N exists and which handlers it
 * has (vfio requests the handler after the vector is allocated; an INTx line
 * becomes the device's when `vfio-intx` appears there).
 */
interface Roots {
  proc: Confined;
  sys: Confined;
  irqProc: Confined;
}

function targetFingerprint({ proc, sys, irqProc }: Roots, pid: number, devices: readonly string[]): string {
  const parts: string[] = [];
  if (pid) {
    for (const tid of listing(under(proc, [String(pid), 'task']))) {
      if (!/^[1-9][0-9]*$/.test(tid)) continue;
      parts.push(`t${tid}=${textOf(under(proc, [String(pid), 'task', tid, 'comm']))}`);
    }
  }
  for (const address of devices) {
    const base = ['bus', 'pci', 'devices', address];
    const irqs = listing(under(sys, [...base, 'msi_irqs'])).filter((n) => parseIrqNumber(n) !== undefined);
    const intx = textOf(under(sys, [...base, 'irq']));
    if (parseIrqNumber(intx) !== undefined && intx !== '0') irqs.push(intx);
    parts.push(`d${address}`);
    for (const n of irqs) {
      const dir = under(irqProc, ['irq', n]);
      parts.push(`i${n}=${dir ? listing(dir).join(',') : '-'}`);
    }
  }
  return parts.join('\n');
}
