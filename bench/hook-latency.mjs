// Hook latency: `hook.cjs exec` as libvirt's wrapper runs it (argv, domain
// XML on stdin, environment), for the passthrough fixture domain on a copy
// of fixtures/passthrough-host (8 IRQs over 5 devices, IRQ policy `auto`
// from the domain's metadata), interleaved with `node -e 0`, with CPU and
// wall time per run and a verdict against issue 15's ≤ 1.3× (hookLatency,
// hookTable below). Run alone: `node bench/hook-latency.mjs [ROUNDS]`
// (after `npm run build`); `npm run bench` runs it too.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRounds, stats, verdict } from './interleave.mjs';

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

/** The target of issue 15: `started begin` within 1.3× the CPU time of `node -e 0`. */
export const HOOK_RATIO_TARGET = 1.3;

/**
 * The hook as libvirt's wrapper runs it: `dist/hook.cjs exec NAME OP SUB -`
 * (the hook-only entry with its code cache, src/cli/hook-entry.ts), next to
 * `node -e 0` (the floor), `virt-pin --version` (`cli`: load the CLI, run no
 * command) and `reconnect begin` (load the hook, read stdin and the
 * configuration, do nothing). Every child runs with bench/cpu-report.cjs
 * preloaded (the floor too, so its cost cancels), which reports the child's
 * own CPU time (user + system) next to the wall time measured here.
 *
 * Rounds are interleaved as bench/interleave.mjs does for functions: every
 * round runs every case once, and the order rotates between the floor,
 * `--version`, `reconnect` and the block of the three phases (which keep
 * libvirt's order, so every `started begin` changes the IRQs and every
 * `release end` puts them back). Returns, per case, `{ wall, cpu, samples }`
 * as interleave() does (so verdict() applies), `changed` (IRQs the last
 * `started begin` changed) and `rounds`.
 */
export function hookLatency({ root, cli, hook = join(root, 'dist', 'hook.cjs'), runs = 21 }) {
  const { env, cleanup } = fixtureHost(root);
  const cpuFile = join(env.VIRT_PIN_BENCH_WORK, 'cpu');
  const reporter = join(root, 'bench', 'cpu-report.cjs');
  const samples = Object.fromEntries(['floor', 'version', 'reconnect', 'syslogSend', 'logger', 'startedQuiet', ...PHASES.map((p) => p.key)].map((k) => [k, { wall: [], cpu: [] }]));
  const sink = datagramSink(join(env.VIRT_PIN_BENCH_WORK, 'log'));
  let changed = -1;
  const run = (key, args, input, keep, extraEnv = {}) => {
    const s = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['-r', reporter, ...args], { input: input ?? '', env: { ...env, ...extraEnv, VIRT_PIN_BENCH_CPU_FILE: cpuFile }, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - s) / 1e6;
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (keep) {
      samples[key].wall.push(wall);
      samples[key].cpu.push(Number(readFileSync(cpuFile, 'utf8')) / 1000);
    }
    return r;
  };
  const units = [
    (keep) => run('floor', ['-e', '0'], '', keep),
    (keep) => run('version', [cli, '--version'], '', keep),
    (keep) => run('reconnect', [hook, 'exec', 'gpu-vm', 'reconnect', 'begin', '-'], HOOK_DOMAIN, keep),
    // What the system-log copy costs: a Node process that sends one datagram through koffi to a socket of the
    // bench's own, as the hook does at its end (src/cli/hook/syslog-socket.ts) ...
    (keep) => {
      run('syslogSend', ['-e', SEND_ONE_DATAGRAM, sink.path, root], '', keep);
      sink.drain();
    },
    // ... and, for comparison, one that spawns one logger, as the hook did before (and still does for lines the socket refuses).
    (keep) => run('logger', ['-e', "require('child_process').spawnSync('logger', ['-t', 'virt-pin-bench', 'bench: one line'], { stdio: 'ignore' })"], '', keep),
    // The hook's own work: started begin without the system-log copy (then release end, not kept, puts the IRQs back).
    (keep) => {
      const r = run('startedQuiet', [hook, 'exec', 'gpu-vm', 'started', 'begin', '-'], HOOK_DOMAIN, keep, { VIRT_PIN_SYSLOG: '0' });
      if (!/applied: \d+ target\(s\) changed/.test(r.stderr)) throw new Error(`started begin (VIRT_PIN_SYSLOG=0) applied nothing: ${r.stderr}`);
      run('release', [hook, 'exec', 'gpu-vm', 'release', 'end', '-'], HOOK_DOMAIN, false, { VIRT_PIN_SYSLOG: '0' });
    },
    (keep) => {
      for (const p of PHASES) {
        const r = run(p.key, [hook, 'exec', 'gpu-vm', ...p.args], HOOK_DOMAIN, keep);
        if (p.key === 'started') {
          const m = /applied: (\d+) target\(s\) changed/.exec(r.stderr);
          if (!m) throw new Error(`started begin applied nothing: ${r.stderr}`);
          changed = Number(m[1]);
        }
        if (p.key === 'release' && !/restored: \d+ target/.test(r.stderr)) throw new Error(`release end restored nothing: ${r.stderr}`);
      }
    },
  ];
  try {
    // One warm-up round (page cache, the code caches written by a first run), then `runs` kept rounds.
    for (let r = -1; r < runs; r++) for (let i = 0; i < units.length; i++) units[(i + Math.max(0, r)) % units.length](r >= 0);
  } finally {
    sink.close();
    cleanup();
  }
  const out = { rounds: runs, changed, devLog: existsSync('/dev/log'), datagrams: sink.received };
  for (const [k, v] of Object.entries(samples)) out[k] = { wall: stats(v.wall), cpu: stats(v.cpu), samples: v };
  return out;
}



/**
 * The hook rows as a table: CPU and wall medians (min–max), ratios of the
 * medians to `node -e 0`, and for `started begin` the verdicts against ≤ 1.3×
 * (per-round ratios, bench/interleave.mjs verdict()) and the < `targetMs` ms
 * wall-clock statement.
 */
export function hookTable(hook, { targetMs = 150 } = {}) {
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const spread = (s) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
  const ratio = (k, key) => `${(hook[k][key].median / hook.floor[key].median).toFixed(2)}×`;
  const said = (v) => `${v.state} (per-round ${v.ratio.min.toFixed(2)}–${v.ratio.max.toFixed(2)}, median ${v.ratio.median.toFixed(2)}, ${Math.round(v.meeting * 100)} % of rounds ≤ ${HOOK_RATIO_TARGET}×)`;
  const cpuV = verdict(hook.started, hook.floor, HOOK_RATIO_TARGET, 'cpu');
  const wallV = verdict(hook.started, hook.floor, HOOK_RATIO_TARGET, 'wall');
  const quietV = verdict(hook.startedQuiet, hook.floor, HOOK_RATIO_TARGET, 'cpu');
  const rows = [
    ['`node -e 0` (the floor: starting Node)', 'floor', ''],
    ['`virt-pin --version` (load the CLI, run no command)', 'version', ''],
    ['`hook.cjs exec … reconnect begin` (load the hook, read stdin and the configuration)', 'reconnect', ''],
    ...PHASES.map((p) => [`\`hook.cjs exec\` ${p.what}`, p.key, p.key === 'started' ? `≤ ${HOOK_RATIO_TARGET}× CPU: **${cpuV.state}**; wall: ${wallV.state}; < ${targetMs} ms wall: ${hook.started.wall.median < targetMs ? 'met' : 'not met'}` : '']),
    ['floor of the work: `started begin` with `VIRT_PIN_SYSLOG=0` (no system-log copy)', 'startedQuiet', `≤ ${HOOK_RATIO_TARGET}× CPU: ${quietV.state}`],
    ['floor of the log copy: `node -e` loading koffi and sending one datagram (what the hook does)', 'syslogSend', ''],
    ['the same through a `logger` child (what the hook did before)', 'logger', ''],
  ];
  const lines = ['| invocation | CPU ms | wall ms | CPU ratio | wall ratio | target |', '|---|---|---|---|---|---|'];
  for (const [what, k, target] of rows) lines.push(`| ${what} | ${spread(hook[k].cpu)} | ${spread(hook[k].wall)} | ${k === 'floor' ? '-' : ratio(k, 'cpu')} | ${k === 'floor' ? '-' : ratio(k, 'wall')} | ${target} |`);
  return { table: lines.join('\n'), cpu: cpuV, wall: wallV, quiet: quietV, said };
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

/** `node -e` code: load koffi's native module (from the package at argv[2]) and libc as the hook does, send one syslog datagram to argv[1] (MSG_DONTWAIT | MSG_NOSIGNAL; not sent: exit 3). */
const SEND_ONE_DATAGRAM = [
  "const p = require('path'), r = require('module').createRequire(p.join(process.argv[2], 'package.json'));",
  "const kp = r.resolve('koffi/package.json'), k = r(p.join(p.dirname(kp), 'build', 'koffi', process.platform + '_' + process.arch, 'koffi.node'));",
  "const c = k.load('libc.so.6'), socket = c.func('int socket(int, int, int)'), sendto = c.func('long sendto(int, const uint8_t *, size_t, int, const uint8_t *, uint32_t)'), close = c.func('int close(int)');",
  "const a = Buffer.alloc(110); new Uint16Array(a.buffer, a.byteOffset, 1)[0] = 1; const n = a.write(process.argv[1], 2);",
  "const m = Buffer.from('<29>Dec  2 04:00:00 virt-pin-bench[' + process.pid + ']: bench: one line'), fd = socket(1, 2 | 0o2000000, 0);",
  "if (Number(sendto(fd, m, m.length, 0x4040, a, 3 + n)) !== m.length) process.exit(3); close(fd);",
].join(' ');

/** A bound AF_UNIX datagram socket at `path` (through koffi: Node has none) that counts what it received when closed. */
function datagramSink(path) {
  const k = createRequire(import.meta.url)('koffi');
  const c = k.load('libc.so.6');
  const socket = c.func('int socket(int, int, int)');
  const bind = c.func('int bind(int, const uint8_t *, uint32_t)');
  const recv = c.func('long recv(int, _Out_ uint8_t *, size_t, int)');
  const close = c.func('int close(int)');
  const fd = socket(1, 2, 0);
  const addr = Buffer.alloc(110);
  new Uint16Array(addr.buffer, addr.byteOffset, 1)[0] = 1;
  const n = addr.write(path, 2);
  if (fd < 0 || bind(fd, addr, 3 + n) !== 0) throw new Error(`cannot bind a datagram socket at ${path}`);
  const sink = { path, received: 0 };
  const buf = Buffer.alloc(4096);
  // Drained after every send, so the kernel's queue never fills (a full one would make the send fail: exit 3).
  sink.drain = () => {
    while (Number(recv(fd, buf, buf.length, 0x40)) > 0) sink.received++;
  };
  sink.close = () => {
    sink.drain();
    close(fd);
  };
  return sink;
}

/** A writable copy of the passthrough fixture host and a hook configuration for it. */
export function fixtureHost(root) {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vp-bench-hook-'));
  const fixture = join(root, 'fixtures', 'passthrough-host');
  const hostRoot = join(dir, 'root');
  cpSync(join(fixture, 'root'), hostRoot, { recursive: true, verbatimSymlinks: true });
  for (const rel of readFileSync(join(fixture, 'readonly.txt'), 'utf8').split('\n').filter(Boolean)) chmodSync(join(hostRoot, rel), 0o444);
  const config = join(dir, 'config.json');
  // State on tmpfs, as /run/virt-pin is; no late-IRQ waiter (it would outlive the measurement).
  writeFileSync(config, JSON.stringify({ stateDir: join(dir, 'state'), waitIrqsSeconds: 0 }));
  return { env: { ...process.env, VIRT_PIN_HOST_ROOT: hostRoot, VIRT_PIN_CONFIG: config, VIRT_PIN_BENCH_WORK: dir }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// `node bench/hook-latency.mjs [ROUNDS]`: the hook rows alone, with more rounds while the verdict is undecided.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolvePath(process.argv[1])) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const cli = join(root, 'dist', 'cli.cjs');
  const rounds = Number(process.argv[2] ?? 21);
  const hook = hookLatency({ root, cli, runs: rounds });
  for (let more = 0; more < 2 && verdict(hook.started, hook.floor, HOOK_RATIO_TARGET).state === 'undecided'; more++) addRounds(hook, hookLatency({ root, cli, runs: rounds }));
  const t = hookTable(hook);
  process.stdout.write(`${hook.rounds} interleaved rounds, Node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${hook.changed} IRQs changed per started begin\n\n${t.table}\n\nstarted begin vs node -e 0, CPU: ${t.said(t.cpu)}; wall: ${t.said(t.wall)}\n`);
}
