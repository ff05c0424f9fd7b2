import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definitionOf, readDomainText, type DomainDefinition } from '../../src/domain/index.js';
import { corpusDir } from '../support/corpus.js';

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
  it('12: resctrl vCPUs truncated to the maximum; emptied groups dropped; equal sets merged', () => {
    const d = def(`  <vcpu>2</vcpu>
  <cputune>
    <cachetune vcpus='0-3'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>
    <cachetune vcpus='5'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>
    <memorytune vcpus='0-1'><node id='0' bandwidth='50'/></memorytune>
  </cputune>`);
    expect(d.resctrl.map((g) => [g.kind, g.vcpus.toString()])).toEqual([['cachetune', '0-1']]);
    expect(codes(d)).toEqual(['RESCTRL_VCPUS_TRUNCATED', 'RESCTRL_VCPUS_TRUNCATED', 'RESCTRL_GROUP_DROPPED', 'RESCTRL_MERGED']);
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

describe('definitionOf agrees with libvirt on the corpus pairs', () => {
  it("maximum vCPUs and vCPU placement of every pair input equal libvirt's formatted output", () => {
    const dir = corpusDir();
    const rows = readFileSync(join(dir, 'pairs.tsv'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
    let compared = 0;
    for (const [, input, output] of rows) {
      const outText = readFileSync(join(dir, 'libvirt', output!), 'utf8');
      const m = /<vcpu\b([^>]*)>(\d+)<\/vcpu>/.exec(outText);
      if (!m) continue;
      const d = definitionOf(readDomainText(readFileSync(join(dir, 'libvirt', input!), 'utf8')), { driver: 'qemu' });
      expect(d.maxVcpus, input).toBe(Number(m[2]));
      expect(d.placement, input).toBe(/placement='auto'/.test(m[1]!) ? 'auto' : 'static');
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
    console.log(`definition vs libvirt output: ${compared} pairs agree on maximum vCPUs and placement`);
  });
});
