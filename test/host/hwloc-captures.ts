/**
 * The real-machine sysfs/procfs captures vendored from hwloc's test suite
 * (fixtures/hwloc/README.md), unpacked once per test process into a
 * scratch directory, and hwloc's own reading of them (`lstopo --of xml`
 * with HWLOC_FSROOT), parsed into the handful of facts the differential
 * test compares.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { CpuSet } from '../../src/cpuset/index.js';
import { repoRoot } from '../support/corpus.js';

export interface Capture {
  /** Tarball name without `.tar.bz2`, as hwloc names it. */
  name: string;
  /** What the capture stands for in virt-pin's tests. */
  role: string;
}

export const CAPTURES: readonly Capture[] = [
  { name: '20em64t-hybrid-1p6c2t+2ca4co1t', role: 'Intel hybrid: 6 P-cores with SMT, 8 E-cores in 2 L2 clusters' },
  { name: '48amd64-4pa2n6c-sparse', role: 'AMD 4 sockets × 2 NUMA nodes × one L3 each, sparse node ids' },
  { name: '64amd64-4s2n4ca2co', role: 'AMD 4 sockets × 2 NUMA nodes, L2 shared by core pairs' },
  { name: '128arm-2pa2n8cluster4co', role: 'Arm Kunpeng 920: 2 packages × 2 nodes, clusters of 4 cores' },
  { name: '16em64t-4s2c2t-offlines', role: 'offline CPUs, old kernel (hex masks, no cpu/online)' },
  { name: '16amd64-8n2c-cpusets', role: 'cgroup v1 cpuset restricting CPUs and nodes, one CPU offline' },
  { name: '32amd64-4s2n4c-cgroup2', role: 'cgroup v2 cpuset restricting CPUs and nodes' },
  { name: '8em64t-2s4c-asymcaches', role: 'caches removed by hand: asymmetric L2/L3' },
];

export const HWLOC_DIR = join(repoRoot, 'fixtures', 'hwloc');

let scratch: string | undefined;
const unpacked = new Map<string, string>();

/** The root (the directory holding `sys/`) of an unpacked capture. */
export function captureRoot(name: string): string {
  const known = unpacked.get(name);
  if (known) return known;
  scratch ??= mkdtempSync(join(tmpdir(), 'vp-hwloc-'));
  const dir = join(scratch, name);
  mkdirSync(dir);
  const r = spawnSync('tar', ['-xjf', join(HWLOC_DIR, `${name}.tar.bz2`), '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -xjf ${name}.tar.bz2 failed (needs bzip2: apt-get install bzip2): ${r.stderr}`);
  // Each tarball holds one top directory (hwloc-gather-topology's name for the machine).
  const top = readdirSync(dir);
  if (top.length !== 1) throw new Error(`${name}.tar.bz2 holds ${top.length} top-level entries, expected one`);
  const root = join(dir, top[0]!);
  unpacked.set(name, root);
  return root;
}

export function removeCaptures(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
  unpacked.clear();
}

/** hwloc's view of a capture, as sets in libvirt's canonical syntax. */
export interface HwlocView {
  /** Online CPUs (the Machine's cpuset). */
  cpus: string;
  /** Present CPUs (complete_cpuset). */
  completeCpus: string;
  allowedCpus: string;
  allowedNodes: string;
  packages: string[];
  /** NUMA node id → its CPUs. */
  nodes: Map<number, string>;
  /** `CPUS` per core. */
  cores: string[];
  /** `CPUS=SIZEKiB` per cache, unified or data, by level. */
  caches: Map<number, string[]>;
  /** `Die` objects and `Group` objects hwloc calls clusters. */
  dies: string[];
  clusters: string[];
  /** CPU kinds in hwloc's order (least efficient first). */
  kinds: string[];
  /** Node distances: `from to value`, os indexes. */
  distances: string[];
}

/** `HWLOC_COMPONENTS=linux,stop` as hwloc's own test-topology.sh: no x86 CPUID backend reading this machine. */
export function lstopoXml(root: string): string {
  const r = spawnSync('lstopo', ['--of', 'xml', '--disallowed', '-'], {
    encoding: 'utf8',
    env: { ...process.env, HWLOC_FSROOT: root, HWLOC_COMPONENTS: 'linux,stop', HWLOC_SHOW_ERRORS: 'none', LC_ALL: 'C' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`lstopo failed on ${root}: ${r.stderr}`);
  return r.stdout;
}

/** hwloc's bitmap syntax: comma-separated 32-bit words, each `0x…`; `0xf...f` (infinite) never appears for a finite machine. */
export function hwlocSet(text: string | undefined): CpuSet {
  if (text === undefined) return CpuSet.empty();
  // An empty word is a zero word (hwloc_bitmap_snprintf elides them).
  const words = text.split(',').map((w) => w.replace(/^0x/i, '') || '0');
  if (words.some((w) => !/^[0-9a-f]+$/i.test(w))) throw new Error(`unexpected hwloc bitmap '${text}'`);
  return CpuSet.fromMaskHex(words.map((w) => w.padStart(8, '0')).join(','));
}

type XmlObject = { [k: string]: unknown };

export function parseHwlocXml(xml: string): HwlocView {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['object', 'cpukind', 'distances2', 'info', 'u64values'].includes(name) });
  const doc = parser.parse(xml) as { topology: XmlObject };
  const topo = doc.topology;
  const machine = (topo.object as XmlObject[])[0]!;
  const view: HwlocView = {
    cpus: hwlocSet(machine.cpuset as string).toString(),
    completeCpus: hwlocSet(machine.complete_cpuset as string).toString(),
    allowedCpus: hwlocSet(machine.allowed_cpuset as string).toString(),
    allowedNodes: hwlocSet(machine.allowed_nodeset as string).toString(),
    packages: [],
    nodes: new Map(),
    cores: [],
    caches: new Map(),
    dies: [],
    clusters: [],
    kinds: [],
    distances: [],
  };
  const walk = (o: XmlObject): void => {
    const cpus = hwlocSet(o.cpuset as string).toString();
    switch (o.type) {
      case 'Package':
        view.packages.push(cpus);
        break;
      case 'NUMANode':
        view.nodes.set(Number(o.os_index), cpus);
        break;
      case 'Core':
        view.cores.push(cpus);
        break;
      case 'Die':
        view.dies.push(cpus);
        break;
      case 'Group':
        if (o.subtype === 'Cluster') view.clusters.push(cpus);
        break;
      case 'L2Cache':
      case 'L3Cache': {
        const level = o.type === 'L2Cache' ? 2 : 3;
        // cache_type 0 unified, 1 data, 2 instruction (hwloc_obj_cache_type_e).
        if (o.cache_type !== '2') {
          const list = view.caches.get(level) ?? [];
          list.push(`${cpus}=${Number(o.cache_size) / 1024}`);
          view.caches.set(level, list);
        }
        break;
      }
    }
    for (const child of (o.object as XmlObject[] | undefined) ?? []) walk(child);
  };
  walk(machine);
  for (const kind of (topo.cpukind as XmlObject[] | undefined) ?? []) view.kinds.push(hwlocSet(kind.cpuset as string).toString());
  for (const d of (topo.distances2 as XmlObject[] | undefined) ?? []) {
    if (d.type !== 'NUMANode') continue;
    const text = (x: unknown): string => String(typeof x === 'object' && x !== null ? (x as XmlObject)['#text'] ?? '' : x ?? '');
    const ids = text(d.indexes).trim().split(/\s+/).map(Number);
    const values = ((d.u64values as unknown[] | undefined) ?? []).flatMap((v) => text(v).trim().split(/\s+/)).map(Number);
    ids.forEach((from, i) => ids.forEach((to, j) => view.distances.push(`${from} ${to} ${values[i * ids.length + j]}`)));
  }
  for (const list of [view.packages, view.cores, view.dies, view.clusters, view.distances]) list.sort();
  for (const list of view.caches.values()) list.sort();
  return view;
}
