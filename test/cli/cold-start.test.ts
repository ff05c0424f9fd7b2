/**
 * Cold start (issue 15): the hook entry and `check` load only the modules
 * they use, and the V8 code cache is an optimisation only — a missing,
 * corrupt, foreign or untrusted cache changes nothing but speed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { repoRoot } from '../support/corpus.js';
import { copyPassthroughHost } from '../apply/support.js';
import { gpuVm, NS } from '../plan/support.js';
import { RUNTIME_FILES } from '../../src/cli/runtime-files.js';

const dist = join(repoRoot, 'dist');
const one = join(repoRoot, 'fixtures', 'examples', 'gaming-vfio.xml');

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'vp-coldstart-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  modules: string[];
}

/** Run `node [preload] FILE ARGS` (FILE may be an option such as -e) and collect process.moduleLoadList at exit. */
function runNode(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; discardOutput?: boolean } = {}): Run {
  const listFile = join(work, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const preload = join(work, 'module-list.cjs');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(listFile)}, process.moduleLoadList.join('\\n')));\n`);
  const r = spawnSync(process.execPath, ['-r', preload, file, ...args], {
    input: options.input ?? '',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    // 'ignore' opens /dev/null for stdout and stderr, as cron and `>/dev/null 2>&1` do.
    ...(options.discardOutput ? { stdio: ['pipe', 'ignore', 'ignore'] as const } : {}),
  });
  if (r.error) throw r.error;
  const modules = existsSync(listFile) ? readFileSync(listFile, 'utf8').split('\n') : [];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules };
}

/** Built-ins that neither `check one.xml` nor the hook's `started begin` uses (stdout/stderr are pipes here). */
const UNUSED = [
  'NativeModule child_process',
  'NativeModule net',
  'NativeModule dgram',
  'NativeModule worker_threads',
  'NativeModule stream',
  'NativeModule internal/fs/promises',
  'NativeModule internal/fs/streams',
  'NativeModule readline',
  'NativeModule internal/readline/interface',
  'NativeModule crypto',
  'NativeModule zlib',
];

describe('modules loaded by a short run', () => {
  /** What a run loads beyond `node -e 0` (Node's own start). */
  const beyondNode = (r: Run): string[] => {
    const floor = new Set(runNode('-e', ['0']).modules);
    expect(floor.size).toBeGreaterThan(20);
    return r.modules.filter((m) => !floor.has(m));
  };

  it('check one.xml (the bin, dist/cli.cjs) loads none of the built-ins it does not use, and no ESM loader', () => {
    // --libvirt: without it check asks the local `virsh --version` (src/cli/libvirt-option.ts), which needs child_process.
    const r = runNode(join(dist, 'cli.cjs'), ['check', '--libvirt', '10.7', one]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('1 file checked: 0 errors, 0 warnings, 0 info\n');
    const extra = beyondNode(r);
    expect(extra).toContain('NativeModule vm'); // the code-cache loader ran
    expect(extra.filter((m) => UNUSED.includes(m) || m.includes('internal/modules/esm/'))).toEqual([]);
  });

  it('check one.xml with its output thrown away (/dev/null) does not load the stream stack either', () => {
    const r = runNode(join(dist, 'cli.cjs'), ['check', '--libvirt', '10.7', one], { discardOutput: true });
    expect(r.status).toBe(0);
    expect(r.modules).toContain('NativeModule vm');
    expect(beyondNode(r).filter((m) => UNUSED.includes(m))).toEqual([]);
  });

  it('the hook entry (started begin, 8 IRQs to change) loads none of them, and no ESM loader', () => {
    const fx = copyPassthroughHost();
    try {
      writeFileSync(join(work, 'config.json'), JSON.stringify({ stateDir: join(work, 'state'), waitIrqsSeconds: 0 }));
      // VIRT_PIN_SYSLOG=0: the hook's syslog copy of its log goes through a spawned `logger` (src/cli/hook/log.ts), which needs child_process.
      const env = { VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: join(work, 'config.json'), VIRT_PIN_SYSLOG: '0' };
      const xml = gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`);
      const r = runNode(join(dist, 'hook.cjs'), ['exec', 'gpu-vm', 'started', 'begin', '-'], { input: xml, env });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('virt-pin hook: gpu-vm started/begin: applied: 8 target(s) changed\n');
      expect(readFileSync(join(fx.root, 'proc', 'irq', '120', 'smp_affinity_list'), 'utf8')).toBe('2-3\n');
      expect(beyondNode(r).filter((m) => UNUSED.includes(m) || m.includes('internal/modules/esm/'))).toEqual([]);
      // The same entry restores what it applied.
      const back = runNode(join(dist, 'hook.cjs'), ['hook', 'exec', 'gpu-vm', 'release', 'end', '-'], { input: xml, env });
      expect(back.stderr).toBe('virt-pin hook: gpu-vm release/end: restored: 8 target(s)\n');
      // With the system-log copy on, as installed: the line goes onto /dev/log from this process (or nowhere, with
      // no syslog daemon here), still without child_process; a logger child is only for lines the socket refuses.
      const again = runNode(join(dist, 'hook.cjs'), ['exec', 'gpu-vm', 'started', 'begin', '-'], { input: xml, env: { ...env, VIRT_PIN_SYSLOG: undefined } });
      expect(again.stderr).toBe('virt-pin hook: gpu-vm started/begin: applied: 8 target(s) changed\n');
      expect(beyondNode(again).filter((m) => UNUSED.includes(m) || m.includes('internal/modules/esm/'))).toEqual([]);
      runNode(join(dist, 'hook.cjs'), ['hook', 'exec', 'gpu-vm', 'release', 'end', '-'], { input: xml, env });
      // One code cache per phase, named by the phase, never by the domain.
      const phases = readdirSync(dist).filter((f) => f.startsWith('hook-main.cjs.') && f.endsWith('.v8cache')).map((f) => f.replace(/(\.partial)?\.v8cache$/, '').split('.').at(-1));
      expect(phases).toEqual(expect.arrayContaining(['exec-started', 'exec-release']));
      expect(phases.every((p) => /^(exec-(prepare|started|stopped|release|reconnect|other)|late-irqs|other)$/.test(p!))).toBe(true);
    } finally {
      fx.cleanup();
    }
  });

  it('the hook entry refuses the subcommands it does not carry, with the usage', () => {
    const r = runNode(join(dist, 'hook.cjs'), ['install']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^virt-pin hook: this entry runs only 'exec' and 'late-irqs', not 'install'; use virt-pin hook install\n\nusage: virt-pin hook install/);
  });
});

describe('the V8 code cache', () => {
  /** A private copy of the runtime files, as `hook install` makes one. */
  function install(): string {
    const dir = join(work, 'lib');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    for (const f of RUNTIME_FILES) copyFileSync(join(dist, f), join(dir, f));
    return dir;
  }
  const caches = (dir: string, body: string): string[] => readdirSync(dir).filter((f) => f.startsWith(`${body}.`) && f.endsWith('.v8cache'));
  const check = (dir: string): Run => runNode(join(dir, 'cli.js'), ['check', '--format', 'json', one]);

  it('is written on the first run, used (not rewritten) on the next, one per command', () => {
    const dir = install();
    const first = check(dir);
    expect(first.status).toBe(0);
    const written = caches(dir, 'cli-main.cjs');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^cli-main\.cjs\.[0-9a-f]{32}-v\d+\.\d+\.\d+-\w+\.check\.v8cache$/);
    const path = join(dir, written[0]!);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    // V8 takes it: the same data compiles the same body without rejection.
    const body = readFileSync(join(dir, 'cli-main.cjs'), 'utf8');
    const accepted = new Script(`(function (exports, require, module, __filename, __dirname) { ${body}\n});`, { filename: join(dir, 'cli-main.cjs'), cachedData: readFileSync(path) });
    expect(accepted.cachedDataRejected).toBe(false);
    const inode = statSync(path).ino;
    const second = check(dir);
    expect(second.stdout).toBe(first.stdout);
    expect(statSync(path).ino).toBe(inode); // accepted, so not written again
    runNode(join(dir, 'cli.js'), ['--version']);
    expect(caches(dir, 'cli-main.cjs').map((f) => f.split('.').at(-2)).sort()).toEqual(['check', 'other']);
    // A mistyped command (exit status 2) leaves no cache behind.
    expect(runNode(join(dir, 'cli.js'), ['chekc']).status).toBe(2);
    expect(caches(dir, 'cli-main.cjs')).toHaveLength(2);
  });

  it('a hook call that had nothing to apply writes a partial cache, which the first call that applies replaces by the full one', () => {
    const dir = install();
    const fx = copyPassthroughHost();
    try {
      writeFileSync(join(work, 'config.json'), JSON.stringify({ stateDir: join(work, 'state'), waitIrqsSeconds: 0 }));
      const env = { VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: join(work, 'config.json'), VIRT_PIN_SYSLOG: '0' };
      const started = (metadata: string) => runNode(join(dir, 'hook.cjs'), ['exec', 'gpu-vm', 'started', 'begin', '-'], { input: gpuVm(metadata), env });
      const kinds = () => caches(dir, 'hook-main.cjs').map((f) => `${f.replace(/(\.partial)?\.v8cache$/, '').split('.').at(-1)}:${f.endsWith('.partial.v8cache') ? 'partial' : 'full'}`).sort();
      // No IRQ policy: nothing to apply, the run ends after planning.
      expect(started('').stderr).toBe('');
      expect(kinds()).toEqual(['exec-started:partial']);
      expect(started(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`).stderr).toBe('virt-pin hook: gpu-vm started/begin: applied: 8 target(s) changed\n');
      expect(kinds()).toEqual(['exec-started:full', 'exec-started:partial']);
      const full = caches(dir, 'hook-main.cjs').find((f) => !f.includes('.partial.'))!;
      const inode = statSync(join(dir, full)).ino;
      // Later calls of either kind use the full cache and write nothing.
      expect(started('').status).toBe(0);
      expect(started(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`).status).toBe(0);
      expect(statSync(join(dir, full)).ino).toBe(inode);
      expect(caches(dir, 'hook-main.cjs')).toHaveLength(2);
    } finally {
      fx.cleanup();
    }
  });

  it("a command's --help writes the help cache, never the command's own (which would then lack the command's code)", () => {
    const dir = install();
    expect(runNode(join(dir, 'cli.js'), ['check', '--help']).status).toBe(0);
    expect(runNode(join(dir, 'cli.js'), ['resolve', '-h']).status).toBe(0);
    expect(caches(dir, 'cli-main.cjs').map((f) => f.split('.').at(-2))).toEqual(['help']);
    expect(check(dir).status).toBe(0);
    expect(caches(dir, 'cli-main.cjs').map((f) => f.split('.').at(-2)).sort()).toEqual(['check', 'help']);
  });

  it('a corrupt, truncated or foreign cache is ignored silently: same output, then replaced by a good one', () => {
    const dir = install();
    const reference = check(dir);
    const [name] = caches(dir, 'cli-main.cjs');
    const path = join(dir, name!);
    const good = readFileSync(path);
    const foreign = new Script('globalThis.x = 1;').createCachedData();
    for (const bad of [Buffer.from('not a V8 code cache at all'), good.subarray(0, good.length >> 1), foreign, Buffer.alloc(0)]) {
      writeFileSync(path, bad, { mode: 0o644 });
      const r = check(dir);
      expect(r).toMatchObject({ status: reference.status, stdout: reference.stdout, stderr: reference.stderr });
      expect(readFileSync(path).equals(bad)).toBe(false);
    }
  });

  it('a cache others could write, or a link, is not read; a body that is not the one built runs without a cache', () => {
    const dir = install();
    const reference = check(dir);
    const [name] = caches(dir, 'cli-main.cjs');
    const path = join(dir, name!);
    writeFileSync(path, 'planted', { mode: 0o666 });
    chmodSync(path, 0o666);
    expect(check(dir).stdout).toBe(reference.stdout);
    expect(statSync(path).mode & 0o777).toBe(0o644); // replaced by a cache of its own
    // A symbolic link in its place is not followed.
    rmSync(path);
    writeFileSync(join(work, 'elsewhere'), 'x');
    symlinkSync(join(work, 'elsewhere'), path);
    expect(check(dir).stdout).toBe(reference.stdout);
    expect(readFileSync(join(work, 'elsewhere'), 'utf8')).toBe('x');
    // A body edited after the build (its length differs) runs, uncached.
    for (const f of caches(dir, 'cli-main.cjs')) rmSync(join(dir, f));
    writeFileSync(join(dir, 'cli-main.cjs'), readFileSync(join(dir, 'cli-main.cjs'), 'utf8') + '\n// edited\n');
    expect(check(dir).stdout).toBe(reference.stdout);
    expect(caches(dir, 'cli-main.cjs')).toEqual([]);
  });

  it("on Node >= 22 it is Node's own compile cache instead (simulated here: Node 20 has no module.enableCompileCache)", () => {
    const dir = install();
    const reference = check(dir);
    for (const f of caches(dir, 'cli-main.cjs')) rmSync(join(dir, f));
    const record = join(work, 'enabled.txt');
    const preload = join(work, 'fake-compile-cache.cjs');
    writeFileSync(preload, `require('module').enableCompileCache = (d) => require('fs').writeFileSync(${JSON.stringify(record)}, d);\n`);
    const r = spawnSync(process.execPath, ['-r', preload, join(dir, 'cli.cjs'), 'check', '--format', 'json', one], { encoding: 'utf8' });
    expect(r.stdout).toBe(reference.stdout);
    expect(readFileSync(record, 'utf8')).toBe(join(dir, 'compile-cache'));
    expect(caches(dir, 'cli-main.cjs')).toEqual([]); // no vm.Script cache beside it
  });

  it('VIRT_PIN_CODE_CACHE=0: nothing is written beside the bundle, and the output is the same', () => {
    const dir = install();
    const plain = check(dir);
    rmSync(join(dir, caches(dir, 'cli-main.cjs')[0]!));
    const off = runNode(join(dir, 'cli.js'), ['check', '--format', 'json', one], { env: { ...process.env, VIRT_PIN_CODE_CACHE: '0' } });
    expect(off.status).toBe(0);
    expect(off.stdout).toBe(plain.stdout);
    expect(caches(dir, 'cli-main.cjs')).toEqual([]);
  });

  it('in a directory others can write, no cache is read or written', () => {
    const dir = install();
    chmodSync(dir, 0o777);
    const r = check(dir);
    expect(r.status).toBe(0);
    expect(caches(dir, 'cli-main.cjs')).toEqual([]);
  });
});

describe("check's worker pool", () => {
  it('is used only for enough files and idle cores, or as --jobs says', async () => {
    const { poolSize, POOL_MIN_FILES, POOL_THRESHOLD } = await import('../../src/cli/commands/check-pool.js');
    // The number of threads checking, this one included: 1 = no worker.
    expect(poolSize(POOL_MIN_FILES - 1, undefined, 2, 0)).toBe(1); // too few files
    expect(poolSize(POOL_MIN_FILES, undefined, 2, 0.2)).toBe(2); // two idle cores: this thread and one worker
    expect(poolSize(5000, undefined, 2, 0.6)).toBe(1); // one idle core
    expect(poolSize(5000, undefined, 2, 7.5)).toBe(1); // a busy machine
    expect(poolSize(5000, undefined, 16, 1)).toBe(8); // never more than 8
    expect(poolSize(POOL_MIN_FILES * 3, undefined, 16, 0)).toBe(6); // one thread per POOL_MIN_FILES / 2 files
    expect(poolSize(POOL_THRESHOLD * 2, 2, 2, 9)).toBe(2); // --jobs is obeyed whatever the load (one thread per POOL_THRESHOLD files)
    expect(poolSize(POOL_THRESHOLD, 2, 2, 9)).toBe(1);
    expect(poolSize(POOL_THRESHOLD - 1, 2, 2, 0)).toBe(1);
    expect(poolSize(5000, 1, 16, 0)).toBe(1);
  });

  it('workers run the slim entry: the same JSON as one thread', () => {
    const files = readdirSync(join(repoRoot, 'fixtures', 'examples')).map((f) => join(repoRoot, 'fixtures', 'examples', f));
    const many = Array.from({ length: 16 }, () => files).flat(); // 48 files: this thread and one worker under --jobs 2
    const pooled = runNode(join(dist, 'cli.cjs'), ['check', '--format', 'json', '--jobs', '2', ...many]);
    const serial = runNode(join(dist, 'cli.cjs'), ['check', '--format', 'json', '--jobs', '1', ...many]);
    expect(pooled.stdout).toBe(serial.stdout);
    expect(JSON.parse(pooled.stdout)).toHaveLength(48);
    expect(pooled.modules).toContain('NativeModule worker_threads');
    expect(serial.modules).not.toContain('NativeModule worker_threads');
    expect(readFileSync(join(dist, 'check-worker.cjs')).length).toBeLessThan(readFileSync(join(dist, 'cli-main.cjs')).length * 0.7);
  });
});
