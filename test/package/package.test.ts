/**
 * The package as a user gets it. From a bare `git clone` of this
 * repository's HEAD (so: what is committed, with nothing beside the clone),
 * `npm ci` and `npm pack` (which builds through `prepare`), then the tarball
 * is installed into a fresh project, and there:
 *   (a) the README's library snippet runs as ESM JavaScript,
 *   (b) a strict TypeScript consumer compiles against the installed types
 *       under `module: nodenext` (ESM and CommonJS files) and
 *       `moduleResolution: bundler`, without @types/node,
 *   (c) `require('virt-pin')` works from CommonJS,
 *   (d) the installed `virt-pin` bin runs `check` and `show`,
 * and without the optional koffi, thread writes fall back to taskset with
 * one notice. The tarball's file list and size stay within the limits below.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/corpus.js';
import { RUNTIME_FILES } from '../../src/cli/runtime-files.js';

/**
 * Limits on what `npm pack` ships. At the time of writing: 91 files,
 * 508 kB packed, 2.04 MB unpacked (the two bundles are 1.4 MB of it). The
 * limits leave ~25% room; a jump past them means something unintended got in
 * (source maps, dist/lib, fixtures). The hook's and check's worker's own
 * entries (docs/cold-start.md) repeat parts of the CLI bundle so that each
 * loads only what it uses: 685 kB packed and 2.86 MB unpacked with them
 * (821 kB packed, 3.38 MB unpacked after the man page and the CLI's later
 * growth), hence 950 kB and 4 MB.
 */
const MAX_FILES = 115;
const MAX_PACKED_BYTES = 950_000;
const MAX_UNPACKED_BYTES = 4_000_000;

interface PackedFile {
  path: string;
  size: number;
}
interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: PackedFile[];
}

let work: string;
let project: string;
let pack: PackResult;

/** npm's lifecycle variables of the `npm test` that runs us would leak into the child npm runs. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_lifecycle_|npm_package_|INIT_CWD$)/.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1' };
}

function run(cmd: string, args: readonly string[], cwd: string, input?: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', input: input ?? '', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

function mustRun(cmd: string, args: readonly string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'virt-pin-package-'));
  // A clone of exactly this checkout's HEAD (a worktree's HEAD is not the
  // repository's, so fetch it by name rather than trusting clone's default).
  const head = mustRun('git', ['rev-parse', 'HEAD'], repoRoot).trim();
  const clone = join(work, 'virt-pin');
  mustRun('git', ['clone', '--quiet', '--no-checkout', repoRoot, clone], work);
  mustRun('git', ['fetch', '--quiet', repoRoot, head], clone);
  mustRun('git', ['checkout', '--quiet', '--detach', head], clone);
  // devDependencies for the build; `npm pack` then builds once, through prepare.
  mustRun('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], clone);
  pack = (JSON.parse(mustRun('npm', ['pack', '--json', '--pack-destination', work], clone)) as PackResult[])[0]!;

  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
  mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, pack.filename)], project);
  cpSync(join(repoRoot, 'fixtures/examples/vm.xml'), join(project, 'vm.xml'));
  cpSync(join(repoRoot, 'fixtures/examples/rt.xml'), join(project, 'rt.xml'));
  cpSync(join(repoRoot, 'fixtures/hosts/vfio-desktop.caps.xml'), join(project, 'caps.xml'));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack from a fresh clone', () => {
  it('ships the bundles, declarations, schemas, docs, the man page, README and LICENSE, and nothing else', () => {
    const paths = pack.files.map((f) => f.path).sort();
    for (const must of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', ...RUNTIME_FILES.map((f) => `dist/${f}`), 'dist/THIRD-PARTY-LICENSES.txt', 'dist/types/index.d.ts', 'schemas/policy.schema.json', 'docs/errors.md', 'man/virt-pin.1']) {
      expect(paths, must).toContain(must);
    }
    const unexpected = paths.filter(
      (p) =>
        !/^(LICENSE|README\.md|package\.json)$/.test(p) &&
        !/^dist\/(index\.js|index\.d\.ts|THIRD-PARTY-LICENSES\.txt)$/.test(p) &&
        !(RUNTIME_FILES as readonly string[]).includes(p.replace(/^dist\//, '')) &&
        !/^dist\/types\/.+\.d\.ts$/.test(p) &&
        !/^schemas\/[a-z-]+\.schema\.json$/.test(p) &&
        !/^docs\/([a-z-]+\.md|pinmap\.png)$/.test(p) &&
        p !== 'man/virt-pin.1',
    );
    expect(unexpected).toEqual([]);
  });

  it(`stays within ${MAX_FILES} files, ${MAX_PACKED_BYTES} bytes packed, ${MAX_UNPACKED_BYTES} unpacked`, () => {
    expect(pack.entryCount).toBeLessThanOrEqual(MAX_FILES);
    expect(pack.size).toBeLessThanOrEqual(MAX_PACKED_BYTES);
    expect(pack.unpackedSize).toBeLessThanOrEqual(MAX_UNPACKED_BYTES);
  });

  it('has no source maps and no declaration reaching for a file it does not ship', () => {
    const installed = join(project, 'node_modules', 'virt-pin');
    for (const f of pack.files.filter((f) => /\.(js|cjs|d\.ts)$/.test(f.path))) {
      expect(readFileSync(join(installed, f.path), 'utf8'), f.path).not.toMatch(/sourceMappingURL/);
    }
  });

  it("every relative link in the README resolves inside the package", () => {
    const installed = join(project, 'node_modules', 'virt-pin');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !existsSync(join(installed, normalize(l))))).toEqual([]);
  });

  it('depends at run time on nothing but the optional koffi', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'virt-pin', 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.optionalDependencies ?? {})).toEqual(['koffi']);
  });
});

describe('the installed package', () => {
  it('(a) runs the README library snippet as ESM JavaScript', () => {
    const start = readme.indexOf('```js\n', readme.indexOf('## Library'));
    expect(start).toBeGreaterThan(-1);
    const snippet = readme.slice(start + 6, readme.indexOf('```', start + 6));
    writeFileSync(join(project, 'snippet.mjs'), snippet);
    const r = run(process.execPath, ['snippet.mjs'], project);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('CpuSet [8-11]');
    expect(r.stdout).toContain("+    <vcpupin vcpu='0' cpuset='1'/>");
    expect(r.stdout).toContain("<vcpu cpuset='2-3'>4</vcpu>");
  });

  describe('(b) compiles a strict TypeScript consumer without @types/node', () => {
    const consumer = `
import { checkDocument, CpuSet, hostFromCapabilities, isVirtPinError, parseCpuSet, pinDomain, renderPinMapText, buildPinMap, pinMapThreads, resolveDocument, ERROR_CODES,
  type Diagnostic, type DiagnosticCode, type ErrorCode, type PinDomainResult } from 'virt-pin';
import policySchema from 'virt-pin/schemas/policy.schema.json';

export function firstError(xml: string): DiagnosticCode | undefined {
  const found: Diagnostic[] = checkDocument(xml, { driver: 'qemu' });
  const code = found.find((d) => d.severity === 'error')?.code;
  // A typo in a code is a compile error.
  if (code === 'VCPUPIN_INVALID' || code === 'XML_MALFORMED') return code;
  return code;
}

export function codeOf(e: unknown): ErrorCode | undefined {
  return isVirtPinError(e) ? e.code : undefined;
}

export function pin(xml: string, caps: string): PinDomainResult {
  const host = hostFromCapabilities(caps);
  const map = buildPinMap(host, pinMapThreads(resolveDocument(xml, { host })));
  void renderPinMapText(map, { guest: 'g', host: 'h' }, false);
  return pinDomain(xml, host, { vcpu: 'dedicated', emulator: 'housekeeping' });
}

export const all: readonly ErrorCode[] = ERROR_CODES;
export const set: CpuSet = parseCpuSet('0-3').union(CpuSet.of(8));
export const schemaTitle: unknown = policySchema.$id;
`;
    const compile = (dir: string, options: Record<string, unknown>, files: Record<string, string>): SpawnSyncReturns<string> => {
      const root = join(project, dir);
      mkdirSync(root, { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text);
      const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['ES2022'], target: 'ES2022', resolveJsonModule: true, ...options };
      writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: Object.keys(files) }, null, 2));
      return run(process.execPath, [tsc, '-p', root], project);
    };

    it('under module nodenext, as an ES module (.mts) and as CommonJS (.cts)', () => {
      const esm = consumer.replace("from 'virt-pin/schemas/policy.schema.json';", "from 'virt-pin/schemas/policy.schema.json' with { type: 'json' };");
      const r = compile('ts-nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }, { 'esm.mts': esm, 'cjs.cts': consumer });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('under moduleResolution bundler', () => {
      const r = compile('ts-bundler', { module: 'esnext', moduleResolution: 'bundler' }, { 'consumer.ts': consumer });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('and refuses a code that does not exist (the unions are not plain strings)', () => {
      const bad = `import type { ErrorCode } from 'virt-pin';\nexport const c: ErrorCode = 'NO_SUCH_CODE';\n`;
      const r = compile('ts-bad', { module: 'nodenext', moduleResolution: 'nodenext' }, { 'bad.mts': bad });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain('"NO_SUCH_CODE"\' is not assignable to type');
    });
  });

  it('(c) loads from CommonJS with require()', () => {
    const script = `
const vp = require('virt-pin');
const schema = require('virt-pin/schemas/resolved-model.schema.json');
const d = vp.checkDocument(require('node:fs').readFileSync('rt.xml', 'utf8'));
console.log(typeof vp.parseDocument, d.filter((x) => x.severity === 'error').map((x) => x.code).join(','), typeof schema.$id);
try { vp.parseCpuSet('3-1'); } catch (e) { console.log(vp.isVirtPinError(e), e.code); }
`;
    writeFileSync(join(project, 'cjs.cjs'), script);
    const r = run(process.execPath, ['cjs.cjs'], project);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function SCHED_INVALID string\ntrue CPUSET_RANGE_REVERSED\n');
  });

  it('(d) the bin runs check and show', () => {
    const bin = join(project, 'node_modules', '.bin', 'virt-pin');
    const version = run(bin, ['--version'], project);
    expect(version.stdout.trim()).toBe(`virt-pin ${JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version}`);
    const check = run(bin, ['check', '--host', 'caps.xml', 'rt.xml'], project);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('rt.xml:10:16: error SCHED_INVALID');
    expect(check.stdout + check.stderr).toContain('1 file checked: 1 error, 3 warnings, 0 info');
    const show = run(bin, ['show', '--host', 'caps.xml', 'vm.xml'], project);
    expect(show.stderr).toBe('');
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(/^vm on caps\.xml/);
    expect(show.stdout).toContain('cpu 8: v0-3 emu');
  });

  it('without the optional koffi, thread writes go through taskset with one notice', () => {
    const script = `
import { threadAffinityIo, threadMethod } from 'virt-pin';
const io = threadAffinityIo();
const now = io.readThreadAffinity(process.pid);
io.writeThreadAffinity(process.pid, now);
console.log(threadMethod(), String(io.readThreadAffinity(process.pid)) === String(now));
`;
    writeFileSync(join(project, 'threads.mjs'), script);
    const withKoffi = run(process.execPath, ['threads.mjs'], project);
    expect(withKoffi.stderr).toBe('');
    expect(withKoffi.stdout).toBe('ffi true\n');
    rmSync(join(project, 'node_modules', 'koffi'), { recursive: true, force: true });
    const without = run(process.execPath, ['threads.mjs'], project);
    expect(without.stdout).toBe('taskset true\n');
    const notices = without.stderr.split('\n').filter((l) => l.includes('VirtPinNotice'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('koffi is not installed; thread affinity and scheduler settings go through taskset and chrt');
  });
});
