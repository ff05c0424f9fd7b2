import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { hostFromSysfs } from '../../src/host/index.js';
import { buildPinMap, type PinMapThread } from '../../src/cli/pinmap/model.js';
import { renderPinMapHtml, renderPinMapSvg, renderPinMapText } from '../../src/cli/pinmap/render.js';
import { repoRoot } from '../support/corpus.js';

const host = hostFromSysfs(join(repoRoot, 'fixtures/hosts/vfio-desktop'));
const pins = ['1', '9', '2', '10', '3', '11', '4', '12'];
const threads: PinMapThread[] = [
  ...pins.map((cpus, id) => ({ kind: 'vcpu' as const, id, cpus })),
  { kind: 'emulator', id: 0, cpus: '0,8' },
  { kind: 'iothread', id: 1, cpus: '0,8' },
];
const title = { guest: 'win11-gaming', host: 'vfio-desktop' };

describe('pin map', () => {
  it('lays CPUs out by node and core, siblings side by side, and lists the threads on each', () => {
    const map = buildPinMap(host, threads);
    expect(map.summary).toEqual({ sockets: 1, cores: 8, threads: 16, nodes: 1, guestThreads: 10 });
    const core1 = map.nodes[0]!.cores.find((c) => c.cells.some((cell) => cell.cpu === 1))!;
    expect(core1.cells.map((c) => c.cpu)).toEqual([1, 9]);
    expect(core1.cells.map((c) => c.vcpus.toString())).toEqual(['0', '1']);
    const core0 = map.nodes[0]!.cores[0]!;
    expect(core0.cells.every((c) => c.emulator && c.iothreads.toString() === '1')).toBe(true);
    expect(map.conflicts).toEqual([]);
  });

  it('flags two vCPUs pinned to one CPU, the emulator on a dedicated CPU, and CPUs the host lacks', () => {
    const map = buildPinMap(host, [
      { kind: 'vcpu', id: 0, cpus: '3' },
      { kind: 'vcpu', id: 1, cpus: '3' },
      { kind: 'vcpu', id: 2, cpus: '5' },
      { kind: 'emulator', id: 0, cpus: '5-6' },
      { kind: 'vcpu', id: 3, cpus: '40' },
    ]);
    expect(map.conflicts).toEqual([
      'cpu 3: vCPUs 0-1 are each pinned to CPU 3 alone and will take turns on it',
      'cpu 5: the emulator may run on CPU 5, which vCPU 2 has to itself',
      'the guest names CPUs 40 that this host does not have',
    ]);
  });

  it('treats all as the online CPUs and keeps numad symbolic', () => {
    const map = buildPinMap(host, [
      { kind: 'vcpu', id: 0, cpus: 'all' },
      { kind: 'emulator', id: 0, cpus: 'numad' },
    ]);
    expect(map.nodes[0]!.cores.flatMap((c) => c.cells).every((cell) => cell.vcpus.toString() === '0')).toBe(true);
    expect(map.symbolic).toEqual(['emu: numad (chosen when the guest starts)']);
  });

  it('renders text without colour codes unless asked', () => {
    const text = renderPinMapText(buildPinMap(host, threads), title, false);
    expect(text).not.toMatch(/\u001b\[/);
    expect(text).toMatch(/^win11-gaming on vfio-desktop: 1 socket, 8 cores, 16 threads, 1 NUMA node/);
    expect(text).toMatch(/cpu 0: emu io1 +\| cpu 8: emu io1/);
    expect(text).toMatch(/cpu 1: v0 +\| cpu 9: v1/);
    expect(text).toContain('no conflicts');
    expect(renderPinMapText(buildPinMap(host, threads), title, true)).toMatch(/\u001b\[32mv0/);
  });

  it('draws a well-formed, self-contained SVG with every CPU and every thread', () => {
    const svg = renderPinMapSvg(buildPinMap(host, threads), title);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).not.toMatch(/href=|@import|url\(/);
    for (let cpu = 0; cpu < 16; cpu++) expect(svg).toContain(`data-cpu="${cpu}"`);
    for (let v = 0; v < 8; v++) expect(svg).toContain(`>v${v}</text>`);
    expect(svg).toContain('>emu</text>');
    expect(svg).toContain('>io1</text>');
  });

  it('escapes names in SVG and HTML', () => {
    const html = renderPinMapHtml(buildPinMap(host, threads), { guest: '<script>x</script>', host: 'h&h' }, [
      { thread: 'vCPU 0', cpus: '1', why: "<vcpupin vcpu='0'> at line 3" },
    ]);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('h&amp;h');
    expect(html).toContain('&lt;vcpupin vcpu=&#39;0&#39;&gt; at line 3');
  });
});
