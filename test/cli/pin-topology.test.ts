/**
 * The topology-aware CLI end to end (built dist/cli.js): a guide-style hand
 * pinning that ignores the host's sibling numbering is warned about by
 * `check --host` and `show` with hints that name the fix, while `pin`'s own
 * output for the same host is clean; `show` draws L3 groups, core types and
 * the plan's device IRQs; the small fixes from issue 17 (tiny hosts,
 * --reserve none, does-not-fit hints).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureRoot, removeCaptures } from '../host/hwloc-captures.js';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'vp-pin-topo-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  removeCaptures();
});
const file = (name: string, text: string): string => {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
};
const TOPOLOGY_CODES = /GUEST_SMT_MISMATCH|VCPU_ON_HOUSEKEEPING_SIBLING|GUEST_SPANS_L3_GROUPS|GUEST_SPANS_CORE_TYPES|CPU_OVERCOMMIT/;

const domain = (opts: { name: string; vcpus: number; cputune?: string; topology?: string; metadata?: string; hostdev?: boolean }): string => `<domain type='kvm'>
  <name>${opts.name}</name>
  <memory unit='GiB'>8</memory>
  <vcpu placement='static'>${opts.vcpus}</vcpu>
${opts.metadata ?? ''}${opts.cputune ?? ''}  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <cpu mode='host-passthrough'>
    ${opts.topology ?? `<topology sockets='1' dies='1' cores='${opts.vcpus / 2}' threads='2'/>`}
  </cpu>
  <devices>
${
  opts.hostdev === false
    ? ''
    : `    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
    </hostdev>
`
}  </devices>
</domain>
`;

/** A VFIO guide's layout: consecutive host CPUs 2-9, emulator on 0-1 — on a host whose siblings are N and N+8. */
const guideCputune = `  <cputune>
${[2, 3, 4, 5, 6, 7, 8, 9].map((c, v) => `    <vcpupin vcpu='${v}' cpuset='${c}'/>`).join('\n')}
    <emulatorpin cpuset='0-1'/>
  </cputune>
`;

describe('guide-style hand pinning on a host with N/N+8 siblings (vfio-desktop)', () => {
  const host = 'sysfs:fixtures/hosts/vfio-desktop';
  const guide = file('guide.xml', domain({ name: 'guide', vcpus: 8, cputune: guideCputune }));

  it('check --host warns that guest sibling pairs span host cores and vCPUs share the emulator cores, naming the fix', () => {
    const r = runCli(['check', '--host', host, '--format', 'json', guide]);
    const diags = (JSON.parse(r.stdout) as Array<{ diagnostics: Array<{ code: string; hint?: string; line: number }> }>)[0]!.diagnostics;
    const smt = diags.filter((d) => d.code === 'GUEST_SMT_MISMATCH');
    const beside = diags.filter((d) => d.code === 'VCPU_ON_HOUSEKEEPING_SIBLING');
    expect(smt).toHaveLength(4);
    expect(beside.map((d) => d.line)).toEqual([12, 13]);
    expect(smt[0]!.hint).toMatch(/virt-pin pin/);
    expect(beside[0]!.hint).toMatch(/--reserve|--emulator isolate/);
  });

  it('show lists the same findings instead of a bare "no conflicts"', () => {
    const r = runCli(['show', '--host', host, guide]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/findings \(6\):/);
    expect(r.stdout).toMatch(/GUEST_SMT_MISMATCH: line 7: guest SMT siblings vCPU 0, 1/);
    expect(r.stdout).toMatch(/hint: re-pin with 'virt-pin pin'/);
  });

  it("pin's own output for the same guest and host is silent", () => {
    const pinned = runCli(['pin', '--host', host, file('guide-unpinned.xml', domain({ name: 'guide', vcpus: 8 }))]);
    expect(pinned.status, pinned.stderr).toBe(0);
    const out = file('guide-pinned.xml', pinned.stdout);
    const check = runCli(['check', '--host', host, out]);
    expect(check.stdout).not.toMatch(TOPOLOGY_CODES);
    const show = runCli(['show', '--host', host, out]);
    expect(show.stdout).toMatch(/no conflicts/);
    expect(show.stdout).not.toMatch(/findings/);
  });

  it("a guest with cores='12' threads='1' on host siblings is warned about; pin gives it a core per vCPU", () => {
    const twelve = Array.from({ length: 12 }, (_, v) => `    <vcpupin vcpu='${v}' cpuset='${[2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15][v]}'/>`).join('\n');
    const hand = file('twelve.xml', domain({ name: 'twelve', vcpus: 12, topology: "<topology sockets='1' dies='1' cores='12' threads='1'/>", cputune: `  <cputune>\n${twelve}\n  </cputune>\n` }));
    const r = runCli(['check', '--host', host, hand]);
    expect(r.stdout).toMatch(/GUEST_SMT_MISMATCH.*separate cores to the guest/);
    expect(r.stdout).toMatch(/--topology match-host/);
  });
});

describe("the issue's amd-multi-ccx spill (cores 1-3 plus core 4 for 8 vCPUs)", () => {
  const ccxCputune = `  <cputune>
${[1, 17, 2, 18, 3, 19, 4, 20].map((c, v) => `    <vcpupin vcpu='${v}' cpuset='${c}'/>`).join('\n')}
    <emulatorpin cpuset='0,16'/>
  </cputune>
`;
  it('is GUEST_SPANS_L3_GROUPS with sysfs and with capabilities XML as the host, naming --cache', () => {
    const xml = file('ccx-hand.xml', domain({ name: 'ccx', vcpus: 8, cputune: ccxCputune, hostdev: false }));
    for (const host of ['sysfs:fixtures/hosts/amd-multi-ccx', 'fixtures/hosts/amd-multi-ccx.caps.xml']) {
      const r = runCli(['check', '--host', host, xml]);
      expect(r.stdout, host).toMatch(/warning GUEST_SPANS_L3_GROUPS the 8 dedicated vCPUs are spread over 2 L3 groups \(0-3,16-19 \| 4-7,20-23\)/);
      expect(r.stdout, host).toMatch(/--cache prefer/);
    }
  });
});

describe('show draws L3 groups, core types and device IRQs', () => {
  it('amd-multi-ccx: cores tagged with their L3 group, the plan’s IRQ CPUs drawn as irq DEV', () => {
    const metadata = `  <metadata>
    <vp:irqs xmlns:vp='https://virt-pin.dev/xmlns/irq/1'>
      <vp:irq hostdev='0000:01:00.0' affinity='3'/>
    </vp:irqs>
  </metadata>
`;
    const xml = file('irq.xml', domain({ name: 'irq', vcpus: 4, metadata }));
    const svgPath = join(scratch, 'irq.svg');
    const r = runCli(['show', '--host', 'sysfs:fixtures/hosts/amd-multi-ccx', '--svg', svgPath, xml]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/L3 groups: L3#0 CPUs 0-3,16-19 \(\d+ MiB\), L3#1 CPUs 4-7,20-23/);
    expect(r.stdout).toMatch(/core +4 L3#1 /);
    expect(r.stdout).toMatch(/cpu 3: .*irq 01:00\.0/);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg).toMatch(/data-l3="1"/);
    expect(svg).toMatch(/>irq 01:00\.0</);
  });

  it('hybrid capture: P and E tags in text, data-core-type in SVG and HTML', () => {
    const root = captureRoot('20em64t-hybrid-1p6c2t+2ca4co1t');
    const xml = file('hybrid.xml', domain({ name: 'hybrid', vcpus: 4, hostdev: false }));
    const html = join(scratch, 'hybrid.html');
    const r = runCli(['show', '--host', `sysfs:${root}`, '--html', html, xml]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/core types: P performance, E efficiency/);
    // One L3 for the whole host: no L3 tags, only the core types.
    expect(r.stdout).toMatch(/core +0 P +cpu 0:/);
    expect(r.stdout).toMatch(/ E +cpu 12:/);
    expect(r.stdout).not.toMatch(/L3#/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/data-core-type="efficiency"/);
    expect(page).toMatch(/data-core-type="performance"/);
  });
});

describe('small fixes', () => {
  it('--vcpu shared works on a 2-CPU host (this-vm), and 12 vCPUs on it get an overcommit note', () => {
    const xml = file('tiny.xml', domain({ name: 'tiny', vcpus: 12, hostdev: false, topology: "<topology sockets='1' dies='1' cores='12' threads='1'/>" }));
    const r = runCli(['pin', '--host', 'sysfs:fixtures/hosts/this-vm', '--vcpu', 'shared', '--explain', xml]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/<vcpupin vcpu='0' cpuset='0-1'\/>/);
    const check = runCli(['check', '--host', 'sysfs:fixtures/hosts/this-vm', file('tiny-pinned.xml', r.stdout)]);
    expect(check.stdout).toMatch(/info CPU_OVERCOMMIT 12 online vCPUs may run only on 2 host CPUs/);
  });

  it('--reserve none leaves no housekeeping reserve', () => {
    const xml = file('noreserve.xml', domain({ name: 'nr', vcpus: 16, hostdev: false }));
    const r = runCli(['pin', '--host', 'sysfs:fixtures/hosts/desktop-smt', '--reserve', 'none', '--explain', xml]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/No host CPUs are reserved/);
    expect(runCli(['pin', '--host', 'sysfs:fixtures/hosts/desktop-smt', '--reserve', '', xml]).status).toBe(0);
  });

  it('does-not-fit names the isolated and reserved CPUs and the flag to use them', () => {
    const xml = file('big.xml', domain({ name: 'big', vcpus: 8, hostdev: false }));
    const r = runCli(['pin', '--host', 'sysfs:fixtures/hosts/isolated', xml]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/POLICY_DOES_NOT_FIT/);
    expect(r.stderr).toMatch(/isolated CPUs 2-7,10-15/);
    expect(r.stderr).toMatch(/--cpus SET/);
  });

  it('amd-multi-ccx: an 8-vCPU guest stays inside one L3 group (the issue’s 1–3 + 4 spill is gone)', () => {
    const xml = file('ccx.xml', domain({ name: 'ccx', vcpus: 8, hostdev: false }));
    const r = runCli(['pin', '--host', 'sysfs:fixtures/hosts/amd-multi-ccx', '--explain', xml]);
    expect(r.status, r.stderr).toBe(0);
    const cpus = [...r.stdout.matchAll(/<vcpupin vcpu='\d+' cpuset='(\d+)'\/>/g)].map((m) => Number(m[1]));
    expect(cpus).toHaveLength(8);
    // L3 groups are 4-core CCXs: 0-3,16-19 | 4-7,20-23 | …
    expect(new Set(cpus.map((c) => Math.floor((c % 16) / 4))).size).toBe(1);
    expect(r.stderr).toMatch(/fits in one L3 group/);
  });

  it('export --format virsh: --live --config together, --connect URI, unpinned threads stay unpinned even with --host', () => {
    const xml = file('unpinned.xml', domain({ name: 'unpinned', vcpus: 2, hostdev: false }));
    const r = runCli(['export', '--format', 'virsh', '--live', '--config', '--connect', 'qemu:///system', '--host', 'sysfs:fixtures/hosts/desktop-smt', xml]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/vcpupin unpinned 0 0-15/);
    expect(r.stdout).toMatch(/^# vCPU 0: not pinned/m);
    const guide = file('guide2.xml', domain({ name: 'guide', vcpus: 8, cputune: guideCputune }));
    const pinned = runCli(['export', '--format', 'virsh', '--live', '--config', '-c', 'qemu:///system', guide]);
    expect(pinned.stdout.split('\n')[0]).toBe('virsh -c qemu:///system vcpupin guide 0 2 --live --config');
    expect(pinned.stdout).toMatch(/^virsh -c qemu:\/\/\/system emulatorpin guide 0-1 --live --config$/m);
  });
});
