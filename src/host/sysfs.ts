/**
 * Host topology from a sysfs tree under an injectable root (`/` for the
 * running machine, a captured tree in tests). Every read goes through
 * SysfsTree, which keeps it inside the root: paths are built from fixed
 * names and validated components only, and each path is resolved with
 * realpath so a symlink (sysfs links PCI devices into /sys/devices) may be
 * followed only while its target stays inside the root.
 *
 * Degradation when optional files are missing (older kernels, containers,
 * offline CPUs whose topology/cache directories the kernel removes):
 * - `cpu/online` is the one required file (HOST_SYSFS_MISSING).
 * - `cpu/present` missing → the CPUs are those of `cpu/online`.
 * - `cpu/isolated` missing → no isolated CPUs; `cpu/nohz_full` missing → `nohzFullCpus` absent.
 * - `cpuN/topology/*` missing → socket/core −1, die/cluster absent, siblings = the CPU itself.
 * - `cpuN/cache` missing → no caches for that CPU.
 * - `node/` missing (kernel without NUMA) → one node 0 holding every online CPU,
 *   as libvirt reports such a host.
 * - `nodeN/meminfo` / `nodeN/distance` missing → `memoryKiB` / `distances` absent.
 * - `bus/pci/devices` missing → no PCI devices; `numa_node` −1 → `numaNode` absent.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import { sortCaches } from './capabilities.js';
import type { HostCache, HostCacheType, HostCpu, HostNode, HostPciDevice, HostTopology } from './types.js';

const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
/** sysfs attributes are at most a page; anything far larger is not sysfs. */
const MAX_SYSFS_FILE_BYTES = 1024 * 1024;

const CPU_DIR = 'sys/devices/system/cpu';
const NODE_DIR = 'sys/devices/system/node';
const PCI_DIR = 'sys/bus/pci/devices';

/** Read-only access to files below one root directory, never outside it. */
class SysfsTree {
  readonly root: string;
  /** Reused across reads: a sysfs attribute is at most a page. */
  #buffer = Buffer.allocUnsafe(8192);

  constructor(root: string) {
    let real: string;
    try {
      real = realpathSync.native(resolve(root));
    } catch (e) {
      throw new VirtPinError('HOST_SYSFS_ROOT', `sysfs root '${root}' cannot be opened: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
    }
    if (!statSync(real).isDirectory()) throw new VirtPinError('HOST_SYSFS_ROOT', `sysfs root '${root}' is not a directory`);
    this.root = real;
  }

  /** Display form of a root-relative path. */
  show(rel: string): string {
    return join(this.root, rel);
  }

  /** Real path of `rel` inside the root, or undefined when it does not exist. */
  #resolve(rel: string): string | undefined {
    const lexical = join(this.root, rel);
    if (!this.#inside(lexical)) throw this.#escape(rel, lexical);
    let real: string;
    try {
      real = realpathSync.native(lexical);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new VirtPinError('HOST_SYSFS_READ', `cannot resolve ${lexical}: ${code ?? String(e)}`, { cause: e });
    }
    if (!this.#inside(real)) throw this.#escape(rel, real);
    return real;
  }

  #inside(p: string): boolean {
    return p === this.root || p.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep);
  }

  #escape(rel: string, target: string): VirtPinError {
    return new VirtPinError('HOST_SYSFS_PATH_ESCAPE', `${join(this.root, rel)} leads to ${target}, outside the sysfs root ${this.root}`, {
      hint: 'a captured tree may use symlinks only between files inside the tree',
    });
  }

  /** Contents of a regular file, or undefined when it is missing. */
  read(rel: string): string | undefined {
    const real = this.#resolve(rel);
    if (real === undefined) return undefined;
    try {
      // A FIFO or device in a crafted tree would block or stream forever.
      if (!statSync(real).isFile()) {
        throw new VirtPinError('HOST_SYSFS_READ', `${this.show(rel)} is not a regular file`);
      }
      const fd = openSync(real, 'r');
      try {
        let len = 0;
        for (;;) {
          if (len > MAX_SYSFS_FILE_BYTES) throw new VirtPinError('HOST_SYSFS_READ', `${this.show(rel)} is larger than ${MAX_SYSFS_FILE_BYTES} bytes`);
          if (len === this.#buffer.length) {
            const bigger = Buffer.allocUnsafe(len * 2);
            this.#buffer.copy(bigger);
            this.#buffer = bigger;
          }
          const n = readSync(fd, this.#buffer, len, this.#buffer.length - len, null);
          if (n === 0) break;
          len += n;
        }
        return this.#buffer.toString('utf8', 0, len);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if (e instanceof VirtPinError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new VirtPinError('HOST_SYSFS_READ', `cannot read ${this.show(rel)}: ${code ?? String(e)}`, { cause: e });
    }
  }

  /** Entry names of a directory (sorted), or [] when it is missing. */
  list(rel: string): string[] {
    const real = this.#resolve(rel);
    if (real === undefined) return [];
    try {
      return readdirSync(real).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new VirtPinError('HOST_SYSFS_READ', `cannot list ${this.show(rel)}: ${code ?? String(e)}`, { cause: e });
    }
  }

  exists(rel: string): boolean {
    return this.#resolve(rel) !== undefined;
  }

  cpuList(rel: string): CpuSet | undefined {
    const text = this.read(rel);
    if (text === undefined) return undefined;
    // nohz_full prints "(null)" when unset on some kernels.
    if (text.trim() === '(null)') return CpuSet.empty();
    try {
      return parseKernelCpuList(text.trim());
    } catch (e) {
      throw new VirtPinError('HOST_SYSFS_BAD_VALUE', `${this.show(rel)}: '${text.trim().slice(0, 80)}' is not a kernel CPU list (${(e as Error).message})`, { cause: e });
    }
  }

  int(rel: string): number | undefined {
    const text = this.read(rel);
    if (text === undefined) return undefined;
    const t = text.trim();
    if (!/^-?\d{1,10}$/.test(t)) throw new VirtPinError('HOST_SYSFS_BAD_VALUE', `${this.show(rel)}: '${t.slice(0, 80)}' is not an integer`);
    return Number(t);
  }
}

/** Lower-case and check a PCI address before it becomes part of a path. */
function checkPciAddress(address: string): string {
  const a = typeof address === 'string' ? address.toLowerCase() : '';
  if (!PCI_ADDRESS.test(a)) {
    throw new VirtPinError('HOST_BAD_PCI_ADDRESS', `'${String(address).slice(0, 80)}' is not a PCI address DDDD:BB:SS.F`, {
      hint: "write it as sysfs does, e.g. '0000:01:00.0'",
    });
  }
  return a;
}

function readPciDevice(tree: SysfsTree, address: string): HostPciDevice {
  const dir = `${PCI_DIR}/${address}`;
  const device: HostPciDevice = { address };
  const node = tree.int(`${dir}/numa_node`);
  if (node !== undefined && node >= 0) device.numaNode = node;
  const local = tree.cpuList(`${dir}/local_cpulist`);
  if (local !== undefined) device.localCpus = local;
  return device;
}

/** NUMA node and local CPUs of one PCI device, from `${root}/sys/bus/pci/devices/ADDRESS`. */
export function pciDeviceNuma(root: string, address: string): HostPciDevice {
  const a = checkPciAddress(address);
  const tree = new SysfsTree(root);
  if (!tree.exists(`${PCI_DIR}/${a}`)) {
    throw new VirtPinError('HOST_PCI_NOT_FOUND', `no PCI device ${a} under ${tree.show(PCI_DIR)}`);
  }
  return readPciDevice(tree, a);
}

const CACHE_TYPES: Record<string, HostCacheType> = { Data: 'data', Instruction: 'instruction', Unified: 'unified' };

function cacheSizeKiB(tree: SysfsTree, rel: string): number | undefined {
  const text = tree.read(rel);
  if (text === undefined) return undefined;
  const m = /^(\d{1,12})([KMG]?)$/.exec(text.trim());
  if (!m) throw new VirtPinError('HOST_SYSFS_BAD_VALUE', `${tree.show(rel)}: '${text.trim().slice(0, 80)}' is not a cache size like 32K`);
  const scale = m[2] === 'M' ? 1024 : m[2] === 'G' ? 1024 * 1024 : m[2] === 'K' ? 1 : 1 / 1024;
  return Number(m[1]) * scale;
}

/** What checking and planning read from sysfs: CPU sets, NUMA nodes and PCI locality, not each CPU's topology and caches. */
export type SysfsHostFacts = Pick<HostTopology, 'source' | 'onlineCpus' | 'isolatedCpus' | 'nohzFullCpus' | 'nodes' | 'pciDevices'>;

/**
 * The host facts `checkDocument` and `planDocument` use, from
 * `${root}/sys/…`, without the per-CPU topology and cache files that make
 * up most of a large server's sysfs (the hook's read; docs/performance.md).
 */
export function hostFactsFromSysfs(root: string): SysfsHostFacts {
  return readFacts(new SysfsTree(root), root).facts;
}

/** `nodeIds`: the nodes sysfs lists (none on a kernel without NUMA, where `facts.nodes` is one node 0 with every online CPU). */
function readFacts(tree: SysfsTree, root: string): { facts: SysfsHostFacts; nodeIds: number[] } {
  const onlineCpus = tree.cpuList(`${CPU_DIR}/online`);
  if (onlineCpus === undefined) {
    throw new VirtPinError('HOST_SYSFS_MISSING', `${tree.show(`${CPU_DIR}/online`)} does not exist: '${root}' is not a sysfs tree`, {
      hint: "pass the directory that contains 'sys/', e.g. '/' for this machine",
    });
  }
  const isolatedCpus = tree.cpuList(`${CPU_DIR}/isolated`) ?? CpuSet.empty();
  const nohzFullCpus = tree.cpuList(`${CPU_DIR}/nohz_full`);
  const nodeIds = tree
    .list(NODE_DIR)
    .map((n) => /^node(\d{1,5})$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const nodes: HostNode[] = nodeIds.map((id) => {
    const dir = `${NODE_DIR}/node${id}`;
    const node: HostNode = { id, cpus: tree.cpuList(`${dir}/cpulist`) ?? CpuSet.empty() };
    const meminfo = tree.read(`${dir}/meminfo`);
    const total = meminfo === undefined ? null : /^Node\s+\d+\s+MemTotal:\s+(\d+)\s+kB\s*$/m.exec(meminfo);
    if (total) node.memoryKiB = Number(total[1]);
    const distance = tree.read(`${dir}/distance`);
    if (distance !== undefined) {
      const parts = distance.trim().split(/\s+/);
      if (parts.length !== nodeIds.length || !parts.every((p) => /^\d{1,5}$/.test(p))) {
        throw new VirtPinError('HOST_SYSFS_BAD_VALUE', `${tree.show(`${dir}/distance`)}: '${distance.trim().slice(0, 80)}' is not ${nodeIds.length} distances`);
      }
      node.distances = parts.map(Number);
    }
    return node;
  });
  if (nodes.length === 0) nodes.push({ id: 0, cpus: onlineCpus });
  const pciDevices = tree
    .list(PCI_DIR)
    .filter((name) => PCI_ADDRESS.test(name))
    .map((address) => readPciDevice(tree, address));
  return { facts: { source: 'sysfs', onlineCpus, isolatedCpus, ...(nohzFullCpus === undefined ? {} : { nohzFullCpus }), nodes, pciDevices }, nodeIds };
}

/** Read the host topology from `${root}/sys/…`. */
export function hostFromSysfs(root: string): HostTopology {
  const tree = new SysfsTree(root);
  const { facts, nodeIds } = readFacts(tree, root);
  const { onlineCpus, nodes } = facts;
  const present = (tree.cpuList(`${CPU_DIR}/present`) ?? CpuSet.empty()).union(onlineCpus);

  const nodeOf = new Map<number, number>();
  for (const n of nodes) for (const c of n.cpus.ids()) nodeOf.set(c, n.id);

  const cpus: HostCpu[] = [];
  const caches = new Map<string, HostCache>();
  for (const id of present.ids()) {
    const dir = `${CPU_DIR}/cpu${id}`;
    const topo = `${dir}/topology`;
    const cpu: HostCpu = {
      id,
      socket: tree.int(`${topo}/physical_package_id`) ?? -1,
      core: tree.int(`${topo}/core_id`) ?? -1,
      siblings: tree.cpuList(`${topo}/core_cpus_list`) ?? tree.cpuList(`${topo}/thread_siblings_list`) ?? CpuSet.of(id),
      online: onlineCpus.has(id),
    };
    const die = tree.int(`${topo}/die_id`);
    if (die !== undefined) cpu.die = die;
    const cluster = tree.int(`${topo}/cluster_id`);
    if (cluster !== undefined) cpu.cluster = cluster;
    // Offline CPUs are in no node cpulist; their cpuN/nodeK link still names the node.
    let node = nodeOf.get(id);
    if (node === undefined && nodeIds.length > 0) {
      const link = tree.list(dir).map((n) => /^node(\d{1,5})$/.exec(n)).find((m) => m !== null);
      if (link) node = Number(link[1]);
    }
    if (node !== undefined) cpu.node = node;
    cpus.push(cpu);

    for (const index of tree.list(`${dir}/cache`).filter((n) => /^index\d{1,3}$/.test(n))) {
      const c = `${dir}/cache/${index}`;
      const level = tree.int(`${c}/level`);
      const type = CACHE_TYPES[(tree.read(`${c}/type`) ?? '').trim()];
      const shared = tree.cpuList(`${c}/shared_cpu_list`) ?? CpuSet.of(id);
      if (level === undefined || type === undefined) continue;
      const key = `${level}/${type}/${shared.toString()}`;
      if (caches.has(key)) continue;
      const cache: HostCache = { level, type, cpus: shared };
      const size = cacheSizeKiB(tree, `${c}/size`);
      if (size !== undefined) cache.sizeKiB = size;
      caches.set(key, cache);
    }
  }

  const { source, isolatedCpus, nohzFullCpus, pciDevices } = facts;
  return { source, onlineCpus, isolatedCpus, ...(nohzFullCpus === undefined ? {} : { nohzFullCpus }), cpus, nodes, caches: sortCaches([...caches.values()]), pciDevices };
}
