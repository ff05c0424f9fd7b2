/**
 * One apply or restore per domain at a time: `NAME.lock` next to the state
 * file, created atomically (the content is written to a private temp file
 * first, then hard-linked to the lock name, which fails if it exists — the
 * same guarantee as O_EXCL, without a moment where the lock is empty).
 *
 * The lock records the holder's pid and start time. A lock whose holder is
 * gone (no such pid, or the pid now belongs to a later process) is stale and
 * taken over: it is renamed away first and checked to be the stale one, so
 * two processes taking over at once cannot both win.
 */
import { linkSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { VirtPinError } from '../errors.js';
import { processAlive, processStartTime } from './discover.js';
import { LIVE_PATHS } from './paths.js';
import { ensureStateDir, removeFile } from './state.js';
import { readStateFileSafely } from './state-dir.js';

interface LockContent {
  pid: number;
  startTime: string;
  nonce: string;
  since: string;
}

export interface HeldLock {
  path: string;
  /** Remove the lock if it is still ours. */
  release(): void;
}

function unwritable(path: string, e: unknown): VirtPinError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new VirtPinError('APPLY_STATE_UNWRITABLE', `cannot create ${path}: ${code}; nothing was changed`, { hint: 'the state directory must be writable (and have free space) before virt-pin changes anything' });
}

function readLock(path: string): LockContent | 'missing' | 'invalid' | 'unsafe' {
  let text: string;
  try {
    const r = readStateFileSafely(path, 4096);
    if (!('text' in r)) return 'missing';
    text = r.text;
  } catch (e) {
    // A symlink (dangling or not), FIFO, device, or a file of another user: never a lock virt-pin wrote.
    return e instanceof VirtPinError && e.code === 'APPLY_STATE_UNSAFE' ? 'unsafe' : 'invalid';
  }
  try {
    const c = JSON.parse(text) as Partial<LockContent>;
    if (Number.isSafeInteger(c.pid) && typeof c.startTime === 'string' && typeof c.nonce === 'string') return c as LockContent;
  } catch {
    /* fall through */
  }
  return 'invalid';
}

/** The holder still runs: same pid, same start time (pids are recycled), not a zombie. */
function holderAlive(c: LockContent): boolean {
  try {
    return processAlive(LIVE_PATHS, c.pid, c.startTime);
  } catch {
    return false;
  }
}

function holderName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * Take `lockPath`, waiting up to `waitMs` (default 0: answer at once) for a
 * live holder to finish. Throws APPLY_LOCKED (another live process holds
 * it), APPLY_LOCK_INVALID (a lock file that is not virt-pin's),
 * APPLY_STATE_DIR_UNSAFE or APPLY_STATE_UNWRITABLE (the directory cannot
 * take the lock file). Once taken, leftovers of this domain's earlier runs
 * that were killed (temp and stale-lock files of processes that no longer
 * run) are removed.
 */
export async function acquireLockWaiting(lockPath: string, waitMs: number): Promise<HeldLock> {
  const deadline = Date.now() + Math.max(0, waitMs);
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    try {
      return acquireLock(lockPath);
    } catch (e) {
      if (!(e instanceof VirtPinError && e.code === 'APPLY_LOCKED') || Date.now() + pause > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** Take `lockPath` or fail at once; see acquireLockWaiting. */
export function acquireLock(lockPath: string): HeldLock {
  const dir = lockPath.slice(0, lockPath.lastIndexOf('/')) || '/';
  const startTime = processStartTime(LIVE_PATHS, process.pid) ?? '';
  const mine: LockContent = { pid: process.pid, startTime, nonce: lockNonce(), since: new Date().toISOString() };
  const tmp = `${lockPath}.tmp-${process.pid}-${mine.nonce}`;
  ensureStateDir(dir); // APPLY_STATE_DIR_UNSAFE before anything is created there
  try {
    writeFileSync(tmp, JSON.stringify(mine) + '\n', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    removeFile(tmp);
    throw unwritable(lockPath, e);
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, lockPath);
        removeLeftovers(lockPath);
        return {
          path: lockPath,
          release() {
            const now = readLock(lockPath);
            if (typeof now === 'object' && now.nonce === mine.nonce) removeFile(lockPath);
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw unwritable(lockPath, e);
      }
      const holder = readLock(lockPath);
      if (holder === 'missing') continue;
      if (holder === 'unsafe') throw new VirtPinError('APPLY_LOCK_INVALID', `${lockPath} is a symlink or not a regular file of root or this user (a dangling symlink counts): not a virt-pin lock`, { hint: 'remove it; virt-pin never creates a lock that is not a regular file' });
      if (holder === 'invalid') throw new VirtPinError('APPLY_LOCK_INVALID', `${lockPath} exists but is not a virt-pin lock`, { hint: 'remove it if no virt-pin apply/restore is running' });
      if (holderAlive(holder)) {
        throw new VirtPinError('APPLY_LOCKED', `another virt-pin (pid ${holder.pid}, ${holderName(holder.pid)}) is applying or restoring this domain since ${holder.since} (${lockPath})`, {
          hint: 'wait for it to finish; a lock of a process that no longer runs is taken over automatically',
        });
      }
      takeOverStale(lockPath, holder, mine.nonce);
    }
    throw new VirtPinError('APPLY_LOCKED', `${lockPath}: could not take the lock (it kept changing hands)`);
  } finally {
    removeFile(tmp);
  }
}

/** Move a stale lock away; if what was moved is not the stale lock (someone took over meanwhile), put it back. */
function takeOverStale(lockPath: string, stale: LockContent, nonce: string): void {
  const aside = `${lockPath}.stale-${process.pid}-${nonce}`;
  try {
    renameSync(lockPath, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const moved = readLock(aside);
  if (typeof moved === 'object' && moved.nonce !== stale.nonce) {
    try {
      linkSync(aside, lockPath);
    } catch {
      /* a third process created a lock meanwhile: the one it holds stands */
    }
  }
  removeFile(aside);
}

/** `ENC.lock` → `ENC`: the domain's prefix in the directory (encoded names hold no '.'). */
const prefixOf = (lockPath: string): string => basename(lockPath).replace(/\.lock$/, '');

/**
 * Remove what SIGKILLed runs of this domain left: `ENC.json.tmp-PID-…`,
 * `ENC.plan.json.tmp-PID-…`, `ENC.lock.tmp-PID-…`, `ENC.lock.stale-PID-…`
 * (also in the libvirt/ subdirectory), when PID no longer runs. Called with
 * the lock held, so no run of this domain is between its temp file and its
 * rename; files of a live PID are left to it.
 */
function removeLeftovers(lockPath: string): void {
  const dir = dirname(lockPath);
  const prefix = prefixOf(lockPath);
  const pattern = new RegExp(`^${prefix.replace(/[+]/g, '\\+')}\\.(json|plan\\.json|lock)\\.(tmp|stale)-([1-9][0-9]{0,9})-[0-9a-z-]{1,64}$`);
  for (const d of [dir, join(dir, 'libvirt')]) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const m = pattern.exec(n);
      if (!m?.[3]) continue;
      if (pidRuns(Number(m[3]))) continue; // a live run (this one included) removes its own
      try {
        removeFile(join(d, n));
      } catch {
        // not a file virt-pin left (a directory by that name): not ours to remove, and no reason to fail the lock
      }
    }
  }
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Tells two takers of the same stale lock apart. Not a secret: pid, time
 * and Math.random suffice, and skipping node:crypto saves ~3 ms of every
 * hook start (docs/performance.md).
 */
function lockNonce(): string {
  return `${process.pid.toString(16)}-${Date.now().toString(16)}-${Math.random().toString(16).slice(2, 10)}`;
}
