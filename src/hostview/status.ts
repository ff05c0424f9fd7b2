/**
 * `virt-pin status`, the pure half: observed facts of one running domain
 * (threads, libvirt's live pins, device IRQs) against what its definition
 * intends, row by row, with drift and its likely cause. The facts are
 * gathered by src/cli/status; nothing here reads the host.
 */
import { CpuSet } from '../cpuset/index.js';
import type { ResolvedModel, ResolvedThread } from '../resolve/index.js';

export type StatusThreadKind = 'vcpu' | 'iothread' | 'main' | 'vhost' | 'kvm-pit' | 'kvm-nx' | 'other' | 'kernel';

/** One thread of the QEMU process (or a kernel thread working for it). */
export interface ObservedThread {
  tid: number;
  comm: string;
  kind: StatusThreadKind;
  vcpu?: number;
  iothread?: number;
  /** Kernel's mask: `/proc/PID/task/TID/status` Cpus_allowed_list. Absent when the thread exited meanwhile. */
  actual?: CpuSet;
  /** Field 39 of `stat`: the CPU it last ran on. */
  lastCpu?: number;
  /** Share of one CPU over the interval, 0..1 (absent without an interval). */
  share?: number;
}

/** libvirt's live pins (`virsh vcpupin/emulatorpin/iothreadinfo --live`). */
export interface LibvirtLivePins {
  vcpus: Map<number, CpuSet>;
  iothreads: Map<number, CpuSet>;
  emulator?: CpuSet;
}

export interface ObservedIrq {
  device: string;
  irq: number;
  smp?: CpuSet;
  effective?: CpuSet;
  /** smp_affinity_list is read-only: the kernel manages the IRQ. */
  kernelManaged?: boolean;
}

/** What a virt-pin apply left in its state file (never restored). */
export interface AppliedState {
  path: string;
  tids: Set<number>;
  irqs: Set<number>;
  /** libvirt-path state: `vcpu0`, `iothread1`, `emulator`. */
  targets: Set<string>;
}

export interface StatusInput {
  name: string;
  pid: number;
  /** Resolved from the persistent definition (what the operator meant). */
  intended: ResolvedModel;
  /** vCPUs online in the live XML. */
  liveOnline?: Set<number>;
  /**
   * The live XML resolved: libvirt's stored live pins. Tells a change made
   * through libvirt from one made behind its back, which virsh alone cannot
   * (iothreadinfo reports the kernel's mask, not libvirt's pin).
   */
  live?: ResolvedModel;
  libvirt?: LibvirtLivePins;
  threads: ObservedThread[];
  /** IRQ policy per device (from the plan); `cpus` absent for native. */
  irqPolicy: { device: string; policy: string; cpus?: CpuSet }[];
  irqs: ObservedIrq[];
  /** irqbalance runs on the host, and which IRQs it was told to leave alone. */
  irqbalance: { running: boolean; banned?: Set<number> };
  applied?: AppliedState[];
}

export type DriftCause = 'libvirt-live' | 'taskset' | 'hotplug' | 'apply-state' | 'irqbalance' | 'irq-write' | 'unknown';

/** What each drift cause means, in a sentence (human output, docs/host-view.md). */
export const DRIFT_CAUSES: Record<DriftCause, string> = {
  'libvirt-live': "libvirt's live pin differs from the definition: changed live (virsh vcpupin/emulatorpin/iothreadpin --live), or the definition was edited after start (it applies at the next start)",
  taskset: "changed behind libvirt's back (taskset, sched_setaffinity): the kernel's mask differs from libvirt's live pin",
  hotplug: 'vCPU hot-plugged after start: the definition has it offline',
  'apply-state': 'changed by virt-pin apply, whose state file was never restored (virt-pin restore)',
  irqbalance: 'irqbalance moved the IRQ (it manages it: not banned)',
  'irq-write': 'smp_affinity_list was written after the policy was applied (irqbalance does not manage it)',
  unknown: 'the kernel mask differs from the intended one; the cause cannot be told',
};

export interface ThreadStatus {
  tid: number;
  comm: string;
  kind: StatusThreadKind;
  /** `vcpu0`, `iothread1`, `emulator`: the libvirt pin the thread follows. */
  target: string;
  intended?: string;
  libvirt?: string;
  actual?: string;
  lastCpu?: number;
  /** Percent of one CPU over the interval. */
  cpuPercent?: number;
  drift: boolean;
  cause?: DriftCause;
  note?: string;
}

export interface IrqStatus {
  device: string;
  irq: number;
  policy: string;
  /** What the policy asks for (absent for native). */
  intended?: string;
  actual?: string;
  effective?: string;
  irqbalance: boolean;
  drift: boolean;
  cause?: DriftCause;
  note?: string;
}

export interface DomainStatus {
  name: string;
  pid: number;
  drift: boolean;
  threads: ThreadStatus[];
  irqs: IrqStatus[];
  notes: string[];
}

function concrete(model: ResolvedModel, t: ResolvedThread | undefined): CpuSet | undefined {
  if (!t || t.cpus === 'numad') return model.placement.numadCpus;
  if (t.cpus === 'all') return model.allCpus === 'all' ? undefined : model.allCpus;
  return t.cpus;
}

function targetOf(t: ObservedThread): string {
  if (t.kind === 'vcpu' && t.vcpu !== undefined) return `vcpu${t.vcpu}`;
  if (t.kind === 'iothread' && t.iothread !== undefined) return `iothread${t.iothread}`;
  return 'emulator';
}

/** One running domain's rows (threads, IRQs) with drift and its likely cause, drifted rows first. */
export function domainStatus(input: StatusInput): DomainStatus {
  const { intended: model } = input;
  const notes: string[] = [];
  const applied = input.applied ?? [];
  const threads: ThreadStatus[] = [];
  for (const t of input.threads) {
    const target = targetOf(t);
    let want: CpuSet | undefined;
    let live: CpuSet | undefined;
    let liveXml: CpuSet | undefined;
    let note: string | undefined;
    let offlineInDefinition = false;
    if (t.kind === 'vcpu' && t.vcpu !== undefined) {
      const v = model.vcpus.find((x) => x.id === t.vcpu);
      want = concrete(model, v);
      live = input.libvirt?.vcpus.get(t.vcpu);
      if (input.live) liveXml = concrete(input.live, input.live.vcpus.find((x) => x.id === t.vcpu));
      offlineInDefinition = v !== undefined && !v.online;
      if (!v) note = `vCPU ${t.vcpu} is not in the definition`;
    } else if (t.kind === 'iothread' && t.iothread !== undefined) {
      const io = model.iothreads.find((x) => x.id === t.iothread);
      want = concrete(model, io);
      live = input.libvirt?.iothreads.get(t.iothread);
      if (input.live) liveXml = concrete(input.live, input.live.iothreads.find((x) => x.id === t.iothread));
      if (!io) note = `IOThread ${t.iothread} is not in the definition (added live?)`;
    } else if (t.kind === 'kvm-nx') {
      // Spawned by the first vCPU to run and left in that vCPU's cgroup: it follows no pin of its own.
      note = "follows the vCPU that spawned it; no pin of its own";
    } else {
      want = concrete(model, model.emulator);
      live = input.libvirt?.emulator;
      if (input.live) liveXml = concrete(input.live, input.live.emulator);
    }
    const row: ThreadStatus = {
      tid: t.tid,
      comm: t.comm,
      kind: t.kind,
      target,
      ...(want ? { intended: want.toString() } : {}),
      ...(live ? { libvirt: live.toString() } : {}),
      ...(t.actual ? { actual: t.actual.toString() } : {}),
      ...(t.lastCpu !== undefined ? { lastCpu: t.lastCpu } : {}),
      ...(t.share !== undefined ? { cpuPercent: Math.round(t.share * 1000) / 10 } : {}),
      drift: false,
      ...(note ? { note } : {}),
    };
    const stateHit = applied.find((s) => s.tids.has(t.tid) || s.targets.has(target));
    if (offlineInDefinition) {
      row.drift = true;
      row.cause = 'hotplug';
    } else if (want && t.kind !== 'kvm-nx') {
      // libvirt's pin: its live XML when known, else what virsh reported.
      const pin = liveXml ?? live;
      const liveDiffers = (pin !== undefined && !pin.equals(want)) || (live !== undefined && !live.equals(want));
      const kernelDiffers = t.actual !== undefined && !t.actual.equals(pin ?? want);
      if (liveDiffers || kernelDiffers || (t.actual !== undefined && !t.actual.equals(want))) {
        row.drift = true;
        const viaLibvirt = pin !== undefined && !pin.equals(want);
        row.cause = stateHit ? 'apply-state' : viaLibvirt ? 'libvirt-live' : kernelDiffers && pin !== undefined ? 'taskset' : liveDiffers ? 'libvirt-live' : 'unknown';
      }
    }
    threads.push(row);
  }
  // A vCPU the definition has online but no thread: QEMU was started with fewer, or it was unplugged live.
  const seen = new Set(input.threads.filter((t) => t.kind === 'vcpu').map((t) => t.vcpu));
  if (input.liveOnline) for (const id of input.liveOnline) if (!seen.has(id)) notes.push(`vCPU ${id} is online in the live XML but no thread carries its name`);

  const irqs: IrqStatus[] = [];
  for (const o of input.irqs) {
    const policy = input.irqPolicy.find((p) => p.device === o.device);
    const managed = input.irqbalance.running && !o.kernelManaged && !(input.irqbalance.banned?.has(o.irq) ?? false);
    const row: IrqStatus = {
      device: o.device,
      irq: o.irq,
      policy: policy?.policy ?? 'native',
      ...(policy?.cpus ? { intended: policy.cpus.toString() } : {}),
      ...(o.smp ? { actual: o.smp.toString() } : {}),
      ...(o.effective ? { effective: o.effective.toString() } : {}),
      irqbalance: managed,
      drift: false,
      ...(o.kernelManaged ? { note: 'kernel-managed (read-only smp_affinity_list): the kernel places it' } : {}),
    };
    if (policy?.cpus && o.smp && !o.kernelManaged && !o.smp.equals(policy.cpus)) {
      row.drift = true;
      row.cause = managed ? 'irqbalance' : 'irq-write';
    }
    irqs.push(row);
  }
  for (const s of applied) notes.push(`state file ${s.path} is left from a virt-pin apply that was never restored`);
  // Drift rows first, then by target.
  threads.sort((a, b) => Number(b.drift) - Number(a.drift) || a.tid - b.tid);
  irqs.sort((a, b) => Number(b.drift) - Number(a.drift) || a.irq - b.irq);
  return { name: input.name, pid: input.pid, drift: threads.some((t) => t.drift) || irqs.some((i) => i.drift), threads, irqs, notes };
}

/** CPU claims across domains, from the intended masks: the Prometheus `virt_pin_cpu_claims{cpu,kind}`. */
export function cpuClaims(domains: readonly { intended: ResolvedModel; irqPolicy: StatusInput['irqPolicy'] }[]): { cpu: number; kind: string; count: number }[] {
  const counts = new Map<string, number>();
  const add = (cpus: CpuSet | undefined, kind: string): void => {
    for (const c of cpus ?? CpuSet.empty()) counts.set(`${c}|${kind}`, (counts.get(`${c}|${kind}`) ?? 0) + 1);
  };
  for (const d of domains) {
    const m = d.intended;
    for (const v of m.vcpus) {
      if (!v.online) continue;
      const cpus = concrete(m, v);
      add(cpus, v.source === 'vcpupin' && cpus?.size === 1 ? 'vcpu-dedicated' : 'vcpu');
    }
    add(concrete(m, m.emulator), 'emulator');
    for (const io of m.iothreads) add(concrete(m, io), 'iothread');
    for (const p of d.irqPolicy) add(p.cpus, 'irq');
  }
  return [...counts].map(([k, count]) => {
    const [cpu, kind] = k.split('|') as [string, string];
    return { cpu: Number(cpu), kind, count };
  }).sort((a, b) => a.cpu - b.cpu || a.kind.localeCompare(b.kind));
}
