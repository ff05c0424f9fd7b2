import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CpuSet } from '../../src/cpuset/index.js';
import { domainStatus, hostDomainFromText, type StatusInput } from '../../src/hostview/index.js';
import { validate as validateStatus } from '../../src/generated/status.validate.js';
import { copyPassthroughHost } from '../apply/support.js';
import { cliPath, runCli } from '../support/cli.js';
import { describeWith, findProgram } from '../support/components.js';

const set = (s: string) => CpuSet.fromIds(s.split(',').flatMap((p) => {
  const [a, b] = p.split('-').map(Number);
  return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
}));

const GPU_VM = `<domain type='kvm'>
  <name>gpu-vm</name>
  <metadata>
    <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' hostdev='0000:0a:00.0' affinity='0-15'/>
  </metadata>
  <memory unit='GiB'>4</memory>
  <vcpu placement='static'>4</vcpu>
  <iothreads>1</iothreads>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
  </os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x0000' bus='0x0a' slot='0x00' function='0x0'/>
      </source>
    </hostdev>
  </devices>
</domain>
`;

describe('domainStatus (pure): drift and its cause', () => {
  const def = `<domain type='kvm'><name>d</name><vcpu placement='static' current='1'>2</vcpu><iothreads>1</iothreads>
<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='2'/><emulatorpin cpuset='0'/><iothreadpin iothread='1' cpuset='0'/></cputune></domain>`;
  const host = { onlineCpus: set('0-3') };
  const intended = hostDomainFromText(def, { fileName: 'd.xml', host }).resolved;
  const base = (): StatusInput => ({
    name: 'd',
    pid: 100,
    intended,
    libvirt: { vcpus: new Map([[0, set('1')]]), iothreads: new Map([[1, set('0')]]), emulator: set('0') },
    threads: [
      { tid: 100, comm: 'qemu-system-x86', kind: 'main', actual: set('0') },
      { tid: 101, comm: 'CPU 0/KVM', kind: 'vcpu', vcpu: 0, actual: set('1') },
      { tid: 102, comm: 'IO iothread1', kind: 'iothread', iothread: 1, actual: set('0') },
    ],
    irqPolicy: [{ device: '0000:01:00.0', policy: 'cpuset', cpus: set('3') }],
    irqs: [{ device: '0000:01:00.0', irq: 40, smp: set('3'), effective: set('3') }],
    irqbalance: { running: false },
  });

  it('no drift when libvirt and the kernel agree with the definition', () => {
    const s = domainStatus(base());
    expect(s.drift).toBe(false);
    expect(s.threads.map((t) => `${t.target} ${t.intended} ${t.libvirt} ${t.actual}`)).toEqual(['emulator 0 0 0', 'vcpu0 1 1 1', 'iothread1 0 0 0']);
  });

  it('libvirt live pin changed → libvirt-live; kernel mask changed alone → taskset', () => {
    const a = base();
    a.libvirt!.vcpus.set(0, set('2'));
    a.threads[1]!.actual = set('2');
    expect(domainStatus(a).threads[0]).toMatchObject({ target: 'vcpu0', drift: true, cause: 'libvirt-live' });
    const b = base();
    b.threads[2]!.actual = set('3');
    const row = domainStatus(b).threads[0]!;
    expect(row).toMatchObject({ target: 'iothread1', drift: true, cause: 'taskset', libvirt: '0', actual: '3' });
  });

  it("the live XML tells libvirt's own pins from changes behind its back (iothreadinfo reports the kernel's mask)", () => {
    const a = base();
    a.live = intended; // libvirt's live XML still holds the definition's pins
    a.libvirt!.iothreads.set(1, set('3'));
    a.threads[2]!.actual = set('3');
    expect(domainStatus(a).threads[0]).toMatchObject({ target: 'iothread1', drift: true, cause: 'taskset', libvirt: '3' });
    const b = base();
    b.live = hostDomainFromText(def.replace("iothread='1' cpuset='0'", "iothread='1' cpuset='3'"), { fileName: 'd.xml', host }).resolved;
    b.libvirt!.iothreads.set(1, set('3'));
    b.threads[2]!.actual = set('3');
    expect(domainStatus(b).threads[0]).toMatchObject({ target: 'iothread1', drift: true, cause: 'libvirt-live' });
  });

  it('a vCPU thread the definition has offline → hotplug; an apply state file → apply-state', () => {
    const a = base();
    a.threads.push({ tid: 103, comm: 'CPU 1/KVM', kind: 'vcpu', vcpu: 1, actual: set('2') });
    expect(domainStatus(a).threads.find((t) => t.target === 'vcpu1')).toMatchObject({ drift: true, cause: 'hotplug' });
    const b = base();
    b.threads[0]!.actual = set('3');
    b.applied = [{ path: '/run/virt-pin/d.json', tids: new Set([100]), irqs: new Set(), targets: new Set() }];
    const s = domainStatus(b);
    expect(s.threads[0]).toMatchObject({ target: 'emulator', drift: true, cause: 'apply-state' });
    expect(s.notes.join()).toContain('/run/virt-pin/d.json');
  });

  it('IRQ moved: irqbalance when it manages the IRQ, a rewrite otherwise; kernel-managed IRQs never drift', () => {
    const a = base();
    a.irqs[0]!.smp = set('0-3');
    expect(domainStatus(a).irqs[0]).toMatchObject({ drift: true, cause: 'irq-write', irqbalance: false });
    a.irqbalance = { running: true };
    expect(domainStatus(a).irqs[0]).toMatchObject({ drift: true, cause: 'irqbalance', irqbalance: true });
    a.irqs[0]!.kernelManaged = true;
    expect(domainStatus(a).irqs[0]).toMatchObject({ drift: false, irqbalance: false });
  });
});

describe('virt-pin status on a captured host (--root, --xml)', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());
  const setup = () => {
    const h = copyPassthroughHost();
    cleanup = h.cleanup;
    const xml = join(h.dir, 'gpu-vm.xml');
    writeFileSync(xml, GPU_VM);
    const status = (...extra: string[]) => runCli(['status', '--root', h.root, '--xml', xml, '--interval', '0', ...extra]);
    return { ...h, xml, status };
  };

  it('reports every thread and IRQ, no drift, exit 0; JSON keeps to the schema', () => {
    const { status } = setup();
    const r = status();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('gpu-vm (pid 4242): as intended');
    const j = status('--format', 'json');
    const report = JSON.parse(j.stdout);
    expect(validateStatus(report), JSON.stringify(validateStatus.errors)).toBe(true);
    expect(report.domains[0].threads.map((t: { kind: string }) => t.kind).sort()).toEqual(['iothread', 'kvm-nx', 'main', 'other', 'other', 'other', 'vcpu', 'vcpu', 'vcpu', 'vcpu', 'vhost']);
    expect(report.domains[0].irqs.map((q: { irq: number; effective: string }) => `${q.irq}:${q.effective}`)).toEqual(['120:8', '121:9']);
  });

  it('a write to a non-managed IRQ is drift (irq-write), exit 1; with irqbalance running it is irqbalance; restored → 0', () => {
    const { root, status } = setup();
    const file = join(root, 'proc/irq/121/smp_affinity_list');
    writeFileSync(file, '2\n');
    const r = status();
    expect(r.status).toBe(1);
    const first = r.stdout.split('\n').find((l) => /^\s+0000:0a:00.0/.test(l))!;
    expect(first).toMatch(/121 .*yes: smp_affinity_list rewritten/);
    mkdirSync(join(root, 'run/irqbalance'), { recursive: true });
    writeFileSync(join(root, 'run/irqbalance/irqbalance1234.sock'), '');
    const j = JSON.parse(status('--format', 'json').stdout);
    expect(j.domains[0].irqs[0]).toMatchObject({ irq: 121, drift: true, cause: 'irqbalance', irqbalance: true });
    // An IRQ banned on irqbalance's command line is not managed: the rewrite is someone else's.
    mkdirSync(join(root, 'proc/999'), { recursive: true });
    writeFileSync(join(root, 'proc/999/comm'), 'irqbalance\n');
    writeFileSync(join(root, 'proc/999/cmdline'), 'irqbalance\0--foreground\0--banirq=121\0');
    const banned = JSON.parse(status('--format', 'json').stdout);
    expect(banned.domains[0].irqs.map((q: { irq: number; irqbalance: boolean; cause?: string }) => `${q.irq} ${q.irqbalance} ${q.cause ?? '-'}`)).toEqual(['121 false irq-write', '120 true -']);
    writeFileSync(file, '0-15\n');
    expect(status().status).toBe(0);
  });

  it('a thread whose kernel mask changed is drift; the table lists it first', () => {
    const { root, status } = setup();
    const p = join(root, 'proc/4242/task/4260/status');
    writeFileSync(p, readFileSync(p, 'utf8').replace(/Cpus_allowed_list:\t.*/, 'Cpus_allowed_list:\t3'));
    const r = status();
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n')[2]).toMatch(/^\s+4260\s+iothread1\s+iothread\s+0-15\s+-\s+3 .*yes/);
  });

  it('--watch redraws until interrupted, then exits with the last status', () => {
    const { root, xml } = setup();
    writeFileSync(join(root, 'proc/irq/120/smp_affinity_list'), '1\n');
    const r = spawnSync(process.execPath, [cliPath, 'status', '--root', root, '--xml', xml, '--interval', '0', '--watch', '0.3'], { encoding: 'utf8', timeout: 2500, killSignal: 'SIGINT', env: { ...process.env, NO_COLOR: '1' } });
    const frames = r.stdout.split('virt-pin status — ').length - 1;
    expect(frames).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toContain('gpu-vm (pid 4242): DRIFT');
    expect(r.status).toBe(1);
  });

  it('usage errors exit 2; a domain that is not running is an error (exit 2)', () => {
    const { status, dir } = setup();
    expect(status('--format', 'xml').status).toBe(2);
    expect(status('--interval', '-1').status).toBe(2);
    const other = join(dir, 'other.xml');
    writeFileSync(other, GPU_VM.replace('gpu-vm', 'not-running'));
    const r = runCli(['status', '--root', join(dir, 'root'), '--xml', other, '--interval', '0', '--format', 'json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).errors[0]).toMatchObject({ domain: 'not-running', code: 'APPLY_NO_PIDFILE' });
  });
});

describeWith(['promtool'], 'virt-pin status --format prometheus', () => {
  it('prometheus output passes promtool check metrics', () => {
    const promtool = findProgram('promtool')!;
    const h = copyPassthroughHost();
    const xml = join(h.dir, 'gpu-vm.xml');
    writeFileSync(xml, GPU_VM);
    const root = h.root;
    const status = (...extra: string[]) => runCli(['status', '--root', root, '--xml', xml, '--interval', '0', ...extra]);
    writeFileSync(join(root, 'proc/irq/120/smp_affinity_list'), '1\n');
    const r = status('--format', 'prometheus');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('virt_pin_irq_drift{domain="gpu-vm",device="0000:0a:00.0",irq="120"} 1');
    expect(r.stdout).toContain('virt_pin_thread_drift{domain="gpu-vm",thread="vcpu0",kind="vcpu"} 0');
    const check = spawnSync(promtool, ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    h.cleanup();
  });
});

describe('status output never passes control characters to the terminal', () => {
  it('escapes them in names and comms', async () => {
    const { printable, renderHuman } = await import('../../src/cli/status/render.js');
    expect(printable('evil\u001b[2Jname\n')).toBe('evil\\x1b[2Jname\\x0a');
    const out = renderHuman(
      {
        schemaVersion: 1,
        kind: 'virt-pin-status',
        generatedAt: '2026-01-01T00:00:00Z',
        intervalSeconds: 0,
        drift: false,
        domains: [{ name: 'a\u001b]0;x\u0007', pid: 1, drift: false, notes: [], irqs: [], threads: [{ tid: 2, comm: 'w\u001b[31m', kind: 'other', target: 'emulator', drift: false }] }],
        claims: [],
        conflicts: [],
        errors: [],
      },
      false,
    );
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(out).toContain('a\\x1b]0;x\\x07');
    expect(out).toContain('emulator:w\\x1b[31m');
  });
});

describe('irqbalance command-line bans', () => {
  it('reads --banirq=N, --banirq N, -i N and -iN', async () => {
    const { bannedIrqs } = await import('../../src/cli/status/collect.js');
    expect([...bannedIrqs(['irqbalance', '--banirq=40', '--banirq', '41', '-i', '42', '-i43', '--banirq=x', '-i'])].sort()).toEqual([40, 41, 42, 43]);
  });
});
