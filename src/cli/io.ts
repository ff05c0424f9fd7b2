/**
 * The CLI's I/O edge: reading inputs (files, directories, stdin) and host
 * facts. Nothing below src/cli reads files except src/host.
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { normalize } from 'node:path';
import { DEFAULT_LIMITS } from '../xml/index.js';
import { UsageError } from './usage.js';

export interface InputFile {
  /** Name shown in diagnostics (`-` becomes `<stdin>`). */
  name: string;
  bytes: Uint8Array;
  /**
   * Set when the input is larger than the byte limit it was read with; `bytes`
   * is then empty, because reading stopped at the limit (a regular file is
   * refused from its size without reading it at all).
   */
  oversize?: { limit: number; size: number | undefined };
}

/** `NAME is larger than …`: the message for an input refused by its size. */
export function oversizeMessage(input: InputFile): string {
  const { limit, size } = input.oversize!;
  return `${input.name} is larger than the ${limit}-byte limit${size === undefined ? '; reading stopped there' : ` (${size} bytes); it was not read`}`;
}

/** One input of a batch: a path to check, or why it cannot be. */
export interface InputPath {
  path: string;
  /** Named on the command line (always checked), rather than found in a directory. */
  named: boolean;
  /** Set when the path (or directory) cannot be read; nothing else is known about it. */
  error?: InputPathError;
}

export interface InputPathError {
  code: 'INPUT_UNREADABLE';
  message: string;
}

export function unreadable(path: string, e: unknown): InputPathError {
  const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return { code: 'INPUT_UNREADABLE', message: `cannot read ${path}: ${reason}` };
}

/**
 * Expand FILE|DIR|- arguments into the inputs of a batch (`-` kept as is).
 * A path that cannot be read is an entry with an error, not the end of the
 * run: the rest of the batch is still checked and reported.
 */
export function expandInputs(args: readonly string[]): InputPath[] {
  const out: InputPath[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push({ path: '-', named: true });
      continue;
    }
    let st;
    try {
      st = statSync(arg);
    } catch (e) {
      out.push({ path: arg, named: true, error: unreadable(arg, e) });
      continue;
    }
    if (st.isDirectory()) out.push(...xmlFilesIn(arg));
    else out.push({ path: arg, named: true });
  }
  return out;
}

/**
 * Every *.xml file under `dir`. Symbolic links are followed (a CI tree of
 * links to the real definitions must not pass as "0 files"), each
 * directory is entered once by device and inode (a link back up the tree is
 * not a loop), and a file reached both directly and through a link is
 * listed once, under its own name. Order: depth first, names sorted. A
 * directory that cannot be read, and a link to nothing, are entries with
 * an error.
 *
 * A file is known by its real path: the real path of the directory it is
 * listed in (one realpath per directory) and its name, or for a link the
 * link's realpath. That costs no system call per plain file, where a stat
 * of every file (for its device and inode) was most of the walk: ~2,750
 * stats over the vendored corpus. Two hard links to one file are two
 * names, and both are listed, as `find` lists them.
 */
function xmlFilesIn(dir: string): InputPath[] {
  const seenDirs = new Set<string>();
  const files = new Map<string, InputPath & { viaLink: boolean }>();
  const identity = (st: { dev: number; ino: number }): string => `${st.dev}:${st.ino}`;
  // Children are joined by hand (no normalizing join per file): from a normalized root, `d/name` is normalized.
  const under = (d: string, name: string): string => (d === '.' ? name : d.endsWith('/') ? d + name : `${d}/${name}`);
  const walk = (d: string, st: Stats): void => {
    if (seenDirs.has(identity(st))) return;
    seenDirs.add(identity(st));
    let entries;
    let real: string;
    try {
      entries = readdirSync(d, { withFileTypes: true });
      real = realpathSync.native(d);
    } catch (e) {
      files.set(`error:${d}`, { path: d, named: false, error: unreadable(d, e), viaLink: false });
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = under(d, entry.name);
      let target: Stats | undefined;
      if (entry.isSymbolicLink()) {
        try {
          target = statSync(p);
        } catch (e) {
          if (entry.name.endsWith('.xml')) files.set(`error:${p}`, { path: p, named: false, error: unreadable(p, e), viaLink: true });
          continue;
        }
      }
      const isDir = target ? target.isDirectory() : entry.isDirectory();
      const isFile = target ? target.isFile() : entry.isFile();
      if (isDir) {
        let dirStat: Stats;
        try {
          dirStat = target ?? statSync(p);
        } catch (e) {
          files.set(`error:${p}`, { path: p, named: false, error: unreadable(p, e), viaLink: false });
          continue;
        }
        walk(p, dirStat);
      } else if (isFile && entry.name.endsWith('.xml')) {
        let key: string;
        try {
          key = target ? realpathSync.native(p) : under(real, entry.name);
        } catch (e) {
          files.set(`error:${p}`, { path: p, named: false, error: unreadable(p, e), viaLink: true });
          continue;
        }
        const known = files.get(key);
        if (known && !(known.viaLink && !target)) continue;
        // The file's own name replaces a link's, at the file's own place in the order.
        files.delete(key);
        files.set(key, { path: p, named: false, viaLink: target !== undefined });
      }
    }
  };
  const root = normalize(dir);
  walk(root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root, statSync(dir));
  return [...files.values()].map(({ viaLink: _, ...input }) => input);
}

export class IoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IoError';
  }
}

let stdinRead = false;

/**
 * Read one input; `-` reads standard input (once). Inputs larger than
 * `maxBytes` come back with `oversize` set instead of their bytes.
 */
export function readInput(path: string, maxBytes: number = DEFAULT_LIMITS.maxBytes): InputFile {
  if (path === '-') {
    if (stdinRead) throw new UsageError('standard input (-) can be named only once');
    stdinRead = true;
    try {
      return { name: '<stdin>', ...readCapped(0, maxBytes) };
    } catch (e) {
      throw new IoError(`cannot read standard input: ${(e as Error).message}`);
    }
  }
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return { name: path, ...readCapped(fd, maxBytes) };
  } catch (e) {
    throw new IoError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const CHUNK_BYTES = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

/**
 * All of `fd`, unless it holds more than `limit` bytes: a regular file is
 * judged by its fstat size before anything is read; a pipe or terminal is
 * read in chunks and dropped as soon as it passes the limit. Either way an
 * oversized input never sits in memory whole.
 */
function readCapped(fd: number, limit: number): Pick<InputFile, 'bytes' | 'oversize'> {
  const st = fstatSync(fd);
  if (st.isFile() && st.size > limit) return { bytes: NO_BYTES, oversize: { limit, size: st.size } };
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // One byte past the limit is enough to know the input is too large.
    // (procfs files report size 0, hence the floor of one chunk.)
    // A regular file: its size + 1 first, then a small read that sees the end
    // (a 64 KiB buffer per file was most of a corpus run's allocation).
    // procfs reports size 0 and pipes have none: chunks.
    const sized = st.isFile() && st.size > 0;
    const want = !sized ? CHUNK_BYTES : total < st.size ? st.size + 1 - total : total === st.size ? 512 : CHUNK_BYTES;
    const chunk = Buffer.allocUnsafe(Math.min(want, limit + 1 - total, CHUNK_BYTES * 256));
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      // A non-blocking stdin with nothing yet: wait briefly without spinning.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) return { bytes: NO_BYTES, oversize: { limit, size: st.isFile() ? Math.max(st.size, total) : undefined } };
    chunks.push(chunk.subarray(0, n));
    // A regular file that gave exactly its fstat size when asked for one byte more is at its end: Linux reads a
    // regular file short only there, so the read that would return 0 is skipped (one syscall per file of a
    // directory check). A file that was still growing gives the extra byte, and is read on.
    if (sized && total === st.size && n < chunk.length) break;
  }
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) };
}
