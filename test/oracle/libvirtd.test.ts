/**
 * Oracle B and the hook end to end, under real libvirtd + QEMU (TCG) from
 * Debian (set-up as in shared/spec/oracles.md §4.2): virt-pin's hook is
 * installed into libvirt's hook directory before the daemon starts; guests
 * are defined and started for real; the affinity libvirt gives every QEMU
 * thread (/proc/PID/task/TID/status) is compared with virt-pin's resolved
 * model; the hook's prepare check refuses a bad guest (enforce) and its
 * log shows it ran at start and stop. Everything is undone afterwards.
 * Needs root, libvirt-daemon, libvirt-daemon-driver-qemu and qemu-system-x86
 * (installed by .ci/run); fails, never skips, without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKernelCpuList } from '../../src/cpuset/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { resolveDocument } from '../../src/resolve/index.js';
import { runCli } from '../support/cli.js';

const URI = 'qemu:///system';
const QEMU_CONF = '/etc/libvirt/qemu.conf';
const HOOKS = '/etc/libvirt/hooks';
const CONFIG = '/etc/virt-pin/config.json';

const virsh = (...args: string[]) => spawnSync('virsh', ['-q', '-c', URI, ...args], { encoding: 'utf8', timeout: 120_000 });

let daemon: ChildProcess | undefined;
let work = '';
let log = '';
const undo: (() => void)[] = [];

function backup(path: string): void {
  if (existsSync(path)) {
    renameSync(path, `${path}.virt-pin-test`);
    undo.push(() => renameSync(`${path}.virt-pin-test`, path));
  } else undo.push(() => rmSync(path, { force: true }));
}

beforeAll(async () => {
  for (const bin of ['/usr/sbin/libvirtd', '/usr/bin/qemu-system-x86_64', '/usr/bin/virsh']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: .ci/run installs libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients and qemu-system-x86`);
  }
  if (process.getuid?.() !== 0) throw new Error('the libvirtd oracle needs root (CI runs as root)');
  work = mkdtempSync(join(tmpdir(), 'vp-libvirtd-'));
  log = join(work, 'libvirtd.log');
  // oracles.md §4.2: Debian resolves this user before reading qemu.conf; run QEMU as root (no /dev/kvm re-probing).
  if (spawnSync('getent', ['group', 'libvirt-qemu']).status !== 0) spawnSync('groupadd', ['-r', 'libvirt-qemu']);
  if (spawnSync('getent', ['passwd', 'libvirt-qemu']).status !== 0) spawnSync('useradd', ['-r', '-g', 'libvirt-qemu', '-d', '/var/lib/libvirt', '-s', '/usr/sbin/nologin', 'libvirt-qemu']);
  mkdirSync('/etc/libvirt', { recursive: true });
  backup(QEMU_CONF);
  writeFileSync(QEMU_CONF, 'user = "root"\ngroup = "root"\nstdio_handler = "file"\n');
  mkdirSync('/etc/virt-pin', { recursive: true });
  backup(CONFIG);
  writeFileSync(CONFIG, JSON.stringify({ enforce: true, stateDir: join(work, 'state'), waitIrqsSeconds: 0 }));
  // The hook goes in before the daemon starts: libvirt looks for hooks at start-up.
  const installed = runCli(['hook', 'install', '--dir', HOOKS]);
  if (installed.status !== 0) throw new Error(`hook install failed: ${installed.stderr}`);
  undo.push(() => runCli(['hook', 'uninstall', '--dir', HOOKS]));
  daemon = spawn('/usr/sbin/libvirtd', [], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LIBVIRT_LOG_OUTPUTS: `1:file:${log}`, LIBVIRT_LOG_FILTERS: '1:hook 3:*' } });
  const deadline = Date.now() + 90_000;
  while (virsh('version').status !== 0) {
    if (daemon.exitCode !== null) throw new Error(`libvirtd exited: ${readFileSync(log, 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error('libvirtd did not answer within 90 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}, 120_000);

afterAll(async () => {
  for (const name of ['vp-good', 'vp-bad', 'vp-v24']) {
    virsh('destroy', name);
    virsh('undefine', name);
  }
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  for (const f of undo.reverse()) {
    try {
      f();
    } catch {
      // best effort: keep undoing the rest
    }
  }
  // libvirt leaves empty machine cgroups behind (oracles.md CI notes).
  for (const ctl of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) spawnSync('sh', ['-c', `find /sys/fs/cgroup/${ctl}/machine* -depth -type d -exec rmdir {} + 2>/dev/null`]);
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

const domain = (name: string, cputune: string, vcpu = "<vcpu placement='static' cpuset='1'>2</vcpu>") => `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  ${vcpu}
  <iothreads>1</iothreads>
  <cputune>
${cputune}
  </cputune>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <memballoon model='none'/>
  </devices>
</domain>
`;

function threadMasks(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
    const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'));
    out.set(Number(t) === pid ? 'main' : comm, parseKernelCpuList(m![1]!).toString());
  }
  return out;
}

describe('real libvirtd + QEMU', () => {
  it('starts a guest with the thread affinities virt-pin resolves, and the hook ran at prepare, start and stop', () => {
    const xml = domain('vp-good', "    <vcpupin vcpu='0' cpuset='0'/>\n    <emulatorpin cpuset='0-1'/>");
    const file = join(work, 'good.xml');
    writeFileSync(file, xml);
    const def = virsh('define', file);
    expect(def.status, def.stderr).toBe(0);
    const start = virsh('start', 'vp-good');
    expect(start.status, start.stderr).toBe(0);
    const pid = Number(readFileSync('/run/libvirt/qemu/vp-good.pid', 'utf8'));
    const masks = threadMasks(pid);
    const resolved = resolveDocument(xml, { host: hostFromSysfs('/') });
    // vCPU threads are named 'CPU n/TCG'; IOThreads 'IO iothreadN'; everything else is emulator.
    expect(masks.get('CPU 0/TCG')).toBe(resolved.vcpus[0]!.cpus.toString()); // vcpupin → 0
    expect(masks.get('CPU 1/TCG')).toBe(resolved.vcpus[1]!.cpus.toString()); // <vcpu cpuset> → 1
    expect(masks.get('IO iothread1')).toBe(resolved.iothreads[0]!.cpus.toString()); // falls back to <vcpu cpuset>
    expect(masks.get('main')).toBe(resolved.emulator.cpus.toString()); // emulatorpin
    console.log(`libvirtd oracle: ${[...masks].map(([k, v]) => `${k}=${v}`).join(', ')}`);
    expect(virsh('destroy', 'vp-good').status).toBe(0);
    const hookLog = readFileSync(log, 'utf8');
    expect(hookLog).toMatch(/virt-pin hook: vp-good|qemu\.d\/virt-pin/);
  }, 120_000);

  it('the QEMU driver refuses V24 (restrictive <memory>, strict <memnode>) at define, as virt-pin does', () => {
    const xml = domain('vp-v24', "    <vcpupin vcpu='0' cpuset='0'/>", "<vcpu placement='static'>2</vcpu>").replace(
      '  <os>',
      "  <numatune>\n    <memory mode='restrictive' nodeset='0'/>\n    <memnode cellid='0' mode='strict' nodeset='0'/>\n  </numatune>\n  <cpu>\n    <numa><cell id='0' cpus='0-1' memory='65536' unit='KiB'/></numa>\n  </cpu>\n  <os>",
    );
    const file = join(work, 'v24.xml');
    writeFileSync(file, xml);
    const def = virsh('define', file);
    expect(def.status).not.toBe(0);
    expect(def.stderr).toMatch(/'restrictive' mode is required in memnode/);
    expect(runCli(['check', '--format', 'json', file]).stdout).toMatch(/NUMATUNE_RESTRICTIVE_MIXED/);
  }, 120_000);

  it('with enforce, the hook refuses the start itself, with its own message, when check finds an error', () => {
    // A pin to a CPU this host does not have online: libvirt defines it and would fail later in a cgroup write;
    // the hook's host-aware check refuses it at prepare with a clear message instead.
    const missing = (hostFromSysfs('/').onlineCpus.max() ?? 0) + 1;
    const xml = domain('vp-bad', `    <vcpupin vcpu='0' cpuset='${missing}'/>`, "<vcpu placement='static'>2</vcpu>");
    const file = join(work, 'bad.xml');
    writeFileSync(file, xml);
    const def = virsh('define', file);
    expect(def.status, def.stderr).toBe(0);
    const start = virsh('start', 'vp-bad');
    expect(start.status).not.toBe(0);
    expect(start.stderr).toMatch(/HOST_CPU_NOT_ONLINE|refusing to start/);
  }, 120_000);
});
