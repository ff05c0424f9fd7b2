/**
 * docs/errors.md stays true: every error or diagnostic code that appears in
 * src/ as a string literal is documented there, or, for validation rule
 * codes, in docs/validation.md. A code built from a prefix (`${codePrefix}_XML`)
 * counts as documented when prefix + suffix is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/corpus.js';

/** UPPER_SNAKE literals in src/ that are not codes, and why. */
const NOT_CODES: Record<string, string> = {
  VIR_DOMAIN_CPUMASK_LEN: "libvirt's C constant, named in a comment",
  MODULE_NOT_FOUND: "Node's code for a missing module (the optional koffi), compared, never raised",
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'generated') out.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Code-shaped literals ('XML_TOO_LARGE', `NEGATIVE_WRAPPED`) and template suffixes (`${prefix}_XML`) per file. */
function codesInSource(): { codes: Map<string, string>; suffixes: Set<string> } {
  const codes = new Map<string, string>();
  const suffixes = new Set<string>();
  for (const file of sourceFiles(join(repoRoot, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g)) {
      if (!codes.has(m[1]!)) codes.set(m[1]!, relative(repoRoot, file));
    }
    for (const m of text.matchAll(/`\$\{\w+\}(_[A-Z][A-Z0-9_]*)`/g)) suffixes.add(m[1]!);
  }
  return { codes, suffixes };
}

const docs = (name: string): string => readFileSync(join(repoRoot, 'docs', name), 'utf8');

describe('docs/errors.md', () => {
  const { codes, suffixes } = codesInSource();
  const errors = docs('errors.md');
  const documented = `${errors}\n${docs('validation.md')}`;
  const isDocumented = (code: string): boolean => new RegExp(`\`${code}\``).test(documented);

  it('finds the codes it guards (the scan itself works)', () => {
    for (const code of ['XML_DOCTYPE', 'CPUSET_SYNTAX', 'NORMALIZE_REFUSED', 'APPLY_PATH_ESCAPE', 'HOST_CAPS', 'VCPUPIN_INVALID']) expect(codes.has(code), code).toBe(true);
    expect(suffixes).toContain('_XML');
  });

  it('documents every code used in src/ (here or, for validation rules, in docs/validation.md)', () => {
    const missing: string[] = [];
    for (const [code, file] of codes) {
      if (code in NOT_CODES || isDocumented(code)) continue;
      // A prefix handed to a template such as `${codePrefix}_XML`: the composed codes must be documented.
      if ([...suffixes].some((suffix) => isDocumented(`${code}${suffix}`))) continue;
      missing.push(`${code} (${file})`);
    }
    expect(missing).toEqual([]);
  });

  it('links the validation catalogue rather than repeating it', () => {
    expect(errors).toContain('](validation.md)');
    const ruleCodes = [...docs('validation.md').matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (error|warning|info) \|/gm)].map((m) => m[1]!);
    expect(ruleCodes.length).toBeGreaterThan(20);
    const repeated = ruleCodes.filter((code) => new RegExp(`^\\| \`${code}\``, 'm').test(errors));
    expect(repeated).toEqual([]);
  });
});
