import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { corpusDir, repoRoot } from '../support/corpus.js';
import { runCli } from '../support/cli.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The SARIF 2.1.0 (rtm.5) JSON Schema as published by Microsoft; it is draft-04, hence ajv-draft-04. */
function sarifSchemaValidator() {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
  // A CommonJS package whose default export is the class itself: require() it, as its own docs do.
  const Ajv4 = require('ajv-draft-04') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown[] | null } };
  return new Ajv4({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false }).compile(schema);
}

const example = join(repoRoot, 'fixtures/examples/gaming-vfio.xml');

const badPin = `<domain type='kvm'>
  <name>bad</name>
  <vcpu placement='static'>2</vcpu>
  <cputune>
    <vcpupin vcpu='0' cpuset='3-1'/>
  </cputune>
</domain>
`;

describe('virt-pin check', () => {
  it('exits 0 and prints nothing on stdout for a clean domain', () => {
    const r = runCli(['check', example]);
    expect(r.stderr).toMatch(/1 file checked: 0 errors/);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('reports an error with file:line:col, the source line and a caret, and exits 1', () => {
    const r = runCli(['check', '-'], { input: badPin });
    expect(r.status).toBe(1);
    const first = r.stdout.split('\n')[0] ?? '';
    expect(first).toMatch(/^<stdin>:5:\d+: error [A-Z0-9_]+ /);
    expect(r.stdout).toContain("5 |     <vcpupin vcpu='0' cpuset='3-1'/>");
    expect(r.stdout).toMatch(/\n\s+\|\s+\^/);
  });

  it('--format json prints [{file, diagnostics}] with code, severity, message, line, column', () => {
    const r = runCli(['check', '--format', 'json', '-'], { input: badPin });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { file: string; diagnostics: { code: string; severity: string; message: string; line: number; column: number }[] }[];
    expect(out).toHaveLength(1);
    expect(out[0]!.file).toBe('<stdin>');
    const errors = out[0]!.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const d of out[0]!.diagnostics) {
      expect(typeof d.code).toBe('string');
      expect(typeof d.message).toBe('string');
      expect(d.line).toBeGreaterThan(0);
      expect(d.column).toBeGreaterThan(0);
    }
    expect(errors.some((d) => d.line === 5)).toBe(true);
  });

  it('malformed XML is one error diagnostic with an XML_ code and a location, not a crash', () => {
    const r = runCli(['check', '--format', 'json', '-'], { input: "<domain>\n  <vcpu>2</vcpu>\n" });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { diagnostics: { code: string; line: number }[] }[];
    expect(out[0]!.diagnostics[0]!.code).toMatch(/^XML_/);
  });

  it('invalid UTF-8 is reported, not decoded with replacement characters', () => {
    const bytes = Buffer.concat([Buffer.from("<domain type='kvm'><name>"), Buffer.from([0xff, 0xfe]), Buffer.from('</name></domain>')]);
    const r = runCli(['check', '--format', 'json', '-'], { input: bytes });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('XML_BAD_ENCODING');
  });

  it('--format sarif emits a SARIF 2.1.0 log with one result per diagnostic', () => {
    const r = runCli(['check', '--format', 'sarif', '-'], { input: badPin });
    expect(r.status).toBe(1);
    const log = JSON.parse(r.stdout) as { version: string; runs: { tool: { driver: { name: string; rules: { id: string }[] } }; results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.tool.driver.name).toBe('virt-pin');
    expect(log.runs[0]!.results.length).toBeGreaterThan(0);
    const ruleIds = new Set(log.runs[0]!.tool.driver.rules.map((x) => x.id));
    for (const res of log.runs[0]!.results) expect(ruleIds.has(res.ruleId)).toBe(true);
  });

  it("--format sarif validates against the official SARIF 2.1.0 schema (Microsoft's sarif-js-sdk copy)", () => {
    const validate = sarifSchemaValidator();
    for (const input of [badPin, readFileSync(example, 'utf8'), '<domain><vcpu>x</vcpu>']) {
      const r = runCli(['check', '--format', 'sarif', '-'], { input });
      const ok = validate(JSON.parse(r.stdout));
      expect(ok, JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    }
    // The validator is not vacuous: a log without its version, or a result with a level SARIF does not define, fails.
    expect(validate({ runs: [] })).toBe(false);
    const log = JSON.parse(runCli(['check', '--format', 'sarif', '-'], { input: badPin }).stdout) as { runs: { results: { level: string }[] }[] };
    log.runs[0]!.results[0]!.level = 'fatal';
    expect(validate(log)).toBe(false);
  });

  it('--format github emits ::error annotations', () => {
    const r = runCli(['check', '--format', 'github', '-'], { input: badPin });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^::error file=<stdin>,line=5,col=\d+,title=virt-pin [A-Z0-9_]+::/m);
  });

  it("leads with the error libvirt reports (its order, not the file's); JSON keeps document order and numbers the errors", () => {
    // The <memorytune> comes first in the file, but libvirt parses every <cachetune> before any <memorytune>.
    const twoErrors = [
      "<domain type='kvm'>",
      '  <name>two</name>',
      "  <vcpu placement='static'>4</vcpu>",
      '  <cputune>',
      "    <memorytune vcpus='2-3'><node id='0' bandwidth='120'/></memorytune>",
      "    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='3' unit='furlong'/></cachetune>",
      '  </cputune>',
      '</domain>',
      '',
    ].join('\n');
    const human = runCli(['check', '--libvirt', '9.0', '-'], { input: twoErrors });
    expect(human.status).toBe(1);
    const lines = human.stdout.split('\n').filter((l) => l.startsWith('<stdin>:'));
    expect(lines).toEqual([expect.stringMatching(/^<stdin>:6:\d+: error RESCTRL_INVALID .*unknown suffix 'furlong'/), expect.stringMatching(/^<stdin>:5:\d+: error MEMORYTUNE_NODE_INVALID /)]);
    const json = runCli(['check', '--libvirt', '9.0', '--format', 'json', '-'], { input: twoErrors });
    const [entry] = JSON.parse(json.stdout) as { diagnostics: { code: string; line: number; libvirtOrder?: number }[] }[];
    expect(entry!.diagnostics.map((d) => [d.line, d.code, d.libvirtOrder])).toEqual([
      [5, 'MEMORYTUNE_NODE_INVALID', 2],
      [6, 'RESCTRL_INVALID', 1],
    ]);
  });

  it('usage errors exit 2 with one line on stderr that points at --help', () => {
    const r = runCli(['check', '--format', 'yaml', example]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("virt-pin check: unknown --format 'yaml' (see 'virt-pin check --help')\n");
    expect(r.stdout).toBe('');
  });

  it('a missing file is an error entry of the batch, with exit 2', () => {
    const r = runCli(['check', '/nonexistent/dom.xml']);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('/nonexistent/dom.xml: error INPUT_UNREADABLE cannot read /nonexistent/dom.xml: ENOENT');
  });

  it('checks every *.xml in a directory', () => {
    const r = runCli(['check', '--format', 'json', join(repoRoot, 'fixtures/examples')]);
    const out = JSON.parse(r.stdout) as { file: string }[];
    expect(out.length).toBeGreaterThanOrEqual(1);
    expect(out.every((x) => x.file.endsWith('.xml'))).toBe(true);
  });

  it('the worker pool (batches of files) reports exactly what one thread does, in input order, over the corpus', () => {
    const dir = join(corpusDir(), 'libvirt');
    const pooled = runCli(['check', '--format', 'json', '--jobs', '2', dir]);
    const single = runCli(['check', '--format', 'json', '--jobs', '1', dir]);
    expect(pooled.status).toBe(single.status);
    const files = JSON.parse(pooled.stdout) as { file: string }[];
    expect(files.length).toBeGreaterThan(2700);
    expect(pooled.stdout).toBe(single.stdout);
  }, 60_000);

  it('--help prints usage and exits 0; --version prints the version', () => {
    const h = runCli(['check', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('exit status:\n  0  no findings that fail the check\n');
    const v = runCli(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^virt-pin \d+\.\d+\.\d+\n$/);
  });
});
