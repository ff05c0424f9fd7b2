/**
 * Rolling back a failed apply (see apply.ts for the order of steps).
 */
import { removeStateFile, writeStateFile, type StateFile } from './state.js';
import { errnoOf, withRetry, type ApplyReport, type Step } from './steps.js';

/**
 * Step 4 of apply, after a failure: every change made so far is put back in
 * reverse order (threads of a process that died need none), and the state
 * file returns to what it was when nothing is left changed; otherwise it
 * stays for restore.
 */
export async function rollBack(ctx: { report: ApplyReport; pending: Step[]; done: Step[]; failedAt: number; dead: boolean; retry: { attempts: number; delayMs: number }; previous: StateFile | undefined; path: string }): Promise<ApplyReport> {
  const { report, pending, done, failedAt, dead, retry, previous, path } = ctx;
  report.ok = false;
  for (const s of pending.slice(failedAt + 1)) report.results.push({ key: s.key, label: s.label, actionId: s.actionId, requested: s.requested, before: s.before, status: 'not-reached' });
  const rollback: NonNullable<ApplyReport['rollback']> = { restored: 0, failed: [] };
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
