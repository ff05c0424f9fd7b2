/**
 * A short human summary of a HostTopology, e.g.
 *
 *   host (sysfs): 2 sockets, 16 cores, 32 CPUs (SMT2), 2 NUMA nodes
 *     node 0: CPUs 0-7,16-23, 31.2 GiB
 *     ...
 */
import { CpuSet } from '../cpuset/index.js';
import type { HostTopology } from './types.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function sizeText(kib: number): string {
  if (kib >= 1024 * 1024) return `${+(kib / (1024 * 1024)).toFixed(1)} GiB`;
  if (kib >= 1024) return `${+(kib / 1024).toFixed(1)} MiB`;
  return `${kib} KiB`;
}

/** Counts derived from the per-CPU facts, shared by describeHost and its tests. */
export interface HostCounts {
  sockets: number;
  /** Distinct SMT sibling groups among online CPUs. */
  cores: number;
  /** Online CPUs. */
  threads: number;
  /** Largest sibling group. */
  threadsPerCore: number;
  nodes: number;
}

/** Sockets, cores, online CPUs, SMT threads per core and NUMA nodes of a host. */
export function hostCounts(host: HostTopology): HostCounts {
  const online = host.cpus.filter((c) => c.online);
  const sockets = new Set(online.map((c) => c.socket));
  const cores = new Set(online.map((c) => c.siblings.toString()));
  return {
    sockets: sockets.size,
    cores: cores.size,
    threads: online.length,
    threadsPerCore: Math.max(0, ...online.map((c) => c.siblings.size)),
    nodes: host.nodes.length,
  };
}

/** A few lines for people: sockets, cores, CPUs, SMT and each NUMA node's CPUs and memory. */
export function describeHost(host: HostTopology): string {
  const k = hostCounts(host);
  const unknownSockets = host.cpus.some((c) => c.online && c.socket < 0);
  const lines: string[] = [];
  const smt = k.threadsPerCore > 1 ? ` (SMT${k.threadsPerCore})` : ' (no SMT)';
  lines.push(
    `host (${host.source}): ${unknownSockets ? 'sockets unknown' : plural(k.sockets, 'socket')}, ${plural(k.cores, 'core')}, ` +
      `${plural(k.threads, 'CPU')}${smt}, ${plural(k.nodes, 'NUMA node')}`,
  );
  for (const node of host.nodes) {
    const parts = [`CPUs ${node.cpus.isEmpty() ? 'none' : node.cpus.toString()}`];
    if (node.memoryKiB !== undefined) parts.push(sizeText(node.memoryKiB));
    if (node.distances && host.nodes.length > 1) parts.push(`distances ${node.distances.join(' ')}`);
    lines.push(`  node ${node.id}: ${parts.join(', ')}`);
  }
  const offline = CpuSet.fromIds(host.cpus.filter((c) => !c.online).map((c) => c.id));
  lines.push(`  online CPUs: ${host.onlineCpus.toString() || 'none'}${offline.isEmpty() ? '' : `; offline: ${offline.toString()}`}`);
  lines.push(`  isolated CPUs: ${host.isolatedCpus.isEmpty() ? 'none' : host.isolatedCpus.toString()}`);
  if (host.nohzFullCpus && !host.nohzFullCpus.isEmpty()) lines.push(`  nohz_full CPUs: ${host.nohzFullCpus.toString()}`);
  const lastLevel = Math.max(0, ...host.caches.map((c) => c.level));
  const llc = host.caches.filter((c) => c.level === lastLevel);
  if (llc.length > 0) {
    const size = llc[0]!.sizeKiB;
    const sameSize = llc.every((c) => c.sizeKiB === size);
    lines.push(
      `  L${lastLevel} cache: ${llc.length} × ${sameSize && size !== undefined ? sizeText(size) : 'mixed sizes'}` +
        ` (CPUs ${llc.map((c) => c.cpus.toString()).join(' | ')})`,
    );
  }
  if (lastLevel === 3 && llc.length > 1) {
    const sizes = llc.map((c) => (c.sizeKiB === undefined ? '?' : sizeText(c.sizeKiB)));
    if (new Set(sizes).size > 1) lines.push(`  L3 sizes differ: ${llc.map((c, i) => `${c.cpus} ${sizes[i]}`).join(', ')}`);
  }
  if (host.coreTypeSource) {
    const ofType = (t: string): CpuSet => CpuSet.fromIds(host.cpus.filter((c) => c.coreType === t).map((c) => c.id));
    lines.push(`  core types (from ${host.coreTypeSource}): performance ${ofType('performance')}, efficiency ${ofType('efficiency')}`);
  }
  if (host.allowedCpus) lines.push(`  cpuset cgroup allows CPUs ${host.allowedCpus}${host.allowedNodes ? `, nodes ${host.allowedNodes}` : ''}`);
  for (const dev of host.pciDevices.filter((d) => d.numaNode !== undefined)) {
    lines.push(`  PCI ${dev.address}: node ${dev.numaNode}${dev.localCpus ? `, local CPUs ${dev.localCpus.toString()}` : ''}`);
  }
  const unplaced = host.pciDevices.length - host.pciDevices.filter((d) => d.numaNode !== undefined).length;
  if (unplaced > 0) lines.push(`  ${plural(unplaced, 'PCI device')} without NUMA affinity`);
  return lines.join('\n') + '\n';
}
