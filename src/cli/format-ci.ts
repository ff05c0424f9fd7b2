/**
 * CI report formats beside SARIF: GitLab Code Quality (the CodeClimate
 * issue array `artifacts:reports:codequality` reads) and JUnit XML (one
 * testcase per file, one failure per error), which every CI system shows.
 */
import { relative, resolve, sep } from 'node:path';
import { Fingerprints } from './fingerprint.js';
import type { FileResult } from './format-diagnostics.js';
import { printable, printableLines } from './terminal-text.js';

/** A path as the repository sees it: relative to the base with '/', or absolute when outside it. */
export function repoPath(file: string, base: string): string {
  if (file === '<stdin>') return file;
  const rel = relative(base, resolve(file));
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) ? rel.split(sep).join('/') : resolve(file);
}

/** libvirt refuses an error: the domain cannot be defined, so GitLab's "critical". */
const gitlabSeverity = { error: 'critical', warning: 'minor', info: 'info' } as const;

export function formatGitlab(results: readonly FileResult[], base: string): string {
  const issues: unknown[] = [];
  for (const r of results) {
    const path = repoPath(r.file, base);
    const fingerprints = new Fingerprints(path, r.source);
    if (r.error) {
      issues.push({
        type: 'issue',
        check_name: r.error.code,
        description: r.error.message,
        categories: ['Bug Risk'],
        severity: 'blocker',
        fingerprint: fingerprints.of({ code: r.error.code, line: 1 }),
        location: { path, lines: { begin: 1 } },
      });
    }
    for (const d of r.diagnostics) {
      issues.push({
        type: 'issue',
        check_name: d.code,
        description: `${d.code}: ${d.message}${d.hint ? ` (hint: ${d.hint})` : ''}`,
        categories: [d.spec === 'lint' ? 'Performance' : 'Bug Risk'],
        severity: gitlabSeverity[d.severity],
        fingerprint: fingerprints.of(d),
        location: { path, lines: { begin: d.line } },
      });
    }
  }
  return JSON.stringify(issues, null, 2) + '\n';
}

/** Text for XML 1.0: characters it cannot carry at all shown as escapes, then the markup characters escaped. */
function xml(s: string, multiline = false): string {
  return (multiline ? printableLines(s) : printable(s))
    .replace(/[\ud800-\udfff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/**
 * JUnit XML: a testsuite of one testcase per file. Each error (each warning
 * too with --strict) is a <failure>; an unreadable file is an <error>; a
 * file skipped in directory mode is <skipped>; other findings go to the
 * testcase's system-out.
 */
export function formatJunit(results: readonly FileResult[], strict: boolean): string {
  const failing = (r: FileResult) => r.diagnostics.filter((d) => d.severity === 'error' || (strict && d.severity === 'warning'));
  const failures = results.reduce((n, r) => n + failing(r).length, 0);
  const errors = results.filter((r) => r.error).length;
  const skipped = results.filter((r) => r.skipped).length;
  const counts = `tests="${results.length}" failures="${failures}" errors="${errors}"`;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="virt-pin check" ${counts}>`, `  <testsuite name="virt-pin check" ${counts} skipped="${skipped}">`];
  for (const r of results) {
    const body: string[] = [];
    if (r.error) body.push(`      <error type="${xml(r.error.code)}" message="${xml(r.error.message)}"/>`);
    if (r.skipped) body.push(`      <skipped message="${xml(r.skipped)}"/>`);
    const failed = failing(r);
    for (const d of failed) {
      const text = `${r.file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ''}`;
      body.push(`      <failure type="${xml(d.code)}" message="${xml(`${d.code} at line ${d.line}: ${d.message}`)}">${xml(text, true)}</failure>`);
    }
    const others = r.diagnostics.filter((d) => !failed.includes(d));
    if (others.length) body.push(`      <system-out>${xml(others.map((d) => `${r.file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}`).join('\n'), true)}</system-out>`);
    const open = `    <testcase classname="virt-pin.check" name="${xml(r.file)}"`;
    out.push(body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`);
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}
