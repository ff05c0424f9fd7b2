/**
 * Where the applier reads and writes, and the checks that keep it there.
 * Every path is built from fixed names plus components that passed a strict
 * pattern (PCI address, decimal IRQ/pid/tid), then resolved with realpath and
 * refused unless it stays under its root: sysfs links PCI devices into
 * /sys/devices, so symlinks are followed only while they stay inside.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { VirtPinError } from '../errors.js';

/** Roots of the kernel and runtime trees. Tests point them at captured copies. */
export interface HostPaths {
  /** `/proc`: QEMU threads (`PID/task/*`). */
  proc: string;
  /** `/sys`: PCI devices. */
  sys: string;
  /** `/run`: libvirt pidfiles, the default state directory, irqbalance's socket. */
  run: string;
  /** `/proc` for `irq/N/…` and `interrupts`; defaults to `proc`. */
  irqProc?: string;
}

export const LIVE_PATHS: Readonly<HostPaths> = { proc: '/proc', sys: '/sys', run: '/run' };

/** The `proc`, `sys`, `run` directories of a captured root (fixtures/passthrough-host/root). */
export function pathsUnder(root: string): HostPaths {
  return { proc: join(root, 'proc'), sys: join(root, 'sys'), run: join(root, 'run') };
}

const PCI_ADDRESS_STRICT = /^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/;

/** A PCI address in sysfs form (lower-case `DDDD:BB:SS.F`), or APPLY_BAD_PCI_ADDRESS. */
export function checkPciAddress(text: string): string {
  const a = text.toLowerCase();
  if (!PCI_ADDRESS_STRICT.test(a)) throw new VirtPinError('APPLY_BAD_PCI_ADDRESS', `'${text.slice(0, 64)}' is not a PCI address of the form DDDD:BB:SS.F`);
  return a;
}

/** Decimal, no sign, no leading zero (sysfs and procfs never print one), at most 7 digits. */
const IRQ_RE = /^(0|[1-9][0-9]{0,6})$/;
const ID_RE = /^[1-9][0-9]{0,9}$/;

/** An IRQ number from text, or undefined. */
export function parseIrqNumber(text: string): number | undefined {
  return IRQ_RE.test(text) ? Number(text) : undefined;
}

export function checkIrqNumber(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > 9_999_999) throw new VirtPinError('APPLY_BAD_IRQ', `${String(n)} is not an IRQ number`);
  return n;
}

/** A pid or tid from text (positive decimal), or undefined. */
export function parseTaskId(text: string): number | undefined {
  const n = ID_RE.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) && n <= 4_194_304 ? n : undefined;
}

export function checkTaskId(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > 4_194_304) throw new VirtPinError('APPLY_BAD_PID', `${String(n)} is not a process or thread id`);
  return n;
}

/** libvirt domain names: anything but '/', NUL and newlines; '.' and '..' refused. */
export function checkDomainName(name: string): string {
  if (!/^[^/\0\n]{1,200}$/.test(name) || name === '.' || name === '..') {
    throw new VirtPinError('APPLY_BAD_DOMAIN_NAME', `'${name.slice(0, 64)}' cannot be a domain name (no '/', NUL or newline; not '.' or '..')`);
  }
  return name;
}

const COMPONENT = /^[A-Za-z0-9_:+@-][A-Za-z0-9_.:+@-]{0,254}$/;
/**
 * cgroup directory names as /proc/PID/task/TID/cgroup prints them: systemd
 * escapes ('machine-qemu\x2d1\x2dvm.scope'), commas of co-mounted v1
 * controllers ('cpu,cpuacct'). Anything but '/', NUL and newline; '.' and
 * '..' are refused separately.
 */
const CGROUP_COMPONENT = /^[^/\0\n]{1,255}$/;

/**
 * How long a Confined keeps the real paths of directories it resolved. A
 * hook call resolves everything within milliseconds; a long-lived root (the
 * late-IRQ waiter's, for up to its deadline) walks every path from the root
 * again after this, so a directory replaced meanwhile is checked afresh.
 */
const KEEP_DIRS_MS = 1000;

/** A root directory and safe joins under it. */
export class Confined {
  readonly root: string;
  private realRoot: string | undefined;
  private readonly component: RegExp;

  /** `names: 'cgroup'` admits cgroup directory names (see CGROUP_COMPONENT); the default is the strict pattern. */
  constructor(root: string, options: { names?: 'strict' | 'cgroup' } = {}) {
    this.root = root;
    this.base = join(root);
    this.component = options.names === 'cgroup' ? CGROUP_COMPONENT : COMPONENT;
  }

  private real(): string {
    if (this.realRoot === undefined) {
      try {
        this.realRoot = realpathSync.native(this.root);
      } catch {
        throw new VirtPinError('APPLY_ROOT_MISSING', `${this.root} does not exist`);
      }
    }
    return this.realRoot;
  }

  /** Lexical path of validated components (no '..', no '/', no leading '.'). */
  lexical(parts: readonly string[]): string {
    for (const p of parts) {
      if (!this.component.test(p) || p === '.' || p === '..') throw new VirtPinError('APPLY_PATH_ESCAPE', `refusing path component '${p.slice(0, 64)}' under ${this.root}`);
    }
    // Components hold no '/' and are not '.' or '..': joining them to the normalized root needs no normalize() per call.
    return parts.length === 0 ? this.base : `${this.base === '/' ? '' : this.base}/${parts.join('/')}`;
  }

  /** The root, normalized once (path.join per lookup was a measurable part of the hook's IRQ discovery). */
  private readonly base: string;

  /**
   * The real path of an existing file, or undefined when it does not exist;
   * APPLY_PATH_ESCAPE when it resolves outside the root.
   *
   * The parent directory's real path is kept per instance for up to a
   * second (a device's `msi_irqs/*`, every `irq/N` under one /proc): the
   * last component then costs one lstat — a name that passed the component pattern and is not a
   * symlink, under a directory whose real path is inside the root, is itself
   * a real path inside the root. A symlink there is resolved and checked in
   * full. Resolving every path from the root instead cost ~20 readlink calls
   * each, most of the hook's own time (issue 15).
   */
  resolve(parts: readonly string[]): string | undefined {
    const lexical = this.lexical(parts);
    if (parts.length === 0) return this.checked(lexical, this.realOrMissing(lexical));
    const now = Date.now();
    if (now - this.keptSince > KEEP_DIRS_MS) {
      this.realDirs.clear();
      this.keptSince = now;
    }
    const parentKey = parts.slice(0, -1).join('/');
    let parent = this.realDirs.get(parentKey);
    if (parent === undefined) {
      parent = this.checked(lexical, this.realOrMissing(this.lexical(parts.slice(0, -1))));
      if (parent === undefined) return undefined;
      this.realDirs.set(parentKey, parent);
    }
    const direct = `${parent === '/' ? '' : parent}/${parts[parts.length - 1]!}`;
    let st;
    try {
      st = lstatSync(direct, { throwIfNoEntry: false });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return undefined;
      throw new VirtPinError('APPLY_IO', `${lexical}: ${code ?? (e as Error).message}`, { cause: e });
    }
    if (st === undefined) return undefined;
    const real = st.isSymbolicLink() ? this.checked(lexical, this.realOrMissing(direct)) : direct;
    // As a parent of later lookups only (they lstat their own last component afresh); never as this path's own answer.
    if (real !== undefined) this.realDirs.set(parts.join('/'), real);
    return real;
  }

  /** Real paths of directories resolved so far (keys: the components joined by '/'), for at most KEEP_DIRS_MS. */
  private readonly realDirs = new Map<string, string>();
  private keptSince = 0;

  /** realpath(3) of a path, or undefined when it (or a component) does not exist. */
  private realOrMissing(path: string): string | undefined {
    try {
      // The native realpath(3): one call instead of Node's JavaScript walk (same result, same ENOENT/ENOTDIR).
      return realpathSync.native(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new VirtPinError('APPLY_IO', `${path}: ${code ?? (e as Error).message}`, { cause: e });
    }
  }

  /** `real` when it is the root or below it; APPLY_PATH_ESCAPE (naming the lexical path asked for) otherwise. */
  private checked(lexical: string, real: string | undefined): string | undefined {
    if (real === undefined) return undefined;
    const root = this.real();
    if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
      throw new VirtPinError('APPLY_PATH_ESCAPE', `${lexical} leads to ${real}, outside ${root}`, { hint: 'a symlink in the tree points outside it; nothing was read or written there' });
    }
    return real;
  }
}
