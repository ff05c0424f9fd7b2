/**
 * Issue 14's local-attacker suite: another local user (uid/gid 65534,
 * dropped with `setpriv --reuid=65534 --regid=65534 --clear-groups`) works
 * on a state directory while root runs the hook, apply and restore against
 * a copy of fixtures/passthrough-host. Whatever the attacker plants, nothing
 * outside the state directory changes (the captured host's IRQ files, a
 * root-only file, a real process's affinity and policy), and every refusal
 * is a typed code. Needs root and setpriv (util-linux): CI runs as root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathsUnder, restore, statePath } from '../../src/apply/index.js';
import { latePlanPath } from '../../src/apply/late-plan.js';
import { copyPassthroughHost, cpusAllowed, dom, snapshotTree } from '../apply/support.js';
import { cliPath } from '../support/cli.js';
import { describeWith, findProgram } from '../support/components.js';

/** setpriv is util-linux's, like taskset and chrt (the 'util-linux' component). */
const SETPRIV = findProgram('setpriv') ?? 'setpriv';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** Run a shell script as the unprivileged attacker; paths come in through the environment, never interpolated. */
function attacker(script: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(SETPRIV, [...NOBODY, 'sh', '-c', script], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

/** The same, in the background for `seconds`, repeating its planting while root works. */
function attackerLoop(script: string, env: Record<string, string>, seconds: number): Promise<void> {
  const loop = `end=$(( $(date +%s) + ${seconds} )); while [ "$(date +%s)" -lt "$end" ]; do ${script}; done 2>/dev/null; exit 0`;
  const child = spawn(SETPRIV, [...NOBODY, 'sh', '-c', loop], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function rootCli(args: string[], env: NodeJS.ProcessEnv, input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describeWith(['root', 'util-linux'], 'a local attacker (uid 65534) against the state directory', () => {
  let fx: ReturnType<typeof copyPassthroughHost>;
  let victim: string;
  let sleeper: ReturnType<typeof spawn>;
  let world: () => unknown;
  beforeEach(() => {
    fx = copyPassthroughHost();
    chmodSync(fx.dir, 0o755); // the attacker may look, not write
    victim = join(fx.dir, 'victim');
    writeFileSync(victim, 'root only\n', { mode: 0o600 });
    sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = sleeper.pid as number;
    const policy = (): string => spawnSync('chrt', ['-p', String(pid)], { encoding: 'utf8' }).stdout.replace(/^pid \d+'s /gm, '');
    world = () => ({ host: snapshotTree(fx.root), victim: readFileSync(victim, 'utf8'), sleeper: [cpusAllowed(pid, pid).toString(), policy()] });
  });
  afterEach(() => {
    sleeper.kill('SIGKILL');
    fx.cleanup();
  });

  const hookEnv = (stateDir: string, wait = 0): NodeJS.ProcessEnv => {
    const cfg = join(fx.dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ stateDir, waitIrqsSeconds: wait }), { mode: 0o644 });
    return { VIRT_PIN_HOST_ROOT: fx.root, VIRT_PIN_CONFIG: cfg };
  };
  /** A well-formed state file aimed at the sleep process and the host NIC's IRQ. */
  const craftedState = (name: string): string => {
    const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return JSON.stringify({
      schemaVersion: 2, kind: 'virt-pin-state', name, pid: sleeper.pid, startTime, createdAt: '', phase: 'applied',
      entries: [
        { kind: 'thread', tid: sleeper.pid, comm: 'sleep', role: 'vcpu', before: '0' },
        { kind: 'sched', tid: sleeper.pid, comm: 'sleep', role: 'vcpu', before: 'fifo 1' },
        { kind: 'irq', irq: 60, device: '0000:81:00.0', name: 'ice-0000:81:00.0:misc', before: '4-5' },
      ],
    });
  };

  it('a state directory anyone can write (1777): symlinks, FIFOs and crafted files planted while root runs; every run refuses with APPLY_STATE_DIR_UNSAFE', async () => {
    const st = join(fx.dir, 'st');
    mkdirSync(st);
    chmodSync(st, 0o1777);
    const before = world();
    const env = { ST: st, VICTIM: victim, CRAFTED: craftedState('vm'), PLAN: latePlanPath(st, 'vm'), STATE: statePath(st, 'vm') };
    const planted = attacker('ln -s "$VICTIM" "$PLAN" && ln -s "$VICTIM" "$ST/vm.lock" && mkfifo "$ST/other.json" && ln -s /dev/zero "$ST/zero.json" && printf %s "$CRAFTED" > "$STATE"', env);
    expect(planted).toMatchObject({ status: 0 });
    // While root works, the attacker keeps re-planting.
    const loop = attackerLoop('ln -sf "$VICTIM" "$PLAN"; ln -sf "$VICTIM" "$ST/vm.lock"; printf %s "$CRAFTED" > "$STATE"', env, 3);
    const henv = hookEnv(st, 1);
    const xml = dom('vm', '0x0a', '4-5');
    for (const [op, sub] of [['started', 'begin'], ['stopped', 'end'], ['release', 'end']]) {
      const r = rootCli(['hook', 'exec', 'vm', op as string, sub as string, '-'], henv, xml);
      expect([op, r.status, r.stderr]).toEqual([op, 0, expect.stringContaining('APPLY_STATE_DIR_UNSAFE')]);
    }
    for (const name of ['vm', 'other', 'zero']) {
      const r = rootCli(['restore', '--state-dir', st, name], {});
      expect([name, r.status !== null && r.status > 0, r.stderr]).toEqual([name, true, expect.stringContaining('APPLY_STATE_DIR_UNSAFE')]);
    }
    const late = rootCli(['hook', 'late-irqs', 'vm', latePlanPath(st, 'vm'), '1', st], { VIRT_PIN_HOST_ROOT: fx.root });
    expect(late.status).toBe(0);
    await loop;
    expect(world()).toEqual(before);
  }, 60_000);

  it('a state directory the attacker owns: a crafted state and plan aimed at a real process and the host NIC are refused unread', async () => {
    const st = join(fx.dir, 'st');
    mkdirSync(st, { mode: 0o700 });
    spawnSync('chown', ['65534:65534', st]);
    const before = world();
    const nicPlan = JSON.stringify({ schemaVersion: 1, kind: 'virt-pin-runtime-plan', domain: { name: 'vm' }, hostCpus: '0-15', actions: [{ id: 'irq-0000:81:00.0', kind: 'irq-affinity', target: { device: '0000:81:00.0' }, cpus: '4-5' }], devices: [], diagnostics: [] });
    const planted = attacker('printf %s "$CRAFTED" > "$STATE" && printf %s "$NICPLAN" > "$PLAN" && chmod 600 "$STATE" "$PLAN"', { CRAFTED: craftedState('vm'), STATE: statePath(st, 'vm'), NICPLAN: nicPlan, PLAN: latePlanPath(st, 'vm') });
    expect(planted).toMatchObject({ status: 0 });
    await expect(restore('vm', { paths: { ...pathsUnder(fx.root), proc: '/proc', irqProc: join(fx.root, 'proc') }, stateDir: st })).rejects.toMatchObject({ code: 'APPLY_STATE_DIR_UNSAFE' });
    const r = rootCli(['restore', '--state-dir', st, 'vm'], {});
    expect(r.stderr).toContain('APPLY_STATE_DIR_UNSAFE');
    expect(rootCli(['hook', 'late-irqs', 'vm', latePlanPath(st, 'vm'), '1', st], { VIRT_PIN_HOST_ROOT: fx.root }).status).toBe(0);
    const stop = rootCli(['hook', 'exec', 'vm', 'stopped', 'end', '-'], hookEnv(st), dom('vm', '0x0a', '4-5'));
    expect(stop.stderr).toContain('APPLY_STATE_DIR_UNSAFE');
    expect(world()).toEqual(before);
  }, 60_000);

  it('a root-only state directory in a parent the attacker can write: swapping it for a symlink is refused', async () => {
    const parent = join(fx.dir, 'shared');
    mkdirSync(join(parent, 'st'), { recursive: true, mode: 0o700 });
    chmodSync(parent, 0o777); // not sticky
    const decoy = join(fx.dir, 'decoy');
    mkdirSync(decoy, { mode: 0o755 });
    const before = world();
    const loop = attackerLoop('mv "$P/st" "$P/st.$$" 2>/dev/null; ln -sfn "$DECOY" "$P/st"', { P: parent, DECOY: decoy }, 2);
    const henv = hookEnv(join(parent, 'st'));
    for (let i = 0; i < 3; i++) {
      const r = rootCli(['hook', 'exec', 'vm', 'started', 'begin', '-'], henv, dom('vm', '0x0a', '4-5'));
      expect(r.stderr).toContain('APPLY_STATE_DIR_UNSAFE');
    }
    await loop;
    expect(world()).toEqual(before);
    expect(spawnSync('ls', ['-A', decoy], { encoding: 'utf8' }).stdout).toBe('');
  }, 60_000);

  it('a root-only state directory (0700 under root-owned parents): the attacker cannot plant anything, and root applies and restores normally', async () => {
    const st = join(fx.dir, 'st');
    mkdirSync(st, { mode: 0o700 });
    const before = world();
    const tried = attacker('ln -s "$VICTIM" "$PLAN" || ln -s "$VICTIM" "$ST/vm.lock" || mkfifo "$ST/vm.json"', { ST: st, VICTIM: victim, PLAN: latePlanPath(st, 'vm') });
    expect(tried.status).not.toBe(0);
    expect(tried.stderr).toMatch(/Permission denied/);
    const henv = hookEnv(st);
    const xml = dom('vm', '0x0a', '4-5');
    expect(rootCli(['hook', 'exec', 'vm', 'started', 'begin', '-'], henv, xml).stderr).toMatch(/applied: 2 target\(s\) changed/);
    expect(readFileSync(join(fx.root, 'proc/irq/120/smp_affinity_list'), 'utf8')).toBe('4-5\n');
    expect(attacker('cat "$STATE"', { STATE: statePath(st, 'vm') }).status).not.toBe(0); // 0600 under 0700: not even readable
    expect(rootCli(['hook', 'exec', 'vm', 'stopped', 'end', '-'], henv, xml).status).toBe(0);
    expect(world()).toEqual(before);
  }, 60_000);
});
