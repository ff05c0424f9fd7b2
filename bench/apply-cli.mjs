// `virt-pin apply --qmp` + `virt-pin restore` as whole processes, against
// the shell script a user would write for the same changes, on a real QEMU
// with 64 and with 256 vCPUs (issue 15's table).
//
// - virt-pin: `dist/cli.cjs apply --pid PID --qmp SOCKET --state-dir DIR
//   bench-vm.xml` (the bin, run as its shebang runs it: as root, plain text
//   output, the code cache of earlier runs in place), then `dist/cli.cjs
//   restore --state-dir DIR bench-vm`. The state directory is on tmpfs, as
//   /run/virt-pin is.
// - baseline: one `sh FILE` whose FILE holds one `taskset -pc LIST TID
//   >/dev/null` line per thread virt-pin changes (the same threads and the
//   same lists; thread ids written in, so the script does no discovery),
//   then one `sh` setting every thread back to what it had (all online
//   CPUs). It neither records nor reads back anything.
//
// Also: the same pair with `apply --libvirt VERSION` (no `virsh --version`
// probe). The floor: two `node -e 0` processes, run the same way in the same rounds
// (no Node program can take less); and the floor of the mechanism, the
// script's work from two Node processes that load koffi and call
// sched_setaffinity per thread (bench/affinity-floor.cjs); and the floor of
// a root-safe applier, the same with the reads virt-pin does per thread to
// stay safe and restorable (its name under /proc/PID/task, its affinity
// before, and after a write of apply: affinity-floor.cjs --safe and
// --safe-back).
//
// One round runs the three pairs in rotating order; each run is checked
// afterwards (vCPU 1's Cpus_allowed_list), outside the timing. CPU time is
// the children's (getrusage(RUSAGE_CHILDREN) around each spawnSync, so the
// tasksets count in the baseline), wall time as seen by the caller.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpusAllowed, manyVcpuDomain, startQemu } from './applier.mjs';
import { stats, verdict } from './interleave.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** CPU time (ms, user + system) of every child of this process that has exited and been waited for. */
export function childrenCpu() {
  const koffi = require('koffi');
  const getrusage = koffi.load('libc.so.6').func('int getrusage(int who, _Out_ uint8_t *usage)');
  const buf = Buffer.alloc(144); // struct rusage on x86_64/aarch64: two struct timeval, then 14 longs
  return () => {
    if (getrusage(-1 /* RUSAGE_CHILDREN */, buf) !== 0) throw new Error('getrusage(RUSAGE_CHILDREN) failed');
    const us = (o) => Number(buf.readBigInt64LE(o)) * 1e6 + Number(buf.readBigInt64LE(o + 8));
    return (us(0) + us(16)) / 1000;
  };
}

/** The targets of this table row: ratio of CPU time, virt-pin / baseline. */
export const APPLY_CLI_TARGETS = { 64: 0.8, 256: 0.3 };

/**
 * One row per vCPU count: { vcpus, threads, machine, runs: {wall,cpu,samples}, baseRuns, verdict, target }.
 * QEMU is stopped before this returns or throws.
 */
export async function applyCliRows(lib, { rounds = 11, counts = [64, 256] } = {}) {
  const cpu = childrenCpu();
  const host = lib.hostFromSysfs('/');
  const online = host.onlineCpus.ids();
  if (online.length < 2) throw new Error('the apply rows need at least two online CPUs (each write must be a real change)');
  const [cpuA, cpuB] = online;
  const all = host.onlineCpus.toString();
  const cli = join(root, 'dist', 'cli.cjs');
  const affinityFloor = join(root, 'bench', 'affinity-floor.cjs');
  // The version the probe would find (else the newest modelled), for the --libvirt variant.
  const probed = spawnSync('virsh', ['--version'], { encoding: 'utf8' });
  const libvirtVersion = probed.status === 0 && /^\d+\.\d+/.test(probed.stdout.trim()) ? probed.stdout.trim() : '10.7.0';
  const out = [];
  for (const count of counts) {
    // QEMU 7.2's TCG stops at 255 vCPUs (bench/applier.mjs startQemu); 256 need KVM and q35.
    const kvm = count > 255;
    if (kvm && !existsSync('/dev/kvm')) throw new Error(`${count} vCPUs need KVM (QEMU 7.2's TCG takes at most 255) and /dev/kvm is missing`);
    const machine = kvm ? { machine: 'q35', accel: 'kvm' } : { machine: 'pc', accel: 'tcg' };
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vp-bench-cli-'));
    const qemu = await startQemu(dir, { vcpus: count, ...machine });
    try {
      const xmlFile = join(dir, 'bench-vm.xml');
      const xml = manyVcpuDomain(cpuA, cpuB, count);
      writeFileSync(xmlFile, xml);
      const stateDir = join(dir, 'state');
      // The threads virt-pin changes, with the lists it writes: the baseline script does the same.
      const plan = lib.planDocument(xml, { fileName: 'bench-vm.xml' });
      const bound = await lib.bindPlan(plan, { pid: qemu.pid, domain: 'bench-vm' }); // by thread names: QEMU's one QMP client slot stays free
      const setScript = join(dir, 'set.sh');
      const backScript = join(dir, 'back.sh');
      writeFileSync(setScript, bound.targets.map((t) => `taskset -pc ${t.cpus} ${t.tid} >/dev/null\n`).join(''));
      writeFileSync(backScript, bound.targets.map((t) => `taskset -pc ${all} ${t.tid} >/dev/null\n`).join(''));
      const vcpu1 = qemu.vcpus[1];
      const expect = (what, want) => {
        const got = cpusAllowed(qemu.pid, vcpu1);
        if (got !== want) throw new Error(`after ${what}, vCPU 1 runs on ${got}, not ${want}`);
      };
      const run = (file, args, what) => {
        const c = cpu();
        const s = process.hrtime.bigint();
        const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        const wall = Number(process.hrtime.bigint() - s) / 1e6;
        const used = cpu() - c;
        if (r.error) throw r.error;
        if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}: ${String(r.stderr).slice(-400)}`);
        return { wall, cpu: used };
      };
      const candidates = {
        virtPin: () => {
          const a = run(cli, ['apply', '--pid', String(qemu.pid), '--qmp', qemu.qmp, '--state-dir', stateDir, xmlFile], 'virt-pin apply');
          expect('virt-pin apply', String(cpuB));
          const b = run(cli, ['restore', '--state-dir', stateDir, 'bench-vm'], 'virt-pin restore');
          expect('virt-pin restore', all);
          return { wall: a.wall + b.wall, cpu: a.cpu + b.cpu };
        },
        // The same with --libvirt given: without it, apply asks `virsh --version` which libvirt to plan for (src/cli/libvirt-option.ts).
        virtPinGiven: () => {
          const a = run(cli, ['apply', '--libvirt', libvirtVersion, '--pid', String(qemu.pid), '--qmp', qemu.qmp, '--state-dir', stateDir, xmlFile], 'virt-pin apply --libvirt');
          expect('virt-pin apply --libvirt', String(cpuB));
          const b = run(cli, ['restore', '--state-dir', stateDir, 'bench-vm'], 'virt-pin restore');
          expect('virt-pin restore', all);
          return { wall: a.wall + b.wall, cpu: a.cpu + b.cpu };
        },
        // The floor of any two Node processes: what virt-pin's pair costs before it does anything.
        floor: () => {
          const a = run(process.execPath, ['-e', '0'], 'node -e 0');
          const b = run(process.execPath, ['-e', '0'], 'node -e 0');
          return { wall: a.wall + b.wall, cpu: a.cpu + b.cpu };
        },
        // The floor of the mechanism: the script's work from two Node processes that load koffi and libc and call
        // sched_setaffinity per thread (bench/affinity-floor.cjs), without the CLI, discovery, records or read-back.
        mechanism: () => {
          const a = run(process.execPath, [affinityFloor, ...bound.targets.map((t) => `${t.cpus}:${t.tid}`)], 'affinity-floor.cjs');
          expect('affinity-floor.cjs', String(cpuB));
          const b = run(process.execPath, [affinityFloor, ...bound.targets.map((t) => `${all}:${t.tid}`)], 'affinity-floor.cjs back');
          expect('affinity-floor.cjs setting threads back', all);
          return { wall: a.wall + b.wall, cpu: a.cpu + b.cpu };
        },
        // The floor of a root-safe applier: the same writes, and per thread the reads virt-pin does to stay safe and
        // restorable (apply: the thread's name under /proc/PID/task, its affinity before and after; restore: the
        // name and the affinity before), without planning, thread discovery, lock or state file
        // (bench/affinity-floor.cjs --safe, --safe-back).
        safeMechanism: () => {
          const a = run(process.execPath, [affinityFloor, '--safe', String(qemu.pid), ...bound.targets.map((t) => `${t.cpus}:${t.tid}`)], 'affinity-floor.cjs --safe');
          expect('affinity-floor.cjs --safe', String(cpuB));
          const b = run(process.execPath, [affinityFloor, '--safe-back', String(qemu.pid), ...bound.targets.map((t) => `${all}:${t.tid}`)], 'affinity-floor.cjs --safe-back');
          expect('affinity-floor.cjs --safe-back setting threads back', all);
          return { wall: a.wall + b.wall, cpu: a.cpu + b.cpu };
        },
        shell: () => {
          const a = run('sh', [setScript], 'sh set.sh');
          expect('the taskset script', String(cpuB));
          const b = run('sh', [backScript], 'sh back.sh');
          expect('the taskset script setting threads back', all);
          return { wall: a.wall + b.wall, cpu: a.cpu + b.cpu };
        },
      };
      expect('QEMU started', all);
      const samples = Object.fromEntries(Object.keys(candidates).map((k) => [k, { wall: [], cpu: [] }]));
      const names = Object.keys(candidates);
      const roundsOf = (n, warm) => {
        for (let r = warm ? -1 : 0; r < n; r++) {
          for (const k of names.map((_, i) => names[(i + Math.max(0, r)) % names.length])) {
            const s = candidates[k]();
            if (r >= 0) {
              samples[k].wall.push(s.wall);
              samples[k].cpu.push(s.cpu);
            }
          }
        }
      };
      const summary = (k) => ({ wall: stats(samples[k].wall), cpu: stats(samples[k].cpu), samples: samples[k] });
      const target = APPLY_CLI_TARGETS[count];
      roundsOf(rounds, true);
      // Undecided: more rounds (up to 3× in all), then report the spread.
      for (let more = 0; more < 2 && target !== undefined && verdict(summary('virtPin'), summary('shell'), target).state === 'undecided'; more++) roundsOf(rounds, false);
      const runs = summary('virtPin');
      const baseRuns = summary('shell');
      const floorRuns = summary('floor');
      const givenRuns = summary('virtPinGiven');
      const mechanismRuns = summary('mechanism');
      const safeRuns = summary('safeMechanism');
      out.push({
        vcpus: count,
        threads: bound.targets.length,
        machine: `${machine.accel}, ${machine.machine}`,
        runs,
        baseRuns,
        floorRuns,
        givenRuns,
        libvirtVersion,
        target,
        verdict: target === undefined ? undefined : verdict(runs, baseRuns, target),
        floorVerdict: target === undefined ? undefined : verdict(floorRuns, baseRuns, target),
        mechanismRuns,
        mechanismVerdict: target === undefined ? undefined : verdict(mechanismRuns, baseRuns, target),
        safeRuns,
        safeVerdict: target === undefined ? undefined : verdict(safeRuns, baseRuns, target),
      });
    } finally {
      await qemu.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href);
  const rounds = Number(process.argv[2] ?? 11);
  for (const r of await applyCliRows(lib, { rounds })) {
    const f = (s) => `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
    console.log(
      `${r.vcpus} vCPUs (${r.threads} threads, ${r.machine}): virt-pin CPU ${f(r.runs.cpu)} wall ${f(r.runs.wall)} ms; sh+taskset CPU ${f(r.baseRuns.cpu)} wall ${f(r.baseRuns.wall)} ms; ` +
        `ratio CPU ${(r.runs.cpu.median / r.baseRuns.cpu.median).toFixed(2)}× wall ${(r.runs.wall.median / r.baseRuns.wall.median).toFixed(2)}×; target ≤ ${r.target}×: ${r.verdict?.state} (per-round ${r.verdict?.ratio.min.toFixed(2)}–${r.verdict?.ratio.max.toFixed(2)}); ` +
        `two node -e 0: CPU ${f(r.floorRuns.cpu)} wall ${f(r.floorRuns.wall)} ms = ${(r.floorRuns.cpu.median / r.baseRuns.cpu.median).toFixed(2)}× CPU; ` +
        `the mechanism from Node (bench/affinity-floor.cjs, twice): CPU ${f(r.mechanismRuns.cpu)} ms = ${(r.mechanismRuns.cpu.median / r.baseRuns.cpu.median).toFixed(2)}× CPU; ` +
        `with a root-safe applier's reads (--safe): CPU ${f(r.safeRuns.cpu)} ms = ${(r.safeRuns.cpu.median / r.baseRuns.cpu.median).toFixed(2)}× CPU (${r.safeVerdict?.state}); ` +
        `with --libvirt ${r.libvirtVersion}: CPU ${f(r.givenRuns.cpu)} wall ${f(r.givenRuns.wall)} ms = ${(r.givenRuns.cpu.median / r.baseRuns.cpu.median).toFixed(2)}× CPU`,
    );
  }
}
