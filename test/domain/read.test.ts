import { describe, expect, it } from 'vitest';
import { readDomainText } from '../../src/domain/index.js';

const dom = (body: string): string => `<domain type='kvm'>\n  <name>t</name>\n${body}\n</domain>\n`;

describe('readDomain: libvirt grammars, values kept with their errors', () => {
  it.each([
    ['4', 4, undefined],
    ['  4', 4, undefined],
    ['+4', 4, undefined],
    ['4\n  ', undefined, 'TRAILING_WHITESPACE'],
    ['four', undefined, 'NOT_UNSIGNED'],
    ['-1', undefined, 'NOT_UNSIGNED'],
    ['99999999999', undefined, 'OUT_OF_RANGE'],
  ])('<vcpu>%j</vcpu> → %s %s', (text, value, code) => {
    const m = readDomainText(dom(`  <vcpu>${text}</vcpu>`));
    expect(m.vcpu!.max.value).toBe(value);
    expect(m.vcpu!.max.error?.code).toBe(code);
    expect(m.vcpu!.max.loc.line).toBe(3);
  });

  it('an empty <vcpu/> means one vCPU', () => {
    expect(readDomainText(dom('  <vcpu/>')).vcpu!.max.value).toBe(1);
  });

  it('never parses the cpuset under placement auto', () => {
    const m = readDomainText(dom("  <vcpu placement='auto' cpuset='garbage'>2</vcpu>"));
    expect(m.vcpu!.cpuset).toMatchObject({ raw: 'garbage', ignored: true, value: undefined });
    expect(m.vcpu!.cpuset!.error).toBeUndefined();
  });

  it('keeps cpuset grammar errors with code, position and the attribute location', () => {
    const m = readDomainText(dom("  <vcpu cpuset='0-3 ^2'>4</vcpu>"));
    expect(m.vcpu!.cpuset!.error).toMatchObject({ code: 'CPUSET_SYNTAX', position: 4 });
    expect(m.vcpu!.cpuset!.loc).toMatchObject({ line: 3, column: 9 });
  });

  it('merges list children of two <cputune> blocks, reads scalars from the first only', () => {
    const m = readDomainText(
      dom(`  <vcpu>4</vcpu>
  <cputune><period>1000</period><vcpupin vcpu='0' cpuset='1'/></cputune>
  <cputune><period>2000</period><vcpupin vcpu='1' cpuset='2'/></cputune>`),
    );
    expect(m.cputune!.vcpupins.map((p) => p.vcpu!.value)).toEqual([0, 1]);
    expect(m.cputune!.period!.value).toBe(1000n);
    expect(m.cputune!.ignoredRepeats.map((r) => r.path)).toEqual(['/domain/cputune[2]/period']);
    expect(m.cputune!.vcpupins[1]!.path).toBe('/domain/cputune[2]/vcpupin');
  });

  it('reads PCI addresses with C base detection (0x hex, leading 0 octal)', () => {
    const m = readDomainText(
      dom(`  <devices>
    <hostdev mode='subsystem' type='pci' managed='maybe'>
      <source><address domain='0x0000' bus='0x01' slot='010' function='1'/></source>
    </hostdev>
    <interface type='hostdev'><source><address type='pci' domain='0' bus='0x81' slot='0' function='0'/></source></interface>
  </devices>`),
    );
    expect(m.hostdevs[0]!.pci!.slot!.value).toBe(8);
    expect(m.hostdevs[0]!.pci!.canonical).toBe('0000:01:08.1');
    expect(m.hostdevs[0]!.managed).toMatchObject({ raw: 'maybe', value: false });
    expect(m.hostdevs[1]).toMatchObject({ via: 'interface', pci: { canonical: '0000:81:00.0' } });
  });

  it('reads the definition inside status XML (<domstatus>)', () => {
    const m = readDomainText("<domstatus state='running'>\n  <domain type='kvm'><vcpu>3</vcpu></domain>\n</domstatus>");
    expect(m.vcpu!.max.value).toBe(3);
  });

  it('refuses a document that is not a domain', () => {
    expect(() => readDomainText('<capabilities/>')).toThrow(expect.objectContaining({ code: 'DOMAIN_NOT_A_DOMAIN' }));
  });
});
