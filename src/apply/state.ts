/**
 * The state file: every target's setting before virt-pin touched it,
 * written atomically (temp file in the same directory, fsync, rename)
 * before the first change, so `restore` works even after a crash mid-apply.
 *
 * schemaVersion 2 added the `sched` and `cgroup` entry kinds. Files are
 * always written as version 2; version 1 files (thread and IRQ entries only)
 * are still read, and an apply that merges into one rewrites it as version
 * 2. A virt-pin that knows only version 1 refuses a version 2 file with
 * APPLY_STATE_INVALID and changes nothing.
 */
import { closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VirtPinError } from '../errors.js';
import { relParts } from './cgroup.js';
import { checkDomainName, parseIrqNumber } from './paths.js';
import { parseSched } from './sched.js';
import { checkStateDir, readStateFileSafely } from './state-dir.js';

export type StateEntry =
  | { kind: 'thread'; tid: number; comm: string; role: string; before: string }
  | { kind: 'irq'; irq: number; device: string; name?: string; before: string }
  /** Scheduler policy before: `other 0`, `fifo 10`, `batch 0 reset-on-fork` (formatSched). */
  | { kind: 'sched'; tid: number; comm: string; role: string; before: string }
  /** A widened cgroup: `path` under `${sys}/fs/cgroup`, its cpuset.cpus before, and what virt-pin wrote (restore leaves it alone if someone changed it since). */
  | { kind: 'cgroup'; path: string; version: 1 | 2; before: string; after: string };

export const STATE_SCHEMA_VERSION = 2;

export interface StateFile {
  schemaVersion: 1 | 2;
  kind: 'virt-pin-state';
  name: string;
  /** 0 when the plan had no thread actions. */
  pid: number;
  /** /proc/PID/stat start time: tells the process from a later one with a recycled pid. */
  startTime?: string;
  createdAt: string;
  /** `applying` until every change succeeded; a crash leaves it there and `restore` still works. */
  phase: 'applying' | 'applied';
  /** In the order the changes are made; restore walks it backwards (cgroups last). */
  entries: StateEntry[];
}

export function entryKey(e: StateEntry): string {
  switch (e.kind) {
    case 'thread':
      return `thread:${e.tid}`;
    case 'irq':
      return `irq:${e.irq}`;
    case 'sched':
      return `sched:${e.tid}`;
    case 'cgroup':
      return `cgroup:${e.path}`;
  }
}

/**
 * mkdir -p that reports the real errno: Node's recursive mkdir answers
 * ENOENT where the kernel said EROFS or EACCES.
 */
export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw e;
    ensureDir(parent);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (again) {
      // Another process created it between our ENOENT and now (two hooks starting at once).
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

/**
 * Create the state directory if needed, refusing one (or a parent) another
 * local user could change (APPLY_STATE_DIR_UNSAFE, src/apply/state-dir.ts).
 */
export function ensureStateDir(dir: string): void {
  if (checkStateDir(dir)) return;
  try {
    ensureDir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new VirtPinError('APPLY_STATE_UNWRITABLE', `cannot create the state directory ${dir}: ${code}; nothing was changed`, { cause: e, hint: 'the state directory must be writable (and have free space) before virt-pin changes anything' });
  }
  checkStateDir(dir);
}

/** Bytes kept as they are in a file name; everything else, '.' and '%' included, is percent-encoded. */
const PLAIN = /^[A-Za-z0-9_:@+-]$/;
/** Encoded names longer than this become a readable prefix plus a hash (NAME_MAX is 255 bytes; suffixes need room). */
const MAX_ENCODED = 180;

/**
 * A domain name as a file name: injective and reversible (percent-encoding
 * of every byte outside [A-Za-z0-9_:@+-], '.' and '%' included), so two
 * names never share a file, and the encoded name never holds a '.': the
 * first '.' ends it, and `ENC.json`, `ENC.lock`, `ENC.plan.json`,
 * `ENC.json.tmp-…` of one domain can be no other domain's file. A name whose
 * encoding is too long for a file name becomes its first bytes plus `~` and
 * the SHA-256 of the name ('~' is always encoded, so it cannot collide with
 * an encoding), and the state file records the full name.
 */
export function fileBase(name: string): string {
  let out = '';
  for (const byte of Buffer.from(checkDomainName(name), 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && PLAIN.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_ENCODED) return out;
  // node:crypto only for these rare names: loading it costs every hook start ~3 ms (docs/performance.md).
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const head = out.slice(0, 100).replace(/%[0-9A-F]?$/, '');
  return `${head}~${createHash('sha256').update(name, 'utf8').digest('hex')}`;
}

/** The name a file base stands for (the inverse of fileBase); undefined for a hashed or foreign base. */
export function nameOfFileBase(base: string): string | undefined {
  if (!/^([A-Za-z0-9_:@+-]|%[0-9A-F]{2})+$/.test(base)) return undefined;
  try {
    return decodeURIComponent(base);
  } catch {
    return undefined;
  }
}

export function statePath(stateDir: string, name: string): string {
  return join(stateDir, `${fileBase(name)}.json`);
}

/** `ENC.lock` next to the state file (src/apply/lock.ts). */
export function lockPath(stateDir: string, name: string): string {
  return join(stateDir, `${fileBase(name)}.lock`);
}

/**
 * Where versions before 0.2 kept NAME's state (every character outside
 * [A-Za-z0-9_.:@+-] turned into '_', so names collided): restore still
 * reads such a file, but only when the name recorded in it is NAME.
 */
export function legacyStatePath(stateDir: string, name: string): string | undefined {
  const old = join(stateDir, `${checkDomainName(name).replace(/[^A-Za-z0-9_.:@+-]/g, '_')}.json`);
  return old !== statePath(stateDir, name) && existsSync(old) ? old : undefined;
}

/** A state file records the domain it belongs to; never act on another domain's record. */
export function checkStateOwner<T extends { name: string }>(path: string, state: T | undefined, name: string): T | undefined {
  if (state && state.name !== name) {
    throw new VirtPinError('APPLY_STATE_OTHER_DOMAIN', `${path} records domain '${state.name.slice(0, 200)}', not '${name.slice(0, 200)}'; nothing was read from it`, {
      hint: 'the file was moved or written by hand; restore that domain by its own name, or remove the file',
    });
  }
  return state;
}

/**
 * Write atomically. Any failure (read-only directory, ENOSPC, EACCES)
 * leaves the previous file as it was, removes the temp file and throws
 * APPLY_STATE_UNWRITABLE.
 */
export function writeStateFile(path: string, state: StateFile): void {
  writeJsonAtomically(path, { ...state, schemaVersion: STATE_SCHEMA_VERSION });
}

/** The atomic write every virt-pin state file uses (this one and libvirt-live.ts's). */
export function writeJsonAtomically(path: string, value: unknown): void {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let created = false;
  try {
    ensureStateDir(dir);
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    created = true;
    try {
      const data = Buffer.from(JSON.stringify(value, null, 2) + '\n');
      const n = writeSync(fd, data, 0, data.length);
      if (n !== data.length) throw Object.assign(new Error(`short write (${n} of ${data.length} bytes)`), { code: 'ENOSPC' });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    if (created) rmSync(tmp, { force: true });
    if (e instanceof VirtPinError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new VirtPinError('APPLY_STATE_UNWRITABLE', `cannot write the state file ${path}: ${code}`, { cause: e, hint: 'the state directory must be writable and have free space' });
  }
}

/** A state file's text; undefined when there is none. */
export function readStateText(path: string): string | undefined {
  checkStateDir(dirname(path));
  const r = readStateFileSafely(path);
  return 'text' in r ? r.text : undefined;
}

export function removeStateFile(path: string): void {
  removeFile(path);
}

/**
 * Remove a file; a missing one is fine. (fs.rmSync would do, but its first
 * call loads Node's recursive remover, ~0.4 ms of every hook call.)
 */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    // A read-only file system answers EROFS even for a name that does not exist: missing is missing.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || lstatSync(path, { throwIfNoEntry: false }) === undefined) return;
    throw e;
  }
}

const CPULIST = /^([0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)?$/;

/** Read and check a state file; undefined when there is none. */
export function readStateFile(path: string): StateFile | undefined {
  const text = readStateText(path);
  if (text === undefined) return undefined;
  const bad = (why: string): VirtPinError => new VirtPinError('APPLY_STATE_INVALID', `${path}: ${why}`, { hint: 'the file was not written by virt-pin or was edited; nothing was restored' });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const s = raw as Partial<StateFile>;
  if (s?.kind !== 'virt-pin-state' || (s.schemaVersion !== 1 && s.schemaVersion !== 2) || typeof s.name !== 'string' || !Array.isArray(s.entries) || typeof s.pid !== 'number') throw bad('not a virt-pin state file (kind virt-pin-state, schemaVersion 1 or 2)');
  for (const e of s.entries as StateEntry[]) {
    if (typeof e !== 'object' || e === null) throw bad('entry that is not an object');
    if (s.schemaVersion === 1 && e.kind !== 'thread' && e.kind !== 'irq') throw bad(`entry of kind '${String(e.kind)}' in a schemaVersion 1 file`);
    if (e.kind === 'thread' || e.kind === 'sched') {
      if (!Number.isSafeInteger(e.tid) || e.tid < 1) throw bad('entry with a bad thread id');
      if (e.kind === 'sched' ? (typeof e.before !== 'string' || !parseSched(e.before)) : typeof e.before !== 'string' || !CPULIST.test(e.before)) throw bad(`entry with a bad ${e.kind === 'sched' ? 'scheduler setting' : 'CPU list'}`);
    } else if (e.kind === 'irq') {
      if (typeof e.before !== 'string' || !CPULIST.test(e.before)) throw bad('entry with a bad CPU list');
      if (parseIrqNumber(String(e.irq)) === undefined || typeof e.device !== 'string') throw bad('entry with a bad IRQ');
    } else if (e.kind === 'cgroup') {
      if (typeof e.path !== 'string' || !relParts(e.path) || (e.version !== 1 && e.version !== 2)) throw bad('entry with a bad cgroup path');
      if (typeof e.before !== 'string' || !CPULIST.test(e.before) || typeof e.after !== 'string' || !CPULIST.test(e.after)) throw bad('entry with a bad CPU list');
    } else throw bad('entry of unknown kind');
  }
  return s as StateFile;
}
