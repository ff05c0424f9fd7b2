/**
 * Issue 14, the hook's items: each test is named after the item it pins
 * down and failed on the main branch before the fix.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, runCli } from '../support/cli.js';
import { copyPassthroughHost } from '../apply/support.js';
import { gpuVm, NS } from '../plan/support.js';
import { RUNTIME_FILES } from '../../src/cli/runtime-files.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'vp-hook-hard-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const AUTO = `    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`;
const writeConfig = (c: object): string => {
  const p = join(work, 'config.json');
  writeFileSync(p, JSON.stringify(c));
  return p;
};

describe('issue 14: the hook', () => {
  it('item 3: a CLI under a path with a space and a non-ASCII character installs a working hook and spawns a working late-IRQ waiter', async () => {
    const tree = join(work, 'my tools é', 'dist');
    mkdirSync(tree, { recursive: true });
    // The CLI is several files since the code-cache entries (src/cli/runtime-files.ts): copy them all.
    for (const f of RUNTIME_FILES) copyFileSync(join(cliPath, '..', f), join(tree, f));
    writeFileSync(join(tree, '..', 'package.json'), '{"type":"module"}');
    const fx = copyPassthroughHost();
    try {
      const env = { ...process.env, VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: writeConfig({ stateDir: join(work, 'state'), waitIrqsSeconds: 4 }) };
      // install: the wrapper must name the real path, not a percent-encoded one.
      const install = spawnSync(process.execPath, [join(tree, 'cli.js'), 'hook', 'install', '--dir', join(work, 'hooks'), '--lib-dir', join(work, 'lib ü')], { encoding: 'utf8', env });
      expect(install.status, install.stderr).toBe(0);
      expect(install.stdout).toContain('without koffi: thread writes use taskset/chrt'); // this tree has no node_modules
      const script = readFileSync(join(work, 'hooks', 'qemu.d', 'virt-pin'), 'utf8');
      expect(script).not.toMatch(/%20|%C3/);
      const prepare = spawnSync(join(work, 'hooks', 'qemu.d', 'virt-pin'), ['gpu-vm', 'prepare', 'begin', '-'], { input: gpuVm(AUTO), encoding: 'utf8', env });
      expect([prepare.status, prepare.stderr]).toEqual([0, expect.not.stringMatching(/missing|failed/)]);

      // The waiter is spawned from the running CLI's own path (here the one with 'my tools é' in it).
      const start = spawnSync(process.execPath, [join(tree, 'cli.js'), 'hook', 'exec', 'gpu-vm', 'started', 'begin', '-'], { input: gpuVm(AUTO), encoding: 'utf8', env });
      expect(start.stderr).toContain('applied: 8 target(s) changed');
      // The guest driver enables a late MSI-X vector on the VF: only a running waiter pins it.
      const vf = join(fx.root, 'sys/devices/pci0000:80/0000:80:03.0/0000:81:02.1/msi_irqs');
      mkdirSync(vf, { recursive: true });
      writeFileSync(join(vf, '140'), 'msix\n');
      mkdirSync(join(fx.root, 'proc/irq/140'));
      writeFileSync(join(fx.root, 'proc/irq/140/smp_affinity_list'), '0-15\n');
      appendFileSync(join(fx.root, 'proc/interrupts'), ` 140:${'          0 '.repeat(16)} PCI-MSIX-0000:81:02.1 0-edge vfio-msix[0](0000:81:02.1)\n`);
      const list = () => readFileSync(join(fx.root, 'proc/irq/140/smp_affinity_list'), 'utf8');
      const deadline = Date.now() + 8000;
      while (list() !== '10-11\n' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(list()).toBe('10-11\n');
      await new Promise((r) => setTimeout(r, 4500)); // let the waiter reach its deadline before the root goes
    } finally {
      fx.cleanup();
    }
  }, 30_000);

  it('item 6: the stop hook restores whatever the size of the XML on stdin (restore needs no XML)', () => {
    const fx = copyPassthroughHost();
    try {
      const env = { VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: writeConfig({ stateDir: join(work, 'state'), waitIrqsSeconds: 0 }) };
      const irq = () => readFileSync(join(fx.root, 'proc/irq/120/smp_affinity_list'), 'utf8');
      expect(runCli(['hook', 'exec', 'gpu-vm', 'started', 'begin', '-'], { input: gpuVm(AUTO), env }).status).toBe(0);
      expect(irq()).toBe('2-3\n');
      // Live XML at stop carries runtime state; 5 MiB is over the 4 MiB input limit.
      const live = gpuVm(`${AUTO}\n    <!--${' '.repeat(5 * 1024 * 1024)}-->`);
      const stop = runCli(['hook', 'exec', 'gpu-vm', 'stopped', 'end', '-'], { input: live, env });
      expect(stop).toMatchObject({ status: 0, stdout: '' });
      expect(stop.stderr).toContain('virt-pin hook: gpu-vm stopped/end: restored: 8 target(s)');
      expect(irq()).toBe('0-15\n');
    } finally {
      fx.cleanup();
    }
  });

  it('item 7: the installed hook never holds libvirt past its budget: a call stuck in a read is killed and fails open', () => {
    const fx = copyPassthroughHost();
    try {
      writeConfig({ stateDir: join(work, 'state'), waitIrqsSeconds: 0 });
      const env = { ...process.env, VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: join(work, 'config.json') };
      const install = spawnSync(process.execPath, [cliPath, 'hook', 'install', '--dir', join(work, 'hooks'), '--lib-dir', join(work, 'lib'), '--budget', '2'], { encoding: 'utf8', env });
      expect(install.status, install.stderr).toBe(0);
      // A read that never returns (a FIFO where the kernel's IRQ file should be) stands in for anything that hangs.
      const stuck = join(fx.root, 'proc/irq/120/smp_affinity_list');
      unlinkSync(stuck);
      expect(spawnSync('mkfifo', [stuck]).status).toBe(0);
      const t0 = performance.now();
      const r = spawnSync(join(work, 'hooks', 'qemu.d', 'virt-pin'), ['gpu-vm', 'started', 'begin', '-'], { input: gpuVm(AUTO), encoding: 'utf8', env, timeout: 30_000 });
      const seconds = (performance.now() - t0) / 1000;
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('virt-pin hook: gpu-vm started/begin: the virt-pin CLI was killed (over the 2 s budget, or out of memory); leaving the domain alone');
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect(seconds).toBeLessThan(4);
    } finally {
      fx.cleanup();
    }
  }, 30_000);

  it("item 21: domains named '.' and '..' are left alone with a log line and exit 0 (a failing prepare would block their start)", () => {
    const env = { VIRT_PIN_CONFIG: writeConfig({ enforce: true, stateDir: join(work, 'state') }) };
    for (const name of ['.', '..']) {
      for (const [op, sub] of [['prepare', 'begin'], ['started', 'begin'], ['stopped', 'end']]) {
        const r = runCli(['hook', 'exec', name, op!, sub!, '-'], { input: `<domain type='kvm'><name>${name}</name><vcpu>1</vcpu></domain>`, env });
        expect([name, op, r.status, r.stderr]).toEqual([name, op, 0, `virt-pin hook: ${name} ${op}/${sub}: the domain name is not usable as a file name; virt-pin leaves this domain alone\n`]);
      }
    }
    expect(existsSync(join(work, 'state'))).toBe(false);
  });

  it('item 23: migrate/restore/save stream stdin to stdout byte for byte (200 MB with invalid UTF-8) in bounded memory', async () => {
    const chunk = randomBytes(1024 * 1024);
    chunk.set([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80], 0); // never valid UTF-8
    const chunks = 200;
    const inHash = createHash('sha256');
    for (let i = 0; i < chunks; i++) inHash.update(chunk);
    for (const op of ['migrate', 'restore', 'save']) {
      const child = spawn(process.execPath, [cliPath, 'hook', 'exec', 'vm', op, 'begin', '-'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, VIRT_PIN_SYSLOG: '0' } });
      const outHash = createHash('sha256');
      let outBytes = 0;
      child.stdout.on('data', (b: Buffer) => {
        outHash.update(b);
        outBytes += b.length;
      });
      let peakKiB = 0;
      const poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
        } catch {
          // exited between polls
        }
      }, 20);
      const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      for (let i = 0; i < chunks; i++) if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
      child.stdin.end();
      const code = await done;
      clearInterval(poll);
      console.log(`hook ${op} pass-through: ${outBytes} bytes, peak RSS ${(peakKiB / 1024).toFixed(0)} MiB`);
      expect([op, code, outBytes]).toEqual([op, 0, chunks * chunk.length]);
      expect(outHash.digest('hex')).toBe(inHash.copy().digest('hex'));
      expect(peakKiB).toBeGreaterThan(0);
      expect(peakKiB / 1024).toBeLessThan(80); // Node and the bundle alone are ~50 MiB here; 200 MB buffered would be far above
    }
  }, 120_000);
});
