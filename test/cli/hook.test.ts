/** The qemu hook invoked exactly as libvirt does: argv, XML on stdin, environment. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, runCli } from '../support/cli.js';
import { copyPassthroughHost } from '../apply/support.js';
import { gpuVm, NS } from '../plan/support.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'vp-hook-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const version = (JSON.parse(readFileSync(join(cliPath, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

const config = (c: object): string => {
  const p = join(work, 'config.json');
  writeFileSync(p, JSON.stringify(c));
  return p;
};

describe('virt-pin hook install / uninstall', () => {
  /** install/uninstall with the copy under the test's own directory and a configuration of its own. */
  const manage = (sub: string, extra: string[] = []) =>
    runCli(['hook', sub, '--dir', work, ...(sub === 'install' ? ['--lib-dir', join(work, 'lib')] : []), ...extra], { env: { VIRT_PIN_CONFIG: config({}) } });

  it('copies the CLI to LIB/<version>, installs a wrapper running that copy into qemu.d, atomically, idempotently, and says when libvirtd must restart', () => {
    const first = manage('install');
    expect(first.status, first.stderr).toBe(0);
    const copy = join(work, 'lib', version);
    expect(first.stdout).toMatch(new RegExp(`^installed: ${copy} \\(virt-pin ${version}.*\\)\ninstalled: .*qemu\\.d/virt-pin\n.*restart libvirtd`));
    const file = join(work, 'qemu.d', 'virt-pin');
    expect(statSync(file).mode & 0o111).not.toBe(0);
    const script = readFileSync(file, 'utf8');
    expect(script).toContain(`cli='${join(copy, 'cli.cjs')}'`);
    expect(script).toMatch(/hook exec "\$@"/);
    expect(readFileSync(join(copy, 'cli-main.cjs'))).toEqual(readFileSync(join(cliPath, '..', 'cli-main.cjs')));
    expect(manage('install').stdout).toBe(`unchanged: ${copy} (virt-pin ${version}, with koffi)\nunchanged: ${file}\n`);
    expect(manage('uninstall').stdout).toBe(`removed: ${file}\nremoved: ${copy}\n`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(copy)).toBe(false);
  });

  it('never overwrites or removes a hook it did not install; no restart note when libvirt already runs qemu hooks', () => {
    mkdirSync(join(work, 'qemu.d'));
    writeFileSync(join(work, 'qemu.d', 'virt-pin'), '#!/bin/sh\necho mine\n');
    const r = manage('install');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not installed by virt-pin; refusing to overwrite/);
    expect(manage('uninstall').stderr).toMatch(/leaving it alone/);
    rmSync(join(work, 'qemu.d', 'virt-pin'));
    writeFileSync(join(work, 'qemu'), '#!/bin/sh\n');
    chmodSync(join(work, 'qemu'), 0o755);
    expect(manage('install').stdout).not.toMatch(/restart/);
  });
});

describe('virt-pin hook exec (as libvirt calls it)', () => {
  const bad = "<domain type='kvm'><name>vm</name><vcpu cpuset='3-1'>2</vcpu></domain>";

  it('prepare begin: logs findings; refuses the start only with enforce', () => {
    const relaxed = runCli(['hook', 'exec', 'vm', 'prepare', 'begin', '-'], { input: bad, env: { VIRT_PIN_CONFIG: config({}) } });
    expect(relaxed.status).toBe(0);
    expect(relaxed.stdout).toBe('');
    expect(relaxed.stderr).toMatch(/virt-pin hook: vm prepare\/begin: error VCPU_CPUSET_INVALID/);
    const strict = runCli(['hook', 'exec', 'vm', 'prepare', 'begin', '-'], { input: bad, env: { VIRT_PIN_CONFIG: config({ enforce: true }) } });
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/refusing to start: 1 error/);
  });

  it('an oversized domain XML on stdin is not held or parsed: logged, refused at prepare only with enforce', () => {
    const huge = `<domain>${' '.repeat(5 * 1024 * 1024)}</domain>`;
    const relaxed = runCli(['hook', 'exec', 'vm', 'prepare', 'begin', '-'], { input: huge, env: { VIRT_PIN_CONFIG: config({}) } });
    expect(relaxed).toMatchObject({ status: 0, stdout: '' });
    expect(relaxed.stderr).toMatch(/vm prepare\/begin: the domain XML on stdin is over 4194304 bytes; virt-pin leaves this domain alone/);
    const strict = runCli(['hook', 'exec', 'vm', 'prepare', 'begin', '-'], { input: huge, env: { VIRT_PIN_CONFIG: config({ enforce: true }) } });
    expect(strict.status).toBe(1);
    // migrate/restore copy the XML back to libvirt whatever its size.
    expect(runCli(['hook', 'exec', 'vm', 'migrate', 'begin', '-'], { input: huge }).stdout).toBe(huge);
  });

  it('unknown operations exit 0 silently; migrate passes the XML through unchanged', () => {
    expect(runCli(['hook', 'exec', 'vm', 'attach', 'begin', '-'], { input: bad })).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(runCli(['hook', 'exec', 'vm', 'migrate', 'begin', '-'], { input: bad }).stdout).toBe(bad);
  });

  it('started begin pins device IRQs (auto from metadata); stopped end restores them; both idempotent', () => {
    const fx = copyPassthroughHost();
    try {
      const env = { VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: config({ stateDir: join(work, 'state'), waitIrqsSeconds: 0 }) };
      const xml = gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`);
      const irq = (n: number) => readFileSync(join(fx.root, 'proc', 'irq', String(n), 'smp_affinity_list'), 'utf8');
      const start = runCli(['hook', 'exec', 'gpu-vm', 'started', 'begin', '-'], { input: xml, env });
      expect(start.status).toBe(0);
      expect(start.stdout).toBe('');
      expect(start.stderr).toMatch(/gpu-vm started\/begin: applied: 8 target\(s\) changed/);
      expect(irq(120)).toBe('2-3\n');
      expect(existsSync(join(work, 'state', 'gpu-vm.json'))).toBe(true);
      const stop = runCli(['hook', 'exec', 'gpu-vm', 'stopped', 'end', '-'], { input: xml, env });
      expect(stop.status).toBe(0);
      expect(irq(120)).toBe('0-15\n');
      expect(runCli(['hook', 'exec', 'gpu-vm', 'release', 'end', '-'], { input: xml, env })).toMatchObject({ status: 0, stderr: '' });
      // Without any IRQ policy (default native) the hook changes nothing.
      const none = runCli(['hook', 'exec', 'gpu-vm', 'started', 'begin', '-'], { input: gpuVm(''), env });
      expect(none).toMatchObject({ status: 0, stderr: '' });
      expect(irq(120)).toBe('0-15\n');
    } finally {
      fx.cleanup();
    }
  });

  it('leaves domains whose names are not file names alone (a path, ".", ".."): a log line, exit 0, nothing touched', () => {
    for (const name of ['../etc', '.', '..']) {
      const r = runCli(['hook', 'exec', name, 'prepare', 'begin', '-'], { input: '<domain/>', env: { VIRT_PIN_CONFIG: config({ enforce: true, stateDir: join(work, 'state') }) } });
      expect([name, r.status, r.stderr]).toEqual([name, 0, `virt-pin hook: ${name} prepare/begin: the domain name is not usable as a file name; virt-pin leaves this domain alone\n`]);
    }
    expect(existsSync(join(work, 'state'))).toBe(false);
  });
});
