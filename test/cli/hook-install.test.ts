/**
 * The installed hook as libvirt meets it: a wrapper in qemu.d running
 * virt-pin's own copy of the CLI. Installed from a throw-away tree (a path
 * with a space and a non-ASCII character, like an npx cache or a moved
 * checkout), that tree is then deleted and the wrapper is called with
 * libvirt's arguments and the domain XML on stdin.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, runCli } from '../support/cli.js';
import { RUNTIME_FILES } from '../../src/cli/runtime-files.js';
import { repoRoot } from '../support/corpus.js';
import { copyPassthroughHost } from '../apply/support.js';
import { gpuVm, NS } from '../plan/support.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'vp-hook-install-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const bad = "<domain type='kvm'><name>vm</name><vcpu cpuset='3-1'>2</vcpu></domain>";

/** A tree like an installed package: dist/ (RUNTIME_FILES), package.json, node_modules (koffi) — at a path with a space and 'é'. */
function sourceTree(): string {
  const tree = join(work, 'my tools é', 'virt-pin');
  if (existsSync(tree)) return tree;
  mkdirSync(join(tree, 'dist'), { recursive: true });
  for (const f of RUNTIME_FILES) copyFileSync(join(cliPath, '..', f), join(tree, 'dist', f));
  copyFileSync(join(cliPath, '..', 'THIRD-PARTY-LICENSES.txt'), join(tree, 'dist', 'THIRD-PARTY-LICENSES.txt'));
  writeFileSync(join(tree, 'package.json'), JSON.stringify({ name: 'virt-pin', version, type: 'module' }));
  symlinkSync(join(repoRoot, 'node_modules'), join(tree, 'node_modules'));
  return tree;
}

function writeConfig(c: object): string {
  const p = join(work, 'config.json');
  writeFileSync(p, JSON.stringify(c));
  return p;
}

/** `virt-pin hook install` run from `tree`, as root would run it. */
function installFrom(tree: string, extra: string[] = []): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(process.execPath, [join(tree, 'dist', 'cli.js'), 'hook', 'install', '--dir', join(work, 'hooks'), '--lib-dir', join(work, 'lib dir é'), ...extra], {
    encoding: 'utf8',
    env: { ...process.env, VIRT_PIN_CONFIG: join(work, 'config.json') },
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

const wrapper = () => join(work, 'hooks', 'qemu.d', 'virt-pin');
const copyDir = () => join(work, 'lib dir é', version);

/** The wrapper, as libvirt runs it: argv NAME OP SUBOP EXTRA, XML on stdin, a plain environment. */
function callHook(args: string[], input: string, env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(wrapper(), args, { input, encoding: 'utf8', env: { PATH: process.env.PATH, VIRT_PIN_CONFIG: join(work, 'config.json'), ...env }, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

describe('hook install: a stable copy the wrapper runs', () => {
  it('keeps working after the tree it was installed from is deleted; pins and restores from the copy', () => {
    writeConfig({});
    const tree = sourceTree();
    const r = installFrom(tree);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`installed: ${copyDir()} (virt-pin ${version}, with koffi)`);
    // The wrapper names the copy by its real path (no %20, no %C3%A9), single-quoted for sh.
    expect(readFileSync(wrapper(), 'utf8')).toContain(`cli='${join(copyDir(), 'cli.cjs')}'`);
    rmSync(join(work, 'my tools é'), { recursive: true });

    const fx = copyPassthroughHost();
    try {
      writeConfig({ stateDir: join(work, 'state'), waitIrqsSeconds: 0 });
      const env = { VIRT_PIN_HOST_ROOT: fx.root };
      const xml = gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`);
      const irq = () => readFileSync(join(fx.root, 'proc', 'irq', '120', 'smp_affinity_list'), 'utf8');
      expect(callHook(['gpu-vm', 'prepare', 'begin', '-'], xml, env)).toMatchObject({ status: 0, stdout: '' });
      const start = callHook(['gpu-vm', 'started', 'begin', '-'], xml, env);
      expect(start).toMatchObject({ status: 0, stdout: '' });
      expect(start.stderr).toContain('virt-pin hook: gpu-vm started/begin: applied: 8 target(s) changed');
      expect(irq()).toBe('2-3\n');
      const stop = callHook(['gpu-vm', 'stopped', 'end', '-'], xml, env);
      expect(stop.stderr).toContain('virt-pin hook: gpu-vm stopped/end: restored: 8 target(s)');
      expect(irq()).toBe('0-15\n');
      // Pass-through operations: the XML comes back unchanged.
      expect(callHook(['gpu-vm', 'migrate', 'begin', '-'], xml, env).stdout).toBe(xml);
      // The copy's koffi loads (thread writes in process), and status says so.
      const status = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env: { VIRT_PIN_CONFIG: join(work, 'config.json') } });
      expect(status.status, status.stdout).toBe(0);
      expect(status.stdout).toContain(`copy:      ${copyDir()}: virt-pin ${version}, 13 files intact, owned by root`);
      expect(status.stdout).toContain(`probe:     runs: virt-pin ${version}, koffi loaded`);
    } finally {
      fx.cleanup();
    }
  });

  it('without the copy the wrapper fails open: logs why and exits 0 — except at prepare begin when enforce was on at install', () => {
    writeConfig({});
    expect(installFrom(sourceTree()).status).toBe(0);
    rmSync(copyDir(), { recursive: true });
    for (const [op, sub] of [['prepare', 'begin'], ['started', 'begin'], ['stopped', 'end'], ['migrate', 'begin']]) {
      const r = callHook(['vm', op!, sub!, '-'], bad);
      expect([op, r.status, r.stdout]).toEqual([op, 0, '']); // empty output at migrate: libvirt keeps its XML
      expect(r.stderr).toBe(`virt-pin hook: vm ${op}/${sub}: the virt-pin CLI is missing (${join(copyDir(), 'cli.cjs')}; run virt-pin hook install again); leaving the domain alone\n`);
    }
    const status = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env: { VIRT_PIN_CONFIG: join(work, 'config.json') } });
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/copy: +error: .* is missing or not a virt-pin copy; the hook fails open/);

    writeConfig({ enforce: true });
    expect(installFrom(sourceTree()).status).toBe(0);
    renameSync(copyDir(), join(work, 'moved away'));
    const refused = callHook(['vm', 'prepare', 'begin', '-'], bad);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^virt-pin hook: vm prepare\/begin: the virt-pin CLI is missing .*; refusing the start \(enforce was on when the hook was installed\)\n$/);
    expect(callHook(['vm', 'started', 'begin', '-'], bad).status).toBe(0);
  });

  it('without node the wrapper fails open the same way', () => {
    writeConfig({});
    expect(installFrom(sourceTree()).status).toBe(0);
    // The node the wrapper names is gone and none is on PATH (only the shell's tools are).
    const script = readFileSync(wrapper(), 'utf8').replace(/^node='.*'$/m, "node='/nonexistent/node'");
    writeFileSync(wrapper(), script);
    const bin = join(work, 'bin');
    mkdirSync(bin);
    for (const tool of ['tr', 'cat', 'timeout', 'logger']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    const r = spawnSync(wrapper(), ['vm', 'prepare', 'begin', '-'], { input: bad, encoding: 'utf8', env: { PATH: bin } });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('virt-pin hook: vm prepare/begin: node is missing (/nonexistent/node, and none on PATH); leaving the domain alone\n');
  });

  it('a crash of the CLI is not a refusal: the wrapper logs the status and exits 0; a refusal by check still refuses', () => {
    writeConfig({ enforce: true });
    expect(installFrom(sourceTree()).status).toBe(0);
    const refused = callHook(['vm', 'prepare', 'begin', '-'], bad);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('virt-pin hook: vm prepare/begin: refusing to start: 1 error(s)');
    // A copy whose code throws at load: Node exits 1, which must not read as a refusal at started begin.
    // The wrapper runs hook.cjs (the hook-only entry), hook status probes cli.cjs: break both.
    writeFileSync(join(copyDir(), 'cli.cjs'), "throw new Error('broken copy');\n");
    writeFileSync(join(copyDir(), 'hook.cjs'), "throw new Error('broken copy');\n");
    const crashed = callHook(['vm', 'started', 'begin', '-'], bad);
    expect(crashed.status).toBe(0);
    expect(crashed.stderr).toMatch(/virt-pin hook: vm started\/begin: the virt-pin CLI failed \(exit status 1\); leaving the domain alone\n$/);
    const status = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env: { VIRT_PIN_CONFIG: join(work, 'config.json') } });
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/copy: +error: .*(cli|hook)\.cjs differs from what was installed/);
    expect(status.stdout).toMatch(/probe: +error: does not run: exit status 1: .*broken copy/);
  });

  it('upgrading is install again: a changed bundle replaces the copy of that version; an unreadable configuration stops the install', () => {
    writeConfig({});
    const tree = sourceTree();
    expect(installFrom(tree).status).toBe(0);
    writeFileSync(join(tree, 'dist', 'cli-main.cjs'), `${readFileSync(join(tree, 'dist', 'cli-main.cjs'), 'utf8')}\n// rebuilt\n`);
    const again = installFrom(tree);
    expect(again.stdout).toContain(`updated: ${copyDir()}`);
    expect(readFileSync(join(copyDir(), 'cli-main.cjs'), 'utf8')).toMatch(/\/\/ rebuilt\n$/);
    // Another version: a directory of its own; the wrapper moves to it and the copy it ran before goes.
    const next = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(tree, 'dist', 'cli-main.cjs'), readFileSync(join(tree, 'dist', 'cli-main.cjs'), 'utf8').replace(`return true ? "${next.version}" : "0.0.0-dev"`, 'return true ? "9.9.9" : "0.0.0-dev"'));
    expect(readFileSync(join(tree, 'dist', 'cli-main.cjs'), 'utf8')).toContain('return true ? "9.9.9"');
    const upgrade = installFrom(tree);
    expect(upgrade.status, upgrade.stderr).toBe(0);
    expect(upgrade.stdout).toContain(`installed: ${join(work, 'lib dir é', '9.9.9')}`);
    expect(upgrade.stdout).toContain(`updated: ${wrapper()}\nremoved: ${copyDir()}\n`);
    expect(existsSync(copyDir())).toBe(false);
    expect(readFileSync(wrapper(), 'utf8')).toContain(`cli='${join(work, 'lib dir é', '9.9.9', 'cli.cjs')}'`);
    expect(callHook(['vm', 'prepare', 'begin', '-'], bad).stderr).toContain('error VCPU_CPUSET_INVALID');
    writeFileSync(join(work, 'config.json'), '{"enforce": tru}');
    const refused = installFrom(tree);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/config\.json is not valid JSON: .*; fix the configuration first/);
  });

  it("a library path with quotes and shell syntax in it is quoted, not run: the wrapper works and status reads it back", () => {
    writeConfig({});
    const lib = join(work, "it's $(touch PWNED) `touch PWNED2` \"q\" é");
    const r = spawnSync(process.execPath, [cliPath, 'hook', 'install', '--dir', join(work, 'hooks'), '--lib-dir', lib], { encoding: 'utf8', env: { ...process.env, VIRT_PIN_CONFIG: join(work, 'config.json') }, cwd: work });
    expect(r.status, r.stderr).toBe(0);
    const call = spawnSync(wrapper(), ['vm', 'prepare', 'begin', '-'], { input: bad, encoding: 'utf8', env: { PATH: process.env.PATH, VIRT_PIN_CONFIG: join(work, 'config.json') }, cwd: work });
    expect(call.status).toBe(0);
    expect(call.stderr).toContain('virt-pin hook: vm prepare/begin: error VCPU_CPUSET_INVALID');
    const status = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env: { VIRT_PIN_CONFIG: join(work, 'config.json') }, cwd: work });
    expect(status.status, status.stdout).toBe(0);
    expect(status.stdout).toContain(`runs:      ${process.execPath} ${join(lib, version, 'hook.cjs')} hook exec`);
    expect(existsSync(join(work, 'PWNED'))).toBe(false);
    expect(existsSync(join(work, 'PWNED2'))).toBe(false);
    // A path with a backslash: the copy's entry is CommonJS (cli.cjs), which Node loads from such a path (its ESM
    // loader did not); install still runs the copy before it writes the wrapper.
    rmSync(join(work, 'hooks'), { recursive: true });
    const backslash = spawnSync(process.execPath, [cliPath, 'hook', 'install', '--dir', join(work, 'hooks'), '--lib-dir', join(work, 'back\\slash')], { encoding: 'utf8', env: { ...process.env, VIRT_PIN_CONFIG: join(work, 'config.json') } });
    expect(backslash.status, backslash.stderr).toBe(0);
    expect(readFileSync(wrapper(), 'utf8')).toContain(join(work, 'back\\slash'));
  });

  it('refuses a library directory another user could change', () => {
    writeConfig({});
    const open = join(work, 'open');
    mkdirSync(open, { mode: 0o777 });
    spawnSync('chmod', ['0777', open]);
    const r = spawnSync(process.execPath, [cliPath, 'hook', 'install', '--dir', join(work, 'hooks'), '--lib-dir', join(open, 'lib')], { encoding: 'utf8', env: { ...process.env, VIRT_PIN_CONFIG: join(work, 'config.json') } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/open is writable by group or others \(mode 777\): refusing/);
    expect(existsSync(wrapper())).toBe(false);
  });
});

describe('hook status and the configuration', () => {
  it('a typo in the configuration is an error in status and a warning at every hook call, never silent', () => {
    writeConfig({ enforce: true });
    expect(installFrom(sourceTree()).status).toBe(0);
    const env = { VIRT_PIN_CONFIG: join(work, 'config.json') };
    const good = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env });
    expect(good.status, good.stdout).toBe(0);
    expect(good.stdout).toContain(`config:    ${join(work, 'config.json')}: valid`);
    expect(good.stdout).toContain('effective: {"enforce":true,"irqPolicy":"native","stateDir":"/run/virt-pin","threads":false,"waitIrqsSeconds":30}');
    expect(good.stdout).toContain('enforce:   when the CLI cannot run: refuse at prepare/begin (written at install)');

    writeFileSync(join(work, 'config.json'), '{"enforce": true, "irqpolicy": "auto"}');
    const typo = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env });
    expect(typo.status).toBe(1);
    expect(typo.stdout).toContain(`config:    error: ${join(work, 'config.json')}: unknown setting 'irqpolicy'`);
    for (const [op, sub] of [['prepare', 'begin'], ['started', 'begin'], ['stopped', 'end']]) {
      const r = callHook(['vm', op!, sub!, '-'], bad);
      expect(r.stderr).toContain(`virt-pin hook: vm ${op}/${sub}: configuration error: ${join(work, 'config.json')}: unknown setting 'irqpolicy' (known: enforce, irqPolicy, libvirtVersion, stateDir, threads, waitIrqsSeconds); using the defaults with enforce on (as installed)`);
    }
    // With the configuration broken the enforce setting of the install holds: the bad domain is refused.
    expect(callHook(['vm', 'prepare', 'begin', '-'], bad).status).toBe(1);

    // A valid configuration whose enforce differs from the install's: a warning at every call, an error in status.
    writeConfig({ enforce: false });
    const r = callHook(['vm', 'prepare', 'begin', '-'], bad);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("enforce is off in the configuration but was on when the hook was installed; run 'virt-pin hook install' again");
    const mismatch = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env });
    expect(mismatch.status).toBe(1);
    expect(mismatch.stdout).toMatch(/enforce: .*error: the configuration says enforce off: run 'virt-pin hook install' again/);
  });

  it('status without a hook says so and exits 1', () => {
    const r = runCli(['hook', 'status', '--dir', join(work, 'hooks')], { env: { VIRT_PIN_CONFIG: writeConfig({}) } });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`hook:      error: not installed (${join(work, 'hooks', 'qemu.d', 'virt-pin')}); run 'virt-pin hook install'`);
  });
});

describe('what the CLI loads at run time', () => {
  it('only koffi and dist/xmlbuilder2.cjs stay outside the bundle; the hook path never reaches xmlbuilder2, so the copy works without it', () => {
    const bundle = readFileSync(join(cliPath, '..', 'cli-main.cjs'), 'utf8');
    // Bare package names the bundle resolves at run time (node: built-ins aside; not inside string literals such as ajv's
    // `code` property, which only names the runtime for generated source).
    const external = new Set([...bundle.matchAll(/(?<!['"])\b(?:require\d*|__require|(?:\(0, [\w$]+\.)?createRequire\d*\)?\([^)]*\))\(\s*["']([^"'./][^"']*)["']\s*\)/g)].map((m) => m[1]!).filter((n) => !n.startsWith('node:')));
    expect([...external].sort()).toEqual(['koffi']);
    // xmlbuilder2 is loaded from a file beside the bundle, by a name the build defines.
    expect(bundle).toContain('"./xmlbuilder2.cjs"');
    expect(existsSync(join(cliPath, '..', 'xmlbuilder2.cjs'))).toBe(true);
    // A copy with no node_modules at all runs every phase the hook has (IRQs only: koffi is for threads).
    const alone = join(work, 'alone');
    mkdirSync(alone);
    for (const f of RUNTIME_FILES.filter((f) => f !== 'xmlbuilder2.cjs')) copyFileSync(join(cliPath, '..', f), join(alone, f));
    writeFileSync(join(alone, 'package.json'), '{"type":"module"}');
    const fx = copyPassthroughHost();
    try {
      const env = { ...process.env, VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: writeConfig({ enforce: true, stateDir: join(work, 'state'), waitIrqsSeconds: 0 }), NODE_PATH: '' };
      const xml = gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`);
      for (const [op, sub] of [['prepare', 'begin'], ['started', 'begin'], ['stopped', 'end'], ['release', 'end'], ['migrate', 'begin']]) {
        const r = spawnSync(process.execPath, [join(alone, 'cli.js'), 'hook', 'exec', 'gpu-vm', op!, sub!, '-'], { input: xml, encoding: 'utf8', env, cwd: alone });
        expect([op, r.status, r.stderr]).toEqual([op, 0, expect.not.stringMatching(/Cannot find|ERR_MODULE/)]);
      }
    } finally {
      fx.cleanup();
    }
  });
});
