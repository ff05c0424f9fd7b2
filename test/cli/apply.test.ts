/** plan, apply and restore through the CLI against a real QEMU process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { readStateFile } from '../../src/apply/index.js';
import { validate as validatePlan } from '../../src/generated/plan.validate.js';
import { repoRoot } from '../support/corpus.js';
import { cliPath, runCli } from '../support/cli.js';
import { cpusAllowed, startQemu, type Qemu } from '../apply/support.js';
import { describeWith, requireComponents } from '../support/components.js';

const domain = `<domain type='kvm'>
  <name>vm</name>
  <memory unit='MiB'>64</memory>
  <vcpu placement='static'>4</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <vcpupin vcpu='0' cpuset='0'/>
    <vcpupin vcpu='1' cpuset='0'/>
    <vcpupin vcpu='2' cpuset='1'/>
    <vcpupin vcpu='3' cpuset='1'/>
    <emulatorpin cpuset='0'/>
    <iothreadpin iothread='1' cpuset='1'/>
  </cputune>
</domain>
`;

/** runCli is synchronous; apply talks to a QEMU this process owns, so run it asynchronously. */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return startCli(args, env).done;
}

/** A CLI process that keeps running (--watch): its output so far, and its end. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; done: Promise<{ status: number; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += String(c)));
  child.stderr.on('data', (c) => (stderr += String(c)));
  const done = new Promise<{ status: number; signal: string | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code, signal) => resolve({ status: code ?? -1, signal, stdout, stderr })));
  return { child, out: () => stdout, done };
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const masks = (pid: number) => threads(pid).map((t) => [t.tid, cpusAllowed(pid, t.tid).toString()]);

function threads(pid: number): { tid: number; name: string }[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => ({ tid: Number(t), name: readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() }));
}

let qemu: Qemu;
let work: string;
beforeAll(async () => {
  if (requireComponents(['qemu']).available) qemu = await startQemu();
  work = mkdtempSync(join(tmpdir(), 'vp-cli-apply-'));
  writeFileSync(join(work, 'vm.xml'), domain);
});
afterAll(async () => {
  await qemu?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describeWith(['qemu'], 'virt-pin plan / apply / restore', () => {
  it('plan prints a table, schema-valid JSON and a readable shell script', () => {
    const table = runCli(['plan', join(work, 'vm.xml')]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/vCPU 3/);
    const json = JSON.parse(runCli(['plan', '--format', 'json', join(work, 'vm.xml')]).stdout);
    expect(validatePlan(json)).toBe(true);
    expect(runCli(['plan', '--format', 'sh', join(work, 'vm.xml')]).stdout).toMatch(/taskset/);
    expect(runCli(['plan', '--format', 'yaml', join(work, 'vm.xml')]).status).toBe(2);
  });

  it('apply pins every thread of a real QEMU, re-apply is a no-op, restore puts the masks back', async () => {
    const before = threads(qemu.pid).map((t) => [t.tid, cpusAllowed(qemu.pid, t.tid).toString()]);
    const args = ['apply', '--pid', String(qemu.pid), '--state-dir', work, '--qmp', qemu.qmp, join(work, 'vm.xml')];
    const first = await runCliAsync(args);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/target\(s\) changed/);
    const vcpu3 = threads(qemu.pid).find((t) => t.name === 'CPU 3/TCG')!;
    expect(cpusAllowed(qemu.pid, vcpu3.tid).toString()).toBe('1');
    const again = await runCliAsync(args);
    expect(again.stdout).toMatch(/already in force, nothing changed/);
    const r = await runCliAsync(['restore', '--state-dir', work, 'vm']);
    expect(r.status).toBe(0);
    expect(threads(qemu.pid).map((t) => [t.tid, cpusAllowed(qemu.pid, t.tid).toString()])).toEqual(before);
    expect((await runCliAsync(['restore', '--state-dir', work, 'vm'])).stdout).toMatch(/nothing recorded/);
  });

  it('applies a plan JSON written by `virt-pin plan --format json` (schema-checked in the bundle), then restores', async () => {
    const before = threads(qemu.pid).map((t) => [t.tid, cpusAllowed(qemu.pid, t.tid).toString()]);
    const planDir = mkdtempSync(join(tmpdir(), 'vp-plan-'));
    const planFile = join(planDir, 'vm.plan.json');
    writeFileSync(planFile, runCli(['plan', '--format', 'json', join(work, 'vm.xml')]).stdout);
    const r = await runCliAsync(['apply', '--pid', String(qemu.pid), '--state-dir', work, planFile]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(cpusAllowed(qemu.pid, threads(qemu.pid).find((t) => t.name === 'CPU 3/TCG')!.tid).toString()).toBe('1');
    expect((await runCliAsync(['restore', '--state-dir', work, 'vm'])).status).toBe(0);
    expect(threads(qemu.pid).map((t) => [t.tid, cpusAllowed(qemu.pid, t.tid).toString()])).toEqual(before);
    rmSync(planDir, { recursive: true, force: true });
  });

  it('refuses unclear targets with exit 2', async () => {
    expect((await runCliAsync(['apply', join(work, 'vm.xml')])).status).toBe(2);
    expect((await runCliAsync(['apply', '--pid', 'x', join(work, 'vm.xml')])).status).toBe(2);
    void repoRoot;
  });
});

describeWith(['qemu'], 'apply --wait-irqs / --watch', () => {
  it('--wait-irqs applies, keeps watching up to its bound, and exits 0', async () => {
    const before = masks(qemu.pid);
    const r = await runCliAsync(['apply', '--pid', String(qemu.pid), '--state-dir', work, '--wait-irqs', '1', '--interval', '100', join(work, 'vm.xml')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^vm \(pid \d+\): \d+ target\(s\) changed/);
    expect(r.stdout).toMatch(/watch ended: the --wait-irqs deadline passed \(\d+ poll\(s\), 1 apply run\(s\), 0 target\(s\) changed after the first\)/);
    expect((await runCliAsync(['restore', '--state-dir', work, 'vm'])).status).toBe(0);
    expect(masks(qemu.pid)).toEqual(before);
  });

  it('SIGTERM stops --watch: exit 0, the state file complete and applied, restore puts every mask back', async () => {
    const before = masks(qemu.pid);
    const w = startCli(['apply', '--pid', String(qemu.pid), '--state-dir', work, '--watch', '--interval', '100', join(work, 'vm.xml')]);
    await until('the first apply report', () => /state: /.test(w.out()));
    w.child.kill('SIGTERM');
    const r = await w.done;
    expect([r.status, r.signal, r.stderr]).toEqual([0, null, '']);
    expect(r.stdout).toMatch(/watch ended: stopped by a signal/);
    const state = readStateFile(join(work, 'vm.json'));
    expect(state).toMatchObject({ pid: qemu.pid, phase: 'applied' });
    expect(state?.entries.map((e) => (e.kind === 'thread' ? e.tid : 0)).sort()).toEqual(threads(qemu.pid).map((t) => t.tid).sort());
    expect(cpusAllowed(qemu.pid, threads(qemu.pid).find((t) => t.name === 'CPU 3/TCG')!.tid).toString()).toBe('1');
    expect((await runCliAsync(['restore', '--state-dir', work, 'vm'])).status).toBe(0);
    expect(masks(qemu.pid)).toEqual(before);
  });

  it('--watch ends by itself, exit 0, when QEMU exits', async () => {
    const other = await startQemu();
    const dir = mkdtempSync(join(tmpdir(), 'vp-cli-watch-'));
    try {
      const w = startCli(['apply', '--pid', String(other.pid), '--state-dir', dir, '--watch', '--interval', '100', join(work, 'vm.xml')]);
      await until('the first apply report', () => /state: /.test(w.out()));
      await other.stop();
      const r = await w.done;
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/watch ended: the QEMU process exited/);
    } finally {
      await other.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses contradictory watch and thread options with exit 2', async () => {
    const file = join(work, 'vm.xml');
    for (const args of [
      ['--pid', '1', '--watch', '--wait-irqs', '5'],
      ['--pid', '1', '--wait-irqs', '0'],
      ['--pid', '1', '--wait-irqs', '3601'],
      ['--pid', '1', '--wait-irqs', 'soon'],
      ['--pid', '1', '--watch', '--interval', '5'],
      ['--pid', '1', '--interval', '100'],
      ['--pid', '1', '--watch', '--dry-run'],
      ['--pid', '1', '--threads', 'libvirt'],
      ['--pid', '1', '--connect', 'qemu:///system'],
      ['--domain', 'vm', '--threads', 'sideways'],
      ['--domain', 'vm', '--qmp', '/tmp/qmp.sock'],
      ['--domain', 'vm', '--cgroups'],
      ['--domain', 'vm', '--threads', 'direct', '--connect', 'qemu:///system'],
    ]) {
      const r = await runCliAsync(['apply', ...args, file]);
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(/^virt-pin apply: /);
    }
  });
});

describeWith(['virsh'], 'apply --domain through libvirt', () => {
  const file = () => join(work, 'vm.xml');

  it('asks libvirt (virsh) and reports what it says: no such domain, no daemon, no virsh', async () => {
    const missing = await runCliAsync(['apply', file(), '--domain', 'vp-no-such-domain', '--connect', 'test:///default', '--state-dir', work]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/error LIVE_DOMAIN_NOT_FOUND libvirt at test:\/\/\/default has no domain 'vp-no-such-domain'/);
    // The name reaches virsh as one word: its own message echoes it whole, so the ';' started no second command.
    const tricky = "vp'; destroy test; echo '";
    const quoted = await runCliAsync(['apply', file(), '--domain', tricky, '--connect', 'test:///default', '--state-dir', work]);
    expect(quoted.status).toBe(1);
    expect(quoted.stderr).toContain(`(virsh: failed to get domain '${tricky}')`);
    const noDaemon = await runCliAsync(['apply', file(), '--domain', 'vm', '--connect', `qemu+unix:///system?socket=${join(work, 'no-daemon.sock')}`, '--state-dir', work]);
    expect(noDaemon.status).toBe(1);
    expect(noDaemon.stderr).toMatch(/error LIVE_CONNECT_FAILED cannot connect to qemu\+unix/);
    const noVirsh = await runCliAsync(['apply', file(), '--domain', 'vm', '--state-dir', work], { PATH: join(work, 'empty-path') });
    expect(noVirsh.status).toBe(1);
    expect(noVirsh.stderr).toMatch(/error LIVE_NO_VIRSH virsh is not installed/);
    expect(readdirSync(work).filter((f) => f.endsWith('.json') || f === 'libvirt')).toEqual([]);
  });

  it('--threads direct reads libvirt\'s pidfile and never runs virsh', async () => {
    const r = await runCliAsync(['apply', file(), '--domain', 'vp-no-such-domain', '--threads', 'direct', '--state-dir', work], { PATH: join(work, 'empty-path') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error APPLY_NO_PIDFILE/);
  });
});
