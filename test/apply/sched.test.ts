/**
 * Scheduler actions (vcpusched / iothreadsched / emulatorsched) on the
 * threads of a real QEMU, read back from /proc/PID/task/TID/stat (field 40
 * rt_priority, field 41 policy). Fails (never skips) without QEMU or
 * without the v1 cpu controller used to provoke a real EPERM.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, formatSched, parseSched, readStateFile, restore, threadSchedIo, type HostPaths } from '../../src/apply/index.js';
import { plan, type PlanInput, type RuntimePlan } from '../../src/plan/index.js';
import { assertPlanSchema } from '../plan/support.js';
import { startQemu, type Qemu } from './support.js';
import { describeWith, requireComponents } from '../support/components.js';

let qemu: Qemu;
let work: string;
let paths: HostPaths;
beforeAll(async () => {
  if (requireComponents(['qemu']).available) qemu = await startQemu();
  work = mkdtempSync(join(tmpdir(), 'vp-sched-'));
  paths = { proc: '/proc', sys: '/sys', run: work };
});
afterAll(async () => {
  await qemu?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Policy (field 41) and rt_priority (field 40) of every thread, by tid. */
function schedOfAll(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    out.set(Number(t), `policy ${f[41 - 3]} prio ${f[40 - 3]}`);
  }
  return out;
}
function tidOf(pid: number, comm: RegExp): number {
  const t = readdirSync(`/proc/${pid}/task`).find((x) => comm.test(readFileSync(`/proc/${pid}/task/${x}/comm`, 'utf8').trim()));
  if (!t) throw new Error(`no thread ${comm} in ${pid}`);
  return Number(t);
}

function schedPlan(emulator?: { scheduler: string; priority?: number }): RuntimePlan {
  const input: PlanInput = {
    domain: { name: 'vm' },
    vcpus: [0, 1, 2, 3].map((id) => ({ id, online: true, cpus: '0-1', source: 'vcpu', ...(id === 1 ? { sched: { scheduler: 'fifo', priority: 1 } } : {}) })),
    iothreads: [{ id: 1, cpus: '0-1', source: 'vcpu', sched: { scheduler: 'batch' } }],
    emulator: { cpus: '0-1', source: 'vcpu', ...(emulator ? { sched: emulator } : {}) },
  };
  const p = plan(input, { onlineCpus: '0-1' }, { threads: true });
  assertPlanSchema(p);
  // Scheduler actions only: the affinity side is covered by live.test.ts.
  return { ...p, actions: p.actions.filter((a) => a.kind === 'thread-sched') };
}

describeWith(['qemu', 'root', 'util-linux'], 'scheduler settings on a real QEMU', () => {
  it('RT scheduling is available on this machine (else the fifo cases below cannot run)', () => {
    // Recorded so a refusal elsewhere is explained: -1 = unlimited, 0 = RT disabled.
    const runtime = Number(readFileSync('/proc/sys/kernel/sched_rt_runtime_us', 'utf8'));
    expect(runtime).not.toBe(0);
  });

  it('sets vCPU 1 to fifo 1, IOThread 1 to batch, the main thread (only) to idle; re-apply is a no-op; restore puts every policy back', async () => {
    const p = schedPlan({ scheduler: 'idle' });
    expect(p.actions.map((a) => a.id)).toEqual(['sched-vcpu1', 'sched-iothread1', 'sched-emulator']);
    const original = schedOfAll(qemu.pid);
    const vcpu1 = tidOf(qemu.pid, /^CPU 1\//);
    const io1 = tidOf(qemu.pid, /^IO iothread1$/);
    expect(original.get(vcpu1)).toBe('policy 0 prio 0');

    const r = await apply(p, { paths, pid: qemu.pid, stateDir: work });
    expect(r.ok).toBe(true);
    expect(r.notApplied).toEqual([]);
    const now = schedOfAll(qemu.pid);
    expect(now.get(vcpu1)).toBe('policy 1 prio 1'); // SCHED_FIFO, priority 1
    expect(now.get(io1)).toBe('policy 3 prio 0'); // SCHED_BATCH
    const emulatorTids = [...now.keys()].filter((t) => !/^(CPU \d+\/|IO iothread1$)/.test(readFileSync(`/proc/${qemu.pid}/task/${t}/comm`, 'utf8').trim()));
    expect(emulatorTids).toContain(qemu.pid);
    expect(emulatorTids.length).toBeGreaterThan(1);
    // <emulatorsched> reaches the main thread alone, as libvirt's sched_setscheduler(pid) does; helpers keep theirs.
    for (const t of emulatorTids) expect([t, now.get(t)]).toEqual([t, t === qemu.pid ? 'policy 5 prio 0' : original.get(t)]); // 5 = SCHED_IDLE
    for (const n of [0, 2, 3]) expect(now.get(tidOf(qemu.pid, new RegExp(`^CPU ${n}/`)))).toBe(original.get(tidOf(qemu.pid, new RegExp(`^CPU ${n}/`))));
    const emu = r.results.filter((x) => x.actionId === 'sched-emulator');
    expect(emu.map((x) => x.key)).toEqual([`sched:${qemu.pid}`]);
    expect(r.results.find((x) => x.key === `sched:${vcpu1}`)).toMatchObject({ status: 'changed', requested: 'fifo 1', before: 'other 0', effective: 'fifo 1' });

    const state = readStateFile(r.statePath);
    expect(state?.schemaVersion).toBe(2);
    expect(state?.entries.filter((e) => e.kind === 'sched')).toHaveLength(3);
    expect(state?.entries.find((e) => e.kind === 'sched' && e.tid === vcpu1)).toMatchObject({ before: 'other 0', comm: 'CPU 1/TCG', role: 'vcpu' });

    const again = await apply(p, { paths, pid: qemu.pid, stateDir: work, io: { writeThreadSched: () => { throw new Error('no write expected'); } } });
    expect(again.ok).toBe(true);
    expect(again.changed).toBe(0);

    const back = await restore('vm', { paths, stateDir: work });
    expect(back.ok).toBe(true);
    expect(back.results.filter((x) => x.status === 'restored')).toHaveLength(3);
    expect(schedOfAll(qemu.pid)).toEqual(original);
    expect(readStateFile(r.statePath)).toBeUndefined();
  });

  it('the chrt fallback (no FFI) applies and restores the same settings', async () => {
    const p = schedPlan();
    const original = schedOfAll(qemu.pid);
    const r = await apply(p, { paths, pid: qemu.pid, stateDir: work, threadMethod: 'taskset' });
    expect(r.ok).toBe(true);
    expect(schedOfAll(qemu.pid).get(tidOf(qemu.pid, /^CPU 1\//))).toBe('policy 1 prio 1');
    expect(threadSchedIo('taskset').readThreadSched(tidOf(qemu.pid, /^IO iothread1$/))).toEqual({ policy: 'batch', priority: 0, resetOnFork: false });
    const back = await restore('vm', { paths, stateDir: work, threadMethod: 'taskset' });
    expect(back.ok).toBe(true);
    expect(schedOfAll(qemu.pid)).toEqual(original);
  });

  it('a real EPERM (vCPU thread in a cpu cgroup without real-time budget) is APPLY_SCHED_NOT_PERMITTED, nothing left changed', async () => {
    const cpuRoot = '/sys/fs/cgroup/cpu';
    expect(existsSync(join(cpuRoot, 'cpu.rt_runtime_us')), 'cgroup v1 cpu controller with RT group scheduling at /sys/fs/cgroup/cpu').toBe(true);
    const scratch = join(cpuRoot, `vp-sched-test-${process.pid}`);
    mkdirSync(scratch);
    const vcpu1 = tidOf(qemu.pid, /^CPU 1\//);
    const original = schedOfAll(qemu.pid);
    try {
      expect(readFileSync(join(scratch, 'cpu.rt_runtime_us'), 'utf8').trim()).toBe('0'); // a new group has no RT budget
      writeFileSync(join(scratch, 'tasks'), String(vcpu1));
      // IOThread first (batch), then vCPU 1 (fifo, refused): the batch change must be rolled back.
      const p = schedPlan();
      const reordered = { ...p, actions: [...p.actions].reverse() };
      const r = await apply(reordered, { paths, pid: qemu.pid, stateDir: work });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('APPLY_SCHED_NOT_PERMITTED');
      expect(r.error?.message).toContain(`cpu.rt_runtime_us 0`);
      expect(r.error?.message).toContain(`vp-sched-test-${process.pid}`);
      expect(r.results.find((x) => x.actionId === 'sched-iothread1')?.status).toBe('rolled-back');
      expect(r.rollback).toEqual({ restored: 1, failed: [] });
      expect(schedOfAll(qemu.pid)).toEqual(original);
      expect(readStateFile(r.statePath)).toBeUndefined();
    } finally {
      writeFileSync(join(cpuRoot, 'tasks'), String(vcpu1));
      rmdirSync(scratch);
    }
  });

  it('a thread under SCHED_DEADLINE is refused before anything changes (it could not be restored)', async () => {
    const io1 = tidOf(qemu.pid, /^IO iothread1$/);
    execFileSync('chrt', ['-d', '--sched-runtime', '1000000', '--sched-deadline', '10000000', '--sched-period', '10000000', '-p', '0', String(io1)]);
    try {
      const original = schedOfAll(qemu.pid);
      await expect(apply(schedPlan(), { paths, pid: qemu.pid, stateDir: work })).rejects.toMatchObject({ code: 'APPLY_SCHED_UNSUPPORTED' });
      expect(schedOfAll(qemu.pid)).toEqual(original);
      expect(existsSync(join(work, 'vm.json'))).toBe(false);
    } finally {
      execFileSync('chrt', ['-o', '-p', '0', String(io1)]);
    }
  });

  it('refuses a priority the kernel would reject, before anything changes', async () => {
    const p = schedPlan();
    const bad = { ...p, actions: p.actions.map((a) => (a.kind === 'thread-sched' && a.id === 'sched-vcpu1' ? { ...a, priority: 100 } : a)) };
    const original = schedOfAll(qemu.pid);
    await expect(apply(bad, { paths, pid: qemu.pid, stateDir: work })).rejects.toMatchObject({ code: 'APPLY_SCHED_INVALID' });
    expect(schedOfAll(qemu.pid)).toEqual(original);
  });
});

describe('state file format', () => {
  it('round-trips scheduler settings and reads version 1 files; a version 1 file cannot carry the new kinds', () => {
    for (const s of ['other 0', 'fifo 1', 'rr 99', 'batch 0 reset-on-fork', 'idle 0']) expect(formatSched(parseSched(s) ?? { policy: 'deadline', priority: -1, resetOnFork: false })).toBe(s);
    for (const s of ['fifo 0', 'batch 3', 'deadline 0', 'fifo 100', 'other  0', 'fifo 01']) expect([s, parseSched(s)]).toEqual([s, undefined]);
    const dir = mkdtempSync(join(tmpdir(), 'vp-state-'));
    try {
      const v1 = { kind: 'virt-pin-state', schemaVersion: 1, name: 'x', pid: 1, createdAt: 'now', phase: 'applied', entries: [{ kind: 'thread', tid: 5, comm: 'CPU 0/KVM', role: 'vcpu', before: '0-3' }] };
      writeFileSync(join(dir, 'v1.json'), JSON.stringify(v1));
      expect(readStateFile(join(dir, 'v1.json'))?.entries).toHaveLength(1);
      writeFileSync(join(dir, 'v1-sched.json'), JSON.stringify({ ...v1, entries: [{ kind: 'sched', tid: 5, comm: 'c', role: 'vcpu', before: 'other 0' }] }));
      expect(() => readStateFile(join(dir, 'v1-sched.json'))).toThrow(expect.objectContaining({ code: 'APPLY_STATE_INVALID' }));
      writeFileSync(join(dir, 'v2-bad.json'), JSON.stringify({ ...v1, schemaVersion: 2, entries: [{ kind: 'sched', tid: 5, comm: 'c', role: 'vcpu', before: 'fifo 0' }] }));
      expect(() => readStateFile(join(dir, 'v2-bad.json'))).toThrow(expect.objectContaining({ code: 'APPLY_STATE_INVALID' }));
      writeFileSync(join(dir, 'v3.json'), JSON.stringify({ ...v1, schemaVersion: 3 }));
      expect(() => readStateFile(join(dir, 'v3.json'))).toThrow(expect.objectContaining({ code: 'APPLY_STATE_INVALID' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
