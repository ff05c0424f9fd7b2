/**
 * `check --format sarif` for code scanning (issue 18 item 2): valid against
 * the SARIF 2.1.0 schema and carrying what GitHub code scanning requires
 * and recommends (docs.github.com, "SARIF support for code scanning").
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RULES } from '../../src/validate/index.js';
import { runCli } from '../support/cli.js';

function sarifSchemaValidator() {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
  const Ajv4 = require('ajv-draft-04') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown[] | null } };
  return new Ajv4({ strict: false, allErrors: true, validateFormats: false, unicodeRegExp: false }).compile(schema);
}

const repo = mkdtempSync(join(tmpdir(), 'virt-pin-sarif-'));
afterAll(() => rmSync(repo, { recursive: true, force: true }));

const dom = (pins: string, before = ''): string =>
  `${before}<domain type='kvm'>\n  <name>vm</name>\n  <memory unit='KiB'>1048576</memory>\n  <vcpu placement='static'>4</vcpu>\n  <cputune>\n${pins}  </cputune>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n</domain>\n`;
const PINS = "    <vcpupin vcpu='0' cpuset='3-1'/>\n    <vcpupin vcpu='1' cpuset='2'/>\n    <vcpupin vcpu='2' cpuset='2'/>\n    <vcpupin vcpu='9' cpuset='1'/>\n";

mkdirSync(join(repo, 'domains', 'weird'), { recursive: true });
writeFileSync(join(repo, 'domains', 'weird', 'my vm#1.xml'), dom(PINS));
writeFileSync(join(repo, 'domains', 'ok.xml'), dom("    <vcpupin vcpu='0' cpuset='1'/>\n"));

interface Log {
  $schema: string;
  version: string;
  runs: {
    tool: { driver: { name: string; version: string; semanticVersion: string; rules: Record<string, unknown>[] } };
    originalUriBaseIds: Record<string, { uri: string }>;
    invocations: { exitCode: number; executionSuccessful: boolean; toolExecutionNotifications: unknown[] }[];
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region: { startLine: number; startColumn: number } } }[];
      partialFingerprints: Record<string, string>;
    }[];
  }[];
}

const sarif = (args: string[] = ['domains'], cwd = repo): Log => JSON.parse(runCli(['check', '--format', 'sarif', ...args], { cwd }).stdout) as Log;

describe('check --format sarif for code scanning', () => {
  it('is valid SARIF 2.1.0', () => {
    const validate = sarifSchemaValidator();
    const log = sarif();
    expect(validate(log), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(log.runs[0]!.results.length).toBeGreaterThanOrEqual(3);
  });

  it("has GitHub's required and recommended properties on the log, run, rules and results", () => {
    const log = sarif();
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe('virt-pin');
    expect(run.tool.driver.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(run.tool.driver.semanticVersion).toBe(run.tool.driver.version);
    for (const rule of run.tool.driver.rules) {
      expect(rule).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(/^[A-Z][A-Z0-9_]+$/),
          name: expect.stringMatching(/^[a-z][A-Za-z0-9]+$/),
          shortDescription: { text: expect.any(String) },
          fullDescription: { text: expect.any(String) },
          help: { text: expect.any(String), markdown: expect.any(String) },
          defaultConfiguration: { level: expect.stringMatching(/^(error|warning|note)$/) },
          properties: expect.objectContaining({ tags: expect.arrayContaining(['libvirt']), precision: expect.any(String), 'problem.severity': expect.stringMatching(/^(error|warning|recommendation)$/) }),
        }),
      );
      // The description is the rule's summary, not just its code; the help has the hint and an example finding.
      expect((rule.shortDescription as { text: string }).text).not.toBe(rule.id);
      expect((rule.help as { markdown: string }).markdown).toMatch(/\*\*Example finding:\*\*/);
    }
    const vcpupin = run.tool.driver.rules.find((r) => r.id === 'VCPUPIN_INVALID')!;
    expect((vcpupin.shortDescription as { text: string }).text.toLowerCase()).toBe(RULES.find((r) => r.code === 'VCPUPIN_INVALID')!.summary.toLowerCase());
    expect((vcpupin.help as { text: string }).text).toMatch(/How to fix: /);
    for (const res of run.results) {
      expect(run.tool.driver.rules[res.ruleIndex]!.id).toBe(res.ruleId);
      expect(res.message.text.length).toBeGreaterThan(0);
      expect(res.locations).toHaveLength(1);
      expect(res.locations[0]!.physicalLocation.region.startLine).toBeGreaterThan(0);
      expect(Object.keys(res.partialFingerprints)).toEqual(['primaryLocationLineHash']);
    }
    expect(run.invocations[0]).toEqual(expect.objectContaining({ exitCode: 1, executionSuccessful: true, toolExecutionNotifications: [] }));
  });

  it('artifact URIs are repository-relative, percent-encoded, with a base id that --base sets', () => {
    const run = sarif().runs[0]!;
    const uris = new Set(run.results.map((r) => JSON.stringify(r.locations[0]!.physicalLocation.artifactLocation)));
    expect([...uris]).toEqual([JSON.stringify({ uri: 'domains/weird/my%20vm%231.xml', uriBaseId: 'SRCROOT' })]);
    expect(run.originalUriBaseIds.SRCROOT!.uri).toBe(pathToFileURL(repo + '/').href);
    const based = sarif(['--base', join(repo, 'domains'), join(repo, 'domains')], '/').runs[0]!;
    expect(based.results[0]!.locations[0]!.physicalLocation.artifactLocation).toEqual({ uri: 'weird/my%20vm%231.xml', uriBaseId: 'SRCROOT' });
    expect(based.originalUriBaseIds.SRCROOT!.uri).toBe(pathToFileURL(join(repo, 'domains') + '/').href);
    // Outside the base: an absolute file URI, no base id.
    const outside = sarif(['--base', join(repo, 'domains', 'weird', 'x'), 'domains']).runs[0]!;
    expect(outside.results[0]!.locations[0]!.physicalLocation.artifactLocation).toEqual({ uri: pathToFileURL(join(repo, 'domains/weird/my vm#1.xml')).href });
  });

  it('fingerprints are stable across runs and across an unrelated edit that moves every line', () => {
    const first = sarif().runs[0]!.results;
    const again = sarif().runs[0]!.results;
    expect(again.map((r) => r.partialFingerprints)).toEqual(first.map((r) => r.partialFingerprints));
    expect(new Set(first.map((r) => r.partialFingerprints.primaryLocationLineHash)).size).toBe(first.length);
    const file = join(repo, 'domains', 'weird', 'my vm#1.xml');
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, dom(PINS, '<!-- reviewed 2026-01 -->\n<!-- owner: ops -->\n'));
      const edited = sarif().runs[0]!.results;
      expect(edited.map((r) => r.locations[0]!.physicalLocation.region.startLine)).toEqual(first.map((r) => r.locations[0]!.physicalLocation.region.startLine + 2));
      expect(edited.map((r) => r.partialFingerprints)).toEqual(first.map((r) => r.partialFingerprints));
    } finally {
      writeFileSync(file, original);
    }
  });

  it('fingerprints are the same whether the files were checked by one thread or by workers', () => {
    // 30 files: --jobs 2 starts a worker (src/cli/commands/check-pool.ts POOL_THRESHOLD). Each file's findings sit on
    // lines that differ only in their text, so a fingerprint made without the source line would differ.
    const many = join(repo, 'many');
    mkdirSync(many, { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(join(many, `vm${String(i).padStart(2, '0')}.xml`), dom(PINS));
    const run = (jobs: string): Log['runs'][number]['results'] => {
      const r = runCli(['check', '--format', 'sarif', '--jobs', jobs, 'many'], { cwd: repo });
      expect(r.status, r.stderr).toBe(1);
      return (JSON.parse(r.stdout) as Log).runs[0]!.results;
    };
    const one = run('1');
    const pooled = run('2');
    expect(one.length).toBeGreaterThanOrEqual(60);
    expect(pooled.map((r) => r.partialFingerprints)).toEqual(one.map((r) => r.partialFingerprints));
    // The gitlab report's fingerprints likewise.
    const gitlab = (jobs: string): string[] => (JSON.parse(runCli(['check', '--format', 'gitlab', '--jobs', jobs, 'many'], { cwd: repo }).stdout) as { fingerprint: string }[]).map((i) => i.fingerprint);
    expect(gitlab('2')).toEqual(gitlab('1'));
  });
});
