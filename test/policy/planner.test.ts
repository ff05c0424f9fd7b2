import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CpuSet } from '../../src/cpuset/index.js';
import { planPlacement } from '../../src/policy/planner.js';
import type { PinPolicy } from '../../src/policy/types.js';
import { syntheticHost } from '../support/synthetic-host.js';

const twoSocket = syntheticHost({ sockets: 2, coresPerSocket: 8, threads: 2 }); // siblings n, n+16
const desktop = syntheticHost({ sockets: 1, coresPerSocket: 8, threads: 2, adjacent: true }); // siblings 2k, 2k+1
const guest = (vcpus: number, extra: Partial<Parameters<typeof planPlacement>[0]> = {}) => ({ vcpus, iothreadIds: [], hostdevs: [], ...extra });

const strings = (sets: CpuSet[]) => sets.map((s) => s.toString());

describe('placement planner', () => {
  it('reserves the first core of each node with its siblings and fits a small guest in one node', () => {
    const p = planPlacement(guest(4, { threadsPerCore: 2 }), twoSocket);
    expect(p.reserved.toString()).toBe('0,8,16,24');
    expect(strings(p.vcpuPins)).toEqual(['1', '17', '2', '18']); // guest cores on host sibling pairs
    expect(p.memory).toEqual({ mode: 'strict', nodeset: CpuSet.of(0) });
    expect(p.cells).toEqual([]);
    expect(p.emulator.toString()).toBe('0,16'); // housekeeping CPUs of the guest's node
    expect(planPlacement(guest(4), twoSocket, { emulator: 'share' }).emulator.toString()).toBe('1-2,17-18');
  });

  it('threads isolate and perCore leave siblings idle', () => {
    for (const policy of [{ threads: 'isolate' }, { perCore: true }] as PinPolicy[]) {
      const p = planPlacement(guest(4), desktop, policy);
      expect(strings(p.vcpuPins)).toEqual(['2', '4', '6', '8']);
    }
  });

  it('emulator isolate gives the emulator and IOThreads a core of their own, disjoint from the vCPUs', () => {
    const p = planPlacement(guest(4, { iothreadIds: [1, 2] }), desktop, { emulator: 'isolate' });
    const vcpuCpus = p.vcpuPins.reduce((a, b) => a.union(b), CpuSet.empty());
    expect(p.emulator.size).toBe(2);
    expect(p.emulator.intersects(vcpuCpus)).toBe(false);
    expect(p.emulator.intersects(p.reserved)).toBe(false);
    expect(p.iothreads.map((t) => t.cpus.toString())).toEqual([p.emulator.toString(), p.emulator.toString()]);
  });

  it('spreads a guest over two nodes with one guest cell per node and split memory', () => {
    const p = planPlacement(guest(20, { memoryKiB: 8 * 1024 * 1024 }), twoSocket);
    expect(p.hostNodes.toString()).toBe('0-1');
    expect(p.cells.map((c) => [c.id, c.hostNode, c.vcpus.toString()])).toEqual([
      [0, 0, '0-13'],
      [1, 1, '14-19'],
    ]);
    expect(p.cells.reduce((n, c) => n + (c.memoryKiB ?? 0), 0)).toBe(8 * 1024 * 1024);
    expect(p.memory?.nodeset.toString()).toBe('0-1');
  });

  it('prefers the NUMA node of passed-through devices', () => {
    const host = syntheticHost({ sockets: 2, coresPerSocket: 8, threads: 2, pci: [{ address: '0000:81:00.0', numaNode: 1 }] });
    const p = planPlacement(guest(4, { hostdevs: ['0000:81:00.0'] }), host);
    expect(p.hostNodes.toString()).toBe('1');
    expect(p.vcpuPins.every((s) => s.isSubsetOf(host.nodes[1]!.cpus))).toBe(true);
    const ignore = planPlacement(guest(4, { hostdevs: ['0000:81:00.0'] }), host, { hostdev: 'ignore' });
    expect(ignore.hostNodes.toString()).toBe('0');
  });

  it('shared vCPUs float over the chosen node', () => {
    const p = planPlacement(guest(6), twoSocket, { vcpu: 'shared' });
    expect(new Set(strings(p.vcpuPins))).toEqual(new Set(['1-7,17-23']));
  });

  it('excludes isolated CPUs unless --cpus names them', () => {
    const host = syntheticHost({ sockets: 1, coresPerSocket: 8, threads: 2, isolated: '2-7,10-15' });
    expect(() => planPlacement(guest(4), host)).toThrow(expect.objectContaining({ code: 'POLICY_DOES_NOT_FIT' }));
    const p = planPlacement(guest(4), host, { cpus: '2-7,10-15' });
    expect(strings(p.vcpuPins)).toEqual(['2', '10', '3', '11']);
  });

  it('says what would fit when the request cannot', () => {
    try {
      planPlacement(guest(16), desktop);
      expect.unreachable();
    } catch (e) {
      const err = e as { code: string; message: string; hint: string };
      expect(err.code).toBe('POLICY_DOES_NOT_FIT');
      expect(err.message).toMatch(/16 dedicated vCPUs do not fit: the usable host CPUs are 2-15 \(14 threads on 7 cores\)/);
      expect(err.hint).toMatch(/up to 14 dedicated vCPUs/);
    }
  });

  it('realtime vCPUs keep vCPU 0 and the emulator non-RT', () => {
    const p = planPlacement(guest(4), desktop, { realtime: { scheduler: 'fifo', priority: 1 }, emulator: 'share' });
    expect(p.realtime?.vcpus.toString()).toBe('1-3');
    expect(p.emulator.equals(p.vcpuPins[0]!)).toBe(true);
    const hk = planPlacement(guest(4), desktop, { realtime: { scheduler: 'fifo', priority: 1 } });
    expect(hk.emulator.toString()).toBe('0-1'); // already off the RT vCPUs
    expect(() => planPlacement(guest(4), desktop, { realtime: { scheduler: 'fifo', priority: 0 } })).toThrow(/priority/);
    expect(() => planPlacement(guest(4), desktop, { realtime: { scheduler: 'rr', priority: 5, vcpus: '4' } })).toThrow(/do not exist/);
  });

  it('match-host topology follows the SMT pairing', () => {
    const p = planPlacement(guest(8, { threadsPerCore: 2 }), desktop, { topology: 'match-host' });
    expect(p.topology).toEqual({ sockets: 1, dies: 1, cores: 4, threads: 2 });
    const iso = planPlacement(guest(4), desktop, { topology: 'match-host', threads: 'isolate' });
    expect(iso.topology).toEqual({ sockets: 1, dies: 1, cores: 4, threads: 1 });
  });

  it('refuses bad policy sets and CPUs that are not online', () => {
    expect(() => planPlacement(guest(2), desktop, { cpus: '3-1' })).toThrow(expect.objectContaining({ code: 'POLICY_BAD_CPUSET' }));
    expect(() => planPlacement(guest(2), desktop, { cpus: '0-99' })).toThrow(expect.objectContaining({ code: 'POLICY_CPUS_NOT_ONLINE' }));
    expect(() => planPlacement(guest(2), syntheticHost({ sockets: 1, coresPerSocket: 4, threads: 1 }), { threads: 'require' })).toThrow(
      expect.objectContaining({ code: 'POLICY_NO_SMT' }),
    );
  });

  it('never double-books a host CPU under dedicated, for any guest size that fits (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom<PinPolicy>({}, { threads: 'isolate' }, { emulator: 'isolate' }, { numa: 'none' }, { threads: 'require' }, { perCore: true }),
        fc.constantFrom(1, 2),
        (vcpus, policy, tpc) => {
          let p;
          try {
            p = planPlacement(guest(vcpus, { threadsPerCore: tpc }), twoSocket, policy);
          } catch (e) {
            expect((e as { code: string }).code).toBe('POLICY_DOES_NOT_FIT');
            return;
          }
          const all = p.vcpuPins.map((s) => s.min()!);
          expect(p.vcpuPins.every((s) => s.size === 1)).toBe(true);
          expect(new Set(all).size).toBe(vcpus);
          expect(p.vcpuPins.some((s) => s.intersects(p.reserved))).toBe(false);
          if (policy.emulator === 'isolate') expect(p.vcpuPins.some((s) => s.intersects(p.emulator))).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('L3 groups and core types', () => {
    // 1 socket, 8 cores × 2 threads (siblings n, n+8); L3 A = cores 0-3 (32 MiB), L3 B = cores 4-7 (96 MiB, stacked cache).
    const base = syntheticHost({ sockets: 1, coresPerSocket: 8, threads: 2 });
    const l3a = CpuSet.fromIds([0, 1, 2, 3, 8, 9, 10, 11]);
    const l3b = CpuSet.fromIds([4, 5, 6, 7, 12, 13, 14, 15]);
    const asym = { ...base, caches: [ { level: 3, type: 'unified', sizeKiB: 32768, cpus: l3a }, { level: 3, type: 'unified', sizeKiB: 98304, cpus: l3b } ] };
    const inOne = (pins: CpuSet[], group: CpuSet): boolean => pins.every((p) => p.isSubsetOf(group));

    it('prefers the larger L3 group when both could hold the guest, and says so', () => {
      const p = planPlacement(guest(4, { threadsPerCore: 2 }), asym);
      expect(inOne(p.vcpuPins, l3b)).toBe(true);
      expect(p.explanation.join(' ')).toMatch(/98304 KiB, the largest L3 that holds it/);
    });

    it('fills whole groups before spilling, and --cache require refuses a guest no group holds', () => {
      const p = planPlacement(guest(10, { threadsPerCore: 2 }), asym);
      expect(p.vcpuPins.filter((s) => s.isSubsetOf(l3b))).toHaveLength(8); // the larger group is filled first
      expect(() => planPlacement(guest(10), asym, { cache: 'require' })).toThrow(/no single L3 group/);
      // ignore: id order, the first core after the reserve.
      expect(planPlacement(guest(2), asym, { cache: 'ignore' }).vcpuPins[0]!.toString()).toBe('1');
    });

    it('hybrid: vCPUs on performance cores, the default reserve on the first efficiency cluster', () => {
      // Cores 0-3 performance (SMT), 4-7 efficiency; efficiency L2 clusters 4-5,12-13 and 6-7,14-15.
      const hybrid = {
        ...base,
        cpus: base.cpus.map((c) => ({ ...c, coreType: (c.id % 8 < 4 ? 'performance' : 'efficiency') as 'performance' | 'efficiency' })),
        caches: [
          { level: 2, type: 'unified', sizeKiB: 2048, cpus: CpuSet.fromIds([4, 5, 12, 13]) },
          { level: 2, type: 'unified', sizeKiB: 2048, cpus: CpuSet.fromIds([6, 7, 14, 15]) },
        ],
      };
      const p = planPlacement(guest(6), hybrid);
      expect(p.reserved.toString()).toBe('4-5,12-13');
      expect(p.emulator.toString()).toBe('4-5,12-13');
      expect(p.vcpuPins.every((s) => s.min()! % 8 < 4)).toBe(true);
      expect(planPlacement(guest(6), hybrid, { housekeepingCoreType: 'performance' }).reserved.toString()).toBe('0,8');
    });
  });
});
