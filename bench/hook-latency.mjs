// Hook latency: wall time from invocation to exit of `virt-pin hook exec`
// as libvirt runs it (argv, domain XML on stdin, environment), for the
// passthrough fixture domain on a copy of fixtures/passthrough-host (8 IRQs
// over 5 devices, IRQ policy `auto` from the domain's metadata). Each round
// runs `node -e 0` (the floor), `--version` (bundle load only) and the three
// phases in libvirt's order, so every `started begin` makes real changes
// and every `release end` puts them back.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The fixture host's domain (as test/plan/support.ts gpuVm): vCPUs on CPUs 2,3 (node 0) and 10,11 (node 1), five PCI devices. */
export const HOOK_DOMAIN = `<domain type='kvm'>
  <name>gpu-vm</name>
  <metadata>
    <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' affinity='auto'/>
  </metadata>
  <memory unit='GiB'>8</memory>
  <vcpu placement='static'>4</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <vcpupin vcpu='0' cpuset='2'/>
    <vcpupin vcpu='1' cpuset='3'/>
    <vcpupin vcpu='2' cpuset='10'/>
    <vcpupin vcpu='3' cpuset='11'/>
    <emulatorpin cpuset='0-1'/>
    <iothreadpin iothread='1' cpuset='8'/>
  </cputune>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x0a' slot='0x00' function='0x0'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x0a' slot='0x00' function='0x1'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
    </hostdev>
    <interface type='hostdev' managed='yes'>
      <source><address type='pci' domain='0x0000' bus='0x81' slot='0x02' function='0x1'/></source>
    </interface>
  </devices>
</domain>
`;

export const PHASES = [
  { key: 'prepare', args: ['prepare', 'begin', '-'], what: '`prepare begin` (check the XML against the host)' },
  { key: 'started', args: ['started', 'begin', '-'], what: '`started begin` (plan, apply the IRQs)' },
  { key: 'release', args: ['release', 'end', '-'], what: '`release end` (put them back)' },
];

/**
 * Medians (ms) over `runs` interleaved rounds: floor (`node -e 0`),
 * version (`virt-pin --version`) and each phase; also how many IRQs the
 * last `started begin` changed, read from its log line.
 */
export function hookLatency({ root, cli, runs = 15 }) {
  const { env, cleanup } = fixtureHost(root);
  try {
    const times = { floor: [], version: [], prepare: [], started: [], release: [] };
    let changed = -1;
    const run = (key, args, input) => {
      const s = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { input: input ?? '', env, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });
      times[key].push(Number(process.hrtime.bigint() - s) / 1e6);
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
      return r;
    };
    for (let i = 0; i < runs; i++) {
      run('floor', ['-e', '0']);
      run('version', [cli, '--version']);
      for (const p of PHASES) {
        const r = run(p.key, [cli, 'hook', 'exec', 'gpu-vm', ...p.args], HOOK_DOMAIN);
        if (p.key === 'started') {
          const m = /applied: (\d+) target\(s\) changed/.exec(r.stderr);
          if (!m) throw new Error(`started begin applied nothing: ${r.stderr}`);
          changed = Number(m[1]);
        }
        if (p.key === 'release' && !/restored: \d+ target/.test(r.stderr)) throw new Error(`release end restored nothing: ${r.stderr}`);
      }
    }
    return { runs, changed, ms: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) };
  } finally {
    cleanup();
  }
}

/** The stderr of one `started begin` on a fresh fixture copy, with extra environment (e.g. NODE_DEBUG=module). */
export function startedStderr({ root, cli, env: extra = {} }) {
  const { env, cleanup } = fixtureHost(root);
  try {
    const r = spawnSync(process.execPath, [cli, 'hook', 'exec', 'gpu-vm', 'started', 'begin', '-'], { input: HOOK_DOMAIN, env: { ...env, ...extra }, encoding: 'utf8' });
    if (r.status !== 0 || !/applied: \d+ target/.test(r.stderr)) throw new Error(`started begin failed (${r.status}): ${r.stderr.slice(-500)}`);
    return r.stderr;
  } finally {
    cleanup();
  }
}

/** A writable copy of the passthrough fixture host and a hook configuration for it. */
function fixtureHost(root) {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vp-bench-hook-'));
  const fixture = join(root, 'fixtures', 'passthrough-host');
  const hostRoot = join(dir, 'root');
  cpSync(join(fixture, 'root'), hostRoot, { recursive: true, verbatimSymlinks: true });
  for (const rel of readFileSync(join(fixture, 'readonly.txt'), 'utf8').split('\n').filter(Boolean)) chmodSync(join(hostRoot, rel), 0o444);
  const config = join(dir, 'config.json');
  // State on tmpfs, as /run/virt-pin is; no late-IRQ waiter (it would outlive the measurement).
  writeFileSync(config, JSON.stringify({ stateDir: join(dir, 'state'), waitIrqsSeconds: 0 }));
  return { env: { ...process.env, VIRT_PIN_HOST_ROOT: hostRoot, VIRT_PIN_CONFIG: config }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
