/**
 * Finding a running QEMU's threads and a PCI device's IRQs on the host
 * (field notes §d1–d5), under injectable roots.
 */
import { isAscii } from 'node:buffer';
import { readdirSync, readFileSync, readlinkSync, realpathSync, statfsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { VirtPinError } from '../errors.js';
import { checkDomainName, checkPciAddress, checkTaskId, Confined, parseIrqNumber, parseTaskId, type HostPaths } from './paths.js';

/**
 * What a thread of the QEMU process is. `vhost` (`vhost-<pid>` workers,
 * Linux ≥ 6.4) and `kvm-pit` are emulator-class, as libvirt's emulator
 * cgroup holds them. `kvm-nx` (`kvm-nx-lpage-recovery`, in-process since
 * 6.13) is spawned by the first vCPU thread to run and stays in that vCPU's
 * cgroup; the applier leaves it alone by default (DEFAULT_LEAVE_KINDS).
 */
export type ThreadKind = 'vcpu' | 'iothread' | 'main' | 'vhost' | 'kvm-pit' | 'kvm-nx' | 'other';

export interface QemuThread {
  tid: number;
  /** `comm`, at most 15 bytes. */
  comm: string;
  kind: ThreadKind;
  /** vCPU index (kind vcpu). */
  vcpu?: number;
  /** IOThread object id, e.g. `iothread1` (kind iothread). */
  iothread?: string;
  /** How the kind was found. */
  via: 'comm' | 'qmp' | 'pid';
}

const VCPU_COMM = /^CPU (\d{1,5})\/[A-Za-z]{1,8}$/;
const IOTHREAD_COMM = /^IO (.+)$/;

/** Classify one thread from its comm (debug-threads=on names). */
export function classifyThread(comm: string, tid: number, pid: number): Omit<QemuThread, 'tid' | 'comm' | 'via'> {
  if (tid === pid) return { kind: 'main' };
  const v = VCPU_COMM.exec(comm);
  if (v?.[1] !== undefined) return { kind: 'vcpu', vcpu: Number(v[1]) };
  const io = IOTHREAD_COMM.exec(comm);
  if (io?.[1] !== undefined) return { kind: 'iothread', iothread: io[1] };
  if (/^vhost-\d+$/.test(comm)) return { kind: 'vhost' };
  if (/^kvm-pit\/\d+$/.test(comm)) return { kind: 'kvm-pit' };
  if (comm.startsWith('kvm-nx-lpage-re')) return { kind: 'kvm-nx' };
  return { kind: 'other' };
}

/** The QEMU pid from libvirt's pidfile `${run}/libvirt/qemu/NAME.pid`. */
export function readLibvirtPid(paths: HostPaths, domain: string): number {
  const name = checkDomainName(domain);
  const run = new Confined(paths.run);
  // The name may hold characters Confined refuses as a component; check it by hand, then join.
  const dir = run.resolve(['libvirt', 'qemu']);
  if (!dir) throw new VirtPinError('APPLY_NO_PIDFILE', `no ${paths.run}/libvirt/qemu directory`, { hint: 'is libvirtd running the domain? or pass --pid' });
  let text: string;
  try {
    const file = realpathSync.native(`${dir}/${name}.pid`);
    if (!file.startsWith(dir + '/')) throw new VirtPinError('APPLY_PATH_ESCAPE', `${dir}/${name}.pid leads outside ${dir}`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof VirtPinError) throw e;
    throw new VirtPinError('APPLY_NO_PIDFILE', `no pidfile ${dir}/${name}.pid: the domain is not running here`, { hint: 'pass --pid for a QEMU not started by libvirt' });
  }
  const pid = parseTaskId(text.trim());
  if (pid === undefined) throw new VirtPinError('APPLY_BAD_PIDFILE', `${dir}/${name}.pid does not hold a pid ('${text.trim().slice(0, 32)}')`);
  return pid;
}

/** Process start time (field 22 of /proc/PID/stat), to tell a pid from a recycled one. */
export function processStartTime(paths: HostPaths, pid: number): string | undefined {
  const text = new ProcFiles(paths.proc).read([String(checkTaskId(pid)), 'stat']);
  if (text === undefined) return undefined; // no such process, or it exited between the lookup and the read
  const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return after[19];
}

const PROC_SUPER_MAGIC = 0x9fa0;

/**
 * Whether `proc` is a procfs of the caller's own PID namespace: thread ids
 * read there are the ids sched_setaffinity/sched_setscheduler act on. A
 * copied tree, a bind mount of another namespace's /proc (a container given
 * the host's), or anything but procfs is not.
 */
export function procIsCallers(proc: string): boolean {
  try {
    if (statfsSync(proc).type !== PROC_SUPER_MAGIC) return false;
    return readlinkSync(join(proc, 'self')) === String(process.pid);
  } catch {
    return false;
  }
}

/** The process runs (not a zombie) and is the one that had this start time. */
export function processAlive(paths: HostPaths, pid: number, startTime: string | undefined): boolean {
  if (startTime === undefined) return false;
  const text = new ProcFiles(paths.proc).read([String(checkTaskId(pid)), 'stat']);
  if (text === undefined) return false;
  const after = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return after[19] === startTime && after[0] !== 'Z' && after[0] !== 'X';
}

/** A thread's `comm` now (undefined when it or its process is gone). `files`: a reader to reuse across calls. */
export function threadComm(paths: HostPaths, pid: number, tid: number, files = new ProcFiles(paths.proc)): string | undefined {
  return files.read([String(checkTaskId(pid)), 'task', String(checkTaskId(tid)), 'comm'])?.replace(/\n$/, '');
}

/** Names procfs never makes a symlink, below the root or below a PID or TID directory. */
const PROC_PLAIN_NAMES = new Set(['task', 'comm', 'stat', 'status', 'cgroup']);

/**
 * Reads a process's and its threads' files (`PID/stat`, `PID/task/TID/comm`)
 * under a proc root. When the root is a procfs, the path is the root's real
 * path joined with the components and read as it is: in procfs a PID or TID
 * directory and the files named above are never symlinks (the only symlinks
 * under a PID are `cwd`, `exe`, `root` and entries of `fd`, `map_files`,
 * `ns`; `self` and `thread-self` are not decimal), so that path is already
 * the real path inside the root that Confined.resolve would compute with a
 * realpath and an lstat per thread (most of discovering 256 threads). Any
 * other root (a captured copy in tests, VIRT_PIN_HOST_ROOT) goes through
 * Confined.resolve. Which threads belong to the process is unchanged: only
 * what `PID/task` lists.
 */
export class ProcFiles {
  private readonly tree: Confined;
  /** The real root when it is a procfs; null when it is not; undefined until asked. */
  private procfsRoot: string | null | undefined;

  constructor(proc: string) {
    this.tree = new Confined(proc);
  }

  /** The file's text, or undefined when it (its thread, its process) does not exist or cannot be read. */
  read(parts: readonly string[]): string | undefined {
    let path: string | undefined;
    const direct = this.procfs();
    if (direct !== null && parts.every((p) => PROC_PLAIN_NAMES.has(p) || parseTaskId(p) !== undefined)) path = `${direct === '/' ? '' : direct}/${parts.join('/')}`;
    else path = this.tree.resolve(parts);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined; // exited between the lookup and the read
    }
  }

  private procfs(): string | null {
    if (this.procfsRoot === undefined) {
      try {
        const real = this.tree.resolve([]);
        this.procfsRoot = real !== undefined && statfsSync(real).type === PROC_SUPER_MAGIC ? real : null;
      } catch {
        this.procfsRoot = null;
      }
    }
    return this.procfsRoot;
  }
}

export interface QmpThreadIds {
  vcpus: { cpuIndex: number; threadId: number }[];
  iothreads: { id: string; threadId: number }[];
}

/** Every thread of the process, classified; QMP thread ids (when given) override comm names. */
export function discoverThreads(paths: HostPaths, pid: number, qmp?: QmpThreadIds): QemuThread[] {
  checkTaskId(pid);
  const proc = new Confined(paths.proc);
  const taskDir = proc.resolve([String(pid), 'task']);
  if (!taskDir) throw new VirtPinError('APPLY_NO_PROCESS', `process ${pid} does not exist (${proc.lexical([String(pid)])})`);
  const byQmp = new Map<number, Pick<QemuThread, 'kind' | 'vcpu' | 'iothread'>>();
  for (const v of qmp?.vcpus ?? []) byQmp.set(v.threadId, { kind: 'vcpu', vcpu: v.cpuIndex });
  for (const t of qmp?.iothreads ?? []) byQmp.set(t.threadId, { kind: 'iothread', iothread: t.id });
  const threads: QemuThread[] = [];
  const files = new ProcFiles(paths.proc);
  const pidText = String(pid);
  for (const entry of readdirSync(taskDir)) {
    const tid = parseTaskId(entry);
    if (tid === undefined) continue;
    const text = files.read([pidText, 'task', entry, 'comm']);
    if (text === undefined) continue; // exited meanwhile
    const comm = text.replace(/\n$/, '');
    const q = tid !== pid ? byQmp.get(tid) : undefined;
    if (q) threads.push({ tid, comm, ...q, via: 'qmp' });
    else threads.push({ tid, comm, ...classifyThread(comm, tid, pid), via: tid === pid ? 'pid' : 'comm' });
  }
  return threads.sort((a, b) => a.tid - b.tid);
}

// ---------------------------------------------------------------- IRQs

export interface InterruptLine {
  irq: number;
  /** Everything after the per-CPU counts: chip, hwirq-type, action names. */
  text: string;
  /** The action names (last field), e.g. `vfio-msix[0](0000:01:00.0)`. */
  actions: string;
}

/**
 * `/proc/interrupts`, numbered lines only. The file has one count column per
 * CPU: on a 256-CPU host with 1,000 IRQs it is ~2.9 MB, and splitting every
 * line into its ~260 fields took ~22 ms per read (the hook reads it at start
 * and at stop). One regular expression per line steps over the counts
 * instead, and only what follows them is split.
 *
 * It reads what `^\s*(\d+):(.*)$` and a split of every field at `\s+` read
 * (a test compares the two). A line with a carriage return or a Unicode
 * line separator is read that way still: there the expression could fail
 * after its counts, and backtracking through ~260 fields would take time
 * that grows fast with the line; without one, its `(.*)$` always matches, so
 * it never backtracks.
 */
export function readInterrupts(paths: HostPaths): Map<number, InterruptLine> {
  const proc = new Confined(paths.irqProc ?? paths.proc);
  const p = proc.resolve(['interrupts']);
  const out = new Map<number, InterruptLine>();
  if (!p) return out;
  // Decoded as latin1 when it is all ASCII (as the kernel writes it, unless a device is named otherwise): the same
  // string, without the UTF-8 decoder's pass (~5 ms of the 2.9 MB above).
  const bytes = readFileSync(p);
  const lines = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8').split('\n');
  const ncpu = (lines[0] ?? '').trim().split(/\s+/).filter((c) => /^CPU\d+$/.test(c)).length;
  // The IRQ number, then up to ncpu fields (the counts), then the rest: chip, hwirq-type, the action names.
  const numbered = new RegExp(`^\\s*(\\d+):(?:\\s*\\S+){0,${ncpu}}(.*)$`);
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k]!;
    const slow = LINE_BREAKING.test(line);
    const m = slow ? /^\s*(\d+):(.*)$/.exec(line) : numbered.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const irq = parseIrqNumber(m[1]);
    if (irq === undefined) continue;
    const tail = m[2].trim();
    // chip, hwirq-type, then the action names (which may contain ', ' between shared handlers).
    const rest = slow ? tail.split(/\s+/).slice(ncpu) : tail === '' ? [] : tail.split(/\s+/);
    out.set(irq, { irq, text: rest.join(' '), actions: rest.slice(2).join(' ') });
  }
  return out;
}

/** What '.' does not match besides \n (which ends a line here). */
const LINE_BREAKING = /[\r\u2028\u2029]/;

/** Whether `text` names the address as a token: `(0000:01:00.0)` in vfio names, `-0000:01:00.0` in PCI-MSI chip names. */
function mentions(text: string, address: string): boolean {
  return mentionPattern(address).test(text);
}

/** The token pattern of one (checked) address, compiled once per address: discovery asks it for every IRQ line. */
const mentionPatterns = new Map<string, RegExp>();
function mentionPattern(address: string): RegExp {
  let re = mentionPatterns.get(address);
  if (re === undefined) {
    re = new RegExp(`(^|[^0-9a-f:])${address.replace(/[.]/g, '\\.')}($|[^0-9a-f.])`);
    if (mentionPatterns.size < 4096) mentionPatterns.set(address, re); // bounded: addresses come from plans and state files
  }
  return re;
}

export interface DeviceIrq {
  irq: number;
  kind: 'msi' | 'msix' | 'intx';
  /** `/proc/interrupts` action names, when listed. */
  name?: string;
  /** `/proc/interrupts` names this device for the IRQ. */
  confirmed: boolean;
  /**
   * Whether virt-pin may move this IRQ for the guest: the device is bound to
   * vfio-pci, the IRQ is confirmed as this device's, and its handler is
   * vfio's own for this device (`vfio-msix[N](ADDR)`, `vfio-msi[N](ADDR)`,
   * `vfio-intx(ADDR)`). `shared`: vfio's handler plus others on one line.
   */
  ownership: 'vfio' | 'shared' | 'not-vfio';
  /** Why the IRQ is not (only) vfio's, for the report. */
  why?: string;
}

export interface DeviceIrqs {
  address: string;
  present: boolean;
  numaNode?: number;
  /** The driver the device is bound to (basename of its `driver` link); undefined when unbound. */
  driver?: string;
  irqs: DeviceIrq[];
  /** What was left out and why (INTx line of another device, IRQ numbers without /proc/irq/N, non-decimal names). */
  notes: string[];
}

/** A device's IRQs: `msi_irqs/*` and `irq`, kept when `/proc/irq/N` exists, cross-checked with /proc/interrupts. */
export function discoverDeviceIrqs(paths: HostPaths, address: string, interrupts?: Map<number, InterruptLine>): DeviceIrqs {
  const addr = checkPciAddress(address);
  const sys = new Confined(paths.sys);
  const irqProc = new Confined(paths.irqProc ?? paths.proc);
  const ints = interrupts ?? readInterrupts(paths);
  const out: DeviceIrqs = { address: addr, present: false, irqs: [], notes: [] };
  const dev = sys.resolve(['bus', 'pci', 'devices', addr]);
  if (!dev) {
    out.notes.push(`${addr} is not present on this host`);
    return out;
  }
  out.present = true;
  const driver = driverOf(dev);
  if (driver !== undefined) out.driver = driver;
  const numa = sys.resolve(['bus', 'pci', 'devices', addr, 'numa_node']);
  if (numa) {
    const n = Number(readFileSync(numa, 'utf8').trim());
    if (Number.isInteger(n) && n >= 0) out.numaNode = n;
  }
  const seen = new Set<number>();
  const add = (irq: number, kind: DeviceIrq['kind']): void => {
    if (seen.has(irq)) return;
    if (!irqProc.resolve(['irq', String(irq)])) {
      out.notes.push(`IRQ ${irq} has no /proc/irq/${irq}; left out`);
      return;
    }
    seen.add(irq);
    const line = ints.get(irq);
    const confirmed = line ? mentions(line.text, addr) : false;
    out.irqs.push({ irq, kind, ...(line ? { name: line.actions } : {}), confirmed, ...ownershipOf(addr, driver, line, confirmed) });
  };
  const msiDir = sys.resolve(['bus', 'pci', 'devices', addr, 'msi_irqs']);
  if (msiDir) {
    for (const entry of readdirSync(msiDir).sort((a, b) => Number(a) - Number(b))) {
      const irq = parseIrqNumber(entry);
      if (irq === undefined) {
        out.notes.push(`msi_irqs entry '${entry.slice(0, 32)}' is not a decimal IRQ number; ignored`);
        continue;
      }
      const f = sys.resolve(['bus', 'pci', 'devices', addr, 'msi_irqs', entry]);
      const kind = f ? readFileSync(f, 'utf8').trim() : '';
      add(irq, kind === 'msi' ? 'msi' : 'msix');
    }
  }
  const irqFile = sys.resolve(['bus', 'pci', 'devices', addr, 'irq']);
  if (irqFile) {
    const text = readFileSync(irqFile, 'utf8').trim();
    const irq = parseIrqNumber(text);
    if (irq === undefined) out.notes.push(`${addr}/irq holds '${text.slice(0, 32)}', not a decimal IRQ number; ignored`);
    else if (irq > 0 && !seen.has(irq)) {
      // While MSI is on, `irq` repeats the first MSI vector; a legacy line counts only when vfio-intx (or a chip name) says it is this device's.
      const line = ints.get(irq);
      if (line && mentions(line.text, addr)) add(irq, 'intx');
      else out.notes.push(`INTx line ${irq} is not requested by ${addr}${line ? ` (it serves ${line.actions})` : ''}; left alone`);
    }
  }
  // Vectors /proc/interrupts attributes to the device that sysfs did not list (never seen in practice; kept for a complete picture).
  for (const line of ints.values()) {
    if (!seen.has(line.irq) && /vfio-(msix|msi|intx)/.test(line.actions) && mentions(line.actions, addr)) {
      add(line.irq, line.actions.includes('vfio-msix') ? 'msix' : line.actions.includes('vfio-msi') ? 'msi' : 'intx');
    }
  }
  out.irqs.sort((a, b) => a.irq - b.irq);
  return out;
}

/** The driver a PCI device is bound to: the last component of its `driver` link (`dir`: the device's real path, inside the sysfs root). */
function driverOf(dir: string): string | undefined {
  try {
    const link = readlinkSync(join(dir, 'driver'));
    const name = basename(link);
    return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : undefined;
  } catch {
    return undefined; // no driver bound
  }
}

const VFIO_HANDLER = /^vfio-(msix\[\d{1,5}\]|msi\[\d{1,5}\]|intx)\((.+)\)$/;

/**
 * Is this IRQ the guest's (vfio's handler for this very device, and nothing
 * else on the line)? A device bound to a host driver (`ice`, `nvme`), a
 * vector with no handler yet, a handler of another device or a line shared
 * with host handlers (`ehci_hcd:usb1, vfio-intx(…)`) is not.
 */
function ownershipOf(addr: string, driver: string | undefined, line: InterruptLine | undefined, confirmed: boolean): Pick<DeviceIrq, 'ownership' | 'why'> {
  if (driver !== 'vfio-pci') return { ownership: 'not-vfio', why: driver ? `the device is bound to the host driver ${driver}, not vfio-pci` : 'the device is bound to no driver (not vfio-pci)' };
  if (!line || !line.actions) return { ownership: 'not-vfio', why: 'no handler is requested on it yet (the guest has not enabled it)' };
  if (!confirmed) return { ownership: 'not-vfio', why: `/proc/interrupts does not name ${addr} for it (${line.actions})` };
  const handlers = line.actions.split(/,\s*/).filter(Boolean);
  const ours = handlers.filter((h) => VFIO_HANDLER.exec(h)?.[2] === addr);
  if (!ours.length) return { ownership: 'not-vfio', why: `its handlers (${line.actions}) are not vfio's for ${addr}` };
  if (ours.length !== handlers.length) return { ownership: 'shared', why: `the line is shared with host handlers (${line.actions}); moving it moves them too` };
  return { ownership: 'vfio' };
}

/** Whether an IRQ still belongs to a device (before restoring a saved mask: IRQ numbers are recycled). */
export function irqBelongsTo(paths: HostPaths, irq: number, address: string, interrupts?: Map<number, InterruptLine>): boolean {
  const found = discoverDeviceIrqs(paths, address, interrupts);
  return found.irqs.some((i) => i.irq === irq);
}
