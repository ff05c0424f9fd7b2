import { describe, expect, it } from 'vitest';
import { definitionOf, readDomainText, type DomainDefinition } from '../../src/domain/index.js';

const dom = (body: string): string => `<domain type='kvm'>\n  <name>t</name>\n  <memory>1048576</memory>\n${body}\n</domain>\n`;
const def = (body: string, driver: 'qemu' | 'generic' = 'qemu'): DomainDefinition => definitionOf(readDomainText(dom(body)), { driver });
const codes = (d: DomainDefinition): string[] => d.changes.map((c) => c.code);

describe('definitionOf: spec §4 decision table', () => {
  it('no placement and no numatune: static, nothing implicit', () => {
    const d = def('  <vcpu>2</vcpu>');
    expect(d.placement).toBe('static');
    expect(d.numatune.memory).toBeUndefined();
  });
  it('auto without numatune gets an implicit strict+auto memory', () => {
    const d = def("  <vcpu placement='auto'>2</vcpu>");
    expect(d.numatune.memory).toMatchObject({ mode: 'strict', placement: 'auto', implicit: true });
    expect(codes(d)).toContain('NUMATUNE_IMPLICIT_AUTO');
  });
  it('auto + nodeset keeps memory static', () => {
    const d = def("  <vcpu placement='auto'>2</vcpu>\n  <numatune><memory mode='strict' nodeset='0'/></numatune>");
    expect(d.placement).toBe('auto');
    expect(d.numatune.memory).toMatchObject({ placement: 'static', nodeset: expect.anything() });
  });
  it('explicit static flips to auto when memory is auto and nothing is pinned', () => {
    const d = def("  <vcpu placement='static'>2</vcpu>\n  <numatune><memory mode='strict' placement='auto'/></numatune>");
    expect(d.placement).toBe('auto');
    expect(d.changes.find((c) => c.code === 'PLACEMENT_PROMOTED_AUTO')?.specItem).toBe(5);
  });
  it.each([
    ["  <vcpu cpuset='0-1'>2</vcpu>", 'a cpuset'],
    ["  <vcpu>2</vcpu>\n  <cputune><vcpupin vcpu='0' cpuset='1'/></cputune>", 'a vcpupin'],
    ["  <vcpu>2</vcpu>\n  <cputune><emulatorpin cpuset='1'/></cputune>", 'an emulatorpin'],
    ["  <vcpu>2</vcpu>\n  <iothreads>1</iothreads>\n  <cputune><iothreadpin iothread='1' cpuset='1'/></cputune>", 'an iothreadpin'],
  ])('%s blocks the promotion (%s)', (body) => {
    const d = def(`${body}\n  <numatune><memory placement='auto'/></numatune>`);
    expect(d.placement).toBe('static');
    expect(d.numatune.memory?.placement).toBe('auto');
  });
  it('auto memory drops a nodeset', () => {
    const d = def("  <vcpu>2</vcpu>\n  <numatune><memory placement='auto' nodeset='0'/></numatune>");
    expect(codes(d)).toContain('NUMATUNE_NODESET_IGNORED_AUTO');
    expect(d.numatune.memory?.nodeset).toBeUndefined();
  });
});

describe('definitionOf: silent normalizations (spec §7)', () => {
  it('1: a vcpupin for a vCPU beyond the maximum is dropped', () => {
    const d = def("  <vcpu>2</vcpu>\n  <cputune><vcpupin vcpu='2' cpuset='1'/></cputune>");
    expect(d.vcpus.map((v) => v.pin)).toEqual([undefined, undefined]);
    expect(d.changes[0]).toMatchObject({ code: 'VCPUPIN_OUT_OF_RANGE_DROPPED', specItem: 1, from: { path: '/domain/cputune/vcpupin' } });
  });
  it('2: offline pins are kept by QEMU and by the test driver (generic), as real libvirt 9.0 shows', () => {
    const body = "  <vcpu current='1'>2</vcpu>\n  <cputune><vcpupin vcpu='1' cpuset='1'/></cputune>";
    expect(def(body, 'qemu').vcpus[1]!.pin?.cpus.toString()).toBe('1');
    expect(def(body, 'generic').vcpus[1]!.pin?.cpus.toString()).toBe('1');
  });
  it('3: a cpuset under placement auto is dropped', () => {
    expect(codes(def("  <vcpu placement='auto' cpuset='0-1'>2</vcpu>"))).toContain('VCPU_CPUSET_IGNORED_AUTO');
  });
  it('8: IOThread ids auto-filled with the smallest unused ids after the explicit ones', () => {
    const d = def("  <vcpu>1</vcpu>\n  <iothreads>4</iothreads>\n  <iothreadids><iothread id='5'/><iothread id='6'/></iothreadids>");
    expect(d.iothreads.map((t) => [t.id, t.autofilled])).toEqual([[5, false], [6, false], [1, true], [2, true]]);
    expect(d.printIOThreadIds).toBe(true);
    expect(codes(d)).toContain('IOTHREAD_IDS_AUTOFILLED');
    const raised = def("  <vcpu>1</vcpu>\n  <iothreads>1</iothreads>\n  <iothreadids><iothread id='8'/><iothread id='3'/></iothreadids>");
    expect(raised.iothreads.map((t) => t.id)).toEqual([8, 3]);
    expect(codes(raised)).toContain('IOTHREADS_RAISED');
  });
  it('9: an empty <defaultiothread> is dropped', () => {
    expect(codes(def('  <vcpu>1</vcpu>\n  <defaultiothread/>'))).toContain('DEFAULTIOTHREAD_DROPPED');
  });
  it('10, 11: with <vcpus>, unlisted vCPUs are offline and hotpluggable; current is ignored', () => {
    const d = def("  <vcpu current='1'>3</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='yes' hotpluggable='yes' order='2'/></vcpus>");
    expect(d.vcpus.map((v) => [v.online, v.hotpluggable, v.order])).toEqual([[true, false, 0], [true, true, 2], [false, true, 0]]);
    expect(codes(d)).toEqual(['VCPUS_UNLISTED_OFFLINE', 'VCPU_CURRENT_IGNORED']);
  });
  it('11: current= equal to the enabled vCPUs (how libvirt writes it) changes nothing and is not reported', () => {
    const d = def("  <vcpu current='2'>3</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='yes'/><vcpu id='2' enabled='no' hotpluggable='yes'/></vcpus>");
    expect(codes(d)).toEqual([]);
  });
  it('12: resctrl vCPUs truncated to the maximum; emptied groups dropped; equal sets merged', () => {
    const d = def(`  <vcpu>2</vcpu>
  <cputune>
    <cachetune vcpus='0-3'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>
    <cachetune vcpus='5'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>
    <memorytune vcpus='0-1'><node id='0' bandwidth='50'/></memorytune>
  </cputune>`);
    expect(d.resctrl.map((g) => [g.kind, g.vcpus.toString()])).toEqual([['cachetune', '0-1']]);
    // The memorytune joins the cachetune's group but is still written as its own element: no RESCTRL_MERGED.
    expect(codes(d)).toEqual(['RESCTRL_VCPUS_TRUNCATED', 'RESCTRL_VCPUS_TRUNCATED', 'RESCTRL_GROUP_DROPPED']);
  });
  it('13: QEMU adds unlisted vCPUs to guest cell 0; cells sorted by id', () => {
    const body = "  <vcpu>4</vcpu>\n  <cpu><numa><cell id='1' cpus='2' memory='512'/><cell id='0' cpus='0' memory='512'/></numa></cpu>";
    const d = def(body);
    expect(d.guestCells.map((c) => [c.id, c.cpus.toString()])).toEqual([[0, '0-1,3'], [1, '2']]);
    expect(codes(d)).toEqual(['NUMA_CELLS_REORDERED', 'NUMA_CELL0_FILLED']);
    expect(def(body, 'generic').guestCells[0]!.cpus.toString()).toBe('0');
  });
  it('14, 17: sched groups explode per thread; priority ignored for batch', () => {
    const d = def("  <vcpu>4</vcpu>\n  <cputune><vcpusched vcpus='1-2' scheduler='fifo' priority='5'/><vcpusched vcpus='3' scheduler='batch' priority='7'/></cputune>");
    expect(d.vcpus.map((v) => v.sched?.scheduler ?? '-')).toEqual(['-', 'fifo', 'fifo', 'batch']);
    expect(d.vcpus[3]!.sched!.priority).toBeUndefined();
    expect(codes(d)).toEqual(['SCHED_GROUP_EXPLODED', 'SCHED_PRIORITY_IGNORED']);
  });
  it('15, 16: managed parse errors mean no; extra <vcpu> ignored', () => {
    const d = def("  <vcpu>2</vcpu>\n  <vcpu>8</vcpu>\n  <devices><hostdev mode='subsystem' type='pci' managed='1'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev></devices>");
    expect(d.maxVcpus).toBe(2);
    expect(d.hostdevs[0]).toMatchObject({ managed: false, pciAddress: '0000:01:00.0' });
    expect(codes(d)).toEqual(['VCPU_ELEMENT_IGNORED', 'HOSTDEV_MANAGED_IGNORED']);
  });
  it('bandwidth: 0 periods/quotas are unset, shares 0 is kept', () => {
    const d = def('  <vcpu>1</vcpu>\n  <cputune><shares>0</shares><period>0</period><quota>-1</quota></cputune>');
    expect(d.bandwidth).toEqual({ shares: 0n, quota: -1n });
  });
});

describe('definitionOf: the rest of the §4 decision table', () => {
  it("auto + <memory mode='interleave'> only: memory placement becomes auto", () => {
    const d = def("  <vcpu placement='auto'>2</vcpu>\n  <numatune><memory mode='interleave'/></numatune>");
    expect(d.placement).toBe('auto');
    expect(d.numatune.memory).toMatchObject({ mode: 'interleave', placement: 'auto', implicit: false });
    expect(codes(d)).not.toContain('NUMATUNE_IMPLICIT_AUTO');
  });
  it.each([
    ["  <vcpu placement='static'>2</vcpu>", 'explicit static'],
    ['  <vcpu>2</vcpu>', 'defaulted static'],
  ])("%s + <memory mode='strict'> only is refused (static needs a nodeset): no memory state (%s)", (vcpu) => {
    const d = def(`${vcpu}\n  <numatune><memory mode='strict'/></numatune>`);
    expect(d.numatune.memory).toBeUndefined();
    expect(d.placement).toBe('static');
  });
  it('auto + cpuset: the cpuset vanishes whatever the numatune says', () => {
    for (const numatune of ['', "\n  <numatune><memory mode='strict' nodeset='0'/></numatune>", "\n  <numatune><memory placement='auto'/></numatune>"]) {
      const d = def(`  <vcpu placement='auto' cpuset='0-1'>2</vcpu>${numatune}`);
      expect(d.placement).toBe('auto');
      expect(d.cpuset).toBeUndefined();
      expect(d.changes.find((c) => c.code === 'VCPU_CPUSET_IGNORED_AUTO')).toMatchObject({ specItem: 3, from: { path: '/domain/vcpu' } });
    }
  });
  it('static + cpuset keeps the cpuset as stored', () => {
    const d = def("  <vcpu cpuset='1-3,^2'>2</vcpu>");
    expect(d.cpuset?.cpus.toString()).toBe('1,3');
  });
  it('auto memory + memnode is refused: the memnodes are skipped', () => {
    const cells = "\n  <cpu><numa><cell id='0' cpus='0-1' memory='1024'/></numa></cpu>";
    const d = def(`  <vcpu>2</vcpu>\n  <numatune><memory placement='auto'/><memnode cellid='0' mode='strict' nodeset='0'/></numatune>${cells}`);
    expect(d.numatune.memnodes).toEqual([]);
    const implicit = def(`  <vcpu placement='auto'>2</vcpu>\n  <numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>${cells}`);
    expect(implicit.numatune.memory).toMatchObject({ placement: 'auto', implicit: true });
    expect(implicit.numatune.memnodes).toEqual([]);
    const ok = def(`  <vcpu>2</vcpu>\n  <numatune><memory nodeset='0'/><memnode cellid='0' nodeset='1'/></numatune>${cells}`);
    expect(ok.numatune.memnodes.map((m) => [m.cellid, m.mode, m.nodeset.toString()])).toEqual([[0, 'strict', '1']]);
  });
  it('a vcpupin dropped as out of range does not block the promotion', () => {
    const d = def("  <vcpu>2</vcpu>\n  <cputune><vcpupin vcpu='5' cpuset='1'/></cputune>\n  <numatune><memory placement='auto'/></numatune>");
    expect(d.placement).toBe('auto');
    expect(codes(d)).toEqual(['VCPUPIN_OUT_OF_RANGE_DROPPED', 'NUMATUNE_MODE_DEFAULTED', 'PLACEMENT_PROMOTED_AUTO']);
  });
});

describe('definitionOf: more of §7', () => {
  it('6: the implicit numatune is recorded against <vcpu>', () => {
    const d = def("  <vcpu placement='auto'>2</vcpu>");
    expect(d.changes).toEqual([expect.objectContaining({ code: 'NUMATUNE_IMPLICIT_AUTO', specItem: 6, from: expect.objectContaining({ path: '/domain/vcpu' }) })]);
  });
  it('7: a missing mode defaults to strict for memory and memnode', () => {
    const d = def("  <vcpu>2</vcpu>\n  <numatune><memory nodeset='0'/><memnode cellid='0' nodeset='0'/></numatune>\n  <cpu><numa><cell id='0' cpus='0-1' memory='1024'/></numa></cpu>");
    expect(d.numatune.memory).toMatchObject({ mode: 'strict', placement: 'static' });
    expect(d.changes.filter((c) => c.code === 'NUMATUNE_MODE_DEFAULTED').map((c) => [c.specItem, c.from.path])).toEqual([
      [7, '/domain/numatune/memory'],
      [7, '/domain/numatune/memnode'],
    ]);
  });
  it('12: an empty resctrl list drops the group silently; memorytunes with one set merge', () => {
    const d = def(`  <vcpu>4</vcpu>
  <cputune>
    <cachetune vcpus='0,^0'><cache id='0' level='3' type='both' size='1'/></cachetune>
    <memorytune vcpus='2-3'><node id='0' bandwidth='50'/></memorytune>
    <memorytune vcpus='2-3'><node id='1' bandwidth='40'/></memorytune>
    <memorytune vcpus='1'/>
  </cputune>`);
    expect(d.resctrl.map((g) => [g.kind, g.vcpus.toString()])).toEqual([['memorytune', '2-3']]);
    expect(codes(d)).toEqual(['RESCTRL_GROUP_DROPPED', 'RESCTRL_MERGED', 'RESCTRL_GROUP_DROPPED']);
  });
  it('13: a cell whose cpus evaluate to nothing is CPU-less, and QEMU still fills cell 0', () => {
    const d = def("  <vcpu>2</vcpu>\n  <cpu><numa><cell id='0' cpus='0' memory='1024'/><cell id='1' cpus='1,^1' memory='1' unit='MiB'/></numa></cpu>");
    expect(d.guestCells.map((c) => [c.id, c.cpus.toString(), c.memoryKiB])).toEqual([[0, '0-1', 1024n], [1, '', 1024n]]);
    expect(codes(d)).toEqual(['NUMA_CELL_CPULESS', 'NUMA_CELL0_FILLED']);
  });
  it('14: iothreadsched groups explode per IOThread', () => {
    const d = def("  <vcpu>1</vcpu>\n  <iothreads>3</iothreads>\n  <cputune><iothreadsched iothreads='1,3' scheduler='rr' priority='2'/></cputune>");
    expect(d.iothreads.map((t) => t.sched?.scheduler ?? '-')).toEqual(['rr', '-', 'rr']);
    expect(d.changes[0]).toMatchObject({ code: 'SCHED_GROUP_EXPLODED', specItem: 14 });
  });
  it('14: a sched group naming a vCPU beyond the maximum is refused whole (unlike vcpupin)', () => {
    const d = def("  <vcpu>4</vcpu>\n  <cputune><vcpusched vcpus='0-4' scheduler='fifo' priority='1'/></cputune>");
    expect(d.vcpus.every((v) => v.sched === undefined)).toBe(true);
    expect(codes(d)).toEqual([]);
  });
  it('16: repeated <cputune> blocks merge and repeated scalars are ignored', () => {
    const d = def("  <vcpu>2</vcpu>\n  <cputune><period>1000</period></cputune>\n  <cputune><period>5000</period><vcpupin vcpu='1' cpuset='3'/></cputune>");
    expect(d.bandwidth.period).toBe(1000n);
    expect(d.vcpus[1]!.pin?.cpus.toString()).toBe('3');
    expect(d.changes.map((c) => [c.code, c.specItem, c.from.path])).toEqual([
      ['CPUTUNE_BLOCKS_MERGED', 16, '/domain/cputune[2]'],
      ['CPUTUNE_REPEAT_IGNORED', 16, '/domain/cputune[2]/period'],
    ]);
  });
  it('duplicates libvirt refuses are skipped, first one kept (validate reports them)', () => {
    const d = def("  <vcpu>2</vcpu>\n  <cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='0' cpuset='2'/><emulatorpin cpuset='1'/><emulatorpin cpuset='2'/></cputune>");
    expect(d.vcpus[0]!.pin?.cpus.toString()).toBe('1');
    expect(d.emulatorPin).toBeUndefined();
  });
  it('<vcpus> listing the same id twice: the last listing wins', () => {
    const d = def("  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='yes'/><vcpu id='1' enabled='no'/></vcpus>");
    expect(d.vcpus.map((v) => [v.online, v.hotpluggable])).toEqual([[true, false], [false, true]]);
    expect(codes(d)).toEqual([]);
  });
  it('a negative <vcpu> wraps: the definition is capped at the cpuset limit, never throws', () => {
    const d = def('  <vcpu>-1</vcpu>');
    expect(d.maxVcpus).toBe(16384);
    expect(d.vcpus).toHaveLength(16384);
  });
  it('a refused <vcpu> leaves no vCPUs, and nothing downstream throws', () => {
    const d = def("  <vcpu>4\n  </vcpu>\n  <cputune><vcpupin vcpu='0' cpuset='1'/><cachetune vcpus='0'><cache id='0' level='3' type='both' size='1'/></cachetune></cputune>\n  <cpu><numa><cell id='0' cpus='0' memory='1'/></numa></cpu>");
    expect(d.maxVcpus).toBe(0);
    expect(d.vcpus).toEqual([]);
    expect(codes(d)).toContain('VCPUPIN_OUT_OF_RANGE_DROPPED');
  });
});

describe('definitionOf: IOThread ids (spec §3.3)', () => {
  const ids = (body: string): [number, boolean][] => def(`  <vcpu>1</vcpu>\n${body}`).iothreads.map((t) => [t.id, t.autofilled]);
  it.each([
    ['  <iothreads>2</iothreads>', [[1, true], [2, true]]],
    ["  <iothreads>3</iothreads>\n  <iothreadids><iothread id='2'/></iothreadids>", [[2, false], [1, true], [3, true]]],
    ["  <iothreads>4</iothreads>\n  <iothreadids><iothread id='5'/><iothread id='6'/></iothreadids>", [[5, false], [6, false], [1, true], [2, true]]],
    ["  <iothreadids><iothread id='3'/><iothread id='1'/></iothreadids>", [[3, false], [1, false]]],
    ["  <iothreads>1</iothreads>\n  <iothreadids><iothread id='8'/></iothreadids>", [[8, false]]],
    ["  <iothreads>3</iothreads>\n  <iothreadids><iothread id='1'/><iothread id='3'/></iothreadids>", [[1, false], [3, false], [2, true]]],
    ['  <iothreads></iothreads>', []],
  ])('%s → %j', (body, expected) => {
    expect(ids(body)).toEqual(expected);
  });
  it('auto-filled ids alone are not printed; explicit ids or pool settings make <iothreadids> print', () => {
    expect(def('  <vcpu>1</vcpu>\n  <iothreads>2</iothreads>').printIOThreadIds).toBe(false);
    expect(codes(def('  <vcpu>1</vcpu>\n  <iothreads>2</iothreads>'))).toEqual([]);
    const pool = def("  <vcpu>1</vcpu>\n  <iothreadids><iothread id='1' thread_pool_min='1' thread_pool_max='4'><poll max='10'/></iothread></iothreadids>");
    expect(pool.printIOThreadIds).toBe(true);
    expect(pool.iothreads[0]).toMatchObject({ threadPoolMin: 1, threadPoolMax: 4, poll: { max: 10n } });
  });
  it('pins and sched may name auto-filled ids', () => {
    const d = def("  <vcpu>1</vcpu>\n  <iothreads>2</iothreads>\n  <cputune><iothreadpin iothread='2' cpuset='3'/><iothreadpin iothread='9' cpuset='3'/></cputune>");
    expect(d.iothreads.map((t) => t.pin?.cpus.toString())).toEqual([undefined, '3']);
  });
  it('zero and duplicate ids are refused (skipped), never thrown', () => {
    expect(ids("  <iothreadids><iothread id='0'/><iothread id='2'/><iothread id='2'/></iothreadids>")).toEqual([[2, false], [1, true], [3, true]]);
  });
  it('<defaultiothread> keeps -1 for an unset side', () => {
    expect(def("  <vcpu>1</vcpu>\n  <defaultiothread thread_pool_max='8'/>").defaultIOThread).toEqual({ threadPoolMin: -1, threadPoolMax: 8 });
  });
});
