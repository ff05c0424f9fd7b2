/** plan, apply and restore through the CLI against a real QEMU process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { validate as validatePlan } from '../../src/generated/plan.validate.js';
import { repoRoot } from '../support/corpus.js';
import { cliPath, runCli } from '../support/cli.js';
import { cpusAllowed, startQemu, type Qemu } from '../apply/support.js';

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
function runCliAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += String(c)));
    p.stderr.on('data', (c) => (stderr += String(c)));
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

function threads(pid: number): { tid: number; name: string }[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => ({ tid: Number(t), name: readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() }));
}

let qemu: Qemu;
let work: string;
beforeAll(async () => {
  qemu = await startQemu();
  work = mkdtempSync(join(tmpdir(), 'vp-cli-apply-'));
  writeFileSync(join(work, 'vm.xml'), domain);
});
afterAll(async () => {
  await qemu?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('virt-pin plan / apply / restore', () => {
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

  it('refuses unclear targets with exit 2', async () => {
    expect((await runCliAsync(['apply', join(work, 'vm.xml')])).status).toBe(2);
    expect((await runCliAsync(['apply', '--pid', 'x', join(work, 'vm.xml')])).status).toBe(2);
    void repoRoot;
  });
});
