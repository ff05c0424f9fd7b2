/**
 * restore(): put back what a state file recorded, within the checks of
 * docs/security.md (pid + start time + comm for threads, still the
 * device's vfio vector for IRQs, unchanged since for cgroups).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseKernelCpuList, type CpuSet } from '../cpuset/index.js';
import { cgroupCpusFile, relParts } from './cgroup.js';
import { discoverDeviceIrqs, processAlive, ProcFiles, readInterrupts, threadComm, type DeviceIrqs } from './discover.js';
import type { HostIo, ThreadMethod } from './io.js';
import { LIVE_PATHS, type HostPaths } from './paths.js';
import { parseSched, sameSched, type SchedState } from './sched.js';
import { checkStateOwner, entryKey, legacyStatePath, readStateFile, removeStateFile, statePath } from './state.js';
import { refuseForeignThreads, lockDomain } from './execute.js';
import { errnoOf, ioFor, withRetry } from './steps.js';

function readCgroupText(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

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
  const procFiles = new ProcFiles(paths.proc);
  const ints = state.entries.some((e) => e.kind === 'irq') ? readInterrupts(paths) : undefined;
  // One discovery per device, not one per recorded vector (that is quadratic: 256 vectors, 65 536 sysfs reads).
  const discovered = new Map<string, DeviceIrqs>();
  const deviceIrqsOf = (device: string): DeviceIrqs => {
    let d = discovered.get(device);
    if (!d) discovered.set(device, (d = discoverDeviceIrqs(paths, device, ints)));
    return d;
  };
  // Recorded lists repeat (every vCPU of a domain had the same mask before): parse each text once.
  const parsed = new Map<string, CpuSet>();
  const listOf = (text: string): CpuSet => {
    let set = parsed.get(text);
    if (set === undefined) parsed.set(text, (set = parseKernelCpuList(text)));
    return set;
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
        // Same pid, same start time, and the same thread name: a state file naming some other thread gets nothing written.
        // PID/task/TID/comm exists only for a thread of that process: one read proves both (the process was checked above).
        const comm = alive ? threadComm(paths, state.pid, e.tid, procFiles) : undefined;
        if (comm === undefined) {
          push('gone', 'the thread (or its process) no longer exists');
          continue;
        }
        if (comm !== e.comm) {
          push('reused', `thread ${e.tid} is now '${comm.slice(0, 16)}', not the recorded '${e.comm.slice(0, 16)}'; left alone`);
          continue;
        }
        if (e.kind === 'thread') {
          const before = listOf(e.before);
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
        const before = listOf(e.before);
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
        const before = listOf(e.before);
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
