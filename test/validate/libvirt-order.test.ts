/**
 * libvirt's order of checks (LIBVIRT_ORDER): the table is complete and
 * consistent, and the numbering follows it — stages before position,
 * element walks, named stages, ties in document order. The oracle
 * (test/oracle/test-driver.test.ts) measures it against real libvirt.
 */
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from '../../src/codes.js';
import { checkDocument, errorsInLibvirtOrder, firstError, LIBVIRT_ORDER, RULES, type Diagnostic } from '../../src/validate/index.js';

const dom = (body: string, opts: { vcpu?: string; name?: string; cells?: string; numatune?: string } = {}): string =>
  [
    "<domain type='kvm'>",
    `  <name>${opts.name ?? 't'}</name>`,
    '  <memory>1048576</memory>',
    `  <vcpu placement='static'>${opts.vcpu ?? '4'}</vcpu>`,
    body,
    ...(opts.numatune ? [`  <numatune>${opts.numatune}</numatune>`] : []),
    "  <os><type arch='x86_64'>hvm</type></os>",
    ...(opts.cells ? [`  <cpu><numa>${opts.cells}</numa></cpu>`] : []),
    '</domain>',
    '',
  ].join('\n');

const errors = (xml: string, libvirtVersion?: string): Diagnostic[] =>
  checkDocument(xml, { driver: 'generic', ...(libvirtVersion ? { libvirtVersion } : {}) }).filter((d) => d.severity === 'error');
const codesInOrder = (xml: string, libvirtVersion?: string): string[] => errorsInLibvirtOrder(errors(xml, libvirtVersion)).map((d) => d.code);

describe('LIBVIRT_ORDER', () => {
  it('places every error rule, with codes that exist, in stages with unique ids', () => {
    const placed = new Set<string>(LIBVIRT_ORDER.flatMap((s) => [...s.codes, ...('named' in s ? s.named : [])]));
    const missing = RULES.filter((r) => r.severity === 'error' && !placed.has(r.code)).map((r) => r.code);
    expect(missing).toEqual([]);
    const known = new Set<string>(DIAGNOSTIC_CODES);
    expect([...placed].filter((c) => !known.has(c))).toEqual([]);
    expect(new Set(LIBVIRT_ORDER.map((s) => s.id)).size).toBe(LIBVIRT_ORDER.length);
  });

  it('numbers every error 1..n and nothing else; the list itself stays in document order', () => {
    const ds = checkDocument(dom("  <cputune>\n    <vcpupin vcpu='9' cpuset='1'/>\n    <vcpupin vcpu='1' cpuset='3-1'/>\n    <period>10</period>\n  </cputune>"), { driver: 'generic' });
    expect(ds.some((d) => d.severity !== 'error')).toBe(true);
    expect(ds.filter((d) => d.severity !== 'error').every((d) => d.libvirtOrder === undefined)).toBe(true);
    const errs = ds.filter((d) => d.severity === 'error');
    expect(errs.map((d) => d.libvirtOrder).sort()).toEqual([1, 2]);
    const lines = ds.map((d) => d.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it("the docs' example: every <cachetune> before any <memorytune>, whatever the document order", () => {
    const xml = dom(
      [
        '  <cputune>',
        "    <memorytune vcpus='2-3'>",
        "      <node id='0' bandwidth='120'/>",
        '    </memorytune>',
        "    <cachetune vcpus='0-1'>",
        "      <cache id='0' level='3' type='both' size='3' unit='MB'/>",
        "      <cache id='0' level='3' type='code' size='1' unit='MiB'/>",
        '    </cachetune>',
        '  </cputune>',
      ].join('\n'),
    );
    const errs = errors(xml);
    expect(errs.map((d) => [d.code, d.libvirtOrder])).toEqual([
      ['MEMORYTUNE_NODE_INVALID', 2],
      ['RESCTRL_INVALID', 1],
    ]);
    expect(firstError(errs)?.message).toMatch(/type='code'> collides/);
  });

  it('a tune is finished before the next: caches before monitors inside one, the earlier tune first', () => {
    const xml = dom(
      [
        '  <cputune>',
        "    <cachetune vcpus='0-1'><monitor vcpus='0'/><cache id='0' level='3' type='both' size='3' unit='x'/></cachetune>",
        "    <cachetune vcpus='2-3'><cache id='0' level='3' type='both' size='3' unit='y'/></cachetune>",
        '  </cputune>',
      ].join('\n'),
    );
    expect(codesInOrder(xml)).toEqual(['RESCTRL_INVALID', 'RESCTRL_MONITOR_INVALID', 'RESCTRL_INVALID']);
    expect(firstError(errors(xml))?.message).toMatch(/unit='x'/);
  });

  it('all of <cputune> before the NUMA cells, and a NUMA cell finished before the next', () => {
    const cells = "<cell id='0' cpus='0-1'/><cell id='1' cpus='1-3' memory='1024'/>";
    const xml = dom("  <cputune>\n    <emulatorpin cpuset='5-2'/>\n  </cputune>", { cells });
    expect(codesInOrder(xml)).toEqual(['EMULATORPIN_INVALID', 'GUEST_NUMA_MEMORY_INVALID', 'GUEST_NUMA_INVALID']);
  });

  it('a rule names a later stage: <vcpu>0</vcpu> is refused only after <cputune>', () => {
    const xml = dom("  <cputune>\n    <emulatorpin cpuset='5-2'/>\n  </cputune>", { vcpu: '0' });
    expect(codesInOrder(xml)).toEqual(['EMULATORPIN_INVALID', 'VCPU_COUNT_INVALID']);
  });

  it("a newline in the name is refused at define, after validation; a '/' in post-parse, before it", () => {
    const body = "  <cputune>\n    <period>10</period>\n  </cputune>";
    expect(codesInOrder(dom(body, { name: 'a\n' }))).toEqual(['CPUTUNE_VALUE_OUT_OF_RANGE', 'DOMAIN_NAME_INVALID']);
    expect(codesInOrder(dom(body, { name: 'a/b' }))).toEqual(['DOMAIN_NAME_INVALID', 'CPUTUNE_VALUE_OUT_OF_RANGE']);
  });

  it('restrictive memnodes: checked while parsing each memnode in libvirt 9.0, in validation in 10.7', () => {
    const cells = "<cell id='0' cpus='0-1' memory='1024'/><cell id='1' cpus='2-3' memory='1024'/>";
    const numatune = "<memory mode='restrictive' nodeset='0'/><memnode cellid='0' mode='strict' nodeset='0'/><memnode cellid='5' mode='restrictive' nodeset='0'/>";
    const xml = dom("  <iothreadids><iothread id='1' thread_pool_min='2' thread_pool_max='1'/></iothreadids>", { cells, numatune });
    expect(codesInOrder(xml, '9.0')).toEqual(['NUMATUNE_RESTRICTIVE_MIXED', 'MEMNODE_INVALID', 'IOTHREAD_POOL_INVALID']);
    expect(codesInOrder(xml, '10.7')).toEqual(['MEMNODE_INVALID', 'NUMATUNE_RESTRICTIVE_MIXED', 'IOTHREAD_POOL_INVALID']);
  });

  it('ties in one stage keep document order', () => {
    const xml = dom("  <cputune>\n    <vcpupin vcpu='2' cpuset='7-1'/>\n    <vcpupin vcpu='0' cpuset='6-1'/>\n  </cputune>");
    expect(errorsInLibvirtOrder(errors(xml)).map((d) => d.message)).toEqual([expect.stringMatching(/'7-1'/), expect.stringMatching(/'6-1'/)]);
  });

  it("libvirt's own order inside a stage: <period> before <quota>, every <vcpusched> before any <iothreadsched>, the emulatorpin count first", () => {
    const values = dom("  <cputune>\n    <quota>5</quota>\n    <period>10</period>\n  </cputune>");
    expect(firstError(errors(values))?.message).toMatch(/<period>10/);
    const syntax = dom("  <cputune>\n    <quota>x</quota>\n    <period>y</period>\n  </cputune>");
    expect(firstError(errors(syntax))?.message).toMatch(/<period> 'y'/);
    const sched = dom("  <iothreads>1</iothreads>\n  <cputune>\n    <iothreadsched iothreads='1' scheduler='bogus'/>\n    <vcpusched vcpus='0' scheduler='odd'/>\n  </cputune>");
    expect(firstError(errors(sched))?.message).toMatch(/'odd'/);
    const pins = dom("  <cputune>\n    <emulatorpin cpuset='3-1'/>\n    <emulatorpin cpuset='1'/>\n  </cputune>");
    expect(firstError(errors(pins))?.message).toMatch(/a second <emulatorpin>/);
  });

  it('firstError falls back to the first error by position when nothing is numbered', () => {
    const d = (line: number, severity: Diagnostic['severity'] = 'error'): Diagnostic => ({ code: 'CROSS_CPU_OVERCOMMIT', severity, message: 'x', line, column: 1 });
    expect(firstError([d(1, 'warning'), d(3), d(5)])?.line).toBe(3);
    expect(firstError([d(1, 'warning')])).toBeUndefined();
  });

  it('an unreadable document is one error, numbered 1', () => {
    expect(checkDocument('<domain>').map((d) => d.libvirtOrder)).toEqual([1]);
  });
});
