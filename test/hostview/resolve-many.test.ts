import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { validate as validateResolved } from '../../src/generated/resolved-model.validate.js';
import { runCli } from '../support/cli.js';

const caps = 'fixtures/hosts/two-socket-smt.caps.xml';
const dir = 'fixtures/host-view';

describe('virt-pin resolve over several domains', () => {
  it('prints one table per domain, headed by its name and file', () => {
    const r = runCli(['resolve', '--host', caps, dir]);
    expect(r.status, r.stderr).toBe(0);
    expect([...r.stdout.matchAll(/^== (\S+) \((\S+)\) ==$/gm)].map((m) => `${m[1]} ${m[2]}`)).toEqual(['alpha fixtures/host-view/alpha.xml', 'bravo fixtures/host-view/bravo.xml', 'charlie fixtures/host-view/charlie.xml']);
    // Each table is the single-file table.
    const one = runCli(['resolve', '--host', caps, join(dir, 'bravo.xml')]).stdout;
    expect(r.stdout).toContain(one);
  });

  it('--json gives an array of models, each valid against the resolved-model schema; --explain one line per domain', () => {
    const models = JSON.parse(runCli(['resolve', '--host', caps, '--json', join(dir, 'alpha.xml'), join(dir, 'charlie.xml')]).stdout) as unknown[];
    expect(models).toHaveLength(2);
    for (const m of models) expect(validateResolved(m), JSON.stringify(validateResolved.errors)).toBe(true);
    const lines = runCli(['resolve', '--host', caps, '--explain', 'vcpu 0', dir]).stdout.trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual(['alpha', 'bravo', 'charlie']);
  });

  it('--all without --connect is a usage error', () => {
    expect(runCli(['resolve', '--all']).status).toBe(2);
  });
});
