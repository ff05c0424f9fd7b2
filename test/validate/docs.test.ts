/** docs/validation.md's rule table and libvirt-order table are generated from RULES and LIBVIRT_ORDER; this test keeps them true (UPDATE_DOCS=1 rewrites them). */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIBVIRT_ORDER, RULES } from '../../src/validate/index.js';
import { repoRoot } from '../support/corpus.js';

const BEGIN = '<!-- rules:begin (generated from RULES by test/validate/docs.test.ts) -->';
const END = '<!-- rules:end -->';

function table(): string {
  const rows = RULES.map((r) => `| \`${r.code}\` | ${r.severity} | ${r.spec} | ${r.driver ?? 'any'}${r.needsHost ? ', needs --host' : ''} | ${r.summary.replace(/\|/g, '\\|')} |`);
  return ['| code | severity | spec | driver | what |', '|---|---|---|---|---|', ...rows].join('\n');
}

const ORDER_BEGIN = '<!-- order:begin (generated from LIBVIRT_ORDER by test/validate/docs.test.ts) -->';
const ORDER_END = '<!-- order:end -->';

function orderTable(): string {
  const rows = LIBVIRT_ORDER.map((s: { id: string; where: string; codes: readonly string[]; named?: readonly string[]; walk?: string }, i) => {
    const codes = [...s.codes.map((c) => `\`${c}\``), ...(s.named ?? []).map((c) => `\`${c}\` (when named)`)].join(', ');
    const where = s.where.replace(/\|/g, '\\|').replace(/<[^>]+>/g, (tag) => `\`${tag}\``);
    return `| ${i + 1} | ${s.id}${s.walk ? ' (per element)' : ''} | ${where} | ${codes} |`;
  });
  return ['| # | stage | libvirt | codes, in checking order |', '|---|---|---|---|', ...rows].join('\n');
}

describe('docs/validation.md', () => {
  it("lists libvirt's order exactly as LIBVIRT_ORDER defines it", () => {
    const path = join(repoRoot, 'docs', 'validation.md');
    const doc = readFileSync(path, 'utf8');
    const start = doc.indexOf(ORDER_BEGIN);
    const end = doc.indexOf(ORDER_END);
    expect(start, 'markers missing').toBeGreaterThan(-1);
    const want = `${doc.slice(0, start + ORDER_BEGIN.length)}\n${orderTable()}\n${doc.slice(end)}`;
    if (process.env.UPDATE_DOCS) writeFileSync(path, want);
    expect(doc).toBe(want);
  });

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
