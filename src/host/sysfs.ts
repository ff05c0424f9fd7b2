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
import type { CoreTypeSource, HostCache, HostCacheType, HostCpu, HostNode, HostPciDevice, HostTopology } from './types.js';

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
        // Some captures (and attributes copied with a fixed-size buffer) end in NUL padding.
        return this.#buffer.toString('utf8', 0, len).replace(/\0+$/, '');
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

  /** A CPU set from a list file, or from the older hex-mask file next to it (kernels before lists existed). */
  cpuListOrMask(listRel: string, maskRel: string): CpuSet | undefined {
    return this.cpuList(listRel) ?? this.cpuMask(maskRel);
  }

  /** A CPU set from a kernel hex mask file (`00000000,00000003`). */
  cpuMask(maskRel: string): CpuSet | undefined {
    const text = this.read(maskRel);
    if (text === undefined) return undefined;
    try {
      return CpuSet.fromMaskHex(text.trim());
    } catch (e) {
      throw new VirtPinError('HOST_SYSFS_BAD_VALUE', `${this.show(maskRel)}: '${text.trim().slice(0, 80)}' is not a kernel CPU mask (${(e as Error).message})`, { cause: e });
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

/** The same facts with PCI devices read one at a time, when asked (src/plan's `pciDevice`). */
export type SysfsHostFactsOnDemand = Omit<SysfsHostFacts, 'pciDevices'> & { pciDevice(address: string): HostPciDevice | undefined };

/**
 * hostFactsFromSysfs without the walk over every PCI device: a device is
 * read when `pciDevice(address)` asks for it (undefined when it is not
 * there). The hook plans one domain, which names a few devices; a server
 * has hundreds (two files each).
 */
export function hostFactsFromSysfsOnDemand(root: string): SysfsHostFactsOnDemand {
  const tree = new SysfsTree(root);
  const { facts } = readFacts(tree, root, { pci: false });
  const { pciDevices: _none, ...rest } = facts;
  return {
    ...rest,
    pciDevice(address: string) {
      const a = address.toLowerCase();
      return PCI_ADDRESS.test(a) && tree.exists(`${PCI_DIR}/${a}`) ? readPciDevice(tree, a) : undefined;
    },
  };
}

/** `nodeIds`: the nodes sysfs lists (none on a kernel without NUMA, where `facts.nodes` is one node 0 with every online CPU). */
function readFacts(tree: SysfsTree, root: string, options: { pci?: boolean } = {}): { facts: SysfsHostFacts; nodeIds: number[] } {
  const onlineCpus = tree.cpuList(`${CPU_DIR}/online`) ?? onlineFromCpuDirs(tree);
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
    // Old kernels print only the mask; an offline CPU may still be in it.
    const node: HostNode = { id, cpus: (tree.cpuListOrMask(`${dir}/cpulist`, `${dir}/cpumap`) ?? CpuSet.empty()).intersect(onlineCpus) };
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
  const pciDevices = options.pci === false ? [] : tree
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
  const present = (tree.cpuList(`${CPU_DIR}/present`) ?? onlineFromCpuDirs(tree, { all: true }) ?? CpuSet.empty()).union(onlineCpus);

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
      siblings: tree.cpuList(`${topo}/core_cpus_list`) ?? tree.cpuListOrMask(`${topo}/thread_siblings_list`, `${topo}/thread_siblings`) ?? CpuSet.of(id),
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
      // The map first: a kernel whose list and map disagree (64amd64-4s2n4ca2co, fixtures/hwloc) had the map right.
      const shared = tree.cpuMask(`${c}/shared_cpu_map`) ?? tree.cpuList(`${c}/shared_cpu_list`) ?? CpuSet.of(id);
      if (level === undefined || type === undefined) continue;
      const key = `${level}/${type}/${shared.toString()}`;
      if (caches.has(key)) continue;
      const cacheId = tree.int(`${c}/id`);
      const cache: HostCache = { ...(cacheId === undefined ? {} : { id: cacheId }), level, type, cpus: shared };
      const size = cacheSizeKiB(tree, `${c}/size`);
      if (size !== undefined) cache.sizeKiB = size;
      caches.set(key, cache);
    }
  }

  const coreTypeSource = assignCoreTypes(tree, cpus);
  const allowed = readCpusetCgroup(tree);

  const { source, isolatedCpus, nohzFullCpus, pciDevices } = facts;
  return {
    source,
    onlineCpus,
    isolatedCpus,
    ...(nohzFullCpus === undefined ? {} : { nohzFullCpus }),
    cpus,
    nodes,
    caches: sortCaches([...caches.values()]),
    pciDevices,
    ...(coreTypeSource === undefined ? {} : { coreTypeSource }),
    ...(allowed?.cpus === undefined ? {} : { allowedCpus: allowed.cpus }),
    ...(allowed?.nodes === undefined ? {} : { allowedNodes: allowed.nodes }),
  };
}

/**
 * Kernels before 2.6.2x have no `cpu/online`: a CPU is online unless its
 * `cpuN/online` holds 0 (CPU 0 often has no such file: it cannot go offline).
 * Undefined when there are no `cpuN` directories either: not a sysfs tree.
 */
function onlineFromCpuDirs(tree: SysfsTree, options: { all?: boolean } = {}): CpuSet | undefined {
  const ids = tree
    .list(CPU_DIR)
    .map((n) => /^cpu(\d{1,5})$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (ids.length === 0) return undefined;
  return CpuSet.fromIds(options.all ? ids : ids.filter((id) => tree.int(`${CPU_DIR}/cpu${id}/online`) !== 0));
}

/** Relative spread under which two frequencies or capacities count as one kind (Turbo Boost Max 3.0 favours some P-cores by a few %). */
const SAME_KIND_SPREAD = 0.1;

/**
 * Set `coreType` on every CPU of a hybrid host and say from what; leave it
 * unset when all CPUs look alike. Ranked values are split where consecutive
 * distinct values differ by more than SAME_KIND_SPREAD; the lowest group is
 * 'efficiency', every higher one 'performance' (a "prime" core is still a
 * performance core).
 */
function assignCoreTypes(tree: SysfsTree, cpus: HostCpu[]): CoreTypeSource | undefined {
  const pCores = tree.cpuList('sys/devices/cpu_core/cpus');
  const eCores = tree.cpuList('sys/devices/cpu_atom/cpus');
  if (pCores !== undefined && eCores !== undefined && !pCores.isEmpty() && !eCores.isEmpty()) {
    for (const cpu of cpus) {
      if (pCores.has(cpu.id)) cpu.coreType = 'performance';
      else if (eCores.has(cpu.id)) cpu.coreType = 'efficiency';
    }
    return 'cpu_core/cpu_atom';
  }
  const sources: Array<[CoreTypeSource, (id: number) => string]> = [
    ['cpu_capacity', (id) => `${CPU_DIR}/cpu${id}/cpu_capacity`],
    ['base_frequency', (id) => `${CPU_DIR}/cpu${id}/cpufreq/base_frequency`],
    ['cpuinfo_max_freq', (id) => `${CPU_DIR}/cpu${id}/cpufreq/cpuinfo_max_freq`],
  ];
  for (const [source, path] of sources) {
    const values = new Map<number, number>();
    for (const cpu of cpus) {
      const v = tree.int(path(cpu.id));
      if (v !== undefined && v > 0) values.set(cpu.id, v);
    }
    // A kind known for some CPUs only would guess the rest: use the next source.
    if (values.size !== cpus.filter((c) => c.online).length && values.size !== cpus.length) continue;
    const distinct = [...new Set(values.values())].sort((a, b) => a - b);
    if (distinct.length < 2) return undefined;
    const lowestKindMax = distinct.find((v, i) => i + 1 < distinct.length && distinct[i + 1]! > v * (1 + SAME_KIND_SPREAD));
    if (lowestKindMax === undefined) return undefined;
    for (const cpu of cpus) {
      const v = values.get(cpu.id);
      if (v !== undefined) cpu.coreType = v <= lowestKindMax ? 'efficiency' : 'performance';
    }
    return source;
  }
  return undefined;
}

/** A path read from /proc: absolute, no `.`/`..` components, printable. */
const SAFE_CGROUP_PATH = /^\/(?:[\x21-\x7e]+(?:\/[\x21-\x7e]+)*)?\/?$/;

/**
 * The cpuset cgroup of the process that captured the tree (hwloc captures
 * `/proc/self/cgroup`, `/proc/self/cpuset` and `/proc/mounts`): cgroup v2
 * `cpuset.cpus.effective`, v1 `cpuset.cpus` (or `cpus` on the old `cpuset`
 * file system). Undefined when any piece is missing: unrestricted as far as
 * we can tell. Paths from those files are untrusted and must stay inside
 * the root like every other read.
 */
function readCpusetCgroup(tree: SysfsTree): { cpus?: CpuSet; nodes?: CpuSet } | undefined {
  // A mount table beyond the read limit (thousands of container mounts) means "cannot tell", not a broken host.
  const procRead = (rel: string): string | undefined => {
    try {
      return tree.read(rel);
    } catch (e) {
      if (e instanceof VirtPinError && e.code === 'HOST_SYSFS_READ') return undefined;
      throw e;
    }
  };
  const mounts = procRead('proc/mounts');
  if (mounts === undefined) return undefined;
  const selfCgroup = procRead('proc/self/cgroup');
  const selfCpuset = procRead('proc/self/cpuset')?.trim();
  const candidates: Array<{ dir: string; cpus: string; mems: string }> = [];
  for (const line of mounts.split('\n')) {
    const [, mountPoint, fsType, options] = line.split(' ');
    if (mountPoint === undefined || fsType === undefined) continue;
    const mp = mountPoint.replace(/\\040/g, ' ');
    if (fsType === 'cgroup2') {
      const rel = /^0::(\/.*)$/m.exec(selfCgroup ?? '')?.[1] ?? selfCpuset;
      if (rel !== undefined) candidates.push({ dir: `${mp}/${rel}`, cpus: 'cpuset.cpus.effective', mems: 'cpuset.mems.effective' });
    } else if (fsType === 'cgroup' && (options ?? '').split(',').includes('cpuset')) {
      const rel = /^\d+:(?:[^:\n]*,)?cpuset(?:,[^:\n]*)?:(\/.*)$/m.exec(selfCgroup ?? '')?.[1] ?? selfCpuset;
      if (rel !== undefined) candidates.push({ dir: `${mp}/${rel}`, cpus: 'cpuset.cpus', mems: 'cpuset.mems' });
    } else if (fsType === 'cpuset' && selfCpuset !== undefined) {
      candidates.push({ dir: `${mp}/${selfCpuset}`, cpus: 'cpus', mems: 'mems' });
    }
  }
  for (const c of candidates) {
    const dir = c.dir.replace(/\/+/g, '/').replace(/\/$/, '');
    if (!SAFE_CGROUP_PATH.test(dir) || dir.split('/').some((part) => part === '..' || part === '.')) continue;
    const rel = dir.slice(1);
    const cpus = tree.cpuList(`${rel}/${c.cpus}`);
    if (cpus === undefined) continue;
    const nodes = tree.cpuList(`${rel}/${c.mems}`);
    return { cpus, ...(nodes === undefined ? {} : { nodes }) };
  }
  return undefined;
}
