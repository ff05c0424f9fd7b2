/** pin, export and import driven as a real subprocess. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';
import { runCli } from '../support/cli.js';

const example = join(repoRoot, 'fixtures/examples/gaming-vfio.xml');
const desktop = `sysfs:${join(repoRoot, 'fixtures/hosts/desktop-smt')}`;
const tmp = mkdtempSync(join(tmpdir(), 'virt-pin-pin-'));

describe('virt-pin pin', () => {
  it('prints the pinned domain; only cputune and numatune change', () => {
    const r = runCli(['pin', '--host', desktop, example]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("<vcpupin vcpu='0' cpuset='2'/>");
    expect(r.stdout).toContain("<emulatorpin cpuset='0-1'/>");
    const before = readFileSync(example, 'utf8').split('\n');
    const after = r.stdout.split('\n');
    const changed = after.filter((l) => !before.includes(l));
    expect(changed.every((l) => /vcpupin|emulatorpin|iothreadpin|numatune|<memory mode/.test(l))).toBe(true);
  });

  it('--dry-run prints a diff, --explain the reasons; --in-place keeps a .bak', () => {
    const d = runCli(['pin', '--host', desktop, '--dry-run', '--explain', example]);
    expect(d.stdout).toMatch(/^--- .*gaming-vfio.xml\n\+\+\+ /);
    expect(d.stderr).toMatch(/Host CPUs 0-1 stay with the host/);
    const file = join(tmp, 'vm.xml');
    writeFileSync(file, readFileSync(example));
    expect(runCli(['pin', '--host', desktop, '--in-place', file]).status).toBe(0);
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(readFileSync(example, 'utf8'));
    expect(readFileSync(file, 'utf8')).toContain("<vcpupin vcpu='7' cpuset='9'/>");
    const nb = join(tmp, 'nb.xml');
    writeFileSync(nb, readFileSync(example));
    runCli(['pin', '--host', desktop, '--in-place', '--no-backup', nb]);
    expect(existsSync(`${nb}.bak`)).toBe(false);
  });

  it('takes a policy file validated against schemas/policy.schema.json', () => {
    const good = join(tmp, 'p.json');
    writeFileSync(good, JSON.stringify({ vcpu: 'shared', emulator: 'share' }));
    expect(runCli(['pin', '--host', desktop, '--policy', good, example]).stdout).toContain("<vcpupin vcpu='0' cpuset='2-15'/>");
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ vcpu: 'sometimes' }));
    const r = runCli(['pin', '--host', desktop, '--policy', bad, example]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/policy\.schema\.json/);
  });

  it('says what would fit when the request cannot', () => {
    const xml = readFileSync(example, 'utf8').replace("<vcpu placement='static'>8</vcpu>", "<vcpu placement='static'>16</vcpu>").replace("cores='4' threads='2'", "cores='8' threads='2'");
    const r = runCli(['pin', '--host', desktop, '-'], { input: xml });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/POLICY_DOES_NOT_FIT 16 dedicated vCPUs do not fit/);
    expect(r.stderr).toMatch(/hint: what would fit: up to 14 dedicated vCPUs/);
  });

  it('refuses bad flags with exit 2', () => {
    expect(runCli(['pin', example]).status).toBe(2);
    expect(runCli(['pin', '--host', desktop, '--vcpu', 'sometimes', example]).status).toBe(2);
    expect(runCli(['pin', '--host', desktop, '--realtime', 'fifo', example]).status).toBe(2);
  });
});

describe('virt-pin export / import', () => {
  it('exports qemu-pinning -vcpu options and virsh commands', () => {
    expect(runCli(['export', '--format', 'qemu-pinning', example]).stdout.trim()).toBe(
      '-vcpu vcpunum=0,affinity=1 -vcpu vcpunum=1,affinity=9 -vcpu vcpunum=2,affinity=2 -vcpu vcpunum=3,affinity=10 -vcpu vcpunum=4,affinity=3 -vcpu vcpunum=5,affinity=11 -vcpu vcpunum=6,affinity=4 -vcpu vcpunum=7,affinity=12',
    );
    const v = runCli(['export', '--format', 'virsh', '--live', example]);
    expect(v.stdout.split('\n')[0]).toBe('virsh vcpupin win11-gaming 0 1 --live');
    expect(v.stdout).toContain('virsh emulatorpin win11-gaming 0,8 --live');
    const wide = runCli(['export', '--format', 'qemu-pinning', '--host', desktop, '-'], { input: "<domain type='kvm'><name>w</name><vcpu>1</vcpu></domain>" });
    expect(wide.status).toBe(1);
    expect(wide.stderr).toMatch(/EXPORT_NOT_SINGLE_CPU/);
  });

  it('imports -vcpu options into <cputune>, replacing pins of the same vCPUs', () => {
    const r = runCli(['import', '--from', 'qemu-args', '-vcpu vcpunum=0,affinity=5 -vcpu vcpunum=2,affinity=6', example]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("    <vcpupin vcpu='0' cpuset='5'/>\n    <vcpupin vcpu='1' cpuset='9'/>\n    <vcpupin vcpu='2' cpuset='6'/>\n    <vcpupin vcpu='3' cpuset='10'/>");
    expect(runCli(['import', '--from', 'qemu-args', '-vcpu vcpunum=1,affinity=3']).stdout).toBe("<cputune>\n  <vcpupin vcpu='1' cpuset='3'/>\n</cputune>\n");
    expect(runCli(['import', '--from', 'qemu-args', '-vcpu vcpunum=9,affinity=3', example]).stderr).toMatch(/IMPORT_VCPU_OUT_OF_RANGE/);
  });
});
