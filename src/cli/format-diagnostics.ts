/**
 * Renderers for `check` results: human (file:line:col + source line and
 * caret), JSON and GitHub workflow annotations (SARIF: format-sarif.ts).
 */
import { firstError, type Diagnostic } from '../validate/index.js';
import type { InputPathError } from './io.js';
import { printable } from './terminal-text.js';

export interface FileResult {
  file: string;
  diagnostics: Diagnostic[];
  /** Source text, used for the caret excerpt in human output. */
  source?: string;
  /** Directory mode only: the file is XML but not a domain, so it was not checked (why). */
  skipped?: string;
  /** The file could not be read, so nothing was checked. */
  error?: InputPathError;
}

/** Findings about the whole file, which have no position of their own (line 1, column 1 only to fit the schema). */
const WHOLE_FILE = new Set(['XML_TOO_LARGE', 'XML_BAD_ENCODING']);

export function formatHuman(results: readonly FileResult[], color: boolean): string {
  const paint = (code: string, s: string): string => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const sevColor = { error: '31;1', warning: '33;1', info: '36' } as const;
  const out: string[] = [];
  for (const r of results) {
    if (r.error) out.push(`${paint('1', printable(r.file))}: ${paint(sevColor.error, 'error')} ${paint('2', r.error.code)} ${printable(r.error.message)}`);
    const lines = r.source?.split(/\r?\n/);
    for (const d of leadWithLibvirtsError(r.diagnostics)) {
      const at = WHOLE_FILE.has(d.code) ? '' : `:${d.line}:${d.column}`;
      out.push(
        `${paint('1', `${printable(r.file)}${at}`)}: ${paint(sevColor[d.severity], d.severity)} ${paint('2', d.code)} ${printable(d.message)}`,
      );
      const src = lines?.[d.line - 1];
      if (src !== undefined && d.line > 0) {
        const { text, caret } = sourceWindow(src.replace(/\t/g, ' '), d.column - 1);
        out.push(`  ${d.line} | ${text}`);
        out.push(`  ${' '.repeat(String(d.line).length)} | ${' '.repeat(caret)}${paint('32;1', '^')}`);
      }
      for (const r of d.related ?? []) out.push(`  also: ${paint('1', printable(`${r.file}:${r.line}:${r.column}`))}: ${printable(r.message)}`);
      if (d.hint) out.push(`  hint: ${printable(d.hint)}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/**
 * The error libvirt would report (it stops at its first, docs/validation.md)
 * first, then everything else in document order: users fix what libvirt
 * shows them first. Machine formats keep document order.
 */
export function leadWithLibvirtsError(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const first = firstError(diagnostics);
  return first ? [first, ...diagnostics.filter((d) => d !== first)] : [...diagnostics];
}

/**
 * At most SOURCE_WIDTH characters of a source line around the column: a
 * one-line 4 MB document must not print itself once per diagnostic.
 */
const SOURCE_WIDTH = 120;
function sourceWindow(line: string, column: number): { text: string; caret: number } {
  const col = Math.min(Math.max(0, column), line.length);
  const start = line.length <= SOURCE_WIDTH ? 0 : Math.max(0, Math.min(col - 40, line.length - SOURCE_WIDTH));
  const end = Math.min(line.length, start + SOURCE_WIDTH);
  // Escapes are wider than the characters they stand for: the caret sits after the escaped text before the column.
  const before = `${start > 0 ? '…' : ''}${printable(line.slice(start, col))}`;
  return { text: `${before}${printable(line.slice(col, end))}${end < line.length ? '…' : ''}`, caret: before.length };
}

/** One info line per file skipped in directory mode (stderr, with the summary). */
export function formatSkipped(results: readonly FileResult[]): string {
  return results
    .filter((r) => r.skipped)
    .map((r) => `${printable(r.file)}: info: skipped, ${printable(r.skipped!)} (--all-xml checks it)\n`)
    .join('');
}

export function summaryLine(results: readonly FileResult[]): string {
  let errors = 0;
  let warnings = 0;
  let infos = 0;
  for (const r of results)
    for (const d of r.diagnostics) {
      if (d.severity === 'error') errors++;
      else if (d.severity === 'warning') warnings++;
      else infos++;
    }
  const files = results.filter((r) => !r.skipped && !r.error).length;
  const skipped = results.filter((r) => r.skipped).length;
  const unreadable = results.filter((r) => r.error).length;
  const extra = `${skipped ? `, ${skipped} skipped` : ''}${unreadable ? `, ${unreadable} unreadable` : ''}`;
  return `${plural(files, 'file')} checked${extra}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${infos} info\n`;
}

/** `1 file`, `2 files`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function formatJson(results: readonly FileResult[]): string {
  const entries = results.map((r) => ({ file: r.file, diagnostics: r.diagnostics, ...(r.skipped ? { skipped: r.skipped } : {}), ...(r.error ? { error: r.error } : {}) }));
  return JSON.stringify(entries, null, 2) + '\n';
}

/** GitHub Actions workflow commands; values escaped as the runner expects. */
export function formatGithub(results: readonly FileResult[]): string {
  const esc = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const escProp = (s: string): string => esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const level = { error: 'error', warning: 'warning', info: 'notice' } as const;
  const out: string[] = [];
  for (const r of results) {
    if (r.error) out.push(`::error file=${escProp(r.file)},title=${escProp(`virt-pin ${r.error.code}`)}::${esc(r.error.message)}`);
    // Skipped files are not findings: a debug line (shown with step debug logging), not an annotation.
    if (r.skipped) out.push(`::debug::${esc(`${r.file}: skipped, ${r.skipped}`)}`);
    for (const d of r.diagnostics)
      out.push(
        `::${level[d.severity]} file=${escProp(r.file)},line=${d.line},col=${d.column},title=${escProp(`virt-pin ${d.code}`)}::${esc(d.message + (d.hint ? ` (${d.hint})` : ''))}`,
      );
  }
  return out.length ? out.join('\n') + '\n' : '';
}
