/**
 * Differential test: virt-pin's host model of every vendored real-machine
 * capture against hwloc's reading of the same tree (`HWLOC_FSROOT=ROOT
 * lstopo --of xml`). Packages, NUMA nodes with their CPUs and distances,
 * cores (SMT sibling groups), L2 and L3 groups with sizes, dies, clusters,
 * CPU kinds, online/present CPUs and the cgroup-allowed CPUs and nodes must
 * agree; the only differences allowed are the ones listed in
 * EXPLAINED_DIFFERENCES, each explained in docs/host-topology.md.
 */
import { afterAll, expect, it } from 'vitest';
import { CpuSet, parseKernelCpuList } from '../../src/cpuset/index.js';
import { hostFromSysfs, type HostTopology } from '../../src/host/index.js';
import { describeWith } from '../support/components.js';
import { CAPTURES, captureRoot, lstopoXml, parseHwlocXml, removeCaptures, type HwlocView } from './hwloc-captures.js';

afterAll(removeCaptures);

/**
 * Per capture, the compared facts (`cores`, `L2`, …) that differ, each with
 * the reason docs/host-topology.md ("Differences from hwloc") gives.
 */
const EXPLAINED_DIFFERENCES: Record<string, Record<string, string>> = {
  '64amd64-4s2n4ca2co': {
    cores:
      "the kernel lists the two cores of a Bulldozer module as thread_siblings; virt-pin (like libvirt's <cpu siblings>) takes them as one core's SMT threads, hwloc builds cores from core_id",
  },
};

function virtPinView(host: HostTopology): HwlocView {
  const online = host.onlineCpus;
  const onlineCpus = host.cpus.filter((c) => online.has(c.id));
  const groupBy = (key: (c: (typeof onlineCpus)[number]) => string | undefined): Map<string, CpuSet> => {
    const groups = new Map<string, CpuSet>();
    for (const c of onlineCpus) {
      const k = key(c);
      if (k !== undefined) groups.set(k, (groups.get(k) ?? CpuSet.empty()).union(CpuSet.of(c.id)));
    }
    return groups;
  };
  const sets = (m: Map<string, CpuSet>): string[] => [...m.values()].map((s) => s.toString()).sort();
  const packages = sets(groupBy((c) => String(c.socket)));
  const cores = [...new Set(onlineCpus.map((c) => c.siblings.intersect(online).toString()))].sort();
  const caches = new Map<number, string[]>();
  for (const level of [2, 3]) {
    const seen = new Set<string>();
    for (const cache of host.caches.filter((c) => c.level === level && c.type !== 'instruction')) {
      const cpus = cache.cpus.intersect(online);
      if (cpus.isEmpty()) continue;
      seen.add(`${cpus}=${cache.sizeKiB}`);
    }
    if (seen.size) caches.set(level, [...seen].sort());
  }
  // hwloc keeps a Die only where a package has several, and drops a Group equal to another object.
  const diesBySocket = groupBy((c) => (c.die === undefined ? undefined : `${c.socket}/${c.die}`));
  const dies = [...diesBySocket.entries()]
    .filter(([k]) => [...diesBySocket.keys()].filter((o) => o.split('/')[0] === k.split('/')[0]).length > 1)
    .map(([, s]) => s.toString())
    .sort();
  const other = new Set([...packages, ...cores, ...dies, ...[...caches.values()].flat().map((c) => c.split('=')[0]!), ...host.nodes.map((n) => n.cpus.toString())]);
  const clusters = sets(groupBy((c) => (c.cluster === undefined ? undefined : `${c.socket}/${c.cluster}`))).filter((s) => !other.has(s));
  const kinds: string[] = [];
  if (host.coreTypeSource) {
    for (const type of ['efficiency', 'performance'] as const) kinds.push(CpuSet.fromIds(onlineCpus.filter((c) => c.coreType === type).map((c) => c.id)).toString());
  }
  const distances: string[] = [];
  // hwloc keeps no 1×1 matrix.
  if (host.nodes.length > 1) for (const from of host.nodes) from.distances?.forEach((d, j) => distances.push(`${from.id} ${host.nodes[j]!.id} ${d}`));
  return {
    cpus: online.toString(),
    completeCpus: CpuSet.fromIds(host.cpus.map((c) => c.id)).toString(),
    allowedCpus: (host.allowedCpus ?? online).intersect(online).toString(),
    allowedNodes: (host.allowedNodes ?? CpuSet.fromIds(host.nodes.map((n) => n.id))).toString(),
    packages,
    nodes: new Map(host.nodes.map((n) => [n.id, n.cpus.toString()])),
    cores,
    caches,
    dies,
    clusters,
    kinds,
    distances: distances.sort(),
  };
}

function differences(ours: HwlocView, hwloc: HwlocView): string[] {
  const out: string[] = [];
  const scalar = (what: keyof HwlocView): void => {
    if (ours[what] !== hwloc[what]) out.push(`${what}: virt-pin ${String(ours[what])}, hwloc ${String(hwloc[what])}`);
  };
  const list = (what: string, a: string[], b: string[]): void => {
    const onlyOurs = a.filter((x) => !b.includes(x));
    const onlyHwloc = b.filter((x) => !a.includes(x));
    if (onlyOurs.length || onlyHwloc.length) out.push(`${what}: only virt-pin [${onlyOurs.join(' | ')}], only hwloc [${onlyHwloc.join(' | ')}]`);
  };
  scalar('cpus');
  scalar('completeCpus');
  scalar('allowedCpus');
  scalar('allowedNodes');
  list('packages', ours.packages, hwloc.packages);
  list('nodes', [...ours.nodes].map(([id, c]) => `${id}:${c}`), [...hwloc.nodes].map(([id, c]) => `${id}:${c}`));
  list('cores', ours.cores, hwloc.cores);
  for (const level of [2, 3]) list(`L${level}`, ours.caches.get(level) ?? [], hwloc.caches.get(level) ?? []);
  list('dies', ours.dies, hwloc.dies);
  list('clusters', ours.clusters, hwloc.clusters);
  // hwloc orders kinds least efficient first; virt-pin has two: efficiency, performance.
  const hwlocKinds = hwloc.kinds.length < 2 ? [] : [hwloc.kinds[0]!, hwloc.kinds.slice(1).reduce((a, k) => a.union(parseKernelCpuList(k)), CpuSet.empty()).toString()];
  list('kinds', ours.kinds, hwlocKinds);
  list('distances', ours.distances, hwloc.distances);
  return out;
}

describeWith(['hwloc'], "virt-pin's host model agrees with hwloc", () => {
  for (const capture of CAPTURES) {
    it(`${capture.name}: ${capture.role}`, () => {
      const root = captureRoot(capture.name);
      const ours = virtPinView(hostFromSysfs(root));
      const hwloc = parseHwlocXml(lstopoXml(root));
      // The comparison must compare something: every capture has cores and nodes on both sides.
      expect(hwloc.cores.length).toBeGreaterThan(0);
      expect(hwloc.nodes.size).toBeGreaterThan(0);
      const diff = differences(ours, hwloc);
      const unexplained = diff.filter((d) => !(d.split(':')[0]! in (EXPLAINED_DIFFERENCES[capture.name] ?? {})));
      expect(unexplained).toEqual([]);
      // An explanation for a difference that is gone must go too.
      expect(diff.map((d) => d.split(':')[0]).sort()).toEqual(Object.keys(EXPLAINED_DIFFERENCES[capture.name] ?? {}).sort());
    });
  }

  it('a deliberate change to the host model is caught (the comparison is not vacuous)', () => {
    const root = captureRoot('20em64t-hybrid-1p6c2t+2ca4co1t');
    const host = hostFromSysfs(root);
    const hwloc = parseHwlocXml(lstopoXml(root));
    const broken: HostTopology = { ...host, cpus: host.cpus.map((c) => (c.id === 12 ? { ...c, coreType: 'performance' } : c)), caches: host.caches.filter((c) => c.level !== 2) };
    const diff = differences(virtPinView(broken), hwloc);
    expect(diff.some((d) => d.startsWith('kinds:'))).toBe(true);
    expect(diff.some((d) => d.startsWith('L2:'))).toBe(true);
  });
});
