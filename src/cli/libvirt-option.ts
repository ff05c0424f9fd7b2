/**
 * `--libvirt VERSION`: which libvirt's behaviour to check for (docs/fidelity.md,
 * LIBVIRT_CHANGES). Without it, the libvirt installed here decides — the
 * client's `virsh --version`, else `libvirtd --version` — and with neither,
 * the newest modelled.
 *
 * Asking costs a process (~45 ms of wall time here: more than loading and
 * checking `one.xml` together), so the answer is remembered per user in
 * $XDG_CACHE_HOME/virt-pin/libvirt-version.json (~/.cache/virt-pin/…),
 * keyed by the identity of the file that answered: its real path, device,
 * inode, size, and modification and change times in nanoseconds. `virsh
 * --version` prints the version virsh was built as (a constant in the
 * binary), so the same file gives the same answer; an upgrade replaces the
 * file and the next run asks again. (Reading the version from the name of
 * libvirt.so.0.MAJOR*1000+MINOR.MICRO next to virsh was the other way
 * measured: as cheap, but it guesses the library directory and names the
 * library's version, not the client's.) docs/cold-start.md has the numbers.
 *
 * The cache is never trusted blindly and never fatal: it is read through
 * readStateFileSafely (no symlink, no FIFO, a regular file of this user not
 * writable by group or others, at most 4 KiB) in a directory checkStateDir
 * accepts, and written like a state file (0600 temp file, rename). Anything
 * doubtful — unsafe, unreadable, not the expected JSON, another identity —
 * means asking again; a cache that cannot be written (no HOME, read-only
 * home) means asking every time.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { checkStateDir, readStateFileSafely } from '../apply/state-dir.js';
import { writeJsonAtomically } from '../apply/state.js';
import { formatLibvirtVersion, parseLibvirtVersion } from '../domain/index.js';
import { isVirtPinError } from '../errors.js';
import { UsageError } from './usage.js';

export function libvirtVersionOption(given: string | undefined): string | undefined {
  if (given !== undefined) {
    try {
      return formatLibvirtVersion(parseLibvirtVersion(given));
    } catch (e) {
      if (isVirtPinError(e)) throw new UsageError(`--libvirt: ${e.message}`);
      throw e;
    }
  }
  return localLibvirtVersion();
}

const SOURCES = ['virsh', 'libvirtd'] as const;
type Source = (typeof SOURCES)[number];

/** What identifies the file that answered; every field a decimal string (nanoseconds do not fit a double). */
export interface BinaryIdentity {
  path: string;
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

interface CacheFile {
  kind: 'virt-pin-libvirt-version';
  schemaVersion: 1;
  entries: Partial<Record<Source, BinaryIdentity & { version: string }>>;
}

/** The cache file's name inside the per-user cache directory. */
export const LIBVIRT_VERSION_CACHE = 'libvirt-version.json';
/** A real cache is a few hundred bytes. */
const CACHE_MAX_BYTES = 4096;

/**
 * The local libvirt's version, or undefined when neither virsh nor libvirtd
 * is on PATH or answers (in at most 3 s each). A remembered answer for the
 * same binary is used without running it.
 */
export function localLibvirtVersion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const cachePath = cacheFilePath(env);
  let cache: CacheFile | undefined;
  let cacheRead = false;
  for (const source of SOURCES) {
    const binary = findOnPath(source, env.PATH);
    if (binary === undefined) continue;
    const identity = identityOf(binary);
    if (identity && cachePath) {
      if (!cacheRead) {
        cache = readCache(cachePath);
        cacheRead = true;
      }
      const known = cache?.entries[source];
      if (known && sameIdentity(known, identity)) return known.version;
    }
    const version = askVersion(binary);
    if (version === undefined) continue;
    if (identity && cachePath) writeCache(cachePath, { kind: 'virt-pin-libvirt-version', schemaVersion: 1, entries: { ...cache?.entries, [source]: { ...identity, version } } });
    return version;
  }
  return undefined;
}

function askVersion(binary: string): string | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  try {
    return formatLibvirtVersion(parseLibvirtVersion(r.stdout.trim()));
  } catch {
    return undefined; // not a version: try the next source
  }
}

/** $XDG_CACHE_HOME/virt-pin/… (an absolute XDG_CACHE_HOME only, as the XDG spec says), else $HOME/.cache/virt-pin/…; undefined without either. */
export function cacheFilePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'virt-pin', LIBVIRT_VERSION_CACHE);
  const home = env.HOME;
  if (home && isAbsolute(home)) return join(home, '.cache', 'virt-pin', LIBVIRT_VERSION_CACHE);
  return undefined;
}

/**
 * The file execvp would run for `command`: the first PATH entry holding an
 * executable regular file of that name (an empty entry is the current
 * directory; no PATH: /usr/bin:/bin, as libuv's spawn searches).
 */
export function findOnPath(command: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = resolve(dir === '' ? '.' : dir, command);
    try {
      if (!statSync(candidate, { throwIfNoEntry: false })?.isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there, or not executable: the next entry
    }
  }
  return undefined;
}

export function identityOf(binary: string): BinaryIdentity | undefined {
  try {
    const path = realpathSync.native(binary);
    const st = statSync(path, { bigint: true });
    return { path, dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
  } catch {
    return undefined;
  }
}

const IDENTITY_KEYS = ['path', 'dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const;

function sameIdentity(a: BinaryIdentity, b: BinaryIdentity): boolean {
  return IDENTITY_KEYS.every((k) => a[k] === b[k]);
}

/** The cache when it is safe and well-formed; undefined on any doubt (which means: ask again). */
function readCache(path: string): CacheFile | undefined {
  try {
    checkStateDir(dirname(path));
    const read = readStateFileSafely(path, CACHE_MAX_BYTES, { ownOnly: true });
    if (!('text' in read)) return undefined;
    const raw = JSON.parse(read.text) as Partial<CacheFile>;
    if (raw?.kind !== 'virt-pin-libvirt-version' || raw.schemaVersion !== 1 || typeof raw.entries !== 'object' || raw.entries === null || Array.isArray(raw.entries)) return undefined;
    const entries: CacheFile['entries'] = {};
    for (const source of SOURCES) {
      const e = (raw.entries as Record<string, unknown>)[source] as Record<string, unknown> | undefined;
      if (e === undefined) continue;
      if (typeof e !== 'object' || e === null) return undefined;
      if (typeof e.path !== 'string' || !isAbsolute(e.path)) return undefined;
      if (!IDENTITY_KEYS.slice(1).every((k) => typeof e[k] === 'string' && /^[0-9]{1,30}$/.test(e[k] as string))) return undefined;
      if (typeof e.version !== 'string') return undefined;
      // Only what the option itself accepts, in its own spelling.
      if (formatLibvirtVersion(parseLibvirtVersion(e.version)) !== e.version) return undefined;
      entries[source] = e as unknown as BinaryIdentity & { version: string };
    }
    return { kind: 'virt-pin-libvirt-version', schemaVersion: 1, entries };
  } catch {
    return undefined;
  }
}

function writeCache(path: string, cache: CacheFile): void {
  try {
    // Only below a HOME that exists (a HOME of /nonexistent, as service accounts have, is never created: running as
    // root would make it), or an XDG_CACHE_HOME whose parent exists (the XDG spec lets a program create that one).
    const anchor = dirname(dirname(dirname(path)));
    if (!statSync(anchor, { throwIfNoEntry: false })?.isDirectory()) return;
    writeJsonAtomically(path, cache); // creates .cache/virt-pin or virt-pin (0700) when the parents pass checkStateDir
  } catch {
    // no cache: the next run asks again
  }
}
