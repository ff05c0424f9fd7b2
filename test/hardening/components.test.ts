/**
 * test/support/components.ts as a developer and CI meet it: a nested vitest
 * run of a gated suite with a PATH that has no qemu-system-x86_64, outside CI
 * (skipped, one summary line with the install command) and with CI=true
 * (a failure naming the component).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findProgram, requireComponents } from '../support/components.js';
import { repoRoot } from '../support/corpus.js';

const work = mkdtempSync(join(tmpdir(), 'vp-components-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A PATH holding only node: every program-type component is missing. */
function bareBin(): string {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

function nestedRun(env: NodeJS.ProcessEnv): { status: number; out: string; report: { numPassedTests: number; numPendingTests: number; numFailedTests: number } } {
  const config = join(work, `vitest.${Math.random().toString(36).slice(2)}.config.mjs`);
  const report = `${config}.json`;
  writeFileSync(
    config,
    `export default { test: { root: ${JSON.stringify(repoRoot)}, include: ['test/support/components-fixture/*.suite.ts'], reporters: ['default', 'json', './test/support/skip-reporter.ts'], outputFile: { json: ${JSON.stringify(report)} } } };\n`,
  );
  const { CI: _ci, ...rest } = process.env;
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', '--config', config], {
    cwd: repoRoot,
    env: { ...rest, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status ?? -1, out: r.stdout + r.stderr, report: JSON.parse(readFileSync(report, 'utf8')) };
}

describe('system-component gating', () => {
  const PATH = bareBin();

  it('finds programs on PATH only where they are', () => {
    expect(findProgram('node', [])).toBeDefined();
    const saved = process.env.PATH;
    process.env.PATH = PATH;
    try {
      expect(findProgram('node')).toBe(join(PATH, 'node'));
      expect(findProgram('qemu-system-x86_64')).toBeUndefined();
    } finally {
      process.env.PATH = saved;
    }
    expect(requireComponents([])).toEqual({ available: true, missing: [], reason: '' });
  });

  it('outside CI: the suite is skipped and the run ends with one line naming QEMU and its install command', () => {
    const r = nestedRun({ PATH });
    expect(r.status, r.out).toBe(0);
    expect(r.report).toMatchObject({ numPassedTests: 1, numPendingTests: 2, numFailedTests: 0 });
    const lines = r.out.split('\n').filter((l) => l.includes('SKIPPED '));
    expect(lines).toEqual([
      '  SKIPPED test/support/components-fixture/needs-qemu.suite.ts > a suite that needs QEMU (2 tests): needs qemu-system-x86_64 — apt-get install -y --no-install-recommends qemu-system-x86',
    ]);
  });

  it('with CI=true: the suite fails, naming the missing component', () => {
    const r = nestedRun({ PATH, CI: 'true' });
    expect(r.status).toBe(1);
    expect(r.report).toMatchObject({ numPassedTests: 1, numPendingTests: 0, numFailedTests: 1 });
    expect(r.out).toContain('CI=true and this suite needs qemu-system-x86_64 [qemu]: apt-get install -y --no-install-recommends qemu-system-x86');
    expect(r.out).not.toContain('SKIPPED ');
  });
});
