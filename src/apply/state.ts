/**
 * The state file: every target's affinity before virt-pin touched it,
 * written atomically (temp file in the same directory, fsync, rename)
 * before the first change, so `restore` works even after a crash mid-apply.
 */
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VirtPinError } from '../errors.js';
import { checkDomainName, parseIrqNumber } from './paths.js';

export type StateEntry =
  | { kind: 'thread'; tid: number; comm: string; role: string; before: string }
  | { kind: 'irq'; irq: number; device: string; name?: string; before: string };

export interface StateFile {
  schemaVersion: 1;
  kind: 'virt-pin-state';
  name: string;
  /** 0 when the plan had no thread actions. */
  pid: number;
  /** /proc/PID/stat start time: tells the process from a later one with a recycled pid. */
  startTime?: string;
  createdAt: string;
  /** `applying` until every change succeeded; a crash leaves it there and `restore` still works. */
  phase: 'applying' | 'applied';
  /** In the order the changes are made; restore walks it backwards. */
  entries: StateEntry[];
}

export function entryKey(e: StateEntry): string {
  return e.kind === 'thread' ? `thread:${e.tid}` : `irq:${e.irq}`;
}

export function statePath(stateDir: string, name: string): string {
  return join(stateDir, `${checkDomainName(name).replace(/[^A-Za-z0-9_.:@+-]/g, '_')}.json`);
}

export function writeStateFile(path: string, state: StateFile): void {
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    const data = Buffer.from(JSON.stringify(state, null, 2) + '\n');
    writeSync(fd, data, 0, data.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function removeStateFile(path: string): void {
  rmSync(path, { force: true });
}

const CPULIST = /^([0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*)?$/;

/** Read and check a state file; undefined when there is none. */
export function readStateFile(path: string): StateFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VirtPinError('APPLY_STATE_UNREADABLE', `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bad = (why: string): VirtPinError => new VirtPinError('APPLY_STATE_INVALID', `${path}: ${why}`, { hint: 'the file was not written by virt-pin or was edited; nothing was restored' });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const s = raw as Partial<StateFile>;
  if (s?.kind !== 'virt-pin-state' || s.schemaVersion !== 1 || typeof s.name !== 'string' || !Array.isArray(s.entries) || typeof s.pid !== 'number') throw bad('not a virt-pin state file');
  for (const e of s.entries as StateEntry[]) {
    if (typeof e.before !== 'string' || !CPULIST.test(e.before)) throw bad(`entry with a bad CPU list`);
    if (e.kind === 'thread') {
      if (!Number.isSafeInteger(e.tid) || e.tid < 1) throw bad('entry with a bad thread id');
    } else if (e.kind === 'irq') {
      if (parseIrqNumber(String(e.irq)) === undefined || typeof e.device !== 'string') throw bad('entry with a bad IRQ');
    } else throw bad('entry of unknown kind');
  }
  return s as StateFile;
}
