/**
 * The low-level readers and writers the applier uses, behind one interface
 * so tests can wrap them (fault injection: make the k-th write fail).
 *
 * Threads: in-process sched_setaffinity / sched_setscheduler through koffi
 * (libc), else util-linux `taskset` / `chrt`.
 * IRQs: one write() of the whole list to /proc/irq/N/smp_affinity_list,
 * opened O_WRONLY|O_NOFOLLOW without O_CREAT, its result checked (a
 * buffered writer would only report the error at close; irqbalance #301).
 * cgroup `cpuset.cpus` is written the same way.
 *
 * A wrapper may return a promise from a write (the applier awaits every
 * write): tests use that to act on the host between two writes.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { checkIrqNumber, checkTaskId, Confined } from './paths.js';
import { POLICY_NUMBER, policyOfNumber, SCHED_RESET_ON_FORK, type SchedState } from './sched.js';

/** A write the kernel refused; `code` is the errno name (`EIO`, `EPERM`, `ENOSPC`, `EINVAL`, `ESRCH`, `EBUSY`, …). */
export class AffinityWriteError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'AffinityWriteError';
    this.code = code;
  }
}

export interface IrqAffinityState {
  /** `smp_affinity_list`: what was asked for. */
  requested: CpuSet;
  /** `effective_affinity_list`: where the interrupt is really delivered (absent on old kernels). */
  effective?: CpuSet;
  /** False when `smp_affinity_list` has no write permission: a kernel-managed IRQ on kernels that make it read-only. */
  writable: boolean;
}

export interface AffinityIo {
  readThreadAffinity(tid: number): CpuSet;
  /** Throws AffinityWriteError. */
  writeThreadAffinity(tid: number, cpus: CpuSet): void;
  readIrqAffinity(irq: number): IrqAffinityState;
  /** Throws AffinityWriteError. */
  writeIrqAffinity(irq: number, cpus: CpuSet): void;
}

/** Scheduler policy of a thread. */
export interface SchedIo {
  readThreadSched(tid: number): SchedState;
  /** Throws AffinityWriteError (EPERM: no CAP_SYS_NICE or no real-time budget). */
  writeThreadSched(tid: number, sched: SchedState): void;
}

/** A cgroup's `cpuset.cpus` (the path is resolved and confined by the caller). */
export interface CgroupIo {
  /** Throws AffinityWriteError. */
  writeCgroupCpus(file: string, cpus: CpuSet): void;
}

/** Everything the applier reads and writes on the host. */
export type HostIo = AffinityIo & SchedIo & CgroupIo;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

// ---------------------------------------------------------------- threads

interface Libc {
  setaffinity(pid: number, size: number, mask: Buffer): number;
  getaffinity(pid: number, size: number, mask: Buffer): number;
  setscheduler(pid: number, policy: number, param: Int32Array): number;
  getscheduler(pid: number): number;
  getparam(pid: number, param: Int32Array): number;
  errno(): number;
}

/** 16384 CPUs (MAX_CPUSET_ID + 1): large enough for any kernel's nr_cpu_ids. */
const MASK_BYTES = 2048;
let libcCache: Libc | null | undefined;

/** The parts of koffi this file calls (the native module exports them as the package does). */
export interface KoffiApi {
  load(path: string): { func(decl: string): (...args: unknown[]) => unknown };
  errno(): number;
  version?: string;
}

/**
 * koffi's native module, loaded from the package's own build directory when
 * it is there: koffi's JavaScript entry loads crypto, https and zlib (its
 * installer's helpers) before it looks for the native module, ~8 ms of every
 * apply and restore. The same file, checked against the package's version as
 * koffi checks it, is opened with process.dlopen (what require() does for a
 * .node file, without its path resolution and realpath walk: ~1 ms of a hook
 * call that logs); any other layout goes through require('koffi').
 */
export function requireKoffi(): KoffiApi {
  try {
    const found = koffiPackageBesideBundle();
    const pkgFile = found?.file ?? createRequire(import.meta.url).resolve('koffi/package.json');
    const pkg = JSON.parse(found?.text ?? readFileSync(pkgFile, 'utf8')) as { version?: string };
    const module = { exports: {} as KoffiApi };
    process.dlopen(module, `${pkgFile.slice(0, -'package.json'.length)}build/koffi/${process.platform}_${process.arch}/koffi.node`);
    const native = module.exports;
    if (typeof native.load === 'function' && typeof native.errno === 'function' && native.version === pkg.version) return native;
  } catch {
    // not the layout koffi ships on this platform: its entry finds the module
  }
  // The one bare-name require of the bundle (test/cli/hook-install.test.ts looks for it in this form).
  return createRequire(import.meta.url)('koffi') as KoffiApi;
}

/** This bundle's file: __filename in the CommonJS bundles (import.meta.url there would load node:url, ~0.8 ms), else from import.meta.url. */
function bundleFile(): string {
  return typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
}

/**
 * koffi's package.json where Node's resolution looks first: node_modules
 * in this bundle's directory, then in its parent (dist/../node_modules, the
 * package's own). Node's resolver would find the same file, but its first
 * use costs ~0.7 ms of every apply and restore; anything else (a hoisted
 * koffi further up) is left to it.
 */
function koffiPackageBesideBundle(): { file: string; text: string } | undefined {
  const dir = dirname(bundleFile());
  for (const base of [dir, dirname(dir)]) {
    const file = `${base === '/' ? '' : base}/node_modules/koffi/package.json`;
    // existsSync first: a failed readFileSync builds an error with a stack trace.
    if (!existsSync(file)) continue;
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch {
      // not readable: the next candidate, then Node's resolution
    }
  }
  return undefined;
}

function loadLibc(): Libc | null {
  if (libcCache !== undefined) return libcCache;
  try {
    // A runtime require keeps the native package out of the esbuild bundle.
    const koffi = requireKoffi();
    const lib = koffi.load('libc.so.6');
    libcLibrary = { lib, koffi };
    const set = lib.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');
    const get = lib.func('int sched_getaffinity(int pid, size_t size, _Out_ uint8_t *mask)');
    const setsched = lib.func('int sched_setscheduler(int pid, int policy, const int *param)');
    const getsched = lib.func('int sched_getscheduler(int pid)');
    const getparam = lib.func('int sched_getparam(int pid, _Out_ int *param)');
    libcCache = {
      setaffinity: (pid, size, mask) => set(pid, size, mask) as number,
      getaffinity: (pid, size, mask) => get(pid, size, mask) as number,
      setscheduler: (pid, policy, param) => setsched(pid, policy, param) as number,
      getscheduler: (pid) => getsched(pid) as number,
      getparam: (pid, param) => getparam(pid, param) as number,
      errno: () => koffi.errno(),
    };
  } catch (e) {
    libcCache = null;
    // koffi is an optional dependency: say once per process why threads go
    // through one taskset/chrt process each instead.
    const why = (e as { code?: string }).code === 'MODULE_NOT_FOUND' ? 'koffi is not installed' : `koffi did not load (${(e as Error).message.split('\n')[0]})`;
    process.emitWarning(`${why}; thread affinity and scheduler settings go through taskset and chrt`, { type: 'VirtPinNotice' });
  }
  return libcCache;
}

/** The loaded libc and koffi, for the calls only some runs make (socketCalls). */
let libcLibrary: { lib: ReturnType<KoffiApi['load']>; koffi: KoffiApi } | undefined;

/**
 * The Unix socket calls node:fs and node:net have no equivalent for (QMP
 * without node:net, src/apply/qmp.ts; the hook's syslog datagrams,
 * src/cli/hook/syslog-socket.ts); a descriptor they make is read, written
 * and closed with node:fs.
 */
export interface SocketCalls {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, address: Uint8Array, length: number): number;
  sendto(fd: number, buf: Uint8Array, length: number, flags: number, address: Uint8Array, addressLength: number): number;
  errno(): number;
}
let socketCache: SocketCalls | null | undefined;

/** x86_64 and aarch64 share the generic values of these constants (others differ: mips, sparc, alpha). */
export const UNIX_SOCKETS = {
  usable: process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'arm64'),
  AF_UNIX: 1,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,
} as const;

/**
 * struct sockaddr_un for `path` (sa_family_t in the machine's byte order,
 * then the path and its NUL), or undefined for a path that cannot be one:
 * empty, with a NUL, or longer than sun_path's 107 bytes.
 */
export function unixSocketAddress(path: string): Uint8Array | undefined {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length === 0 || bytes.length > 107 || bytes.includes(0)) return undefined;
  const address = Buffer.alloc(2 + bytes.length + 1);
  new Uint16Array(address.buffer, address.byteOffset, 1)[0] = UNIX_SOCKETS.AF_UNIX;
  bytes.copy(address, 2);
  return address;
}

/**
 * socket, connect and sendto from libc through koffi when koffi loads and
 * the constants above hold here, declared on first use; null otherwise.
 */
export function socketCalls(): SocketCalls | null {
  if (socketCache !== undefined) return socketCache;
  if (!UNIX_SOCKETS.usable || !loadLibc() || !libcLibrary) return (socketCache = null);
  const { lib, koffi } = libcLibrary;
  try {
    const socket = lib.func('int socket(int domain, int type, int protocol)');
    const connect = lib.func('int connect(int fd, const uint8_t *addr, uint32_t len)');
    const sendto = lib.func('long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)');
    socketCache = {
      socket: (d, t, p) => socket(d, t, p) as number,
      connect: (fd, a, n) => connect(fd, a, n) as number,
      sendto: (fd, buf, len, flags, a, n) => Number(sendto(fd, buf, len, flags, a, n)),
      errno: () => koffi.errno(),
    };
  } catch {
    socketCache = null;
  }
  return socketCache;
}

/** The errno name of a number (`ECONNREFUSED`), `EIO` when unknown. */
export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? 'EIO';
}

let kernelMask: number | undefined;

/**
 * Bytes of the kernel's CPU mask (nr_cpu_ids rounded up to a long), found
 * once per process: sched_getaffinity refuses a smaller buffer (EINVAL), and
 * scanning a 2 KiB buffer per read cost ~0.1 ms per thread on a 2-CPU host.
 */
function kernelMaskBytes(libc: Libc): number {
  if (kernelMask !== undefined) return kernelMask;
  for (let n = 8; n < MASK_BYTES; n *= 2) {
    if (libc.getaffinity(0, n, Buffer.alloc(n)) >= 0) return (kernelMask = n);
    if (libc.errno() !== osConstants.errno.EINVAL) break;
  }
  return (kernelMask = MASK_BYTES);
}

/**
 * A mask covering the kernel's CPUs and every id in `cpus`: a mask longer
 * than the kernel's is cut to its length by the kernel (as the fixed
 * 2 KiB mask was), so ids above nr_cpu_ids are ignored either way.
 */
function maskOf(cpus: CpuSet, minBytes: number): Buffer {
  const top = cpus.max() ?? 0;
  const b = Buffer.alloc(Math.min(MASK_BYTES, Math.max(minBytes, ((top >> 6) + 1) * 8)));
  for (const [first, last] of cpus.ranges()) for (let id = first; id <= last; id++) b[id >> 3] = (b[id >> 3] ?? 0) | (1 << (id & 7));
  return b;
}

function setOfMask(b: Buffer): CpuSet {
  const ranges: [number, number][] = [];
  for (let i = 0; i < b.length; i++) {
    const byte = b[i] ?? 0;
    if (!byte) continue;
    for (let bit = 0; bit < 8; bit++) {
      if (!(byte & (1 << bit))) continue;
      const id = i * 8 + bit;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === id - 1) last[1] = id;
      else ranges.push([id, id]);
    }
  }
  return CpuSet.fromSortedRanges(ranges);
}

export type ThreadMethod = 'ffi' | 'taskset';

/** Which thread method is in use: `ffi` when koffi loads, else `taskset`. */
export function threadMethod(prefer?: ThreadMethod): ThreadMethod {
  if (prefer === 'taskset') return 'taskset';
  return loadLibc() ? 'ffi' : 'taskset';
}

/**
 * libc through koffi for `prefer`, loaded on first use: loading koffi costs
 * ~14 ms, which an apply or restore that touches only IRQs (the hook's
 * `started begin`, `release end`) should not pay.
 */
function lazyLibc(prefer?: ThreadMethod): () => Libc | null {
  let chosen: { libc: Libc | null } | undefined;
  return () => (chosen ??= { libc: threadMethod(prefer) === 'ffi' ? loadLibc() : null }).libc;
}

function tasksetError(e: unknown, tid: number): AffinityWriteError {
  const err = e as { stderr?: Buffer | string; code?: string; message: string };
  const text = String(err.stderr ?? err.message);
  const code = /Invalid argument/.test(text) ? 'EINVAL' : /No such process/.test(text) ? 'ESRCH' : /not permitted/.test(text) ? 'EPERM' : err.code === 'ENOENT' ? 'ENOTASKSET' : 'EIO';
  return new AffinityWriteError(code, `taskset on thread ${tid}: ${text.trim()}`);
}

/** Masks kept per CPU list text for writes, and sets per mask read (a domain's threads share few distinct ones). */
const MAX_KEPT_MASKS = 1024;

/** Thread affinity through sched_{set,get}affinity (koffi) or taskset. */
export function threadAffinityIo(prefer?: ThreadMethod): Pick<AffinityIo, 'readThreadAffinity' | 'writeThreadAffinity'> {
  const libcFor = lazyLibc(prefer);
  // One buffer for every read, and the sets of the masks read so far by their bytes: the threads of
  // one QEMU share few distinct masks, and a mask seen before is that same (immutable) set, its text
  // already made.
  let readBuf: Buffer | undefined;
  const sets = new Map<string, CpuSet>();
  const masks = new Map<string, Buffer>();
  return {
    readThreadAffinity(tid) {
      checkTaskId(tid);
      const libc = libcFor();
      if (libc) {
        const bytes = kernelMaskBytes(libc);
        const b = (readBuf ??= Buffer.alloc(bytes));
        b.fill(0);
        if (libc.getaffinity(tid, bytes, b) < 0) {
          const code = ERRNO_NAMES.get(libc.errno()) ?? 'EIO';
          throw new AffinityWriteError(code, `sched_getaffinity(${tid}): ${code}`);
        }
        const key = b.toString('latin1', 0, bytes);
        let set = sets.get(key);
        if (set === undefined) {
          set = setOfMask(b);
          if (sets.size < MAX_KEPT_MASKS) sets.set(key, set);
        }
        return set;
      }
      try {
        const out = execFileSync('taskset', ['-pc', String(tid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        const m = /:\s*([0-9,\-]+)\s*$/.exec(out);
        if (!m?.[1]) throw new AffinityWriteError('EIO', `taskset -pc ${tid}: unexpected output '${out.trim()}'`);
        return parseKernelCpuList(m[1]);
      } catch (e) {
        if (e instanceof AffinityWriteError) throw e;
        throw tasksetError(e, tid);
      }
    },
    writeThreadAffinity(tid, cpus) {
      checkTaskId(tid);
      const libc = libcFor();
      if (libc) {
        const text = cpus.toString();
        let mask = masks.get(text);
        if (mask === undefined) {
          mask = maskOf(cpus, kernelMaskBytes(libc));
          if (masks.size < MAX_KEPT_MASKS) masks.set(text, mask);
        }
        if (libc.setaffinity(tid, mask.length, mask) < 0) {
          const code = ERRNO_NAMES.get(libc.errno()) ?? 'EIO';
          throw new AffinityWriteError(code, `sched_setaffinity(${tid}, ${cpus.toString()}): ${code}`);
        }
        return;
      }
      try {
        execFileSync('taskset', ['-pc', cpus.toString(), String(tid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        throw tasksetError(e, tid);
      }
    },
  };
}

// ---------------------------------------------------------------- scheduler

const CHRT_FLAG: Readonly<Record<string, string>> = { other: '-o', fifo: '-f', rr: '-r', batch: '-b', idle: '-i' };

function chrtError(e: unknown, tid: number): AffinityWriteError {
  const err = e as { stderr?: Buffer | string; code?: string; message: string };
  const text = String(err.stderr ?? err.message);
  const code = /Invalid argument/.test(text) ? 'EINVAL' : /No such process/.test(text) ? 'ESRCH' : /not permitted/.test(text) ? 'EPERM' : err.code === 'ENOENT' ? 'ENOCHRT' : 'EIO';
  return new AffinityWriteError(code, `chrt on thread ${tid}: ${text.trim()}`);
}

/** `pid N's current scheduling policy: SCHED_FIFO|SCHED_RESET_ON_FORK` / `…priority: 10`. */
function parseChrt(out: string, tid: number): SchedState {
  const pol = /policy:\s*SCHED_([A-Z]+)(\|SCHED_RESET_ON_FORK)?/.exec(out);
  const prio = /priority:\s*(\d+)/.exec(out);
  const name = pol?.[1]?.toLowerCase();
  const policy = name === 'other' || name === 'fifo' || name === 'rr' || name === 'batch' || name === 'idle' || name === 'deadline' ? name : undefined;
  if (!policy || !prio?.[1]) throw new AffinityWriteError('EIO', `chrt -p ${tid}: unexpected output '${out.trim().slice(0, 120)}'`);
  return { policy, priority: Number(prio[1]), resetOnFork: pol?.[2] !== undefined };
}

/** Thread scheduler policy through sched_{get,set}scheduler (koffi) or chrt. */
export function threadSchedIo(prefer?: ThreadMethod): SchedIo {
  const libcFor = lazyLibc(prefer);
  const fail = (call: string, tid: number): never => {
    const code = ERRNO_NAMES.get(libcFor()?.errno() ?? 0) ?? 'EIO';
    throw new AffinityWriteError(code, `${call}(${tid}): ${code}`);
  };
  return {
    readThreadSched(tid) {
      checkTaskId(tid);
      const libc = libcFor();
      if (libc) {
        const n = libc.getscheduler(tid);
        if (n < 0) fail('sched_getscheduler', tid);
        const param = new Int32Array(1);
        if (libc.getparam(tid, param) < 0) fail('sched_getparam', tid);
        const policy = policyOfNumber(n);
        if (!policy) throw new AffinityWriteError('EINVAL', `thread ${tid} runs under unknown scheduler policy ${n}`);
        return { policy, priority: param[0] ?? 0, resetOnFork: (n & SCHED_RESET_ON_FORK) !== 0 };
      }
      try {
        return parseChrt(execFileSync('chrt', ['-p', String(tid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), tid);
      } catch (e) {
        if (e instanceof AffinityWriteError) throw e;
        throw chrtError(e, tid);
      }
    },
    writeThreadSched(tid, s) {
      checkTaskId(tid);
      if (s.policy === 'deadline') throw new AffinityWriteError('EINVAL', `thread ${tid}: SCHED_DEADLINE cannot be set through sched_setscheduler`);
      const libc = libcFor();
      if (libc) {
        const policy = POLICY_NUMBER[s.policy] | (s.resetOnFork ? SCHED_RESET_ON_FORK : 0);
        if (libc.setscheduler(tid, policy, Int32Array.of(s.priority)) < 0) fail('sched_setscheduler', tid);
        return;
      }
      try {
        execFileSync('chrt', [...(s.resetOnFork ? ['-R'] : []), CHRT_FLAG[s.policy] as string, '-p', String(s.priority), String(tid)], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        throw chrtError(e, tid);
      }
    },
  };
}

// ---------------------------------------------------------------- cgroups

/** One write() of the list to a cgroup's `cpuset.cpus` (no O_CREAT, no symlink). */
export function writeCgroupCpus(file: string, cpus: CpuSet): void {
  writeWhole(file, `${cpus.toString()}\n`);
}

function writeWhole(path: string, content: string): void {
  const text = Buffer.from(content);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new AffinityWriteError(code, `open ${path}: ${code}`);
  }
  try {
    const n = writeSync(fd, text, 0, text.length);
    if (n !== text.length) throw new AffinityWriteError('EIO', `short write to ${path} (${n} of ${text.length} bytes)`);
  } catch (e) {
    if (e instanceof AffinityWriteError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new AffinityWriteError(code, `write ${content.trim()} to ${path}: ${code}`);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- IRQs

function readList(path: string): CpuSet {
  return parseKernelCpuList(readFileSync(path, 'utf8'));
}

/** IRQ affinity under `${irqProc}/irq/N/`; paths confined to irqProc. */
export function irqAffinityIo(irqProc: string): Pick<AffinityIo, 'readIrqAffinity' | 'writeIrqAffinity'> {
  const tree = new Confined(irqProc);
  const file = (irq: number, name: string): string => {
    const n = String(checkIrqNumber(irq));
    const p = tree.resolve(['irq', n, name]);
    if (!p) throw new AffinityWriteError('ENOENT', `${tree.lexical(['irq', n, name])} does not exist (IRQ ${n} is gone)`);
    return p;
  };
  return {
    readIrqAffinity(irq) {
      const path = file(irq, 'smp_affinity_list');
      const requested = readList(path);
      const writable = (statSync(path).mode & 0o222) !== 0;
      let effective: CpuSet | undefined;
      const eff = tree.resolve(['irq', String(irq), 'effective_affinity_list']);
      if (eff) effective = readList(eff);
      return { requested, writable, ...(effective ? { effective } : {}) };
    },
    writeIrqAffinity(irq, cpus) {
      const path = file(irq, 'smp_affinity_list');
      // Kernels since ~6.x expose managed IRQs' smp_affinity as 0444; root could still open it, the kernel would answer EIO/EPERM.
      if ((statSync(path).mode & 0o222) === 0) throw new AffinityWriteError('EPERM', `${path} is read-only (kernel-managed IRQ)`);
      writeWhole(path, `${cpus.toString()}\n`);
    },
  };
}

/** The real readers and writers for a set of roots. */
export function defaultIo(irqProc: string, prefer?: ThreadMethod): HostIo {
  return { ...threadAffinityIo(prefer), ...irqAffinityIo(irqProc), ...threadSchedIo(prefer), writeCgroupCpus };
}

/** True for a failed affinity or scheduler write (`code` is the errno name). */
export function isAffinityWriteError(e: unknown): e is AffinityWriteError {
  return e instanceof AffinityWriteError;
}
