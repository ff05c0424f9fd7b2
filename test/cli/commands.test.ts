/** resolve, show and normalize driven as a real subprocess. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { validate as validateResolved } from '../../src/generated/resolved-model.validate.js';
import { validate as validateDiagnostics } from '../../src/generated/diagnostics.validate.js';
import { corpusDir, repoRoot } from '../support/corpus.js';
import { runCli } from '../support/cli.js';

const example = join(repoRoot, 'fixtures/examples/gaming-vfio.xml');
const hostRoot = `sysfs:${join(repoRoot, 'fixtures/hosts/vfio-desktop')}`;
const caps = join(repoRoot, 'fixtures/hosts/two-socket-smt.caps.xml');
const tmp = mkdtempSync(join(tmpdir(), 'virt-pin-cli-'));

describe('virt-pin resolve', () => {
  it('prints a table with the why of every thread', () => {
    const r = runCli(['resolve', example]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^vCPU 3 +10 .*vcpupin \/domain\/cputune\/vcpupin\[4\] line 22/m);
    expect(r.stdout).toMatch(/^emulator +0,8 /m);
    expect(r.stdout).toMatch(/^IOThread 1 +0,8 /m);
  });

  it('--json prints the contract (vcpus/emulator/iothreads with cpus and source), valid against its schema', () => {
    const r = runCli(['resolve', '--json', example]);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(validateResolved(json)).toBe(true);
    expect(json.vcpus.map((v: { cpus: string }) => v.cpus)).toEqual(['1', '9', '2', '10', '3', '11', '4', '12']);
    expect(json.vcpus[0]).toMatchObject({ id: 0, online: true, source: 'vcpupin' });
    expect(json.emulator).toMatchObject({ cpus: '0,8', source: 'emulatorpin' });
    expect(json.iothreads).toEqual([expect.objectContaining({ id: 1, cpus: '0,8', source: 'iothreadpin' })]);
  });

  it("keeps 'all' symbolic without host facts and makes it concrete with --host", () => {
    const xml = "<domain type='kvm'><name>a</name><vcpu>2</vcpu></domain>";
    const bare = JSON.parse(runCli(['resolve', '--json', '-'], { input: xml }).stdout);
    expect(bare.vcpus.map((v: { cpus: string; source: string }) => [v.cpus, v.source])).toEqual([['all', 'all'], ['all', 'all']]);
    const withCaps = JSON.parse(runCli(['resolve', '--json', '--host', caps, '-'], { input: xml }).stdout);
    expect(withCaps.vcpus[0].cpus).toBe('0-31');
  });

  it('--explain answers one thread in a sentence', () => {
    const xml = "<domain type='kvm'>\n  <name>a</name>\n  <vcpu cpuset='8-11'>4</vcpu>\n</domain>";
    const r = runCli(['resolve', '--explain', 'vcpu 3', '-'], { input: xml });
    expect(r.stdout.trim()).toBe("vCPU 3 → 8-11 from <vcpu cpuset='8-11'> at line 3, because vCPU 3 has no <vcpupin>.");
  });

  it('bad XML is file:line:col: error CODE on stderr, exit 1; usage errors exit 2', () => {
    const r = runCli(['resolve', '-'], { input: '<domain>\n  <vcpu>2</cpu>\n</domain>' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^<stdin>:2:\d+: error XML_MISMATCHED_TAG /);
    expect(runCli(['resolve']).status).toBe(2);
    expect(runCli(['resolve', '--bogus', example]).status).toBe(2);
    expect(runCli(['resolve', '--explain', 'vcpu 99', example]).stderr).toMatch(/RESOLVE_UNKNOWN_THREAD/);
  });
});

describe('virt-pin show', () => {
  it('prints the pin map and writes a well-formed SVG and an HTML page with every thread', () => {
    const svg = join(tmp, 'map.svg');
    const html = join(tmp, 'map.html');
    const r = runCli(['show', '--host', hostRoot, '--svg', svg, '--html', html, example]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/cpu 1: v0 +\| cpu 9: v1/);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    const picture = readFileSync(svg, 'utf8');
    expect(XMLValidator.validate(picture)).toBe(true);
    for (let v = 0; v < 8; v++) expect(picture).toContain(`>v${v}</text>`);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain('vCPU 7');
  });

  it('--color always colours, --host is required', () => {
    expect(runCli(['show', '--host', hostRoot, '--color', 'always', example]).stdout).toMatch(/\u001b\[32mv0/);
    expect(runCli(['show', example]).status).toBe(2);
  });
});

describe('virt-pin normalize', () => {
  const messy = "<domain type='kvm'>\n  <name>m</name>\n  <vcpu cpuset='3,2,1'>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='9' cpuset='1'/>\n  </cputune>\n</domain>\n";

  it('prints the document with libvirt-formatted affinity elements', () => {
    const r = runCli(['normalize', '-'], { input: messy });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("<domain type='kvm'>\n  <name>m</name>\n  <vcpu placement='static' cpuset='1-3'>2</vcpu>\n</domain>\n");
  });

  it('--diff shows what libvirt would change and exits 1; 0 when nothing', () => {
    const r = runCli(['normalize', '--diff', '-'], { input: messy });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("-  <vcpu cpuset='3,2,1'>2</vcpu>\n-  <cputune>\n-    <vcpupin vcpu='9' cpuset='1'/>\n-  </cputune>\n+  <vcpu placement='static' cpuset='1-3'>2</vcpu>\n");
    expect(runCli(['normalize', '--diff', example]).status).toBe(0);
  });

  it('-o writes the file; a domain libvirt refuses is an error, not output', () => {
    const out = join(tmp, 'n.xml');
    writeFileSync(join(tmp, 'in.xml'), messy);
    expect(runCli(['normalize', '-o', out, join(tmp, 'in.xml')]).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain("cpuset='1-3'");
    const bad = runCli(['normalize', '-'], { input: "<domain type='kvm'><vcpu cpuset='3-1'>2</vcpu></domain>" });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/NORMALIZE_REFUSED/);
  });
});

describe('virt-pin check over many files (worker threads)', () => {
  it('gives the same JSON with workers as with --jobs 1, valid against the diagnostics schema', () => {
    const dir = join(corpusDir(), 'libvirt', 'tests', 'genericxml2xmlindata');
    const pooled = runCli(['check', '--format', 'json', '--driver', 'generic', dir]);
    const serial = runCli(['check', '--format', 'json', '--driver', 'generic', '--jobs', '1', dir]);
    expect(pooled.stdout).toBe(serial.stdout);
    const json = JSON.parse(pooled.stdout);
    expect(json.length).toBeGreaterThan(50);
    expect(validateDiagnostics(json)).toBe(true);
    expect(pooled.status).toBe(1); // the directory holds files libvirt refuses
  });
});
