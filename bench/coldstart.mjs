// Cold start of the CLI and the hook against `node -e 0`, wall and CPU time.
//
//   node bench/coldstart.mjs [ROUNDS] [--cli dist/cli.cjs] [--hook dist/hook.cjs] [--only a,b]
//                            [--baseline OLD/dist/cli.js]   (an older build's CLI, same rounds)
//
// Each round runs every case once, in a fixed order, so every case sees the
// same machine load (this machine is shared). Wall time is measured here;
// CPU time (user + system, all threads) is reported by the child itself: a
// preloaded reporter writes process.cpuUsage() to fd 3 on exit. The
// reporter is preloaded into the floor too, so its own cost cancels out.
// CPU time is the steadier figure on a loaded machine.
//
// The hook cases run `hook exec gpu-vm started begin` for the passthrough
// fixture domain (8 IRQs over 5 devices) on a fresh tmpfs copy of
// fixtures/passthrough-host, as bench/hook-latency.mjs does; after every
// `started begin` an untimed `release end` puts the IRQs back so the next
// round changes them again.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOOK_DOMAIN } from './hook-latency.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { cli: { type: 'string' }, hook: { type: 'string' }, only: { type: 'string' }, json: { type: 'boolean' }, baseline: { type: 'string' } },
});
const rounds = Number(positionals[0] ?? 31);
const cli = values.cli ?? join(root, 'dist', existsSync(join(root, 'dist', 'cli.cjs')) ? 'cli.cjs' : 'cli.js');
const hookEntry = values.hook ?? (existsSync(join(root, 'dist', 'hook.cjs')) ? join(root, 'dist', 'hook.cjs') : undefined);
const one = join(root, 'fixtures', 'examples', 'gaming-vfio.xml');

const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vp-coldstart-'));
const reporter = join(work, 'cpu-reporter.cjs');
writeFileSync(reporter, "process.on('exit', () => { const u = process.cpuUsage(); try { require('fs').writeSync(3, `${u.user + u.system}\\n`); } catch {} });\n");

const host = fixtureHost(work);
const hookArgs = (entry) => (/cli\.c?js$/.test(entry) ? [entry, 'hook', 'exec'] : [entry, 'exec']);

/** name → { args, input?, env?, after? } */
const cases = {
  floor: { args: ['-e', '0'] },
  version: { args: [cli, '--version'] },
  check: { args: [cli, 'check', one] },
  // Without --libvirt, check runs `virsh --version` (src/cli/libvirt-option.ts): that child's time is in the wall column only.
  'check --libvirt': { args: [cli, 'check', '--libvirt', '10.7', one] },
  'hook started (CLI)': { args: [...hookArgs(cli), 'gpu-vm', 'started', 'begin', '-'], input: HOOK_DOMAIN, env: host.env, after: release(cli), expect: /applied: 8 target/ },
};
if (hookEntry) {
  // Loads the hook, reads stdin and the configuration, does nothing: the start-up part of `started begin`.
  cases['hook reconnect (hook.cjs)'] = { args: [...hookArgs(hookEntry), 'gpu-vm', 'reconnect', 'begin', '-'], input: HOOK_DOMAIN, env: host.env };
  cases['hook started (hook.cjs)'] = { args: [...hookArgs(hookEntry), 'gpu-vm', 'started', 'begin', '-'], input: HOOK_DOMAIN, env: host.env, after: release(hookEntry), expect: /applied: 8 target/ };
}
if (values.baseline) {
  cases['check (baseline)'] = { args: [values.baseline, 'check', one] };
  cases['hook started (baseline)'] = { args: [...hookArgs(values.baseline), 'gpu-vm', 'started', 'begin', '-'], input: HOOK_DOMAIN, env: host.env, after: release(values.baseline), expect: /applied: 8 target/ };
}
const only = values.only?.split(',');
const names = Object.keys(cases).filter((n) => n === 'floor' || !only || only.some((o) => n.includes(o)));

const wall = Object.fromEntries(names.map((n) => [n, []]));
const cpu = Object.fromEntries(names.map((n) => [n, []]));
try {
  for (let i = 0; i < rounds; i++) {
    for (const name of names) {
      const c = cases[name];
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['-r', reporter, ...c.args], {
        input: c.input ?? '',
        env: c.env ?? process.env,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.error) throw r.error;
      if (r.status !== 0 || (c.expect && !c.expect.test(r.stderr))) throw new Error(`${name}: exit ${r.status}: ${r.stderr.slice(-600)}`);
      wall[name].push(ms);
      cpu[name].push(Number(r.output[3]) / 1000);
      c.after?.();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};
const result = { rounds, node: process.version, cases: {} };
const f = (x) => x.toFixed(1);
const lines = [`${rounds} interleaved rounds, Node ${process.version}; ms median (min–max); ratio = median / median of node -e 0`, ''];
lines.push('| case | wall | CPU | wall ratio | CPU ratio |', '|---|---|---|---|---|');
const floorWall = stats(wall.floor).median;
const floorCpu = stats(cpu.floor).median;
for (const name of names) {
  const w = stats(wall[name]);
  const c = stats(cpu[name]);
  result.cases[name] = { wall: w, cpu: c, wallRatio: w.median / floorWall, cpuRatio: c.median / floorCpu };
  lines.push(`| ${name} | ${f(w.median)} (${f(w.min)}–${f(w.max)}) | ${f(c.median)} (${f(c.min)}–${f(c.max)}) | ${(w.median / floorWall).toFixed(2)}× | ${(c.median / floorCpu).toFixed(2)}× |`);
}
process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : lines.join('\n') + '\n');

function release(entry) {
  return () => {
    const r = spawnSync(process.execPath, [...hookArgs(entry), 'gpu-vm', 'release', 'end', '-'], { input: HOOK_DOMAIN, env: host.env, encoding: 'utf8' });
    if (r.status !== 0 || !/restored: \d+ target/.test(r.stderr)) throw new Error(`release end failed: ${r.stderr}`);
  };
}

/** A writable copy of the passthrough fixture host and a hook configuration for it (no late-IRQ waiter). */
function fixtureHost(dir) {
  const fixture = join(root, 'fixtures', 'passthrough-host');
  const hostRoot = join(dir, 'root');
  cpSync(join(fixture, 'root'), hostRoot, { recursive: true, verbatimSymlinks: true });
  for (const rel of readFileSync(join(fixture, 'readonly.txt'), 'utf8').split('\n').filter(Boolean)) chmodSync(join(hostRoot, rel), 0o444);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ stateDir: join(dir, 'state'), waitIrqsSeconds: 0 }));
  return { env: { ...process.env, VIRT_PIN_HOST_ROOT: hostRoot, VIRT_PIN_CONFIG: config } };
}
