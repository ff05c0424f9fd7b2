/**
 * The host model of the vendored real-machine captures, pinned to numbers
 * read by hand from their files (these run without lstopo; the
 * differential test in hwloc-diff.test.ts is the outside judge).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { describeHost, hostFromSysfs } from '../../src/host/index.js';
import { CAPTURES, captureRoot, removeCaptures } from './hwloc-captures.js';

afterAll(removeCaptures);
const host = (name: string) => hostFromSysfs(captureRoot(name));

describe('real-machine captures', () => {
  it('every capture reads without error and has CPUs, nodes and caches', () => {
    for (const c of CAPTURES) {
      const h = host(c.name);
      expect(h.onlineCpus.size, c.name).toBeGreaterThan(0);
      expect(h.nodes.length, c.name).toBeGreaterThan(0);
      expect(h.caches.length, c.name).toBeGreaterThan(0);
      expect(describeHost(h)).toMatch(/^host \(sysfs\): /);
    }
  });

  it('Intel hybrid: P-cores 0-11 (SMT pairs), E-cores 12-19, from cpufreq base_frequency; E-core L2 clusters of 4', () => {
    const h = host('20em64t-hybrid-1p6c2t+2ca4co1t');
    expect(h.coreTypeSource).toBe('base_frequency');
    expect(h.cpus.filter((c) => c.coreType === 'performance').map((c) => c.id)).toEqual([...Array(12).keys()]);
    expect(h.cpus.filter((c) => c.coreType === 'efficiency').map((c) => c.id)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(h.cpus[4]!.siblings.toString()).toBe('4-5');
    expect(h.caches.filter((c) => c.level === 2).map((c) => `${c.id}:${c.cpus}`)).toContain('6:12-15');
    expect(h.caches.filter((c) => c.level === 3).map((c) => `${c.cpus}=${c.sizeKiB}`)).toEqual(['0-19=24576']);
    expect(describeHost(h)).toMatch(/core types \(from base_frequency\): performance 0-11, efficiency 12-19/);
  });

  it('old kernel with offline CPUs: no cpu/online, hex masks only', () => {
    const h = host('16em64t-4s2c2t-offlines');
    expect(h.onlineCpus.toString()).toBe('0-1,3-4,6-12,15');
    expect(h.cpus).toHaveLength(16);
    expect(h.cpus.find((c) => c.id === 0)!.siblings.toString()).toBe('0,8');
    expect(h.cpus.find((c) => c.id === 2)!.online).toBe(false);
    expect(h.nodes[0]!.cpus.toString()).toBe('0-1,3-4,6-12,15');
  });

  it('cgroup v1 and v2 cpusets: allowed CPUs and nodes', () => {
    const v1 = host('16amd64-8n2c-cpusets');
    expect(v1.allowedCpus?.toString()).toBe('0-6,12-15');
    expect(v1.allowedNodes?.toString()).toBe('1-4');
    const v2 = host('32amd64-4s2n4c-cgroup2');
    expect(v2.allowedCpus).toBeDefined();
    expect(v2.allowedCpus!.size).toBeLessThan(v2.onlineCpus.size);
    expect(describeHost(v1)).toMatch(/cpuset cgroup allows CPUs 0-6,12-15, nodes 1-4/);
  });

  it('AMD multi-L3: one L3 per NUMA node, sparse node ids', () => {
    const h = host('48amd64-4pa2n6c-sparse');
    expect(h.nodes.map((n) => n.id)).toEqual([0, 1, 2, 33, 34, 45, 72, 73]);
    expect(h.caches.filter((c) => c.level === 3)).toHaveLength(8);
    expect(h.nodes[3]!.distances).toHaveLength(8);
  });
});
