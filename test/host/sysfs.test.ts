import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuSet, parseKernelCpuList } from '../../src/cpuset/index.js';
import { VirtPinError } from '../../src/errors.js';
import { describeHost, hostCounts, hostFromSysfs, pciDeviceNuma, type HostTopology } from '../../src/host/index.js';
import { repoRoot } from '../support/corpus.js';

const fixture = (name: string): string => join(repoRoot, 'fixtures', 'hosts', name);
const set = (text: string): string => parseKernelCpuList(text).toString();
const cpu = (h: HostTopology, id: number) => {
  const c = h.cpus.find((x) => x.id === id);
  if (!c) throw new Error(`no cpu ${id}`);
  return c;
};
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof VirtPinError) return e.code;
    throw e;
  }
  return undefined;
};

const scratch: string[] = [];
/** A writable copy of a fixture tree (symlinks kept as links). */
function copyFixture(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vp-host-'));
  scratch.push(dir);
  cpSync(fixture(name), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

describe('two-socket-smt fixture', () => {
  const h = hostFromSysfs(fixture('two-socket-smt'));
  it('has 2 sockets × 8 cores × 2 threads, Intel sibling numbering', () => {
    expect(h.source).toBe('sysfs');
    expect(hostCounts(h)).toEqual({ sockets: 2, cores: 16, threads: 32, threadsPerCore: 2, nodes: 2 });
    expect(h.onlineCpus.toString()).toBe('0-31');
    for (let id = 0; id < 16; id++) expect(cpu(h, id).siblings.toString()).toBe(`${id},${id + 16}`);
    expect(cpu(h, 9)).toMatchObject({ socket: 1, core: 1, die: 0, node: 1, online: true });
    expect(cpu(h, 25).socket).toBe(1);
  });
  it('has one node per socket with memory and SLIT distances', () => {
    expect(h.nodes.map((n) => [n.id, n.cpus.toString(), n.memoryKiB, n.distances])).toEqual([
      [0, '0-7,16-23', 32768000, [10, 21]],
      [1, '8-15,24-31', 32768000, [21, 10]],
    ]);
  });
  it('deduplicates caches: 16 × L1d, 16 × L1i, 16 × L2, 2 × L3 of 20 MiB', () => {
    const count = (level: number, type: string) => h.caches.filter((c) => c.level === level && c.type === type).length;
    expect([count(1, 'data'), count(1, 'instruction'), count(2, 'unified'), count(3, 'unified')]).toEqual([16, 16, 16, 2]);
    const l3 = h.caches.filter((c) => c.level === 3);
    expect(l3.map((c) => [c.cpus.toString(), c.sizeKiB])).toEqual([
      ['0-7,16-23', 20480],
      ['8-15,24-31', 20480],
    ]);
  });
  it('follows sys/bus/pci/devices symlinks into sys/devices for NUMA locality', () => {
    expect(h.pciDevices.map((d) => [d.address, d.numaNode, d.localCpus?.toString()])).toEqual([
      ['0000:00:01.0', 0, '0-7,16-23'],
      ['0000:01:00.0', 0, '0-7,16-23'],
      ['0000:80:01.0', 1, '8-15,24-31'],
      ['0000:81:00.0', 1, '8-15,24-31'],
    ]);
    expect(pciDeviceNuma(fixture('two-socket-smt'), '0000:81:00.0')).toEqual(h.pciDevices[3]);
  });
  it('describes itself', () => {
    const text = describeHost(h);
    expect(text).toContain('host (sysfs): 2 sockets, 16 cores, 32 CPUs (SMT2), 2 NUMA nodes');
    expect(text).toContain('node 1: CPUs 8-15,24-31, 31.3 GiB, distances 21 10');
    expect(text).toContain('L3 cache: 2 × 20 MiB (CPUs 0-7,16-23 | 8-15,24-31)');
    expect(text).toContain('PCI 0000:81:00.0: node 1, local CPUs 8-15,24-31');
  });
});

describe('desktop-smt fixture', () => {
  const h = hostFromSysfs(fixture('desktop-smt'));
  it('has adjacent SMT siblings on one socket and node', () => {
    expect(hostCounts(h)).toEqual({ sockets: 1, cores: 8, threads: 16, threadsPerCore: 2, nodes: 1 });
    for (let c = 0; c < 8; c++) {
      expect(cpu(h, 2 * c).siblings.toString()).toBe(`${2 * c}-${2 * c + 1}`);
      expect(cpu(h, 2 * c + 1).core).toBe(c);
    }
    expect(h.nodes).toHaveLength(1);
    expect(h.nodes[0]!.cpus.toString()).toBe('0-15');
    expect(h.caches.filter((c) => c.level === 3).map((c) => c.cpus.toString())).toEqual(['0-15']);
  });
  it('reports a GPU with numa_node -1 as having no node but local CPUs', () => {
    const gpu = h.pciDevices.find((d) => d.address === '0000:01:00.0');
    expect(gpu).toBeDefined();
    expect(gpu!.numaNode).toBeUndefined();
    expect(gpu!.localCpus?.toString()).toBe('0-15');
    expect(describeHost(h)).toContain('2 PCI devices without NUMA affinity');
  });
});

describe('amd-multi-ccx fixture', () => {
  const h = hostFromSysfs(fixture('amd-multi-ccx'));
  it('has 16 cores, 32 threads, one node, and one L3 per 4-core CCX', () => {
    expect(hostCounts(h)).toEqual({ sockets: 1, cores: 16, threads: 32, threadsPerCore: 2, nodes: 1 });
    const l3 = h.caches.filter((c) => c.level === 3);
    expect(l3.map((c) => c.cpus.toString())).toEqual(['0-3,16-19', '4-7,20-23', '8-11,24-27', '12-15,28-31']);
    expect(l3.every((c) => c.sizeKiB === 16384)).toBe(true);
    // Every core's siblings share its L3.
    for (const c of h.cpus) expect(l3.filter((x) => c.siblings.isSubsetOf(x.cpus))).toHaveLength(1);
    expect(h.pciDevices).toEqual([]);
  });
});

describe('isolated fixture', () => {
  const h = hostFromSysfs(fixture('isolated'));
  it('reads isolcpus and nohz_full', () => {
    expect(h.isolatedCpus.toString()).toBe('2-7,10-15');
    expect(h.nohzFullCpus?.toString()).toBe('2-7,10-15');
    expect(hostCounts(h)).toEqual({ sockets: 1, cores: 8, threads: 16, threadsPerCore: 2, nodes: 1 });
    // isolcpus is whole cores here: each isolated CPU's sibling is isolated too.
    for (const id of h.isolatedCpus.ids()) expect(cpu(h, id).siblings.isSubsetOf(h.isolatedCpus)).toBe(true);
    expect(describeHost(h)).toContain('isolated CPUs: 2-7,10-15');
  });
  it('reports no nohz_full when the file is absent (two-socket-smt has none)', () => {
    expect(hostFromSysfs(fixture('two-socket-smt')).nohzFullCpus).toBeUndefined();
    expect(hostFromSysfs(fixture('two-socket-smt')).isolatedCpus.isEmpty()).toBe(true);
  });
});

describe('this-vm fixture (captured from a real /sys)', () => {
  const root = fixture('this-vm');
  const h = hostFromSysfs(root);
  const read = (rel: string) => readFileSync(join(root, 'sys/devices/system', rel), 'utf8');
  it('matches the captured lists', () => {
    expect(h.onlineCpus.toString()).toBe(set(read('cpu/online')));
    expect(h.isolatedCpus.toString()).toBe(set(read('cpu/isolated')));
    expect(h.nodes.map((n) => n.cpus.toString())).toEqual([set(read('node/node0/cpulist'))]);
    expect(h.nodes[0]!.memoryKiB).toBe(Number(/MemTotal:\s+(\d+)/.exec(read('node/node0/meminfo'))![1]));
    for (const c of h.cpus) {
      expect(c.siblings.toString()).toBe(set(read(`cpu/cpu${c.id}/topology/thread_siblings_list`)));
      expect(c.socket).toBe(Number(read(`cpu/cpu${c.id}/topology/physical_package_id`)));
    }
    expect(h.cpus.length).toBe(2);
    expect(h.caches.map((c) => `L${c.level}${c.type[0]} ${c.cpus.toString()}`)).toEqual(['L1d 0', 'L1d 1', 'L1i 0', 'L1i 1', 'L2u 0', 'L2u 1', 'L3u 0-1']);
    expect(h.pciDevices.length).toBe(6);
    expect(h.pciDevices.every((d) => d.numaNode === undefined && d.localCpus?.toString() === '0-1')).toBe(true);
  });
});

describe('the real / of this machine', () => {
  const h = hostFromSysfs('/');
  it('agrees with /sys/devices/system/cpu/online and each CPU is its own sibling', () => {
    expect(h.onlineCpus.toString()).toBe(set(readFileSync('/sys/devices/system/cpu/online', 'utf8')));
    expect(h.onlineCpus.size).toBeGreaterThan(0);
    for (const c of h.cpus.filter((x) => x.online)) expect(c.siblings.has(c.id)).toBe(true);
    const nodeCpus = h.nodes.reduce((acc, n) => acc.union(n.cpus), CpuSet.empty());
    expect(nodeCpus.equals(h.onlineCpus)).toBe(true);
    expect(describeHost(h)).toMatch(/^host \(sysfs\): /);
  });
});

describe('cpuset cgroup (proc/self/cgroup, proc/mounts)', () => {
  const withCgroup = (cgroupLine: string, mountPoint = '/sys/fs/cgroup'): string => {
    const dir = copyFixture('desktop-smt');
    mkdirSync(join(dir, 'proc/self'), { recursive: true });
    writeFileSync(join(dir, 'proc/mounts'), `cgroup2 ${mountPoint} cgroup2 rw,nosuid 0 0\n`);
    writeFileSync(join(dir, 'proc/self/cgroup'), `${cgroupLine}\n`);
    mkdirSync(join(dir, 'sys/fs/cgroup/machine.slice'), { recursive: true });
    writeFileSync(join(dir, 'sys/fs/cgroup/machine.slice/cpuset.cpus.effective'), '2-5\n');
    writeFileSync(join(dir, 'sys/fs/cgroup/machine.slice/cpuset.mems.effective'), '0\n');
    return dir;
  };
  it('reads cgroup v2 cpuset.cpus.effective of the process', () => {
    const h = hostFromSysfs(withCgroup('0::/machine.slice'));
    expect(h.allowedCpus?.toString()).toBe('2-5');
    expect(h.allowedNodes?.toString()).toBe('0');
  });
  it('ignores hostile or dangling cgroup paths instead of reading outside the tree', () => {
    for (const line of ['0::/../../../../etc', '0::/machine.slice/../../..', '0::relative', '0::/no such']) {
      expect(hostFromSysfs(withCgroup(line)).allowedCpus, line).toBeUndefined();
    }
    expect(hostFromSysfs(withCgroup('0::/machine.slice', '/../../..')).allowedCpus).toBeUndefined();
  });
});

describe('graceful degradation', () => {
  it('without cpu/online takes the cpuN directories (old kernels); refuses a tree with neither (HOST_SYSFS_MISSING) and a missing root (HOST_SYSFS_ROOT)', () => {
    const dir = copyFixture('desktop-smt');
    const cpuDir = join(dir, 'sys/devices/system/cpu');
    unlinkSync(join(cpuDir, 'online'));
    writeFileSync(join(cpuDir, 'cpu15/online'), '0\n');
    expect(hostFromSysfs(dir).onlineCpus.toString()).toBe('0-14');
    for (let i = 0; i < 16; i++) rmSync(join(cpuDir, `cpu${i}`), { recursive: true });
    expect(codeOf(() => hostFromSysfs(dir))).toBe('HOST_SYSFS_MISSING');
    expect(codeOf(() => hostFromSysfs(join(dir, 'does-not-exist')))).toBe('HOST_SYSFS_ROOT');
    expect(codeOf(() => hostFromSysfs(join(dir, 'README')))).toBe('HOST_SYSFS_ROOT');
  });
  it('treats a CPU whose topology and cache directories are gone (offline) as unknown topology', () => {
    const dir = copyFixture('desktop-smt');
    const cpuDir = join(dir, 'sys/devices/system/cpu');
    writeFileSync(join(cpuDir, 'online'), '0-14\n');
    writeFileSync(join(cpuDir, 'cpu15/online'), '0\n');
    rmSync(join(cpuDir, 'cpu15/topology'), { recursive: true });
    rmSync(join(cpuDir, 'cpu15/cache'), { recursive: true });
    writeFileSync(join(dir, 'sys/devices/system/node/node0/cpulist'), '0-14\n');
    const h = hostFromSysfs(dir);
    expect(cpu(h, 15)).toMatchObject({ online: false, socket: -1, core: -1, node: 0 });
    expect(cpu(h, 15).siblings.toString()).toBe('15');
    expect(hostCounts(h).threads).toBe(15);
    expect(describeHost(h)).toContain('offline: 15');
  });
  it('synthesizes node 0 when the kernel has no NUMA directory, and skips missing meminfo/distance/isolated', () => {
    const dir = copyFixture('isolated');
    rmSync(join(dir, 'sys/devices/system/node'), { recursive: true });
    rmSync(join(dir, 'sys/devices/system/cpu/isolated'));
    const h = hostFromSysfs(dir);
    expect(h.nodes).toEqual([{ id: 0, cpus: h.onlineCpus }]);
    expect(h.isolatedCpus.isEmpty()).toBe(true);
  });
  it('rejects malformed values with HOST_SYSFS_BAD_VALUE naming the file', () => {
    const dir = copyFixture('desktop-smt');
    writeFileSync(join(dir, 'sys/devices/system/cpu/cpu3/topology/core_id'), 'one\n');
    let err: unknown;
    try {
      hostFromSysfs(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VirtPinError);
    expect((err as VirtPinError).code).toBe('HOST_SYSFS_BAD_VALUE');
    expect((err as VirtPinError).message).toContain('cpu3/topology/core_id');
    const dir2 = copyFixture('desktop-smt');
    writeFileSync(join(dir2, 'sys/devices/system/cpu/online'), '0-3,x\n');
    expect(codeOf(() => hostFromSysfs(dir2))).toBe('HOST_SYSFS_BAD_VALUE');
    const dir3 = copyFixture('two-socket-smt');
    writeFileSync(join(dir3, 'sys/devices/system/node/node0/distance'), '10\n');
    expect(codeOf(() => hostFromSysfs(dir3))).toBe('HOST_SYSFS_BAD_VALUE');
  });
  it('refuses an oversized file and a FIFO instead of reading (or blocking on) them', () => {
    const dir = copyFixture('desktop-smt');
    writeFileSync(join(dir, 'sys/devices/system/cpu/isolated'), '0,'.repeat(600_000) + '0\n');
    expect(codeOf(() => hostFromSysfs(dir))).toBe('HOST_SYSFS_READ');
    const dir2 = copyFixture('desktop-smt');
    const fifo = join(dir2, 'sys/devices/system/cpu/isolated');
    unlinkSync(fifo);
    execFileSync('mkfifo', [fifo]);
    expect(codeOf(() => hostFromSysfs(dir2))).toBe('HOST_SYSFS_READ');
  });
  it('refuses a directory where a file belongs instead of reading it', () => {
    const dir = copyFixture('desktop-smt');
    rmSync(join(dir, 'sys/devices/system/cpu/isolated'));
    mkdirSync(join(dir, 'sys/devices/system/cpu/isolated'));
    expect(codeOf(() => hostFromSysfs(dir))).toBe('HOST_SYSFS_READ');
  });
});

describe('path safety', () => {
  it.each([
    '../../../etc/passwd',
    '0000:01:00.0/../../../../etc',
    '0000:01:00.0/',
    '0000:01:00.0\n',
    '0000:01:00.8',
    '0000:1:00.0',
    '01:00.0',
    '',
    '/etc/passwd',
  ])('refuses PCI address %j with HOST_BAD_PCI_ADDRESS', (address) => {
    expect(codeOf(() => pciDeviceNuma(fixture('two-socket-smt'), address))).toBe('HOST_BAD_PCI_ADDRESS');
  });
  it('accepts upper-case hex and reports HOST_PCI_NOT_FOUND for an absent device', () => {
    expect(pciDeviceNuma(fixture('two-socket-smt'), '0000:01:00.0').numaNode).toBe(0);
    expect(pciDeviceNuma(fixture('two-socket-smt'), '0000:81:00.0'.toUpperCase()).numaNode).toBe(1);
    expect(codeOf(() => pciDeviceNuma(fixture('two-socket-smt'), '0000:02:00.0'))).toBe('HOST_PCI_NOT_FOUND');
  });
  it('refuses a symlink whose target leaves the root (HOST_SYSFS_PATH_ESCAPE)', () => {
    const outside = mkdtempSync(join(tmpdir(), 'vp-outside-'));
    scratch.push(outside);
    writeFileSync(join(outside, 'numa_node'), '0\n');
    writeFileSync(join(outside, 'local_cpulist'), '0-15\n');
    const dir = copyFixture('desktop-smt');
    symlinkSync(outside, join(dir, 'sys/bus/pci/devices/0000:02:00.0'));
    expect(codeOf(() => hostFromSysfs(dir))).toBe('HOST_SYSFS_PATH_ESCAPE');
    expect(codeOf(() => pciDeviceNuma(dir, '0000:02:00.0'))).toBe('HOST_SYSFS_PATH_ESCAPE');
    // The same trick through a relative link climbing above the root.
    const dir2 = copyFixture('desktop-smt');
    const cpuOnline = join(dir2, 'sys/devices/system/cpu/isolated');
    unlinkSync(cpuOnline);
    symlinkSync('../../../../../../../../../../../../etc/hostname', cpuOnline);
    expect(codeOf(() => hostFromSysfs(dir2))).toBe('HOST_SYSFS_PATH_ESCAPE');
  });
  it('fails on a symlink loop instead of spinning (HOST_SYSFS_READ)', () => {
    const dir = copyFixture('desktop-smt');
    const a = join(dir, 'sys/devices/system/cpu/isolated');
    unlinkSync(a);
    symlinkSync('isolated.b', a);
    symlinkSync('isolated', join(dir, 'sys/devices/system/cpu/isolated.b'));
    expect(codeOf(() => hostFromSysfs(dir))).toBe('HOST_SYSFS_READ');
  });
  it('ignores entries in sys/bus/pci/devices that are not PCI addresses', () => {
    const dir = copyFixture('desktop-smt');
    symlinkSync('/etc', join(dir, 'sys/bus/pci/devices/..evil'));
    const h = hostFromSysfs(dir);
    expect(h.pciDevices.map((d) => d.address)).toEqual(['0000:00:01.1', '0000:01:00.0']);
  });
  it('accepts a root given through a symlink', () => {
    const link = join(mkdtempSync(join(tmpdir(), 'vp-link-')), 'root');
    scratch.push(join(link, '..'));
    symlinkSync(fixture('two-socket-smt'), link);
    expect(hostFromSysfs(link).pciDevices).toHaveLength(4);
  });
});

describe('hostFactsFromSysfsOnDemand (the hook: PCI devices read when the plan asks)', () => {
  it('plans exactly as with every PCI device read up front, reading only the domain’s devices', async () => {
    const { hostFactsFromSysfs, hostFactsFromSysfsOnDemand } = await import('../../src/host/index.js');
    const { planDocument } = await import('../../src/plan/index.js');
    const { gpuVm, NS, PASSTHROUGH_ROOT } = await import('../plan/support.js');
    const xml = gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`);
    const full = hostFactsFromSysfs(PASSTHROUGH_ROOT);
    const asked: string[] = [];
    const lazy = hostFactsFromSysfsOnDemand(PASSTHROUGH_ROOT);
    const spy = { ...lazy, pciDevice: (a: string) => (asked.push(a), lazy.pciDevice(a)) };
    expect(planDocument(xml, { host: spy, irqOverrides: {}, threads: false })).toEqual(planDocument(xml, { host: full, irqOverrides: {}, threads: false }));
    const domainDevices = ['0000:0a:00.0', '0000:0a:00.1', '0000:41:00.0', '0000:03:00.0', '0000:81:02.1'];
    expect(asked.sort()).toEqual([...domainDevices].sort());
    expect(full.pciDevices.length).toBeGreaterThan(domainDevices.length);
    // Same device facts, any case; nothing for an absent device or a string that is not an address.
    expect(lazy.pciDevice('0000:0A:00.0')).toEqual(full.pciDevices.find((d) => d.address === '0000:0a:00.0'));
    expect(lazy.pciDevice('0000:ff:1f.7')).toBeUndefined();
    expect(lazy.pciDevice('0000:0a:00.0/../../..')).toBeUndefined();
    const { pciDevices: _all, ...rest } = full;
    const { pciDevice: _one, ...lazyRest } = lazy;
    expect(lazyRest).toEqual(rest);
  });
});
