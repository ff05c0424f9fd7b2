/**
 * Shared by the hardening tests: a domain wrapper, assertions that an input
 * is refused with a given code through the library and through the real
 * CLI (dist/cli.js), and a scratch directory for the CLI's input files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { checkDocument, isVirtPinError, parseDocument, type CheckOptions, type ParseOptions } from '../../src/index.js';
import { cliPath, runCli, type CliResult } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';

/** A minimal domain libvirt's QEMU driver accepts, with `inner` inserted after <vcpu>. */
export function domain(inner: string, vcpu = '4'): string {
  return `<domain type='kvm'>\n  <name>hostile</name>\n  <memory unit='KiB'>1048576</memory>\n  <vcpu placement='static'>${vcpu}</vcpu>\n${inner}\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n</domain>\n`;
}

/** The code a library call threw, failing the test when it threw nothing or something untyped. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isVirtPinError(e), `expected a VirtPinError, got ${String(e)}`).toBe(true);
    return (e as { code: string }).code;
  }
  throw new Error('expected a VirtPinError, nothing was thrown');
}

/** The parser refuses `text` with `code`, and checkDocument reports exactly that refusal. */
export function expectParserRefusal(text: string, code: string, options?: ParseOptions & CheckOptions): void {
  expect(thrownCode(() => parseDocument(text, options))).toBe(code);
  expect(checkDocument(text, options).map((d) => `${d.severity} ${d.code}`)).toEqual([`error ${code}`]);
}

/** `text` parses, and libvirt's rules refuse it with `code` (an error diagnostic). */
export function expectRuleRefusal(text: string, code: string): void {
  expect(() => parseDocument(text)).not.toThrow();
  const errors = checkDocument(text).filter((d) => d.severity === 'error');
  expect(errors.map((d) => d.code)).toContain(code);
}

/** What a stack trace or an unhandled failure of the CLI looks like. */
const CRASH = /internal error|\n\s+at \S.*:\d+:\d+\)?\n|Error: .*\n\s+at /;

export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'virt-pin-hardening-'));
  #n = 0;

  file(content: string | Uint8Array, name = `input-${++this.#n}.xml`): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The CLI refuses with `code` (`error CODE` in its output) and exit status 1, without a crash. */
export function expectCliRefusal(args: readonly string[], code: string): CliResult {
  const r = runCli(args);
  const out = r.stdout + r.stderr;
  expect(out).toMatch(new RegExp(`error:? ${code}\\b`));
  expect(out).not.toMatch(CRASH);
  expect(r.status, out.slice(0, 2000)).toBe(1);
  return r;
}

/** The CLI with `input` on standard input; the CLI may stop reading early (EPIPE for the writer is expected then). */
export function runCliWithStdin(args: readonly string[], input: Uint8Array): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: repoRoot, input, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function expectNoCrash(r: CliResult): void {
  expect(r.stdout + r.stderr).not.toMatch(CRASH);
}
