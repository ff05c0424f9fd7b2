/**
 * The pin map: host CPUs laid out node → core → SMT sibling, each CPU
 * listing which guest threads may run there, with conflicts found on the
 * way. Built from plain data (the resolved model's JSON form and a host
 * topology), so the text, SVG and HTML renderers only draw.
 */
import { CpuSet, parseCpuSet } from '../../cpuset/index.js';
import type { ResolvedModel } from '../../resolve/index.js';

/** The host facts the map needs (a HostTopology satisfies it). */
export interface PinMapHost {
  onlineCpus: CpuSet;
  isolatedCpus?: CpuSet;
  cpus: ReadonlyArray<{ id: number; socket: number; core: number; node?: number; siblings: CpuSet; online?: boolean; coreType?: 'performance' | 'efficiency' }>;
  nodes: ReadonlyArray<{ id: number; cpus: CpuSet }>;
  caches?: ReadonlyArray<{ level: number; type: string; sizeKiB?: number; cpus: CpuSet }>;
}

/** A diagnostic from check's host-aware lints, shown under the map. */
export interface PinMapFinding {
  code: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  hint?: string;
}

/** One L3 cache instance, numbered in CPU order across the host. */
export interface PinMapL3 {
  index: number;
  cpus: CpuSet;
  sizeKiB?: number;
}

/** One guest thread and the host CPUs it may use (`all`/`numad` while symbolic). */
export interface PinMapThread {
  kind: 'vcpu' | 'emulator' | 'iothread' | 'irq';
  /** vCPU or IOThread id; PCI address for an IRQ. */
  id: number | string;
  cpus: string;
  online?: boolean;
}

export interface PinMapCell {
  cpu: number;
  online: boolean;
  isolated: boolean;
  /** vCPUs that may run here. */
  vcpus: CpuSet;
  /** vCPUs pinned to this CPU alone. */
  dedicated: CpuSet;
  emulator: boolean;
  iothreads: CpuSet;
  irqs: string[];
  conflicts: string[];
}

export interface PinMapCore {
  socket: number;
  core: number;
  /** Set on hybrid hosts only. */
  coreType?: 'performance' | 'efficiency';
  /** Index into `PinMap.l3Groups`, when the host reports L3 caches. */
  l3?: number;
  cells: PinMapCell[];
}

export interface PinMapNode {
  id: number;
  cpus: CpuSet;
  cores: PinMapCore[];
}

export interface PinMap {
  nodes: PinMapNode[];
  /** Threads whose CPUs are decided at start time (numad). */
  symbolic: string[];
  /** CPUs named by the guest that this host does not have. */
  missing: CpuSet;
  conflicts: string[];
  /** Host-aware lint findings (guest SMT vs host siblings, L3 and core-type spans, overcommit…). */
  findings: PinMapFinding[];
  l3Groups: PinMapL3[];
  /** The host mixes performance and efficiency cores. */
  hybrid: boolean;
  summary: { sockets: number; cores: number; threads: number; nodes: number; guestThreads: number };
}

/** Short label of a thread, as drawn in a cell: `v3`, `emu`, `io1`, `irq 01:00.0`. */
export function threadLabel(t: Pick<PinMapThread, 'kind' | 'id'>): string {
  if (t.kind === 'vcpu') return `v${t.id}`;
  if (t.kind === 'emulator') return 'emu';
  if (t.kind === 'iothread') return `io${t.id}`;
  return `irq ${String(t.id).replace(/^0000:/, '')}`;
}

/** The threads of a resolved domain, as the map draws them (vCPUs, the emulator, IOThreads). */
export function pinMapThreads(r: ResolvedModel): PinMapThread[] {
  return [
    ...r.vcpus.map((v) => ({ kind: 'vcpu' as const, id: v.id, cpus: v.cpus.toString(), online: v.online })),
    { kind: 'emulator' as const, id: 0, cpus: r.emulator.cpus.toString() },
    ...r.iothreads.map((t) => ({ kind: 'iothread' as const, id: t.id, cpus: t.cpus.toString() })),
  ];
}

/**
 * Lay the host CPUs out node → core → sibling and place each thread on the
 * CPUs it may use, flagging conflicts (two vCPUs pinned to one CPU, the
 * emulator on a vCPU's dedicated CPU, offline or missing CPUs).
 */
export function buildPinMap(host: PinMapHost, threads: readonly PinMapThread[], findings: readonly PinMapFinding[] = []): PinMap {
  const cellByCpu = new Map<number, PinMapCell>();
  const isolated = host.isolatedCpus ?? CpuSet.empty();
  const hostCpuIds = CpuSet.fromIds(host.cpus.map((c) => c.id));
  for (const c of host.cpus) {
    cellByCpu.set(c.id, {
      cpu: c.id,
      online: c.online ?? host.onlineCpus.has(c.id),
      isolated: isolated.has(c.id),
      vcpus: CpuSet.empty(),
      dedicated: CpuSet.empty(),
      emulator: false,
      iothreads: CpuSet.empty(),
      irqs: [],
      conflicts: [],
    });
  }

  const symbolic: string[] = [];
  let missing = CpuSet.empty();
  // Accumulate ids per CPU as arrays first: CpuSet is immutable and a
  // 1,024-vCPU guest floating over 512 CPUs would otherwise rebuild sets.
  const vcpuIds = new Map<number, number[]>();
  const dedicatedIds = new Map<number, number[]>();
  const ioIds = new Map<number, number[]>();
  const push = (m: Map<number, number[]>, cpu: number, id: number): void => {
    const list = m.get(cpu);
    if (list) list.push(id);
    else m.set(cpu, [id]);
  };

  for (const t of threads) {
    if (t.cpus === 'numad') {
      symbolic.push(`${threadLabel(t)}: numad (chosen when the guest starts)`);
      continue;
    }
    const set = t.cpus === 'all' ? host.onlineCpus : parseCpuSet(t.cpus);
    missing = missing.union(set.difference(hostCpuIds));
    for (const cpu of set.intersect(hostCpuIds)) {
      const cell = cellByCpu.get(cpu)!;
      if (t.kind === 'vcpu') {
        push(vcpuIds, cpu, Number(t.id));
        if (set.size === 1) push(dedicatedIds, cpu, Number(t.id));
      } else if (t.kind === 'emulator') cell.emulator = true;
      else if (t.kind === 'iothread') push(ioIds, cpu, Number(t.id));
      else cell.irqs.push(String(t.id));
    }
  }

  const conflicts: string[] = [];
  for (const cell of cellByCpu.values()) {
    cell.vcpus = CpuSet.fromIds(vcpuIds.get(cell.cpu) ?? []);
    cell.dedicated = CpuSet.fromIds(dedicatedIds.get(cell.cpu) ?? []);
    cell.iothreads = CpuSet.fromIds(ioIds.get(cell.cpu) ?? []);
    const used = !cell.vcpus.isEmpty() || cell.emulator || !cell.iothreads.isEmpty() || cell.irqs.length > 0;
    if (cell.dedicated.size > 1) {
      cell.conflicts.push(`vCPUs ${cell.dedicated} are each pinned to CPU ${cell.cpu} alone and will take turns on it`);
    }
    if (!cell.dedicated.isEmpty() && (cell.emulator || !cell.iothreads.isEmpty())) {
      const who = [cell.emulator ? 'the emulator' : '', cell.iothreads.isEmpty() ? '' : `IOThread ${cell.iothreads}`]
        .filter(Boolean)
        .join(' and ');
      cell.conflicts.push(`${who} may run on CPU ${cell.cpu}, which vCPU ${cell.dedicated} has to itself`);
    }
    if (used && !cell.online) cell.conflicts.push(`CPU ${cell.cpu} is offline`);
    for (const c of cell.conflicts) conflicts.push(`cpu ${cell.cpu}: ${c}`);
  }
  if (!missing.isEmpty()) conflicts.push(`the guest names CPUs ${missing} that this host does not have`);

  const seenL3 = new Set<string>();
  const l3Groups: PinMapL3[] = [];
  for (const c of [...(host.caches ?? [])].sort((a, b) => (a.cpus.min() ?? 0) - (b.cpus.min() ?? 0))) {
    if (c.level !== 3 || c.type === 'instruction' || seenL3.has(c.cpus.toString())) continue;
    seenL3.add(c.cpus.toString());
    l3Groups.push({ index: l3Groups.length, cpus: c.cpus, ...(c.sizeKiB !== undefined ? { sizeKiB: c.sizeKiB } : {}) });
  }
  const hybrid = host.cpus.some((c) => c.coreType === 'performance') && host.cpus.some((c) => c.coreType === 'efficiency');

  // Layout: node → (socket, core) → siblings in id order.
  const nodeOf = new Map<number, number>();
  for (const n of host.nodes) for (const cpu of n.cpus) nodeOf.set(cpu, n.id);
  const nodeIds = [...new Set(host.cpus.map((c) => c.node ?? nodeOf.get(c.id) ?? 0))].sort((a, b) => a - b);
  const nodes: PinMapNode[] = nodeIds.map((id) => {
    const inNode = host.cpus.filter((c) => (c.node ?? nodeOf.get(c.id) ?? 0) === id);
    // Siblings identify a core even when the source does not number cores (−1).
    const coreKey = (c: { id: number; siblings: CpuSet }): string => c.siblings.union(CpuSet.of(c.id)).toString();
    const byCore = new Map<string, PinMapCore>();
    for (const c of [...inNode].sort((a, b) => a.id - b.id)) {
      const key = coreKey(c);
      let core = byCore.get(key);
      if (!core) {
        // One L3 for the whole host tells nothing per core.
        const l3 = l3Groups.length > 1 ? l3Groups.find((g) => g.cpus.has(c.id))?.index : undefined;
        core = { socket: c.socket, core: c.core, ...(hybrid && c.coreType ? { coreType: c.coreType } : {}), ...(l3 !== undefined ? { l3 } : {}), cells: [] };
        byCore.set(key, core);
      }
      core.cells.push(cellByCpu.get(c.id)!);
    }
    return { id, cpus: CpuSet.fromIds(inNode.map((c) => c.id)), cores: [...byCore.values()] };
  });

  const sockets = new Set(host.cpus.map((c) => c.socket)).size;
  const cores = new Set(host.cpus.map((c) => c.siblings.union(CpuSet.of(c.id)).toString())).size;
  return {
    nodes,
    symbolic,
    missing,
    conflicts,
    findings: [...findings],
    l3Groups,
    hybrid,
    summary: { sockets, cores, threads: host.cpus.length, nodes: nodes.length, guestThreads: threads.length },
  };
}

/** The labels of a cell, in drawing order. */
export function cellLabels(cell: PinMapCell): string[] {
  const out: string[] = [];
  if (!cell.vcpus.isEmpty()) out.push(`v${cell.vcpus.toString()}`);
  if (cell.emulator) out.push('emu');
  if (!cell.iothreads.isEmpty()) out.push(`io${cell.iothreads.toString()}`);
  for (const irq of cell.irqs) out.push(threadLabel({ kind: 'irq', id: irq }));
  return out;
}

/** `P L3#1` — what a core row is labelled with besides its socket and core id. */
export function coreTags(core: PinMapCore): string {
  const tags: string[] = [];
  if (core.coreType) tags.push(core.coreType === 'performance' ? 'P' : 'E');
  if (core.l3 !== undefined) tags.push(`L3#${core.l3}`);
  return tags.join(' ');
}

export function sizeText(kib: number): string {
  if (kib >= 1024 && kib % 1024 === 0) return `${kib / 1024} MiB`;
  if (kib >= 1024) return `${(kib / 1024).toFixed(1)} MiB`;
  return `${kib} KiB`;
}
