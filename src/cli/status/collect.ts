/**
 * `virt-pin status`, the I/O half: read (never write) what a running
 * domain's threads and device IRQs look like — libvirt's live pins through
 * bounded virsh runs, the kernel's masks under /proc, IRQ files, irqbalance,
 * virt-pin state files — and hand the facts to src/hostview's domainStatus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverDeviceIrqs, discoverThreads, readInterrupts, readLibvirtPid } from '../../apply/discover.js';
import { irqAffinityIo } from '../../apply/io.js';
import { liveStatePath, readLivePins, readLiveStateFile, virshOf } from '../../apply/libvirt-live.js';
import { parseTaskId, type HostPaths } from '../../apply/paths.js';
import { readStateFile, statePath } from '../../apply/state.js';
import { parseKernelCpuList, type CpuSet } from '../../cpuset/index.js';
import { definitionOf, readDomain } from '../../domain/index.js';
import { isVirtPinError } from '../../errors.js';
import type { HostTopology } from '../../host/index.js';
import { hostDomainFromText, type AppliedState, type HostDomain, type ObservedIrq, type ObservedThread, type StatusInput, type StatusThreadKind } from '../../hostview/index.js';
import { planDocument } from '../../plan/index.js';
import { resolve, type ResolvedModel } from '../../resolve/index.js';
import { parseDocument } from '../../xml/index.js';
import { readLibvirtDomains } from '../libvirt-domains.js';

export interface DomainSource {
  name: string;
  /** The persistent definition: what the operator meant. */
  definition: string;
  /** The live XML (equal to the definition when read from a file). */
  live: string;
  /** Where the definition came from, for findings: `libvirt:NAME` or the file. */
  file: string;
}

export interface CollectOptions {
  paths: HostPaths;
  host: HostTopology;
  /** libvirt URI; undefined = no libvirt (definitions from files). */
  uri?: string;
  stateDir: string;
  timeoutMs: number;
  /** The libvirt release whose rules give the expected affinity (--libvirt); default the newest modelled. */
  libvirtVersion?: string;
}

/** Definitions and live XML from libvirt, for NAMEs or every running domain. */
export async function sourcesFromLibvirt(uri: string, names: readonly string[] | undefined, timeoutMs: number): Promise<DomainSource[]> {
  const base = { uri, timeoutMs, ...(names ? { names } : { all: 'running' as const }) };
  const definitions = await readLibvirtDomains({ ...base, inactive: true });
  const lives = await readLibvirtDomains({ ...base, names: definitions.map((d) => d.domain) });
  return definitions.map((d, i) => ({ name: d.domain, definition: d.text, live: lives[i]!.text, file: d.name }));
}

/** A domain's name from its XML, or the file name. */
export function sourceFromFile(file: string, text: string): DomainSource {
  let name = file;
  try {
    name = readDomain(parseDocument(text, { fileName: file })).name?.value?.trim() || file;
  } catch (e) {
    if (!isVirtPinError(e)) throw e;
  }
  return { name, definition: text, live: text, file };
}

interface TaskSample {
  ticks: number;
  lastCpu?: number;
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime+stime and the last CPU from /proc/PID/task/TID/stat (fields 14, 15, 39). */
function sampleTask(proc: string, pid: number, tid: number): TaskSample | undefined {
  const text = readSmall(join(proc, String(pid), 'task', String(tid), 'stat'));
  if (!text) return undefined;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0: field N is index N-3.
  const ticks = Number(f[11]) + Number(f[12]);
  const cpu = Number(f[36]);
  return { ticks: Number.isFinite(ticks) ? ticks : 0, ...(Number.isInteger(cpu) ? { lastCpu: cpu } : {}) };
}

function cpusAllowed(proc: string, pid: number, tid: number): CpuSet | undefined {
  const text = readSmall(join(proc, String(pid), 'task', String(tid), 'status'));
  const m = text ? /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(text) : null;
  if (!m?.[1]) return undefined;
  try {
    return parseKernelCpuList(m[1]);
  } catch {
    return undefined;
  }
}

/** Kernel threads that work for this QEMU but are not its tasks: `vhost-PID` (before Linux 6.4), `kvm-pit/PID`. */
function kernelThreadsOf(proc: string, pid: number): { tid: number; comm: string }[] {
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return [];
  }
  const out: { tid: number; comm: string }[] = [];
  for (const entry of entries) {
    const tid = parseTaskId(entry);
    if (tid === undefined || tid === pid) continue;
    const comm = readSmall(join(proc, entry, 'comm'))?.replace(/\n$/, '');
    if (comm === `vhost-${pid}` || comm === `kvm-pit/${pid}`) out.push({ tid, comm });
  }
  return out;
}

/** One domain's observed threads, before the CPU-share sample. */
export interface Observation {
  source: DomainSource;
  input: StatusInput;
  hostDomain: HostDomain;
  /** tid → first sample (ticks), for the CPU share. */
  first: Map<number, TaskSample>;
  proc: string;
}

const IOTHREAD_ID = /^iothread(\d{1,9})$/;

export async function observeDomain(source: DomainSource, options: CollectOptions): Promise<Observation> {
  const { paths, host } = options;
  const version = options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {};
  const hostDomain = hostDomainFromText(source.definition, { fileName: source.file, host, ...version });
  const intended = hostDomain.resolved;
  let liveOnline: Set<number> | undefined;
  let live: ResolvedModel | undefined;
  try {
    const liveModel = readDomain(parseDocument(source.live, { fileName: `${source.file} (live)` }));
    const liveResolved = resolve(definitionOf(liveModel, { driver: 'qemu', ...version }), host, { model: liveModel });
    liveOnline = new Set(liveResolved.vcpus.filter((v) => v.online).map((v) => v.id));
    // Only libvirt's live XML carries live pins; a file is the definition itself.
    if (source.live !== source.definition) live = liveResolved;
  } catch (e) {
    if (!isVirtPinError(e)) throw e;
  }
  const libvirt = options.uri !== undefined ? await readLivePins(virshOf({ uri: options.uri, timeoutMs: options.timeoutMs }), source.name) : undefined;
  const pid = readLibvirtPid(paths, source.name);

  const threads: ObservedThread[] = [];
  const first = new Map<number, TaskSample>();
  for (const t of discoverThreads(paths, pid)) {
    const kind: StatusThreadKind = t.kind;
    const io = t.iothread !== undefined ? IOTHREAD_ID.exec(t.iothread) : null;
    const actual = cpusAllowed(paths.proc, pid, t.tid);
    const sample = sampleTask(paths.proc, pid, t.tid);
    if (sample) first.set(t.tid, sample);
    threads.push({
      tid: t.tid,
      comm: t.comm,
      kind,
      ...(t.vcpu !== undefined ? { vcpu: t.vcpu } : {}),
      ...(io?.[1] ? { iothread: Number(io[1]) } : {}),
      ...(actual ? { actual } : {}),
      ...(sample?.lastCpu !== undefined ? { lastCpu: sample.lastCpu } : {}),
    });
  }
  for (const k of kernelThreadsOf(paths.proc, pid)) {
    const actual = cpusAllowed(paths.proc, k.tid, k.tid);
    const sample = sampleTask(paths.proc, k.tid, k.tid);
    threads.push({ tid: k.tid, comm: k.comm, kind: 'kernel', ...(actual ? { actual } : {}), ...(sample?.lastCpu !== undefined ? { lastCpu: sample.lastCpu } : {}) });
  }

  // IRQ policy: the plan of the definition; the IRQs: what sysfs and /proc say the device has now.
  const plan = planDocument(source.definition, { fileName: source.file, host, threads: false });
  const irqPolicy: StatusInput['irqPolicy'] = plan.devices.map((d) => ({ device: d.address, policy: d.policy, ...(d.cpus !== undefined ? { cpus: parseKernelCpuList(d.cpus) } : {}) }));
  const irqs: ObservedIrq[] = [];
  const interrupts = readInterrupts(paths);
  const irqIo = irqAffinityIo(paths.irqProc ?? paths.proc);
  for (const d of plan.devices) {
    let found;
    try {
      found = discoverDeviceIrqs(paths, d.address, interrupts);
    } catch (e) {
      if (isVirtPinError(e)) continue;
      throw e;
    }
    for (const irq of found.irqs) {
      try {
        const s = irqIo.readIrqAffinity(irq.irq);
        irqs.push({ device: d.address, irq: irq.irq, smp: s.requested, ...(s.effective ? { effective: s.effective } : {}), kernelManaged: !s.writable });
      } catch {
        irqs.push({ device: d.address, irq: irq.irq });
      }
    }
  }

  const applied: AppliedState[] = [];
  try {
    const s = readStateFile(statePath(options.stateDir, source.name));
    if (s) {
      applied.push({
        path: statePath(options.stateDir, source.name),
        tids: new Set(s.entries.flatMap((e) => (e.kind === 'thread' ? [e.tid] : []))),
        irqs: new Set(s.entries.flatMap((e) => (e.kind === 'irq' ? [e.irq] : []))),
        targets: new Set(),
      });
    }
    const live = readLiveStateFile(liveStatePath(options.stateDir, source.name));
    if (live) {
      applied.push({
        path: liveStatePath(options.stateDir, source.name),
        tids: new Set(),
        irqs: new Set(),
        targets: new Set(live.entries.map((e) => (e.target === 'emulator' ? 'emulator' : `${e.target}${e.id}`))),
      });
    }
  } catch (e) {
    if (!isVirtPinError(e)) throw e;
  }

  const input: StatusInput = {
    name: source.name,
    pid,
    intended,
    ...(liveOnline ? { liveOnline } : {}),
    ...(live ? { live } : {}),
    ...(libvirt ? { libvirt: { vcpus: libvirt.vcpus, iothreads: libvirt.iothreads, ...(libvirt.emulator ? { emulator: libvirt.emulator } : {}) } } : {}),
    threads,
    irqPolicy,
    irqs,
    irqbalance: irqbalanceState(paths),
    applied,
  };
  return { source, input, hostDomain, first, proc: paths.proc };
}

/** CPU share of each thread since its first sample (`seconds` after it). */
export function addShares(o: Observation, seconds: number, clockTicks = 100): void {
  if (!(seconds > 0)) return;
  for (const t of o.input.threads) {
    const a = o.first.get(t.tid);
    const b = t.kind === 'kernel' ? sampleTask(o.proc, t.tid, t.tid) : sampleTask(o.proc, o.input.pid, t.tid);
    if (!a || !b) continue;
    t.share = Math.max(0, (b.ticks - a.ticks) / (seconds * clockTicks));
    if (b.lastCpu !== undefined) t.lastCpu = b.lastCpu;
  }
}

/**
 * irqbalance is running when its socket directory holds a socket or a
 * process is called irqbalance. IRQs it was told to leave alone on its
 * command line (`--banirq=N`, `-i N`) are not managed; bans sent later
 * over its socket or decided by a policy script are not visible here.
 */
function irqbalanceState(paths: HostPaths): StatusInput['irqbalance'] {
  let running = false;
  try {
    running = readdirSync(join(paths.run, 'irqbalance')).some((f) => /^irqbalance\d+\.sock$/.test(f));
  } catch {
    /* no socket directory */
  }
  let entries: string[] = [];
  try {
    entries = readdirSync(paths.proc);
  } catch {
    return { running };
  }
  for (const e of entries) {
    if (parseTaskId(e) === undefined) continue;
    if (readSmall(join(paths.proc, e, 'comm'))?.trim() !== 'irqbalance') continue;
    const args = (readSmall(join(paths.proc, e, 'cmdline')) ?? '').split('\0').filter(Boolean);
    return { running: true, banned: bannedIrqs(args) };
  }
  return { running };
}

/** `--banirq=N`, `--banirq N`, `-i N`, `-iN` from irqbalance's arguments. */
export function bannedIrqs(args: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^(?:--banirq=|-i)(\d{1,7})$/.exec(a);
    const value = m ? m[1] : a === '--banirq' || a === '-i' ? args[++i] : undefined;
    if (value !== undefined && /^\d{1,7}$/.test(value)) out.add(Number(value));
  }
  return out;
}

