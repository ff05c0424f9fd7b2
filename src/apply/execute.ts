/**
 * apply() itself: take the domain's lock, bind (bind.ts), snapshot
 * (snapshot.ts), write the state file, then step 3, execute: change targets
 * in order, read each back, and on a failure hand over to rollback.ts.
 */
import { readdirSync } from 'node:fs';
import { VirtPinError } from '../errors.js';
import type { RuntimePlan } from '../plan/index.js';
import { processAlive, procIsCallers } from './discover.js';
import { AffinityWriteError, type HostIo } from './io.js';
import { acquireLockWaiting, type HeldLock } from './lock.js';
import { checkTaskId, Confined, LIVE_PATHS, type HostPaths } from './paths.js';
import { checkStateOwner, entryKey, lockPath, readStateFile, statePath, writeStateFile, type StateEntry, type StateFile } from './state.js';
import { bindPlan, planErrors, type Binding } from './bind.js';
import { rollBack } from './rollback.js';
import { snapshot } from './snapshot.js';
import { errnoOf, ioFor, withRetry, type ApplyOptions, type ApplyReport, type Step, type TargetResult } from './steps.js';

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
export function refuseForeignThreads(paths: HostPaths, options: { io?: Partial<HostIo> }, touches: { affinity: boolean; sched: boolean }): void {
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
  return rollBack({ report, pending, done, failedAt, dead: diedMidway || (done.some((s) => s.ofProcess) && processGone()), retry, previous, path });
}
