/**
 * Rule-by-rule tests of resolve() on DomainDefinition values (libvirt's
 * post-parse state): R1 (spec §1), initial affinity (§5.1), per-thread
 * memory, scheduler and bandwidth (§5.2), special cases (§5.3) and the
 * resolution-related edge cases of §12.
 */
import { describe, expect, it } from 'vitest';
import { CpuSet, parseCpuSet } from '../../src/cpuset/index.js';
import { resolve } from '../../src/resolve/resolve.js';
import { definitionOf, readDomain } from '../../src/domain/index.js';
import { parseDocument } from '../../src/xml/index.js';
import type { HostFacts } from '../../src/resolve/types.js';
import { at, cells, definition, numaMemory, schedOf, str, twoNodeHost } from './definitions.js';

describe('R1 — own pin → numad → <vcpu cpuset> → all (spec §1)', () => {
  it('step 1: a thread\'s own pin wins over everything', () => {
    const r = resolve(definition({ placement: 'auto', cpuset: '0-3', vcpupins: { 1: '6' }, emulatorpin: '7', iothreads: [{ id: 1, pin: '5' }] }));
    expect([str(r.vcpus[1]!.cpus), r.vcpus[1]!.source]).toEqual(['6', 'vcpupin']);
    expect([str(r.emulator.cpus), r.emulator.source]).toEqual(['7', 'emulatorpin']);
    expect([str(r.iothreads[0]!.cpus), r.iothreads[0]!.source]).toEqual(['5', 'iothreadpin']);
    expect(r.vcpus[1]!.provenance.element).toEqual({ path: '/domain/cputune/vcpupin[1]', line: expect.any(Number), column: 5 });
  });

  it('step 2: numad applies to every unpinned thread class when the vCPU placement is auto', () => {
    const r = resolve(definition({ placement: 'auto', iothreads: [{ id: 1 }] }));
    expect([r.vcpus[0]!.cpus, r.emulator.cpus, r.iothreads[0]!.cpus]).toEqual(['numad', 'numad', 'numad']);
    expect(r.vcpus[0]!.source).toBe('numad');
    expect(r.placement.numadAdvice).toBe(true);
  });

  it('step 2 is skipped when only the memory placement is auto (vCPU placement static)', () => {
    const r = resolve(definition({ cpuset: '2-3' }, { numatune: { memory: numaMemory('strict', 'auto'), memnodes: [] } }), {
      ...twoNodeHost,
      numadNodeset: CpuSet.of(1),
    });
    expect([str(r.vcpus[0]!.cpus), r.vcpus[0]!.source]).toEqual(['2-3', 'vcpu-cpuset']);
    // …but numad is still consulted for the memory side.
    expect(r.placement.numadAdvice).toBe(true);
    expect(str(r.vcpus[0]!.memoryNodes!.nodes)).toBe('1');
  });

  it('step 3: <vcpu cpuset> is the default for vCPUs, the emulator and IOThreads alike (§12.5)', () => {
    const r = resolve(definition({ cpuset: '8-11', iothreads: [{ id: 1 }] }));
    for (const t of [r.vcpus[0]!, r.vcpus[1]!, r.emulator, r.iothreads[0]!]) {
      expect([str(t.cpus), t.source, t.cgroupCpus]).toEqual(['8-11', 'vcpu-cpuset', true]);
      expect(t.provenance.element?.path).toBe('/domain/vcpu');
    }
  });

  it('step 4: without anything, "all" stays symbolic without host facts and writes no cgroup cpuset.cpus (§12.7)', () => {
    const r = resolve(definition({ iothreads: [{ id: 4 }] }));
    expect([r.vcpus[0]!.cpus, r.emulator.cpus, r.iothreads[0]!.cpus]).toEqual(['all', 'all', 'all']);
    expect(r.vcpus[0]!.cgroupCpus).toBe(false);
    expect(r.allCpus).toBe('all');
    expect(r.notes.map((n) => n.code)).toContain('RESOLVE_ALL_NO_CGROUP');
  });

  it('step 4 with host facts: all = online − isolated (§12.6), but an explicit pin may name isolated CPUs', () => {
    const r = resolve(definition({ vcpupins: { 1: '14-15' } }), twoNodeHost);
    expect(str(r.vcpus[0]!.cpus)).toBe('0-13');
    expect(str(r.vcpus[1]!.cpus)).toBe('14-15');
    expect(str(r.allCpus)).toBe('0-13');
    expect(r.notes.map((n) => n.code)).toContain('RESOLVE_ALL_EXCLUDES_ISOLATED');
  });

  it('vcpupin never reaches the emulator or IOThreads, emulatorpin never reaches vCPUs or IOThreads', () => {
    const r = resolve(definition({ vcpupins: { 0: '1', 1: '2' }, emulatorpin: '3', iothreads: [{ id: 1 }] }));
    expect(r.iothreads[0]!.cpus).toBe('all');
    expect(str(r.emulator.cpus)).toBe('3');
  });

  it('numad with host facts: the CPUs of the advised nodes', () => {
    const r = resolve(definition({ placement: 'auto' }, { numatune: { memory: numaMemory('strict', 'auto', undefined, true), memnodes: [] } }), {
      ...twoNodeHost,
      numadNodeset: CpuSet.of(1),
    });
    expect(str(r.vcpus[0]!.cpus)).toBe('8-15');
    expect(str(r.placement.numadCpus!)).toBe('8-15');
    expect(str(r.vcpus[0]!.memoryNodes!.nodes)).toBe('1');
  });

  it('numad stays symbolic, with a note, when the host facts lack the advice or the node map', () => {
    const noAdvice = resolve(definition({ placement: 'auto' }), twoNodeHost);
    expect(noAdvice.vcpus[0]!.cpus).toBe('numad');
    expect(noAdvice.notes.map((n) => n.code)).toContain('RESOLVE_NUMAD_UNKNOWN');
    const noNodes: HostFacts = { onlineCpus: CpuSet.range(0, 3), numadNodeset: CpuSet.of(0) };
    const r = resolve(definition({ placement: 'auto' }), noNodes);
    expect(r.vcpus[0]!.cpus).toBe('numad');
    expect(r.notes.map((n) => n.code)).toContain('RESOLVE_NUMAD_CPUS_UNKNOWN');
  });

  it('IOThread ids follow the definition list, auto-filled ones marked (spec §3.3)', () => {
    const r = resolve(definition({ cpuset: '1', iothreads: [{ id: 5, pin: '2' }, { id: 6 }, { id: 1, autofilled: true }, { id: 2, autofilled: true }] }));
    expect(r.iothreads.map((t) => [t.id, t.autofilled, str(t.cpus)])).toEqual([
      [5, false, '2'],
      [6, false, '1'],
      [1, true, '1'],
      [2, true, '1'],
    ]);
    expect(r.iothreads[2]!.provenance.because).toContain('filled in by libvirt');
  });
});

describe('initial process affinity (spec §5.1)', () => {
  it('strict single-cell numatune: the host CPUs of its nodeset', () => {
    const def = definition({ emulatorpin: '0' }, { numatune: { memory: numaMemory('strict', 'static', '1'), memnodes: [] }, guestCells: cells('0-1') });
    const r = resolve(def, twoNodeHost);
    expect([str(r.initialAffinity.cpus), r.initialAffinity.source, str(r.initialAffinity.nodes!)]).toEqual(['8-15', 'numatune-strict', '1']);
    // Without a node map the CPUs are "the CPUs of nodes 1".
    expect(resolve(def).initialAffinity.cpus).toBe('nodes');
  });

  it('strict numatune with auto placement: the numad nodes', () => {
    const r = resolve(definition({ placement: 'auto' }, { numatune: { memory: numaMemory('strict', 'auto', undefined, true), memnodes: [] } }));
    expect([r.initialAffinity.cpus, r.initialAffinity.nodes]).toEqual(['numad', 'numad']);
  });

  it('two guest cells: numatune is skipped, emulatorpin used', () => {
    const def = definition({ emulatorpin: '3' }, { numatune: { memory: numaMemory('strict', 'static', '0'), memnodes: [] }, guestCells: cells('0', '1') });
    const r = resolve(def);
    expect([str(r.initialAffinity.cpus), r.initialAffinity.source]).toEqual(['3', 'emulatorpin']);
  });

  it('non-strict numatune: emulatorpin, else all', () => {
    const preferred = { numatune: { memory: numaMemory('preferred', 'static', '0'), memnodes: [] } };
    expect(resolve(definition({ emulatorpin: '2' }, preferred)).initialAffinity.source).toBe('emulatorpin');
    expect(resolve(definition({}, preferred)).initialAffinity.cpus).toBe('all');
  });

  it('<vcpu cpuset> is not used before exec (§12.5)', () => {
    const r = resolve(definition({ cpuset: '4-5' }), twoNodeHost);
    expect([str(r.initialAffinity.cpus), r.initialAffinity.source]).toEqual(['0-13', 'all']);
    expect(str(r.emulator.cpus)).toBe('4-5');
  });
});

describe('memory nodes per thread (spec §5.2)', () => {
  it('strict: the union of the global nodeset and every memnode nodeset, for every thread', () => {
    const def = definition(
      { max: 4, iothreads: [{ id: 1 }] },
      {
        numatune: {
          memory: numaMemory('strict', 'static', '0'),
          memnodes: [{ cellid: 1, mode: 'preferred', nodeset: parseCpuSet('2-3'), from: at('/domain/numatune/memnode[1]') }],
        },
        guestCells: cells('0-1', '2-3'),
      },
    );
    const r = resolve(def);
    for (const t of [...r.vcpus, r.emulator, r.iothreads[0]!]) {
      expect(str(t.memoryNodes!.nodes)).toBe('0,2-3');
      expect(t.memoryNodes!.provenance.rule).toBe('numatune-strict');
    }
  });

  it('restrictive: the global nodeset; a vCPU in a restrictive memnode cell gets that memnode', () => {
    const def = definition(
      { max: 4 },
      {
        numatune: {
          memory: numaMemory('restrictive', 'static', '0-1'),
          memnodes: [{ cellid: 1, mode: 'restrictive', nodeset: parseCpuSet('1'), from: at('/domain/numatune/memnode[1]') }],
        },
        guestCells: cells('0-1', '2-3'),
      },
    );
    const r = resolve(def);
    expect(r.vcpus.map((v) => [str(v.memoryNodes!.nodes), v.memoryNodes!.provenance.rule])).toEqual([
      ['0-1', 'numatune-restrictive'],
      ['0-1', 'numatune-restrictive'],
      ['1', 'memnode-restrictive'],
      ['1', 'memnode-restrictive'],
    ]);
    expect(str(r.emulator.memoryNodes!.nodes)).toBe('0-1');
  });

  it('preferred / interleave / no numatune: cpuset.mems is left alone', () => {
    expect(resolve(definition({}, { numatune: { memory: numaMemory('interleave', 'static', '0-1'), memnodes: [] } })).vcpus[0]!.memoryNodes).toBeUndefined();
    expect(resolve(definition()).emulator.memoryNodes).toBeUndefined();
  });

  it('auto placement: the advised nodes that have memory', () => {
    const host: HostFacts = {
      onlineCpus: CpuSet.range(0, 7),
      nodes: [
        { id: 0, cpus: CpuSet.range(0, 3), memoryKiB: 1024 },
        { id: 1, cpus: CpuSet.range(4, 7), memoryKiB: 0 },
      ],
      numadNodeset: CpuSet.range(0, 1),
    };
    const r = resolve(definition({ placement: 'auto' }, { numatune: { memory: numaMemory('strict', 'auto', undefined, true), memnodes: [] } }), host);
    expect(str(r.vcpus[0]!.cpus)).toBe('0-7');
    expect(str(r.vcpus[0]!.memoryNodes!.nodes)).toBe('0');
    expect(str(r.memory.nodes!)).toBe('0');
    expect(r.memory.implicit).toBe(true);
  });
});

describe('scheduler and bandwidth per thread (spec §5.2, §5.6)', () => {
  it('vcpusched / iothreadsched per thread; emulatorsched on the emulator only, with a note (§12.8)', () => {
    const def = definition({ iothreads: [{ id: 1, sched: schedOf('rr', 5, '/domain/cputune/iothreadsched[1]') }] }, { emulatorSched: schedOf('fifo', 1, '/domain/cputune/emulatorsched') });
    def.vcpus[1]!.sched = schedOf('fifo', 10);
    def.vcpus[0]!.sched = schedOf('batch', 3);
    const r = resolve(def);
    expect(r.vcpus[1]!.sched).toMatchObject({ scheduler: 'fifo', priority: 10, provenance: { rule: 'vcpusched' } });
    expect(r.vcpus[0]!.sched).toMatchObject({ scheduler: 'batch' });
    expect(r.vcpus[0]!.sched!.priority).toBeUndefined();
    expect(r.iothreads[0]!.sched).toMatchObject({ scheduler: 'rr', priority: 5, provenance: { rule: 'iothreadsched' } });
    expect(r.emulator.sched).toMatchObject({ scheduler: 'fifo', provenance: { rule: 'emulatorsched' } });
    expect(r.notes.map((n) => n.code)).toContain('RESOLVE_EMULATORSCHED_MAIN_ONLY');
  });

  it('period/quota by thread class; global and shares on the domain; 0 means unset, shares 0 is kept (§12.17)', () => {
    const def = definition(
      { iothreads: [{ id: 1 }] },
      { bandwidth: { shares: 0n, period: 100000n, quota: -1n, emulatorPeriod: 0n, emulatorQuota: 50000n, iothreadPeriod: 2000n, globalPeriod: 0n, globalQuota: 400000n } },
    );
    const r = resolve(def);
    expect(r.vcpus[0]!.bandwidth).toMatchObject({ period: 100000n, quota: -1n, provenance: { rule: 'vcpu-bandwidth' } });
    expect(r.emulator.bandwidth).toMatchObject({ quota: 50000n });
    expect(r.emulator.bandwidth!.period).toBeUndefined();
    expect(r.iothreads[0]!.bandwidth).toMatchObject({ period: 2000n });
    expect(r.domainBandwidth).toEqual({ shares: 0n, globalQuota: 400000n });
    expect(resolve(definition()).vcpus[0]!.bandwidth).toBeUndefined();
  });
});

describe('resctrl and guest NUMA cells', () => {
  it('resctrl groups hold vCPU threads only (§12.24)', () => {
    const def = definition({ max: 4 }, { resctrl: [{ kind: 'cachetune', vcpus: parseCpuSet('0-1'), from: at('/domain/cputune/cachetune[1]') }] });
    const r = resolve(def);
    expect(r.vcpus.map((v) => v.resctrl?.map((g) => g.kind) ?? [])).toEqual([['cachetune'], ['cachetune'], [], []]);
    expect(Object.keys(r.emulator)).not.toContain('resctrl');
    expect(r.notes.map((n) => n.code)).toContain('RESOLVE_RESCTRL_VCPUS_ONLY');
  });

  it('a memorytune that joined a cachetune of the same vCPUs shows as both sides of the one group', () => {
    const doc = parseDocument(`<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>4</vcpu><cputune>
      <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>
      <memorytune vcpus='0-1'><node id='0' bandwidth='50'/></memorytune>
    </cputune><os><type>hvm</type></os></domain>`);
    const model = readDomain(doc);
    const r = resolve(definitionOf(model, { driver: 'generic' }), undefined, { model });
    expect(r.vcpus.map((v) => v.resctrl?.map((g) => `${g.kind} ${g.vcpus}`) ?? [])).toEqual([['cachetune 0-1', 'memorytune 0-1'], ['cachetune 0-1', 'memorytune 0-1'], [], []]);
    expect(r.vcpus[0]!.resctrl!.map((g) => g.provenance.element?.path)).toEqual(['/domain/cputune/cachetune', '/domain/cputune/memorytune']);
  });

  it('each vCPU names its guest cell; vCPUs QEMU added to cell 0 say so (§12.15)', () => {
    const def = definition(
      { max: 4 },
      {
        guestCells: cells('0,3', '1'),
        changes: [{ code: 'NUMA_CELL0_FILLED', specItem: 13, message: 'vCPUs 2 added to cell 0', from: at('/domain/cpu/numa') }],
      },
    );
    // definitionOf's cell 0 already holds the absorbed vCPU 2; the XML listed 0 and 3.
    def.guestCells[0]!.cpus = parseCpuSet('0,2-3');
    const r = resolve(def);
    expect(r.vcpus.map((v) => v.guestCell?.id)).toEqual([0, 1, 0, 0]);
    // Without the parse-phase model resolve cannot tell which cell-0 vCPUs QEMU added, and says so.
    expect(r.vcpus.map((v) => v.guestCell!.provenance.rule)).toEqual(['numa-cell', 'numa-cell', 'numa-cell', 'numa-cell']);
    expect(r.vcpus[2]!.guestCell!.provenance.because).toContain('added by QEMU');
    expect(r.vcpus[1]!.guestCell!.provenance.because).not.toContain('added by QEMU');
  });

  it('generic driver: unlisted vCPUs stay cell-less', () => {
    const r = resolve(definition({ max: 3, driver: 'generic' }, { guestCells: cells('0-1') }));
    expect(r.vcpus.map((v) => v.guestCell?.id)).toEqual([0, 0, undefined]);
    expect(r.driver).toBe('generic');
  });
});

describe('special cases (spec §5.3) and edge cases (spec §12)', () => {
  it('§5.3 / §12.13: an offline vCPU resolves to its kept pin, as when hot-plugged', () => {
    const r = resolve(definition({ max: 4, current: 2, cpuset: '0-3', vcpupins: { 3: '7' } }));
    expect(r.vcpus.map((v) => [v.id, v.online, str(v.cpus), v.source])).toEqual([
      [0, true, '0-3', 'vcpu-cpuset'],
      [1, true, '0-3', 'vcpu-cpuset'],
      [2, false, '0-3', 'vcpu-cpuset'],
      [3, false, '7', 'vcpupin'],
    ]);
  });

  it('§12.13: for drivers that drop offline pins (no pin in the definition) the offline vCPU falls back to the cpuset', () => {
    const r = resolve(definition({ max: 2, current: 1, cpuset: '0-3', driver: 'generic' }));
    expect([str(r.vcpus[1]!.cpus), r.vcpus[1]!.source]).toEqual(['0-3', 'vcpu-cpuset']);
  });

  it('§5.3: online hotpluggable vCPUs are hot-added at boot (note), with their order', () => {
    const def = definition({ max: 3 });
    def.vcpus[1] = { ...def.vcpus[1]!, hotpluggable: true, order: 2 };
    const r = resolve(def);
    expect(r.vcpus[1]!.order).toBe(2);
    expect(r.vcpus[0]!.order).toBeUndefined();
    expect(r.notes.find((n) => n.code === 'RESOLVE_HOTPLUG_AT_BOOT')?.message).toContain('1');
  });

  it('§12.1: auto placement with a (dropped) cpuset resolves through numad', () => {
    // definitionOf never stores a cpuset under auto placement.
    const r = resolve(definition({ placement: 'auto' }));
    expect(r.vcpus[0]!.source).toBe('numad');
  });

  it('§12.2: a promoted placement is reported and the numad provenance points at <numatune>', () => {
    const def = definition(
      { placement: 'auto' },
      {
        numatune: { memory: numaMemory('strict', 'auto'), memnodes: [] },
        changes: [{ code: 'PLACEMENT_PROMOTED_AUTO', specItem: 5, message: 'promoted', from: at('/domain/vcpu', 4) }],
      },
    );
    const r = resolve(def);
    expect(r.placement).toMatchObject({ vcpu: 'auto', memory: 'auto', promoted: true });
    expect(r.vcpus[0]!.provenance.element?.path).toBe('/domain/numatune/memory');
    expect(r.vcpus[0]!.provenance.because).toContain('promoted');
    expect(r.notes.map((n) => n.code)).toEqual(expect.arrayContaining(['RESOLVE_PLACEMENT_PROMOTED', 'RESOLVE_NUMAD_REQUIRED']));
  });

  it('§12.22: a pin equal to the default is still a pin', () => {
    const r = resolve(definition({ cpuset: '0-3', vcpupins: { 0: '0-3' } }));
    expect(r.vcpus[0]!.source).toBe('vcpupin');
    expect(r.vcpus[1]!.source).toBe('vcpu-cpuset');
  });
});
