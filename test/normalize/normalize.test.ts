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
  });
});
