/** docs/validation.md's rule table is generated from RULES; this test keeps it true (UPDATE_DOCS=1 rewrites it). */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../../src/validate/index.js';
import { repoRoot } from '../support/corpus.js';

const BEGIN = '<!-- rules:begin (generated from RULES by test/validate/docs.test.ts) -->';
const END = '<!-- rules:end -->';

function table(): string {
  const rows = RULES.map((r) => `| \`${r.code}\` | ${r.severity} | ${r.spec} | ${r.driver ?? 'any'}${r.needsHost ? ', needs --host' : ''} | ${r.summary.replace(/\|/g, '\\|')} |`);
  return ['| code | severity | spec | driver | what |', '|---|---|---|---|---|', ...rows].join('\n');
}

describe('docs/validation.md', () => {
  it('lists every rule exactly as RULES defines it', () => {
    const path = join(repoRoot, 'docs', 'validation.md');
    const doc = readFileSync(path, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, 'markers missing').toBeGreaterThan(-1);
    const want = `${doc.slice(0, start + BEGIN.length)}\n${table()}\n${doc.slice(end)}`;
    if (process.env.UPDATE_DOCS) writeFileSync(path, want);
    expect(doc).toBe(want);
  });
});
