import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { hostFromCapabilities } from '../../src/host/index.js';
import { crossDomainFindings, hostDomainFromText, hugepagesFromCapabilities, type HostMemoryFacts } from '../../src/hostview/index.js';
import { validate as validateDiagnostics } from '../../src/generated/diagnostics.validate.js';
import { repoRoot } from '../support/corpus.js';
import { runCli } from '../support/cli.js';

const capsPath = join(repoRoot, 'fixtures/hosts/two-socket-smt.caps.xml');
const capsText = readFileSync(capsPath, 'utf8');
const host = hostFromCapabilities(capsText, { fileName: capsPath });
const dir = join(repoRoot, 'fixtures/host-view');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
const memory = (): HostMemoryFacts => {
  const pools = hugepagesFromCapabilities(capsText);
  return { nodes: host.nodes.map((n) => ({ id: n.id, memoryKiB: n.memoryKiB!, hugepages: pools.find((p) => p.id === n.id)?.hugepages ?? [] })) };
};
const domain = (name: string, text = read(name)) => hostDomainFromText(text, { fileName: name, host });

describe('cross-domain findings (pure)', () => {
  const all = ['alpha.xml', 'bravo.xml', 'charlie.xml'].map((n) => domain(n));

  it('reports exactly the planted conflicts, each naming both domains and both elements', () => {
    const findings = crossDomainFindings(all, { memory: memory() });
    const summary = findings.map((f) => `${f.code} ${f.at.file}:${f.at.line} ${f.related.map((r) => `${r.file}:${r.line}`).join(' ')} ${f.cpus ?? f.nodes}`).sort();
    expect(summary).toEqual(
      [
        'CROSS_CPU_OVERCOMMIT alpha.xml:9 bravo.xml:9 4-5',
        'CROSS_DEDICATED_SHARED bravo.xml:9 alpha.xml:9 4',
        'CROSS_DEDICATED_SHARED bravo.xml:10 alpha.xml:10 5',
        'CROSS_IRQ_ON_DEDICATED bravo.xml:4 alpha.xml:7 2',
        'CROSS_NODE_MEMORY_OVERCOMMIT bravo.xml:16 alpha.xml:15 0',
        'CROSS_VCPU_ON_HOUSEKEEPING charlie.xml:4 alpha.xml:11 0',
        'CROSS_VCPU_ON_HOUSEKEEPING charlie.xml:4 alpha.xml:12 1',
      ].sort(),
    );
    for (const f of findings) {
      expect(new Set(f.domains).size, f.code).toBeGreaterThanOrEqual(2);
      expect(f.message).toContain(`'${f.domains[1]}'`);
    }
  });

  it('gives a domain alone nothing, and each domain with itself nothing', () => {
    for (const d of all) expect(crossDomainFindings([d], { memory: memory(), overcommitThreshold: 0.01 })).toEqual([]);
    // Two copies of a clean domain that pins nothing alone still share CPUs: only the overcommit info can appear.
    const c = domain('charlie.xml');
    expect(crossDomainFindings([c, domain('charlie.xml')]).map((f) => f.code)).toEqual(['CROSS_CPU_OVERCOMMIT']);
  });

  it('does not depend on the order of the domains (same codes and CPUs)', () => {
    const key = (fs: ReturnType<typeof crossDomainFindings>) => fs.map((f) => `${f.code}|${f.cpus ?? f.nodes}|${[...f.domains].sort().join(',')}`).sort();
    expect(key(crossDomainFindings([...all].reverse(), { memory: memory() }))).toEqual(key(crossDomainFindings(all, { memory: memory() })));
  });

  it('reports overcommit only above the threshold', () => {
    expect(crossDomainFindings(all, { overcommitThreshold: 2 }).filter((f) => f.code === 'CROSS_CPU_OVERCOMMIT')).toEqual([]);
    const low = crossDomainFindings(all, { overcommitThreshold: 0.5 }).filter((f) => f.code === 'CROSS_CPU_OVERCOMMIT');
    expect(low.map((f) => f.cpus)).toEqual(['4-5']);
  });

  it('counts hugepage-backed memory against the node pool of that page size', () => {
    const guest = (name: string, gib: number, size: string) => `<domain type='kvm'>
  <name>${name}</name>
  <memory unit='GiB'>${gib}</memory>
  <memoryBacking>
    <hugepages>
      <page size='${size}' unit='KiB'/>
    </hugepages>
  </memoryBacking>
  <vcpu placement='static'>1</vcpu>
  <numatune>
    <memory mode='strict' nodeset='1'/>
  </numatune>
</domain>
`;
    // Node 1 has four 1 GiB pages and no 2 MiB pages.
    const facts = memory();
    facts.nodes.find((n) => n.id === 1)!.hugepages = [{ sizeKiB: 2048, count: 0 }, { sizeKiB: 1048576, count: 4 }];
    const d1 = hostDomainFromText(guest('one', 3, '1048576'), { fileName: 'one.xml', host });
    const d2 = hostDomainFromText(guest('two', 2, '1048576'), { fileName: 'two.xml', host });
    expect(d1.memory).toEqual([expect.objectContaining({ kib: 3 * 1024 * 1024, hugepageKiB: 1048576 })]);
    const f = crossDomainFindings([d1, d2], { memory: facts });
    expect(f.map((x) => x.code)).toEqual(['CROSS_NODE_HUGEPAGES_OVERCOMMIT']);
    expect(f[0]!.message).toMatch(/5 GiB of 1 GiB hugepages .* 4 GiB/);
    // Fits when the pool is large enough; normal memory is not touched by hugepage-backed guests.
    facts.nodes.find((n) => n.id === 1)!.hugepages = [{ sizeKiB: 1048576, count: 5 }];
    expect(crossDomainFindings([d1, d2], { memory: facts })).toEqual([]);
  });

  it('reads hugepage pools per node from capabilities, leaving out the base page', () => {
    const text = capsText.replace("<pages unit='KiB' size='2048'>0</pages>", "<pages unit='KiB' size='2048'>512</pages>");
    const pools = hugepagesFromCapabilities(text);
    expect(pools[0]).toEqual({ id: 0, hugepages: [{ sizeKiB: 2048, count: 512 }, { sizeKiB: 1048576, count: 0 }] });
    expect(hugepagesFromCapabilities('<not-xml')).toEqual([]);
  });
});

describe('virt-pin check --host over several domains', () => {
  const rel = 'fixtures/host-view';
  it('adds the cross-domain findings to the human output, with both locations', () => {
    const r = runCli(['check', '--host', capsPath, rel]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/bravo\.xml:9:5: warning CROSS_DEDICATED_SHARED .*'alpha'/);
    expect(r.stdout).toContain('  also: fixtures/host-view/alpha.xml:9:5: vCPU 2 of');
    expect(r.stderr).toContain('3 files checked: 0 errors, 6 warnings, 1 info');
    expect(runCli(['check', '--strict', '--host', capsPath, rel]).status).toBe(1);
  });

  it('json output keeps to the schema and carries the related elements', () => {
    const r = runCli(['check', '--format', 'json', '--host', capsPath, rel]);
    const out = JSON.parse(r.stdout) as { file: string; diagnostics: { code: string; related?: { file: string; line: number }[] }[] }[];
    expect(validateDiagnostics(out), JSON.stringify(validateDiagnostics.errors)).toBe(true);
    const irq = out.flatMap((f) => f.diagnostics).find((d) => d.code === 'CROSS_IRQ_ON_DEDICATED')!;
    expect(irq.related).toEqual([expect.objectContaining({ file: join('fixtures/host-view', 'alpha.xml'), line: 7 })]);
  });

  it('sarif and github outputs carry them too', () => {
    const sarif = JSON.parse(runCli(['check', '--format', 'sarif', '--host', capsPath, rel]).stdout) as { runs: { results: { ruleId: string; relatedLocations?: unknown[] }[] }[] };
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    const Ajv4 = require('ajv-draft-04') as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } };
    const check = new Ajv4({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false }).compile(schema);
    expect(check(sarif), JSON.stringify(check.errors)).toBe(true);
    const shared = sarif.runs[0]!.results.filter((x) => x.ruleId === 'CROSS_DEDICATED_SHARED');
    expect(shared).toHaveLength(2);
    expect(shared[0]!.relatedLocations).toHaveLength(1);
    expect(runCli(['check', '--format', 'github', '--host', capsPath, rel]).stdout).toMatch(/::warning file=fixtures\/host-view\/charlie\.xml,line=4,.*CROSS_VCPU_ON_HOUSEKEEPING/);
  });

  it('one file, or no --host: no cross-domain findings', () => {
    expect(runCli(['check', '--host', capsPath, join(rel, 'alpha.xml')]).stdout).not.toContain('CROSS_');
    expect(runCli(['check', rel]).stdout).not.toContain('CROSS_');
  });

  it('refuses a bad --overcommit and --all without --connect', () => {
    expect(runCli(['check', '--overcommit', 'x', rel]).status).toBe(2);
    expect(runCli(['check', '--all']).stderr).toContain('--connect');
    const tmp = mkdtempSync(join(tmpdir(), 'vp-cross-'));
    writeFileSync(join(tmp, 'bad.xml'), '<domain');
    writeFileSync(join(tmp, 'a.xml'), read('alpha.xml'));
    // A file that does not parse keeps its XML error; the others are still compared.
    const r = runCli(['check', '--host', capsPath, tmp]);
    expect(r.stdout).toContain('XML_');
    expect(r.status).toBe(1);
  });
});

