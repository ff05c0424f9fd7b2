/**
 * The parser's limits (maxBytes, maxDepth, maxElements): their defaults as
 * docs/security.md states them, the boundaries, the library options
 * (parseDocument and checkDocument), the CLI options of `virt-pin check`,
 * and that each is enforced where the offending part starts, before the
 * rest of the input is read or built.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDocument, DEFAULT_LIMITS, MAX_CPUSET_ID, parseDocument } from '../../src/index.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';
import { domain, expectCliRefusal, expectNoCrash, runCliWithStdin, Scratch, thrownCode } from './support.js';

const scratch = new Scratch();
afterAll(() => scratch.remove());

/** A domain padded with a comment to exactly `bytes` bytes of UTF-8. */
function domainOfSize(bytes: number): string {
  const bare = domain('  <!---->');
  const text = bare.replace('<!---->', `<!--${'x'.repeat(bytes - Buffer.byteLength(bare))}-->`);
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}
const nested = (depth: number): string => `<domain>${'<a>'.repeat(depth - 1)}${'</a>'.repeat(depth - 1)}</domain>`;
const withElements = (count: number): string => `<domain>${'<a/>'.repeat(count - 1)}</domain>`;

describe('defaults', () => {
  it('are 4 MiB, depth 128, 1,000,000 elements and CPU ids up to 16383, as docs/security.md says', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxBytes: 4 * 1024 * 1024, maxDepth: 128, maxElements: 1_000_000 });
    expect(MAX_CPUSET_ID).toBe(16383);
    const doc = readFileSync(join(repoRoot, 'docs', 'security.md'), 'utf8');
    for (const row of ['| `maxBytes` | `--max-bytes N` | 4 MiB (4194304)', '| `maxDepth` | `--max-depth N` | 128', '| `maxElements` | `--max-elements N` | 1,000,000', '| CPU, node and vCPU ids | — | 0..16383']) {
      expect(doc).toContain(row);
    }
  });
});

describe('library options', () => {
  it('maxBytes counts UTF-8 bytes: at the limit accepted, one byte over refused at offset 0', () => {
    const limit = 10_000;
    expect(() => parseDocument(domainOfSize(limit), { maxBytes: limit })).not.toThrow();
    expect(thrownCode(() => parseDocument(domainOfSize(limit + 1), { maxBytes: limit }))).toBe('XML_TOO_LARGE');
    // 'é' is two bytes: the document is 13 characters and 19 bytes.
    expect(thrownCode(() => parseDocument('<a>éééééé</a>', { maxBytes: 18 }))).toBe('XML_TOO_LARGE');
    expect(() => parseDocument('<a>éééééé</a>', { maxBytes: 19 })).not.toThrow();
  });

  it('maxDepth: depth N accepted, N+1 refused at the start tag that goes too deep', () => {
    expect(() => parseDocument(nested(DEFAULT_LIMITS.maxDepth))).not.toThrow();
    let error: unknown;
    try {
      parseDocument(nested(DEFAULT_LIMITS.maxDepth + 1));
    } catch (e) {
      error = e;
    }
    expect((error as { code: string }).code).toBe('XML_TOO_DEEP');
    // The refusal points at the 129th start tag: nothing after it was scanned.
    expect((error as { location: { offset: number } }).location.offset).toBe('<domain>'.length + 3 * (DEFAULT_LIMITS.maxDepth - 1));
    expect(() => parseDocument(nested(5), { maxDepth: 5 })).not.toThrow();
    expect(thrownCode(() => parseDocument(nested(6), { maxDepth: 5 }))).toBe('XML_TOO_DEEP');
  });

  it('maxElements: N accepted, N+1 refused at the element that is one too many', () => {
    expect(() => parseDocument(withElements(10), { maxElements: 10 })).not.toThrow();
    let error: unknown;
    try {
      parseDocument(withElements(11), { maxElements: 10 });
    } catch (e) {
      error = e;
    }
    expect((error as { code: string }).code).toBe('XML_TOO_MANY_ELEMENTS');
    expect((error as { location: { offset: number } }).location.offset).toBe('<domain>'.length + 4 * 9);
  });

  it('Infinity lifts a limit; NaN, negative and fractional limits are XML_BAD_LIMIT, never a silently disabled check', () => {
    expect(() => parseDocument(nested(200), { maxDepth: Infinity })).not.toThrow();
    for (const bad of [Number.NaN, -1, 1.5, 2 ** 60]) {
      expect(thrownCode(() => parseDocument('<a/>', { maxBytes: bad }))).toBe('XML_BAD_LIMIT');
      expect(thrownCode(() => parseDocument('<a/>', { maxDepth: bad }))).toBe('XML_BAD_LIMIT');
      expect(thrownCode(() => parseDocument('<a/>', { maxElements: bad }))).toBe('XML_BAD_LIMIT');
    }
  });

  it('checkDocument takes the same limits', () => {
    const big = domainOfSize(5 * 1024 * 1024);
    expect(checkDocument(big).map((d) => d.code)).toEqual(['XML_TOO_LARGE']);
    expect(checkDocument(big, { maxBytes: 8 * 1024 * 1024 }).filter((d) => d.severity === 'error')).toEqual([]);
    expect(checkDocument(domain(''), { maxDepth: 2 }).map((d) => d.code)).toEqual(['XML_TOO_DEEP']);
    expect(checkDocument(domain(''), { maxElements: 3 }).map((d) => d.code)).toEqual(['XML_TOO_MANY_ELEMENTS']);
  });
});

describe('virt-pin check --max-bytes / --max-depth / --max-elements', () => {
  it('--max-bytes: a file of exactly N bytes is read, N+1 is refused from its size, unread', () => {
    const exact = scratch.file(domainOfSize(2048));
    expect(runCli(['check', '--max-bytes', '2048', exact]).status).toBe(0);
    const over = scratch.file(domainOfSize(2049));
    const r = expectCliRefusal(['check', '--max-bytes', '2K', over], 'XML_TOO_LARGE');
    expect(r.stdout).toContain('is larger than the 2048-byte limit (2049 bytes); it was not read');
  });

  it('--max-bytes raises the limit above the default, with K/M/G suffixes', () => {
    const file = scratch.file(domainOfSize(5 * 1024 * 1024));
    expectCliRefusal(['check', file], 'XML_TOO_LARGE');
    const r = runCli(['check', '--max-bytes', '6M', file]);
    expectNoCrash(r);
    expect(r.status).toBe(0);
  });

  it('standard input over --max-bytes is refused after reading one byte past the limit', () => {
    const r = runCliWithStdin(['check', '--max-bytes', '1K', '-'], Buffer.from(domainOfSize(200_000)));
    expect(r.stdout).toContain('<stdin> is larger than the 1024-byte limit; reading stopped there');
    expect(r.status).toBe(1);
  });

  it('--max-depth and --max-elements reach the parser', () => {
    const file = scratch.file(domain(''));
    expectCliRefusal(['check', '--max-depth', '2', file], 'XML_TOO_DEEP');
    expectCliRefusal(['check', '--max-elements', '3', file], 'XML_TOO_MANY_ELEMENTS');
    expect(runCli(['check', '--max-depth', '3', '--max-elements', '8', file]).status).toBe(0);
  });

  it('the limits hold on the worker pool too (24 files or more)', () => {
    const files = Array.from({ length: 24 }, (_, i) => scratch.file(domainOfSize(1000 + i), `pool-${i}.xml`));
    const r = runCli(['check', '--jobs', '2', '--max-bytes', '1010', '--format', 'json', ...files]);
    expectNoCrash(r);
    expect(r.status).toBe(1);
    const refused = (JSON.parse(r.stdout) as { file: string; diagnostics: { code: string }[] }[]).filter((f) => f.diagnostics.some((d) => d.code === 'XML_TOO_LARGE'));
    expect(refused.map((f) => f.file)).toEqual(files.slice(11));
  });

  it('a limit that is not a non-negative integer is a usage error (exit 2)', () => {
    const file = scratch.file(domain(''));
    for (const [option, value] of [['--max-bytes', '1x'], ['--max-bytes', '-1'], ['--max-depth', '1.5'], ['--max-elements', 'many'], ['--max-depth', '1K']]) {
      const r = runCli(['check', `${option}=${value}`, file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${option} takes a non-negative integer`);
    }
  });

  it('single-file commands refuse a file over the default limit unread: XML_TOO_LARGE', () => {
    const file = scratch.file(domainOfSize(DEFAULT_LIMITS.maxBytes + 1));
    for (const command of ['resolve', 'normalize', 'plan']) {
      const r = expectCliRefusal([command, file], 'XML_TOO_LARGE');
      expect(r.stderr).toContain('it was not read');
    }
  });
});
