/**
 * Issue 14, the state-file and applier items (1, 4, 5, 6, 10, 11, 20, 24,
 * 25): one test per item, each named after it, each failing on the main
 * these fixes started from (stated per test). They run against a copy of
 * fixtures/passthrough-host and, for thread checks, real `sleep` processes:
 * nothing here touches this machine's IRQs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AffinityWriteError, apply, applyDomain, fileBase, lockPath, nameOfFileBase, pathsUnder, readStateFile, restore, restoreLive, statePath, type HostIo, type HostPaths } from '../../src/apply/index.js';
import { latePlanPath } from '../../src/apply/late-plan.js';
import { CpuSet, parseKernelCpuList } from '../../src/cpuset/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { planDocument, type RuntimePlan } from '../../src/plan/index.js';
import { cpusAllowed, copyPassthroughHost, dom } from '../apply/support.js';
import { PASSTHROUGH_ROOT, repoRoot } from '../plan/support.js';
import { cliPath, runCli } from '../support/cli.js';
import { describeWith } from '../support/components.js';

const host = hostFromSysfs(PASSTHROUGH_ROOT);

const planOf = (xml: string, threads = false): RuntimePlan => planDocument(xml, { host, threads });

let fx: ReturnType<typeof copyPassthroughHost>;
let paths: HostPaths;
let stateDir: string;
beforeEach(() => {
  fx = copyPassthroughHost();
  paths = pathsUnder(fx.root);
  stateDir = join(fx.dir, 'st');
});
afterEach(() => fx.cleanup());

const irq = (n: number): string => readFileSync(join(fx.root, 'proc', 'irq', String(n), 'smp_affinity_list'), 'utf8').trim();
const hookEnv = (extra: object = {}): NodeJS.ProcessEnv => {
  const cfg = join(fx.dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ stateDir, waitIrqsSeconds: 0, ...extra }));
  return { VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: cfg };
};
const hook = (name: string, op: string, sub: string, xml: string, env: NodeJS.ProcessEnv) => runCli(['hook', 'exec', name, op, sub, '-'], { input: xml, env });

/** A real process to aim at; its start time as /proc/PID/stat field 22. */
function sleeper(): { proc: ChildProcess; pid: number; startTime: string; kill: () => void } {
  const proc = spawn('sleep', ['300'], { stdio: 'ignore' });
  const pid = proc.pid as number;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
  return { proc, pid, startTime, kill: () => void proc.kill('SIGKILL') };
}
const policyOf = (pid: number): string => spawnSync('chrt', ['-p', String(pid)], { encoding: 'utf8' }).stdout.replace(/^pid \d+'s /gm, '');

/** The CLI with a wall-clock bound: on the main these fixes started from, some of these calls hang or grow without end. */
function cliBounded(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 10_000): { status: number | null; stdout: string; stderr: string; timedOut: boolean } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut: r.error !== undefined || r.signal === 'SIGKILL' };
}

// ---------------------------------------------------------------- 1

describe('item 1: state files of different domains never collide', () => {
  // On main: 'web 1' and 'web_1' shared web_1.json, so stopping 'web 1' restored web_1's IRQs and removed its state.
  it('item 1: stopping "web 1" leaves the running "web_1" pinned and recorded; names map to distinct files; a moved state file is refused', () => {
    const env = hookEnv();
    expect(hook('web_1', 'started', 'begin', dom('web_1', '0x0a', '4-5'), env).status).toBe(0);
    expect(irq(120)).toBe('4-5');
    expect(hook('web 1', 'started', 'begin', dom('web 1', '0x41', '6-7'), env).status).toBe(0);
    expect(irq(130)).toBe('6-7');
    expect(hook('web 1', 'stopped', 'end', dom('web 1', '0x41', '6-7'), env).status).toBe(0);
    expect(irq(130)).toBe('0-15');
    expect(irq(120)).toBe('4-5'); // web_1 still runs: untouched
    expect(readStateFile(statePath(stateDir, 'web_1'))?.name).toBe('web_1');

    const names = ['web 1', 'web_1', 'vmé', 'vmè', 'x.plan', 'x', 'a%20b', 'a b', '.hidden', '~x'];
    const files = names.map((n) => statePath(stateDir, n));
    expect(new Set(files).size).toBe(names.length);
    const own = new Set([...names.map((n) => statePath(stateDir, n)), ...names.map((n) => lockPath(stateDir, n))]);
    for (const n of names) expect(own.has(latePlanPath(stateDir, n))).toBe(false); // no domain's state or lock file is a plan file
    for (const f of files) expect(f.slice(stateDir.length + 1).split('.').length).toBe(2); // ENC.json: the encoded name holds no '.'
    for (const n of names) expect(nameOfFileBase(fileBase(n))).toBe(n); // reversible
    // Names whose encoding would pass NAME_MAX: a readable prefix plus the hash of the whole name, still distinct.
    const long = ['é'.repeat(200), 'é'.repeat(199) + 'è'];
    const bases = long.map((n) => fileBase(n));
    expect(bases[0]).not.toBe(bases[1]);
    for (const b of bases) expect([b.length <= 180, b.startsWith('%C3%A9'), /~[0-9a-f]{64}$/.test(b)]).toEqual([true, true, true]);

    // A state file copied to another domain's name is not acted on.
    writeFileSync(statePath(stateDir, 'web 1'), readFileSync(statePath(stateDir, 'web_1')), { mode: 0o600 });
    return expect(restore('web 1', { paths, stateDir })).rejects.toMatchObject({ code: 'APPLY_STATE_OTHER_DOMAIN' });
  });
});

// ---------------------------------------------------------------- 4

// chown to another user and chrt: root and util-linux (test/support/components.ts).
describeWith(['root', 'util-linux'], 'item 4: the state directory and its files are checked before use', () => {
  // On main: a group/other-writable state dir was used as it was.
  it('item 4: a state dir (or parent) writable by others, or owned by another user, is refused before anything changes', async () => {
    const p = planOf(dom('vm', '0x0a', '4-5'));
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o777);
    await expect(apply(p, { paths, stateDir })).rejects.toMatchObject({ code: 'APPLY_STATE_DIR_UNSAFE' });
    chmodSync(stateDir, 0o700);
    const open = join(fx.dir, 'open');
    mkdirSync(join(open, 'st'), { recursive: true });
    chmodSync(open, 0o777); // not sticky: anyone could rename st away
    await expect(apply(p, { paths, stateDir: join(open, 'st') })).rejects.toMatchObject({ code: 'APPLY_STATE_DIR_UNSAFE' });
    const theirs = join(fx.dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    spawnSync('chown', ['65534:65534', theirs]);
    await expect(apply(p, { paths, stateDir: theirs })).rejects.toMatchObject({ code: 'APPLY_STATE_DIR_UNSAFE' });
    expect(irq(120)).toBe('0-15');
    const ok = await apply(p, { paths, stateDir });
    expect([ok.ok, irq(120)]).toEqual([true, '4-5']);
  });

  // On main: a FIFO hung restore forever; a symlink to /dev/zero grew to gigabytes; a symlinked lock said "kept changing hands".
  it('item 4: FIFO, symlink and oversized state files are refused at once, typed, unread', () => {
    mkdirSync(stateDir, { mode: 0o700 });
    spawnSync('mkfifo', [statePath(stateDir, 'fifo-vm')]);
    symlinkSync('/dev/zero', statePath(stateDir, 'zero-vm'));
    writeFileSync(statePath(stateDir, 'big-vm'), Buffer.alloc(5 * 1024 * 1024, 0x20), { mode: 0o600 });
    for (const [name, code] of [['fifo-vm', 'APPLY_STATE_UNSAFE'], ['zero-vm', 'APPLY_STATE_UNSAFE'], ['big-vm', 'APPLY_STATE_UNSAFE']] as const) {
      const r = cliBounded(['restore', '--state-dir', stateDir, name]);
      expect(r.timedOut, name).toBe(false);
      expect([name, r.status !== null && r.status > 0, r.stderr]).toEqual([name, true, expect.stringContaining(code)]);
    }
  });

  // On main: the waiter read `<stateDir>/<name>.plan.json` through a planted symlink and wrote it 0644 through another.
  it('item 4: the plan file is written 0600 through no symlink, checked against the schema and its domain before the waiter uses it', async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    const victim = join(fx.dir, 'victim');
    writeFileSync(victim, 'root only\n', { mode: 0o600 });
    const planFile = latePlanPath(stateDir, 'vm');
    for (const f of new Set([planFile, join(stateDir, 'vm.plan.json')])) symlinkSync(victim, f);
    const env = hookEnv({ waitIrqsSeconds: 1 });
    expect(hook('vm', 'started', 'begin', dom('vm', '0x0a', '4-5'), env).status).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('root only\n');
    // A plan that is not the domain's, or not a plan, makes the waiter do nothing.
    rmSync(planFile, { force: true });
    const nic = planOf(dom('vm', '0x81', '4-5'));
    writeFileSync(planFile, JSON.stringify({ ...nic, domain: { name: 'other' } }), { mode: 0o600 });
    expect(cliBounded(['hook', 'late-irqs', 'vm', planFile, '1', stateDir], { VIRT_PIN_HOST_ROOT: fx.root }).status).toBe(0);
    writeFileSync(planFile, '{"kind":"virt-pin-runtime-plan","schemaVersion":1,"actions":[{"kind":"irq-affinity","target":{"device":"0000:81:00.0"},"cpus":"4-5"}]}', { mode: 0o600 });
    expect(cliBounded(['hook', 'late-irqs', 'vm', planFile, '1', stateDir], { VIRT_PIN_HOST_ROOT: fx.root }).status).toBe(0);
    expect(irq(60)).toBe('0-15'); // the host NIC
    // The waiter takes its plan only from NAME's own file, never from a path it is handed.
    expect(cliBounded(['hook', 'late-irqs', 'vm', victim, '1', stateDir], { VIRT_PIN_HOST_ROOT: fx.root }).status).toBe(2);
  });

  // On main: restore set the affinity and SCHED_FIFO of whatever pid/tid a well-formed state file named.
  it('item 4: restore writes only to threads whose pid, start time and comm match, only to IRQs still the recorded device\'s, and says what it skipped', async () => {
    const s = sleeper();
    try {
      mkdirSync(stateDir, { mode: 0o700 });
      const affinity0 = cpusAllowed(s.pid, s.pid).toString();
      const policy0 = policyOf(s.pid);
      writeFileSync(
        statePath(stateDir, 'vm'),
        JSON.stringify({
          schemaVersion: 2,
          kind: 'virt-pin-state',
          name: 'vm',
          pid: s.pid,
          startTime: s.startTime,
          createdAt: new Date().toISOString(),
          phase: 'applied',
          entries: [
            { kind: 'thread', tid: s.pid, comm: 'CPU 0/KVM', role: 'vcpu', before: '0' },
            { kind: 'sched', tid: s.pid, comm: 'CPU 0/KVM', role: 'vcpu', before: 'fifo 1' },
            { kind: 'irq', irq: 60, device: '0000:81:00.0', name: 'ice-0000:81:00.0:misc', before: '4-5' },
          ],
        }),
        { mode: 0o600 },
      );
      const r = await restore('vm', { paths: { ...paths, proc: '/proc', irqProc: paths.proc }, stateDir });
      expect(r.results.map((x) => [x.key, x.status])).toEqual([['irq:60', 'reused'], ['sched:' + s.pid, 'reused'], ['thread:' + s.pid, 'reused']]);
      expect(r.skipped).toBe(3);
      expect(r.results.find((x) => x.key.startsWith('thread:'))?.message).toMatch(/is now 'sleep', not the recorded 'CPU 0\/KVM'/);
      expect(r.results.find((x) => x.key === 'irq:60')?.message).toMatch(/host driver ice/);
      expect(cpusAllowed(s.pid, s.pid).toString()).toBe(affinity0);
      expect(policyOf(s.pid)).toBe(policy0);
      expect(irq(60)).toBe('0-15');
    } finally {
      s.kill();
    }
  });
});

// ---------------------------------------------------------------- 5

describe('item 5: thread ids from another /proc are never written', () => {
  // On main: the fake /proc's tids were real processes of this namespace, and apply pinned them.
  it('item 5: under a /proc that is not this namespace\'s, thread writes are refused (APPLY_FOREIGN_PROC); the real processes keep their masks', async () => {
    const [main, v0, v1] = [sleeper(), sleeper(), sleeper()];
    try {
      const task = join(fx.root, 'proc', String(main.pid), 'task');
      for (const [p, comm] of [[main, 'qemu-system-x86'], [v0, 'CPU 0/KVM'], [v1, 'CPU 1/KVM']] as const) {
        mkdirSync(join(task, String(p.pid)), { recursive: true });
        writeFileSync(join(task, String(p.pid), 'comm'), `${comm}\n`);
      }
      writeFileSync(join(fx.root, 'proc', String(main.pid), 'stat'), readFileSync(`/proc/${main.pid}/stat`));
      const masks0 = [main, v0, v1].map((p) => cpusAllowed(p.pid, p.pid).toString());
      const p = planOf(dom('vm', '0x0a', '4-5'), true);
      expect(p.actions.some((a) => a.kind === 'thread-affinity')).toBe(true);
      await expect(apply(p, { paths, stateDir, pid: main.pid })).rejects.toMatchObject({ code: 'APPLY_FOREIGN_PROC' });
      expect([main, v0, v1].map((x) => cpusAllowed(x.pid, x.pid).toString())).toEqual(masks0);
      expect(irq(120)).toBe('0-15'); // refused before the first change
      // The live /proc of this namespace is accepted.
      const { procIsCallers } = await import('../../src/apply/discover.js');
      expect([procIsCallers('/proc'), procIsCallers(paths.proc)]).toEqual([true, false]);
    } finally {
      for (const x of [main, v0, v1]) x.kill();
    }
  });
});

// ---------------------------------------------------------------- 6

describe('item 6: restore at stop does not give up while the late-IRQ waiter holds the lock', () => {
  // On main: restore answered APPLY_LOCKED at once and the IRQs stayed pinned after the domain stopped.
  it('item 6: stopped end withdraws the waiter\'s plan and waits for its round, then restores', () => {
    const env = hookEnv();
    const xml = dom('vm', '0x0a', '4-5');
    expect(hook('vm', 'started', 'begin', xml, env).status).toBe(0);
    expect(irq(120)).toBe('4-5');
    // The waiter is mid-round: its plan file is there and a live process holds the domain's lock for ~1.5 s.
    writeFileSync(latePlanPath(stateDir, 'vm'), JSON.stringify(planOf(xml)), { mode: 0o600 });
    const holder = spawn('sleep', ['1.5'], { stdio: 'ignore' });
    const stat = readFileSync(`/proc/${holder.pid}/stat`, 'utf8');
    writeFileSync(lockPath(stateDir, 'vm'), JSON.stringify({ pid: holder.pid, startTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19], nonce: 'waiter', since: new Date().toISOString() }), { mode: 0o600 });
    const t0 = Date.now();
    const stop = hook('vm', 'stopped', 'end', xml, env);
    expect(stop.status).toBe(0);
    expect(stop.stderr).not.toMatch(/APPLY_LOCKED/);
    expect(Date.now() - t0).toBeLessThan(5000 + 2000); // bounded: 5 s at most, plus the hook's own start
    expect(irq(120)).toBe('0-15');
    expect(existsSync(latePlanPath(stateDir, 'vm'))).toBe(false);
    expect(existsSync(statePath(stateDir, 'vm'))).toBe(false);
  });
});

// ---------------------------------------------------------------- 10

describe('item 10: only IRQs vfio owns for the device are moved', () => {
  // On main: a device bound to a host driver (ice) had its vector pinned, and a shared INTx line moved the host's USB controller too.
  it('item 10: a host driver\'s vectors and a shared INTx line are skipped with the reason; the shared line only with sharedIrqs', async () => {
    const nic = await apply(planOf(dom('vm', '0x81', '4-5')), { paths, stateDir });
    expect(nic.ok).toBe(true);
    expect(nic.results).toEqual([expect.objectContaining({ key: 'irq:60', status: 'not-owned', message: expect.stringMatching(/host driver ice, not vfio-pci/) })]);
    expect(irq(60)).toBe('0-15');

    // The GPU in INTx mode on a line it shares with the host's USB controller.
    const ints = join(fx.root, 'proc', 'interrupts');
    writeFileSync(ints, readFileSync(ints, 'utf8').replace('ehci_hcd:usb1', 'ehci_hcd:usb1, vfio-intx(0000:0a:00.0)'));
    const p = planOf(dom('vm', '0x0a', '4-5'));
    const r = await apply(p, { paths, stateDir });
    expect(r.results.find((x) => x.key === 'irq:16')).toMatchObject({ status: 'not-owned', message: expect.stringMatching(/shared with host handlers/) });
    expect(irq(16)).toBe('0-15');
    expect(irq(120)).toBe('4-5');
    const shared = await apply(p, { paths, stateDir, sharedIrqs: true });
    expect(shared.results.find((x) => x.key === 'irq:16')?.status).toBe('changed');
    expect(irq(16)).toBe('4-5');
    const back = await restore('vm', { paths, stateDir });
    expect(back.ok).toBe(true);
    expect([irq(16), irq(120)]).toEqual(['0-15', '0-15']);
  });
});

// ---------------------------------------------------------------- 11

describe('item 11: a QEMU restart without restore keeps the original masks', () => {
  // On main: the second apply (another process) dropped the IRQ originals with the thread entries; restore left IRQ 120 at 4-5.
  it('item 11: IRQ (and cgroup) originals survive a pid change; restore puts the IRQs back', async () => {
    const masks = new Map<number, CpuSet>();
    const io: Partial<HostIo> = {
      readThreadAffinity: (tid) => masks.get(tid) ?? parseKernelCpuList('0-15'),
      writeThreadAffinity: (tid, cpus) => void masks.set(tid, cpus),
      readThreadSched: () => ({ policy: 'other', priority: 0, resetOnFork: false }),
      writeThreadSched: () => {
        throw new AffinityWriteError('EPERM', 'not in this test');
      },
    };
    const p = planOf(dom('gpu-vm', '0x0a', '4-5'), true);
    const first = await apply(p, { paths, stateDir, io });
    expect([first.ok, irq(120)]).toEqual([true, '4-5']);
    // QEMU restarts: same pid here, another start time (a new process); its threads are unpinned again.
    const stat = join(fx.root, 'proc', '4242', 'stat');
    writeFileSync(stat, readFileSync(stat, 'utf8').replace(' 123456 ', ' 999999 '));
    masks.clear();
    const second = await apply(p, { paths, stateDir, io });
    expect(second.ok).toBe(true);
    const state = readStateFile(second.statePath);
    expect(state?.startTime).toBe('999999');
    expect(state?.entries.filter((e) => e.kind === 'irq').map((e) => [e.irq, e.before])).toEqual([[120, '0-15'], [121, '0-15']]);
    const back = await restore('gpu-vm', { paths, stateDir, io });
    expect(back.ok).toBe(true);
    expect([irq(120), irq(121)]).toEqual(['0-15', '0-15']);
  });
});

// ---------------------------------------------------------------- 20

describe('item 20: concurrent creation of the nested state directory', () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = mkdtempSync(join(tmpdir(), 'vp-ensure-'));
    const esbuild = await import('esbuild');
    await esbuild.build({ stdin: { contents: `export { ensureDir } from './src/apply/state.ts';\n`, resolveDir: repoRoot, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: join(bundle, 'state.mjs'), logLevel: 'silent' });
    writeFileSync(
      join(bundle, 'worker.mjs'),
      `import { workerData, parentPort } from 'node:worker_threads';
import { ensureDir } from './state.mjs';
const { sab, base, trials, workers } = workerData;
const arrived = new Int32Array(sab);
const failures = [];
for (let t = 0; t < trials; t++) {
  Atomics.add(arrived, 0, 1);
  while (Atomics.load(arrived, 0) < workers * (t + 1)); // all start the trial together
  try { ensureDir(base + '/t' + t + '/a/b/c'); } catch (e) { failures.push(e.code ?? String(e)); }
}
parentPort.postMessage(failures);
`,
    );
  });
  afterAll(() => rmSync(bundle, { recursive: true, force: true }));

  // On main: the second mkdir after creating the parent threw EEXIST when another process won (1 in 40 trials with two processes).
  it('item 20: 4 threads × 150 trials creating the same nested directory at once: no EEXIST', async () => {
    const base = join(fx.dir, 'race');
    const workers = 4;
    const sab = new SharedArrayBuffer(4);
    const results = await Promise.all(
      Array.from({ length: workers }, () => new Promise<string[]>((resolve, reject) => {
        const w = new Worker(join(bundle, 'worker.mjs'), { workerData: { sab, base, trials: 150, workers } });
        w.once('message', resolve);
        w.once('error', reject);
      })),
    );
    expect(results.flat()).toEqual([]);
    expect(readdirSync(base)).toHaveLength(150);
  }, 60_000);
});

// ---------------------------------------------------------------- 24

describe('item 24: leftovers of killed runs are cleaned on the next run of the same domain', () => {
  // On main: NAME.json.tmp-*, NAME.lock.stale-*, NAME.lock.tmp-* stayed forever; a dangling lock symlink said "kept changing hands".
  it('item 24: stale temp and lock files of dead runs go, other domains\' and live ones stay; a dangling lock symlink is APPLY_LOCK_INVALID', async () => {
    mkdirSync(stateDir, { mode: 0o700 });
    const dead = spawnSync('true').pid as number; // exited and reaped: no such process now
    const mine = ['gpu-vm.json.tmp-' + dead + '-abc123', 'gpu-vm.lock.stale-' + dead + '-1a-2b-3c', 'gpu-vm.lock.tmp-' + dead + '-1a-2b-3c', 'gpu-vm.plan.json.tmp-' + dead + '-zz9'];
    const others = ['gpu-vm_2.json.tmp-' + dead + '-abc123', 'other.lock.tmp-' + dead + '-1a', 'gpu-vm.json.tmp-' + process.pid + '-live01'];
    for (const f of [...mine, ...others]) writeFileSync(join(stateDir, f), '{}', { mode: 0o600 });
    const r = await apply(planOf(dom('gpu-vm', '0x0a', '4-5')), { paths, stateDir });
    expect(r.ok).toBe(true);
    const left = readdirSync(stateDir);
    for (const f of mine) expect(left, f).not.toContain(f);
    for (const f of others) expect(left, f).toContain(f);

    await restore('gpu-vm', { paths, stateDir });
    symlinkSync(join(fx.dir, 'nowhere'), lockPath(stateDir, 'gpu-vm'));
    await expect(apply(planOf(dom('gpu-vm', '0x0a', '4-5')), { paths, stateDir })).rejects.toMatchObject({ code: 'APPLY_LOCK_INVALID', message: expect.stringMatching(/symlink/) });
    expect(irq(120)).toBe('0-15');
  });

  // On main: the waiter's plan file was never deleted.
  it('item 24: the late-IRQ waiter removes its plan file when it ends', async () => {
    const env = hookEnv({ waitIrqsSeconds: 1 });
    expect(hook('vm', 'started', 'begin', dom('vm', '0x0a', '4-5'), env).status).toBe(0);
    const plan = latePlanPath(stateDir, 'vm');
    for (const end = Date.now() + 8000; existsSync(plan) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(plan)).toBe(false);
  }, 15_000);
});

// ---------------------------------------------------------------- 25

describe('item 25: the libvirt path takes the same per-domain lock', () => {
  // On main: applyDomain ran (here: reached virsh, LIVE_NO_VIRSH) while another virt-pin held the domain.
  it('item 25: applyDomain and restoreLive answer APPLY_LOCKED while another virt-pin holds the domain', async () => {
    mkdirSync(join(stateDir, 'libvirt'), { recursive: true, mode: 0o700 });
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const stat = readFileSync(`/proc/${holder.pid}/stat`, 'utf8');
      writeFileSync(lockPath(stateDir, 'vm'), JSON.stringify({ pid: holder.pid, startTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19], nonce: 'other', since: new Date().toISOString() }), { mode: 0o600 });
      const p = planOf(dom('vm', '0x0a', '4-5'), true);
      await expect(applyDomain(p, { stateDir, paths, virsh: '/nonexistent/virsh', uri: 'test:///default' })).rejects.toMatchObject({ code: 'APPLY_LOCKED' });
      writeFileSync(join(stateDir, 'libvirt', 'vm.json'), JSON.stringify({ schemaVersion: 1, kind: 'virt-pin-libvirt-state', name: 'vm', uri: 'test:///default', domainId: 1, createdAt: '', phase: 'applied', entries: [{ target: 'emulator', before: '0-1' }] }), { mode: 0o600 });
      await expect(restoreLive('vm', { stateDir, virsh: '/nonexistent/virsh' })).rejects.toMatchObject({ code: 'APPLY_LOCKED' });
      expect(existsSync(join(stateDir, 'libvirt', 'vm.json'))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
