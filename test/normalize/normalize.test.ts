import { describe, expect, it } from 'vitest';
import { normalize } from '../../src/normalize/index.js';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';

const input = `<domain type='kvm'>
  <name>demo</name>
  <!-- hand-tuned -->
  <memory unit='KiB'>1048576</memory>
  <vcpu current='4' cpuset=' 0-3 , 8-11,'>4</vcpu>
  <iothreads>2</iothreads>
  <cputune>
    <vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>
    <vcpupin vcpu='1' cpuset='9'/>
    <vcpupin vcpu='0' cpuset='8'/>
    <vcpupin vcpu='7' cpuset='3'/>
    <period>0</period>
  </cputune>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
</domain>
`;

describe('normalize', () => {
  it("rewrites the affinity elements as libvirt stores them and keeps everything else", () => {
    const out = serializeDocument(normalize(parseDocument(input)));
    expect(out).toBe(`<domain type='kvm'>
  <name>demo</name>
  <!-- hand-tuned -->
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static' cpuset='0-3,8-11'>4</vcpu>
  <iothreads>2</iothreads>
  <cputune>
    <vcpupin vcpu='0' cpuset='8'/>
    <vcpupin vcpu='1' cpuset='9'/>
    <vcpusched vcpus='0' scheduler='fifo' priority='1'/>
    <vcpusched vcpus='1' scheduler='fifo' priority='1'/>
  </cputune>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
</domain>
`);
  });

  it('adds what libvirt adds: <vcpu> when missing, implicit numatune, promoted placement', () => {
    const out = serializeDocument(normalize(parseDocument("<domain type='kvm'>\n  <name>x</name>\n  <numatune>\n    <memory placement='auto'/>\n  </numatune>\n</domain>\n")));
    expect(out).toContain("  <name>x</name>\n  <vcpu placement='auto'>1</vcpu>\n  <numatune>\n    <memory mode='strict' placement='auto'/>\n  </numatune>");
  });

  it('refuses a domain libvirt would refuse, naming the first error', () => {
    expect(() => normalize(parseDocument("<domain type='kvm'><vcpu cpuset='3-1'>2</vcpu></domain>"))).toThrow(expect.objectContaining({ code: 'NORMALIZE_REFUSED' }));
    // "first" is the error libvirt reports: every <cachetune> is parsed before any <memorytune>.
    const two =
      "<domain type='kvm'><name>t</name><vcpu>4</vcpu><cputune><memorytune vcpus='2-3'><node id='0' bandwidth='120'/></memorytune>" +
      "<cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='3' unit='x'/></cachetune></cputune></domain>";
    expect(() => normalize(parseDocument(two))).toThrow(expect.objectContaining({ code: 'NORMALIZE_REFUSED', message: expect.stringMatching(/2 errors; first: RESCTRL_INVALID .*unknown suffix 'x'/) }));
  });
});

/** The <numa> of normalize(body) for a 2-vCPU generic domain. */
const numaOf = (cells: string): string => {
  const xml = `<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>2</vcpu><cpu><numa>${cells}</numa></cpu><os><type>hvm</type></os></domain>`;
  const out = serializeDocument(normalize(parseDocument(xml), { driver: 'generic' }));
  return /<numa>.*<\/numa>/.exec(out)![0];
};

describe('normalize: guest NUMA cells as libvirt stores them (virsh -c test:///default, libvirt 9.0)', () => {
  it("cell ids spelled ' 1' or '+1' are 1: cells sorted by that id, never two id='0' cells", () => {
    expect(numaOf("<cell id=' 1' cpus='1' memory='1024'/><cell id='0' cpus='0' memory='1024'/>")).toBe(
      "<numa><cell id='0' cpus='0' memory='1024' unit='KiB'/><cell id='1' cpus='1' memory='1024' unit='KiB'/></numa>",
    );
    expect(numaOf("<cell id='+1' cpus='1' memory='1024'/><cell id='0' cpus='0' memory='1024'/>")).toBe(
      "<numa><cell id='0' cpus='0' memory='1024' unit='KiB'/><cell id='1' cpus='1' memory='1024' unit='KiB'/></numa>",
    );
  });

  it('cell memory is rounded up to whole KiB', () => {
    expect(numaOf("<cell id='0' cpus='0' memory='1000' unit='KB'/><cell id='1' cpus='1' memory='1025' unit='b'/>")).toBe(
      "<numa><cell id='0' cpus='0' memory='977' unit='KiB'/><cell id='1' cpus='1' memory='2' unit='KiB'/></numa>",
    );
  });
});

/** The <cputune> of normalize(body) for a 4-vCPU generic domain. */
const cputuneOf = (inner: string): string => {
  const xml = `<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>4</vcpu><cputune>${inner}</cputune><os><type>hvm</type></os></domain>`;
  return /<cputune>[^]*<\/cputune>/.exec(serializeDocument(normalize(parseDocument(xml), { driver: 'generic' })))![0].replace(/\n\s*/g, '');
};

describe('normalize: resctrl as libvirt stores it (virsh -c test:///default, libvirt 9.0)', () => {
  it('sorts caches (level, type both/code/data, id) and nodes (id), canonical ids and monitor vcpus; cachetunes before memorytunes', () => {
    expect(
      cputuneOf(
        "<memorytune vcpus='2-3'><node id=' 1' bandwidth='+10'/><node id='0' bandwidth='5'/><monitor vcpus='3,2,'/></memorytune>" +
          "<cachetune vcpus='0'><cache id='1' level='3' type='data' size='1'/><cache id='0' level='3' type='code' size='1'/><cache id='0' level='2' type='both' size='1'/></cachetune>",
      ),
    ).toBe(
      "<cputune><cachetune vcpus='0'><cache id='0' level='2' type='both' size='1' unit='KiB'/><cache id='0' level='3' type='code' size='1' unit='KiB'/><cache id='1' level='3' type='data' size='1' unit='KiB'/></cachetune>" +
        "<memorytune vcpus='2-3'><node id='0' bandwidth='5'/><node id='1' bandwidth='10'/><monitor vcpus='2-3'/></memorytune></cputune>",
    );
  });

  it('merges memorytunes with one vCPU set into one; beside a cachetune of that set it stays its own element', () => {
    expect(
      cputuneOf(
        "<memorytune vcpus='0-1'><node id='0' bandwidth='10'/></memorytune><memorytune vcpus='0-1'><node id='1' bandwidth='20'/><monitor vcpus='1'/></memorytune>" +
          "<cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>",
      ),
    ).toBe(
      "<cputune><cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>" +
        "<memorytune vcpus='0-1'><node id='0' bandwidth='10'/><node id='1' bandwidth='20'/><monitor vcpus='1'/></memorytune></cputune>",
    );
  });

  it('cuts monitor vcpus to the domain and drops a memory bandwidth monitor level', () => {
    expect(cputuneOf("<memorytune vcpus='0-3'><node id='0' bandwidth='10'/><monitor level='3' vcpus='1-4'/></memorytune>")).toBe(
      "<cputune><memorytune vcpus='0-3'><node id='0' bandwidth='10'/><monitor vcpus='1-3'/></memorytune></cputune>",
    );
  });
});
