/**
 * Small synthetic host topologies for pure unit tests (the sysfs fixtures
 * under fixtures/hosts are the realistic ones). Sibling numbering follows
 * Intel's layout (cpu N and N + cores·sockets) unless `adjacent` is set
 * (AMD consumer layout: 0-1, 2-3, …).
 */
import { CpuSet } from '../../src/cpuset/index.js';

export interface SyntheticHostOptions {
  sockets: number;
  coresPerSocket: number;
  threads: 1 | 2;
  adjacent?: boolean;
  isolated?: string;
  pci?: { address: string; numaNode?: number }[];
}

export function syntheticHost(o: SyntheticHostOptions) {
  const totalCores = o.sockets * o.coresPerSocket;
  const cpus: { id: number; socket: number; core: number; node: number; siblings: CpuSet }[] = [];
  for (let s = 0; s < o.sockets; s++) {
    for (let c = 0; c < o.coresPerSocket; c++) {
      const coreIndex = s * o.coresPerSocket + c;
      const ids = Array.from({ length: o.threads }, (_, t) => (o.adjacent ? coreIndex * o.threads + t : coreIndex + t * totalCores));
      for (const id of ids) cpus.push({ id, socket: s, core: c, node: s, siblings: CpuSet.fromIds(ids) });
    }
  }
  cpus.sort((a, b) => a.id - b.id);
  const nodes = Array.from({ length: o.sockets }, (_, s) => ({
    id: s,
    cpus: CpuSet.fromIds(cpus.filter((c) => c.node === s).map((c) => c.id)),
    memoryKiB: 32 * 1024 * 1024,
  }));
  return {
    onlineCpus: CpuSet.fromIds(cpus.map((c) => c.id)),
    isolatedCpus: o.isolated ? CpuSet.fromRanges(o.isolated.split(',').map((r) => r.split('-').map(Number) as [number, number]).map(([a, b]) => [a, b ?? a] as const)) : CpuSet.empty(),
    cpus,
    nodes,
    pciDevices: o.pci ?? [],
  };
}
