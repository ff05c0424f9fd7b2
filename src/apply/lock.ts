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
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { VirtPinError } from '../errors.js';
import { processAlive, processStartTime } from './discover.js';
import { LIVE_PATHS } from './paths.js';
import { ensureDir } from './state.js';

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

function readLock(path: string): LockContent | 'missing' | 'invalid' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'invalid';
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
 * Take `lockPath`. Throws APPLY_LOCKED (another live process holds it),
 * APPLY_LOCK_INVALID (a lock file that is not virt-pin's), or
 * APPLY_STATE_UNWRITABLE (the directory cannot take the lock file).
 */
export function acquireLock(lockPath: string): HeldLock {
  const dir = lockPath.slice(0, lockPath.lastIndexOf('/')) || '/';
  const startTime = processStartTime(LIVE_PATHS, process.pid) ?? '';
  const mine: LockContent = { pid: process.pid, startTime, nonce: lockNonce(), since: new Date().toISOString() };
  const tmp = `${lockPath}.tmp-${process.pid}-${mine.nonce}`;
  try {
    ensureDir(dir);
    writeFileSync(tmp, JSON.stringify(mine) + '\n', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    rmSync(tmp, { force: true });
    throw unwritable(lockPath, e);
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, lockPath);
        return {
          path: lockPath,
          release() {
            const now = readLock(lockPath);
            if (typeof now === 'object' && now.nonce === mine.nonce) rmSync(lockPath, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw unwritable(lockPath, e);
      }
      const holder = readLock(lockPath);
      if (holder === 'missing') continue;
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
    rmSync(tmp, { force: true });
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
  rmSync(aside, { force: true });
}

/**
 * Tells two takers of the same stale lock apart. Not a secret: pid, time
 * and Math.random suffice, and skipping node:crypto saves ~3 ms of every
 * hook start (docs/performance.md).
 */
function lockNonce(): string {
  return `${process.pid.toString(16)}-${Date.now().toString(16)}-${Math.random().toString(16).slice(2, 10)}`;
}
