/**
 * Interop with the qemu-pinning fork (`-vcpu vcpunum=N,affinity=CPU`, one
 * host CPU per vCPU, applied when QEMU creates the vCPU thread) and with
 * admins who tune live through `virsh vcpupin|emulatorpin|iothreadpin`.
 */
import { CpuSet, tryParseCpuSet } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';

/** The part of the resolved model these formats need (canonical cpuset strings). */
export interface PinnedThreads {
  vcpus: ReadonlyArray<{ id: number; cpus: string }>;
  emulator?: { cpus: string };
  iothreads?: ReadonlyArray<{ id: number; cpus: string }>;
}

/**
 * `-vcpu vcpunum=N,affinity=CPU` per vCPU. The fork takes a single CPU, so a
 * vCPU whose mask has several is refused unless `first` picks the lowest.
 */
export function toQemuPinningArgs(threads: PinnedThreads, options: { first?: boolean } = {}): string[] {
  const args: string[] = [];
  for (const v of threads.vcpus) {
    if (v.cpus === 'all' || v.cpus === 'numad') {
      throw new VirtPinError('EXPORT_SYMBOLIC', `vCPU ${v.id} has no concrete CPUs ('${v.cpus}'); pass --host so every mask is concrete`);
    }
    const set = parse(v.cpus, `vCPU ${v.id}`);
    if (set.size !== 1 && !options.first) {
      throw new VirtPinError('EXPORT_NOT_SINGLE_CPU', `vCPU ${v.id} may use CPUs ${set}; the qemu-pinning fork pins each vCPU to exactly one CPU`, {
        hint: 'pin each vCPU to one CPU (virt-pin pin --vcpu dedicated), or pass --first to take the lowest CPU of each mask',
      });
    }
    args.push('-vcpu', `vcpunum=${v.id},affinity=${set.min()}`);
  }
  return args;
}

/** Parse `-vcpu vcpunum=N,affinity=CPU` options out of a QEMU argument string or list. */
export function fromQemuPinningArgs(args: string | readonly string[], maxVcpus?: number): Map<number, number> {
  const list = typeof args === 'string' ? args.trim().split(/\s+/).filter(Boolean) : [...args];
  const pins = new Map<number, number>();
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== '-vcpu') continue;
    const value = list[++i];
    if (value === undefined) throw new VirtPinError('IMPORT_BAD_ARGS', "'-vcpu' at the end of the arguments has no value");
    const fields = new Map<string, string>();
    for (const part of value.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 1) throw new VirtPinError('IMPORT_BAD_ARGS', `'-vcpu ${value}': '${part}' is not key=value`);
      const key = part.slice(0, eq);
      if (fields.has(key)) throw new VirtPinError('IMPORT_BAD_ARGS', `'-vcpu ${value}' repeats '${key}'`);
      fields.set(key, part.slice(eq + 1));
    }
    const unknown = [...fields.keys()].filter((k) => k !== 'vcpunum' && k !== 'affinity');
    if (unknown.length) throw new VirtPinError('IMPORT_BAD_ARGS', `'-vcpu ${value}': unknown key ${unknown.join(', ')} (the fork takes vcpunum and affinity)`);
    const vcpu = decimal(fields.get('vcpunum'), `'-vcpu ${value}' vcpunum`);
    const cpu = decimal(fields.get('affinity'), `'-vcpu ${value}' affinity`);
    if (pins.has(vcpu)) throw new VirtPinError('IMPORT_DUPLICATE_VCPU', `vCPU ${vcpu} is given twice (the fork refuses duplicates too)`);
    if (maxVcpus !== undefined && vcpu >= maxVcpus) {
      throw new VirtPinError('IMPORT_VCPU_OUT_OF_RANGE', `vCPU ${vcpu} does not exist: the domain has ${maxVcpus} vCPUs`);
    }
    pins.set(vcpu, cpu);
  }
  if (pins.size === 0) throw new VirtPinError('IMPORT_NO_VCPU_ARGS', 'no -vcpu vcpunum=N,affinity=CPU options found');
  return pins;
}

/** Which virsh modes to write: `--config`, `--live`, or both (virsh accepts the pair). */
export type VirshMode = 'config' | 'live' | ReadonlyArray<'config' | 'live'>;

/**
 * The `virsh` commands that set the same pins on a defined (`--config`)
 * and/or running (`--live`) domain, optionally `-c URI`. A thread whose CPUs
 * are `all` (nothing pins it) gets no command, only a comment: writing the
 * host's CPUs out would pin it, which changes what libvirt does later
 * (hot-plugged CPUs, isolated CPUs).
 */
export function toVirshCommands(domain: string, threads: PinnedThreads, mode: VirshMode, options: { connect?: string } = {}): string[] {
  const q = shellQuote(domain);
  const modes = typeof mode === 'string' ? [mode] : [...new Set(mode)];
  const flags = (modes.length ? modes : ['config']).map((m) => `--${m}`).join(' ');
  const virsh = options.connect !== undefined ? `virsh -c ${shellQuote(options.connect)}` : 'virsh';
  const out: string[] = [];
  const emit = (who: string, cpus: string, command: (set: string) => string): void => {
    if (cpus === 'all') {
      out.push(`# ${who}: not pinned (may run on all host CPUs); left as it is`);
      return;
    }
    if (cpus === 'numad') throw new VirtPinError('EXPORT_SYMBOLIC', `${who} has no concrete CPUs ('numad' advises them when the guest starts)`);
    out.push(command(parse(cpus, who).toString()));
  };
  for (const v of threads.vcpus) emit(`vCPU ${v.id}`, v.cpus, (set) => `${virsh} vcpupin ${q} ${v.id} ${set} ${flags}`);
  if (threads.emulator) emit('the emulator', threads.emulator.cpus, (set) => `${virsh} emulatorpin ${q} ${set} ${flags}`);
  for (const t of threads.iothreads ?? []) emit(`IOThread ${t.id}`, t.cpus, (set) => `${virsh} iothreadpin ${q} ${t.id} ${set} ${flags}`);
  return out;
}

function parse(cpus: string, who: string): CpuSet {
  const r = tryParseCpuSet(cpus);
  if (!r.ok) throw new VirtPinError('EXPORT_BAD_CPUSET', `${who}: '${cpus}': ${r.message}`);
  return r.set;
}

function decimal(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d{1,5}$/.test(text) || Number(text) > 16383) {
    throw new VirtPinError('IMPORT_BAD_ARGS', `${what} must be a number 0..16383, not '${text ?? ''}'`);
  }
  return Number(text);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.:@%+=\/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
