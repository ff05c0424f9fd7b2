/**
 * The state directory and the files in it, treated as hostile: the
 * directory and every parent must be owned by root or by the running user
 * and not writable by group or others (a sticky parent such as /tmp is
 * fine: nobody can rename another user's entry there), and every state,
 * lock and plan file is opened with O_NOFOLLOW|O_NONBLOCK, must be a
 * regular file owned by root or the running user, and is read only up to a
 * cap. A file that fails is refused with a typed error before anything is
 * written. See docs/security.md.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { VirtPinError } from '../errors.js';

/** A state file is a few KiB; 256 vectors × 64 devices stays below 4 MiB. */
export const STATE_FILE_MAX_BYTES = 4 * 1024 * 1024;

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

function unsafe(path: string, why: string): VirtPinError {
  return new VirtPinError('APPLY_STATE_DIR_UNSAFE', `${path}: ${why}; virt-pin keeps no state there`, {
    hint: 'the state directory and each of its parents must be owned by root or by the user running virt-pin and not be writable by group or others (chmod go-w; a sticky /tmp is fine)',
  });
}

/**
 * Check an existing directory (`self`: the state directory, which must not
 * be a symlink and must not be group/other-writable even if sticky) or a
 * parent (sticky group/other-writable parents pass).
 */
function checkOne(path: string, self: boolean): void {
  const st = lstatSync(path);
  if (self && st.isSymbolicLink()) throw unsafe(path, 'is a symlink');
  if (!st.isDirectory()) throw unsafe(path, 'is not a directory');
  const uid = euid();
  if (st.uid !== 0 && st.uid !== uid) throw unsafe(path, `is owned by uid ${st.uid}, not by root or uid ${uid}`);
  const sticky = (st.mode & 0o1000) !== 0; // S_ISVTX
  if ((st.mode & 0o022) !== 0 && (self || !sticky)) throw unsafe(path, `is writable by ${(st.mode & 0o020) !== 0 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)})`);
}

/**
 * Refuse a state directory another local user could change: the directory
 * (when it exists) and every existing parent up to `/`. Parents are checked
 * along their real path (a symlinked parent such as /var/run → /run is
 * followed, then checked); the directory itself must not be a symlink.
 * Returns whether the directory exists.
 */
export function checkStateDir(dir: string): boolean {
  const abs = resolve(dir);
  let self: ReturnType<typeof lstatSync> | undefined;
  try {
    self = lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw unsafe(abs, (e as NodeJS.ErrnoException).code ?? 'cannot be checked');
  }
  if (self) checkOne(abs, true);
  // The nearest existing ancestor, by its real path, then every parent of it.
  let parent = dirname(abs);
  for (;;) {
    try {
      parent = realpathSync.native(parent);
      break;
    } catch {
      if (dirname(parent) === parent) return self !== undefined;
      parent = dirname(parent);
    }
  }
  for (let p = parent; ; p = dirname(p)) {
    checkOne(p, false);
    if (dirname(p) === p) break;
  }
  return self !== undefined;
}

/** The text, and the file's identity (`dev:ino`) to tell it from a file later put under the same name. */
export type SafeRead = { text: string; id: string } | { missing: true };

/**
 * Read a state, lock or plan file without following a symlink, without
 * blocking on a FIFO, and not beyond `maxBytes`. Missing: `{ missing }`.
 * Anything else that is not a regular file owned by root or the running
 * user: APPLY_STATE_UNSAFE. `ownOnly` (a per-user cache such as
 * src/cli/libvirt-option.ts's): owned by the running user itself, and not
 * writable by its group or others.
 */
export function readStateFileSafely(path: string, maxBytes = STATE_FILE_MAX_BYTES, options: { ownOnly?: boolean } = {}): SafeRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true };
    if (code === 'ELOOP') throw notRegular(path, 'is a symlink');
    throw new VirtPinError('APPLY_STATE_UNREADABLE', `${path}: ${code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, 'is not a regular file');
    const uid = euid();
    if (st.uid !== 0 && st.uid !== uid) throw notRegular(path, `is owned by uid ${st.uid}`);
    if (options.ownOnly && st.uid !== uid) throw notRegular(path, `is owned by uid ${st.uid}, not by uid ${uid}`);
    if (options.ownOnly && (st.mode & 0o022) !== 0) throw notRegular(path, `is writable by ${(st.mode & 0o020) !== 0 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)})`);
    if (st.size > maxBytes) throw notRegular(path, `is ${st.size} bytes, more than the ${maxBytes} a virt-pin file can have`);
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 4096)));
    let n = 0;
    for (;;) {
      if (n === buf.length) throw notRegular(path, `holds more than ${maxBytes} bytes`);
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > maxBytes) throw notRegular(path, `holds more than ${maxBytes} bytes`);
    }
    return { text: buf.subarray(0, n).toString('utf8'), id: `${st.dev}:${st.ino}` };
  } catch (e) {
    if (e instanceof VirtPinError) throw e;
    throw new VirtPinError('APPLY_STATE_UNREADABLE', `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

function notRegular(path: string, why: string): VirtPinError {
  return new VirtPinError('APPLY_STATE_UNSAFE', `${path} ${why}; refused, nothing was read from it`, { hint: 'virt-pin writes only regular files of its own there; remove what is not one' });
}
