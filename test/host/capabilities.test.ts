import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtPinError } from '../../src/errors.js';
import { describeHost, hostCounts, hostFromCapabilities, hostFromSysfs, pciNumaFromNodedev, type HostTopology } from '../../src/host/index.js';
import { corpusDir, repoRoot, xmlFilesUnder } from '../support/corpus.js';

const capsDir = (): string => join(corpusDir(), 'libvirt-caps');
const capsFiles = (): string[] => xmlFilesUnder(capsDir()).filter((f) => !f.includes('nodedevschemadata'));
const nodedevFiles = (): string[] => xmlFilesUnder(join(capsDir(), 'tests', 'nodedevschemadata'));

function thrown(f: () => unknown): VirtPinError {
  try {
    f();
  } catch (e) {
    if (e instanceof VirtPinError) return e;
    throw e;
  }
  throw new Error('expected a VirtPinError');
}

/** What the XML text itself says, counted without any XML parser. */
function countsInText(text: string): { cells: number; cpus: number[] } {
  const cells = text.slice(text.indexOf('<cells'), text.indexOf('</cells>'));
  const cpus = [...cells.matchAll(/<cpu\s+id='(\d+)'/g)].map((m) => Number(m[1]));
  return { cells: [...cells.matchAll(/<cell\s+id=/g)].length, cpus };
}

describe('capabilities corpus', () => {
  const withTopology = capsFiles().filter((f) => readFileSync(f, 'utf8').includes('<topology>'));
  it('has the expected files', () => {
    expect(withTopology.length).toBe(17);
  });
  it.each(withTopology.map((f) => [basename(f), f]))('%s parses and matches the XML cpu/cell counts', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const h = hostFromCapabilities(text, { fileName: file });
    const expected = countsInText(text);
    expect(h.source).toBe('capabilities');
    expect(h.nodes.length).toBe(expected.cells);
    expect(h.cpus.map((c) => c.id)).toEqual([...expected.cpus].sort((a, b) => a - b));
    expect(h.onlineCpus.size).toBe(expected.cpus.length);
    // Every CPU is in exactly its node, and is its own sibling.
    for (const c of h.cpus) {
      expect(c.siblings.has(c.id)).toBe(true);
      expect(h.nodes.find((n) => n.id === c.node)?.cpus.has(c.id)).toBe(true);
    }
    expect(describeHost(h)).toMatch(/^host \(capabilities\): /);
  });
  it('refuses caps-test2.xml (no <cells>) with HOST_CAPS_NO_TOPOLOGY', () => {
    const file = join(capsDir(), 'tests', 'capabilityschemadata', 'caps-test2.xml');
    const e = thrown(() => hostFromCapabilities(readFileSync(file, 'utf8')));
    expect(e.code).toBe('HOST_CAPS_NO_TOPOLOGY');
    expect(e.location?.line).toBeGreaterThan(1);
  });
  it('reads sockets, dies, clusters and caches (aarch64 clusters, x86 caches)', () => {
    const clusters = hostFromCapabilities(readFileSync(join(capsDir(), 'tests/vircaps2xmldata/vircaps-aarch64-basic-clusters.xml'), 'utf8'));
    expect(clusters.cpus.find((c) => c.id === 6)).toMatchObject({ socket: 3180, die: 0, cluster: 257, core: 257, node: 1 });
    expect(clusters.nodes.map((n) => [n.id, n.cpus.toString(), n.memoryKiB])).toEqual([
      [0, '0-3', 1048576],
      [1, '4-7', 2097152],
    ]);
    const caches = hostFromCapabilities(readFileSync(join(capsDir(), 'tests/vircaps2xmldata/vircaps-x86_64-caches.xml'), 'utf8'));
    expect(caches.caches).toEqual([{ id: 0, level: 3, type: 'unified', sizeKiB: 8192, cpus: caches.onlineCpus }]);
    expect(hostCounts(caches)).toEqual({ sockets: 1, cores: 4, threads: 8, threadsPerCore: 2, nodes: 1 });
  });
  it('reads the kvm-realtime <topology> fragment with distances, and caps-test3 CPUs without topology', () => {
    const frag = hostFromCapabilities(readFileSync(join(capsDir(), 'docs-extracted/kvm-realtime-host-topology.fragment.xml'), 'utf8'));
    expect(frag.nodes.map((n) => n.distances)).toEqual([
      [10, 21],
      [21, 10],
    ]);
    const old = hostFromCapabilities(readFileSync(join(capsDir(), 'tests/capabilityschemadata/caps-test3.xml'), 'utf8'));
    expect(old.cpus[0]).toMatchObject({ socket: -1, core: -1 });
    expect(old.cpus[0]!.siblings.toString()).toBe('0');
    expect(describeHost(old)).toContain('sockets unknown');
  });
});

describe('capabilities errors carry a code and the location', () => {
  const doc = (cpus: string, extra = '') => `<capabilities>
  <host>
    <topology>
      <cells num='1'>
        <cell id='0'>
          <memory unit='KiB'>1024</memory>
          <cpus num='2'>
${cpus}
          </cpus>
        </cell>
      </cells>
    </topology>${extra}
  </host>
</capabilities>`;
  it.each([
    ["            <cpu id='0'/>\n            <cpu id='x'/>", 'HOST_CAPS_BAD_VALUE', 9, 18],
    ["            <cpu id='0'/>\n            <cpu id='0'/>", 'HOST_CAPS_DUPLICATE_CPU', 9, 18],
    ["            <cpu id='0' siblings='0-'/>", 'HOST_CAPS_BAD_CPUSET', 8, 25],
    ["            <cpu id='0' siblings='1'/>", 'HOST_CAPS_BAD_CPUSET', 8, 25],
    ["            <cpu id='99999'/>", 'HOST_CAPS_BAD_VALUE', 8, 18],
    ['            <cpu/>', 'HOST_CAPS_BAD_VALUE', 8, 13],
  ])('%j → %s at %d:%d', (cpus, code, line, column) => {
    const e = thrown(() => hostFromCapabilities(doc(cpus), { fileName: 'caps.xml' }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^caps\.xml: /);
    expect([e.location?.line, e.location?.column]).toEqual([line, column]);
  });
  it('refuses malformed XML, a DOCTYPE, a foreign root and a bad cache bank', () => {
    expect(thrown(() => hostFromCapabilities('<capabilities><host></capabilities>')).code).toBe('HOST_CAPS_XML');
    const dt = thrown(() => hostFromCapabilities('<!DOCTYPE x [<!ENTITY a "b">]>\n<capabilities/>'));
    expect(dt.code).toBe('HOST_CAPS_XML');
    expect(dt.location?.line).toBe(1);
    expect(thrown(() => hostFromCapabilities("<domain type='kvm'/>")).code).toBe('HOST_CAPS_NOT_CAPABILITIES');
    expect(thrown(() => hostFromCapabilities('<capabilities/>')).code).toBe('HOST_CAPS_NO_TOPOLOGY');
    const bank = thrown(() => hostFromCapabilities(doc("            <cpu id='0'/>", "\n    <cache><bank id='0' level='3' type='both' size='8' unit='parsecs' cpus='0'/></cache>")));
    expect(bank.code).toBe('HOST_CAPS_BAD_VALUE');
    expect(bank.location?.line).toBe(13);
  });
  it('converts memory units', () => {
    const h = hostFromCapabilities(doc("            <cpu id='0'/>").replace("<memory unit='KiB'>1024", "<memory unit='GiB'>2"));
    expect(h.nodes[0]!.memoryKiB).toBe(2 * 1024 * 1024);
  });
});

describe('sysfs and capabilities fixtures of the same machine agree', () => {
  const facts = (h: HostTopology) => ({
    online: h.onlineCpus.toString(),
    cpus: h.cpus.map((c) => [c.id, c.socket, c.die, c.cluster, c.core, c.node, c.siblings.toString(), c.online]),
    nodes: h.nodes.map((n) => [n.id, n.cpus.toString(), n.memoryKiB, n.distances]),
    l3: h.caches.filter((c) => c.level === 3).map((c) => [c.type, c.sizeKiB, c.cpus.toString()]),
  });
  it.each(['two-socket-smt', 'amd-multi-ccx'])('%s', (name) => {
    const dir = join(repoRoot, 'fixtures', 'hosts');
    const fromCaps = hostFromCapabilities(readFileSync(join(dir, `${name}.caps.xml`), 'utf8'));
    const fromSysfs = hostFromSysfs(join(dir, name));
    expect(facts(fromCaps)).toEqual(facts(fromSysfs));
    expect(hostCounts(fromCaps)).toEqual(hostCounts(fromSysfs));
  });
});

describe('node-device XML', () => {
  it.each(nodedevFiles().map((f) => [basename(f), f]))('%s gives the address and <numa node>', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const dev = pciNumaFromNodedev(text, { fileName: file });
    const num = (tag: string) => Number(new RegExp(`<${tag}>(\\w+)</${tag}>`).exec(text)![1]);
    const expected = [num('domain').toString(16).padStart(4, '0'), num('bus').toString(16).padStart(2, '0'), num('slot').toString(16).padStart(2, '0')];
    expect(dev.address).toBe(`${expected.join(':')}.${num('function')}`);
    expect(dev.address).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/);
    expect(dev.numaNode).toBe(Number(/<numa node='(\d+)'/.exec(text)![1]));
  });
  it('pci_1002_71c4 is 0000:01:00.0 on node 1', () => {
    expect(pciNumaFromNodedev(readFileSync(join(capsDir(), 'tests/nodedevschemadata/pci_1002_71c4.xml'), 'utf8'))).toEqual({ address: '0000:01:00.0', numaNode: 1 });
  });
  it('refuses non-PCI devices and bad values', () => {
    expect(thrown(() => pciNumaFromNodedev('<capabilities/>')).code).toBe('HOST_NODEDEV_NOT_DEVICE');
    expect(thrown(() => pciNumaFromNodedev("<device><capability type='net'/></device>")).code).toBe('HOST_NODEDEV_NOT_PCI');
    const e = thrown(() =>
      pciNumaFromNodedev("<device>\n<capability type='pci'><domain>0</domain><bus>1</bus><slot>0</slot><function>9</function></capability></device>"),
    );
    expect(e.code).toBe('HOST_NODEDEV_BAD_VALUE');
    expect(e.location?.line).toBe(2);
    const noNuma = pciNumaFromNodedev("<device><capability type='pci'><domain>0</domain><bus>0x81</bus><slot>0</slot><function>1</function></capability></device>");
    expect(noNuma).toEqual({ address: '0000:81:00.1' });
  });
});
