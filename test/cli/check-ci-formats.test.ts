/**
 * `check --format gitlab` (GitLab Code Quality) and `--format junit`
 * (validated against a vendored JUnit XSD), and the CI snippets that use
 * them (issue 18 item 3).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';

const repo = mkdtempSync(join(tmpdir(), 'virt-pin-ci-'));
afterAll(() => rmSync(repo, { recursive: true, force: true }));

const dom = (pins: string, before = ''): string =>
  `${before}<domain type='kvm'>\n  <name>vm</name>\n  <memory unit='KiB'>1048576</memory>\n  <vcpu placement='static'>4</vcpu>\n  <cputune>\n${pins}  </cputune>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n</domain>\n`;
const PINS = "    <vcpupin vcpu='0' cpuset='3-1'/>\n    <vcpupin vcpu='1' cpuset='2'/>\n    <vcpupin vcpu='2' cpuset='2'/>\n    <vcpupin vcpu='9' cpuset='1'/>\n";
mkdirSync(join(repo, 'domains', 'sub'), { recursive: true });
writeFileSync(join(repo, 'domains', 'sub', 'bad vm.xml'), dom(PINS));
writeFileSync(join(repo, 'domains', 'ok.xml'), dom("    <vcpupin vcpu='0' cpuset='1'/>\n"));
writeFileSync(join(repo, 'domains', 'not-xml.xml'), 'this is not XML');

interface Issue {
  description: string;
  check_name: string;
  fingerprint: string;
  severity: string;
  location: { path: string; lines: { begin: number } };
}
const gitlab = (): { status: number; issues: Issue[] } => {
  const r = runCli(['check', '--format', 'gitlab', 'domains', 'domains/missing.xml'], { cwd: repo });
  return { status: r.status, issues: JSON.parse(r.stdout) as Issue[] };
};

describe('check --format gitlab', () => {
  it('is the Code Quality issue array: description, check_name, fingerprint, severity, location.path and lines.begin', () => {
    const { status, issues } = gitlab();
    expect(status).toBe(2); // domains/missing.xml cannot be read; it is still an issue, and the rest is reported
    expect(issues.length).toBeGreaterThanOrEqual(5);
    for (const i of issues) {
      expect(i.description.length).toBeGreaterThan(0);
      expect(i.check_name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(i.fingerprint).toMatch(/^[0-9a-f]{32}:\d+$/);
      expect(['info', 'minor', 'major', 'critical', 'blocker']).toContain(i.severity);
      expect(i.location.lines.begin).toBeGreaterThan(0);
      expect(i.location.path).not.toMatch(/^\//);
    }
    expect(new Set(issues.map((i) => i.fingerprint)).size).toBe(issues.length);
    expect(issues.find((i) => i.check_name === 'VCPUPIN_INVALID')).toEqual(expect.objectContaining({ severity: 'critical', location: { path: 'domains/sub/bad vm.xml', lines: { begin: 6 } } }));
    expect(issues.find((i) => i.check_name === 'INPUT_UNREADABLE')!.location.path).toBe('domains/missing.xml');
    expect(issues.some((i) => i.location.path === 'domains/not-xml.xml' && i.check_name.startsWith('XML_'))).toBe(true);
  });

  it('fingerprints are the same across runs and after an unrelated edit that moves the findings', () => {
    const first = gitlab().issues;
    expect(gitlab().issues).toEqual(first);
    const file = join(repo, 'domains', 'sub', 'bad vm.xml');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, dom(PINS, '<!-- moved down by three lines -->\n\n\n'));
      const edited = gitlab().issues;
      const mine = (list: Issue[]) => list.filter((i) => i.location.path.endsWith('bad vm.xml'));
      expect(mine(edited).map((i) => i.location.lines.begin)).toEqual(mine(first).map((i) => i.location.lines.begin + 3));
      expect(edited.map((i) => i.fingerprint)).toEqual(first.map((i) => i.fingerprint));
    } finally {
      writeFileSync(file, original);
    }
  });
});

describe('check --format junit', () => {
  const xsd = join(repoRoot, 'fixtures', 'junit', 'junit-10.xsd');
  const xmllint = (xml: string): { status: number | null; stderr: string } => {
    const r = spawnSync('xmllint', ['--noout', '--schema', xsd, '-'], { input: xml, encoding: 'utf8' });
    if (r.error) throw new Error(`xmllint is needed (apt-get install libxml2-utils): ${r.error.message}`);
    return r;
  };

  it('validates against the vendored JUnit XSD: one testcase per file, a failure per error, an error per unreadable file', () => {
    const r = runCli(['check', '--format', 'junit', 'domains', 'domains/missing.xml'], { cwd: repo });
    expect(r.status).toBe(2);
    const v = xmllint(r.stdout);
    expect(v.stderr).toContain('- validates');
    expect(v.status).toBe(0);
    expect(r.stdout.match(/<testcase /g)).toHaveLength(4);
    expect(r.stdout).toMatch(/<testsuite name="virt-pin check" tests="4" failures="(\d+)" errors="1" skipped="0">/);
    const failures = Number(/failures="(\d+)"/.exec(r.stdout)![1]);
    expect(r.stdout.match(/<failure /g)).toHaveLength(failures);
    const json = JSON.parse(runCli(['check', '--format', 'json', 'domains'], { cwd: repo }).stdout) as { diagnostics: { severity: string }[] }[];
    expect(failures).toBe(json.flatMap((f) => f.diagnostics).filter((d) => d.severity === 'error').length);
    expect(r.stdout).toContain('<testcase classname="virt-pin.check" name="domains/ok.xml"/>');
    expect(r.stdout).toContain('<error type="INPUT_UNREADABLE" message="cannot read domains/missing.xml: ENOENT"/>');
  });

  it('the XSD is not vacuous: a testcase without a name fails it', () => {
    const r = runCli(['check', '--format', 'junit', 'domains/ok.xml'], { cwd: repo });
    expect(xmllint(r.stdout.replace(' name="domains/ok.xml"', '')).status).not.toBe(0);
  });
});

describe('CI snippets', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

  it('README shows GitHub Actions (annotations, SARIF upload that runs when check fails) and GitLab (Code Quality, when: always)', () => {
    expect(readme).toContain('npx virt-pin check --format github');
    expect(readme).toMatch(/upload-sarif@v\d[\s\S]*?if: always\(\)/);
    expect(readme).toContain('check --format gitlab domains/ > gl-code-quality.json');
    expect(readme).toMatch(/artifacts:\n\s+when: always\n\s+reports:\n\s+codequality: gl-code-quality.json/);
  });

  it('.pre-commit-hooks.yaml declares virt-pin-check running `virt-pin check` on XML files, and that entry works on named files', () => {
    const hooks = readFileSync(join(repoRoot, '.pre-commit-hooks.yaml'), 'utf8');
    expect(hooks).toMatch(/^- id: virt-pin-check$/m);
    expect(hooks).toMatch(/^ {2}entry: virt-pin check$/m);
    expect(hooks).toMatch(/^ {2}language: node$/m);
    expect(hooks).toMatch(/^ {2}files: \\\.xml\$$/m);
    // pre-commit appends the staged file names to the entry.
    expect(runCli(['check', 'domains/ok.xml'], { cwd: repo }).status).toBe(0);
    expect(runCli(['check', 'domains/ok.xml', 'domains/sub/bad vm.xml'], { cwd: repo }).status).toBe(1);
  });
});
