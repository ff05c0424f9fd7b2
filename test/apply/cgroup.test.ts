/**
 * cgroup widening (`widenCgroups`): finding a thread's cpuset cgroup in
 * libvirt's v1 and v2 layouts (fixtures/cgroup-v1, fixtures/cgroup-v2),
 * the apply/restore order with a real QEMU's threads, and this machine's
 * real cpuset hierarchy, where a narrow cgroup makes sched_setaffinity
 * answer EINVAL. Suites needing QEMU or a writable cpuset hierarchy are gated
 * by test/support/components.ts (skipped with the reason outside CI, failed in CI).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, defaultIo, readStateFile, restore, threadCgroup, type HostIo, type HostPaths } from '../../src/apply/index.js';
import { planWidening } from '../../src/apply/cgroup.js';
import { explainSchedRefusal } from '../../src/apply/sched.js';
import { parseKernelCpuList } from '../../src/cpuset/index.js';
import { plan, type PlanInput, type RuntimePlan } from '../../src/plan/index.js';
import { repoRoot } from '../plan/support.js';
import { cpusAllowed, snapshotTree, startQemu, type Qemu } from './support.js';
import { describeWith } from '../support/components.js';

const SCOPE = 'machine-qemu\\x2d1\\x2dvm.scope';
const LIBVIRT = ['machine.slice', SCOPE, 'libvirt'];
const layouts = [
  { version: 1 as const, fixture: 'cgroup-v1', mount: ['cpuset'] },
  { version: 2 as const, fixture: 'cgroup-v2', mount: [] as string[] },
];

function copyFixture(name: string): { dir: string; root: string; paths: HostPaths; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vp-cgroup-'));
  const root = join(dir, 'root');
  cpSync(join(repoRoot, 'fixtures', name, 'root'), root, { recursive: true, verbatimSymlinks: true });
  return { dir, root, paths: { proc: join(root, 'proc'), sys: join(root, 'sys'), run: join(dir, 'run') }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe.each(layouts)('libvirt layout, cgroup v$version (fixtures/$fixture)', ({ version, fixture, mount }) => {
  it('finds the cpuset cgroup of each thread from /proc/PID/task/TID/cgroup', () => {
    const fx = copyFixture(fixture);
    try {
      const vcpu0 = threadCgroup(fx.paths, 4242, 4250);
      expect(vcpu0).toMatchObject({ version, rel: [...mount, ...LIBVIRT, 'vcpu0'] });
      expect([vcpu0?.cpus.toString(), vcpu0?.effective.toString()]).toEqual(['0', '0']);
      expect(threadCgroup(fx.paths, 4242, 4260)?.rel.at(-1)).toBe('iothread1');
      expect(threadCgroup(fx.paths, 4242, 4243)?.rel.at(-1)).toBe('emulator');
      expect(threadCgroup(fx.paths, 4242, 4999)).toBeUndefined(); // no such thread
    } finally {
      fx.cleanup();
    }
  });

  it('widens only the leaf; CPUs its parent lacks are APPLY_CGROUP_PARENT, naming the parent', () => {
    const fx = copyFixture(fixture);
    try {
      const cg = threadCgroup(fx.paths, 4242, 4250);
      if (!cg) throw new Error('no cgroup');
      expect(planWidening(fx.paths, cg, parseKernelCpuList('0'), ['vcpu0'])).toBeUndefined();
      expect(planWidening(fx.paths, cg, parseKernelCpuList('1-2'), ['vcpu0'])?.cpus.toString()).toBe('0-2');
      let err: unknown;
      try {
        planWidening(fx.paths, cg, parseKernelCpuList('2-3'), ['vcpu0 (CPU 0/KVM, tid 4250)']);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'APPLY_CGROUP_PARENT' });
      expect((err as Error).message).toContain(`${join(fx.paths.sys, 'fs/cgroup', ...mount, ...LIBVIRT)} allows only 0-2 (missing 3)`);
    } finally {
      fx.cleanup();
    }
  });

  it('refuses cgroup paths that climb out of the tree or lead outside through a symlink', () => {
    const fx = copyFixture(fixture);
    try {
      const outside = join(fx.dir, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'cpuset.cpus'), 'SENTINEL\n');
      symlinkSync(outside, join(fx.paths.sys, 'fs/cgroup', ...mount, 'machine.slice', 'evil.scope'));
      const cgFile = join(fx.paths.proc, '4242/task/4251/cgroup');
      const line = (path: string): string => (version === 1 ? `12:cpuset:${path}\n0::/\n` : `0::${path}\n`);
      writeFileSync(cgFile, line('/machine.slice/evil.scope'));
      expect(() => threadCgroup(fx.paths, 4242, 4251)).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
      writeFileSync(cgFile, line('/machine.slice/../../../../outside'));
      expect(() => threadCgroup(fx.paths, 4242, 4251)).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
      expect(readFileSync(join(outside, 'cpuset.cpus'), 'utf8')).toBe('SENTINEL\n');
    } finally {
      fx.cleanup();
    }
  });
});

describe('explaining an EPERM for a real-time policy', () => {
  it('names the v1 cpu cgroup without a real-time budget (co-mounted cpu,cpuacct)', () => {
    const fx = copyFixture('cgroup-v1');
    try {
      mkdirSync(join(fx.paths.proc, 'sys/kernel'), { recursive: true });
      writeFileSync(join(fx.paths.proc, 'sys/kernel/sched_rt_runtime_us'), '950000\n');
      const why = explainSchedRefusal(fx.paths, 4242, 4251);
      expect(why).toBe(`its cpu cgroup ${join(fx.paths.sys, 'fs/cgroup/cpu,cpuacct', ...LIBVIRT, 'vcpu1')} has cpu.rt_runtime_us 0 (no real-time budget)`);
      writeFileSync(join(fx.paths.proc, 'sys/kernel/sched_rt_runtime_us'), '0\n');
      expect(explainSchedRefusal(fx.paths, 4242, 4251)).toMatch(/^\/proc\/sys\/kernel\/sched_rt_runtime_us is 0/);
    } finally {
      fx.cleanup();
    }
  });
});

// ------------------------------------------------------- a real QEMU in a captured layout

describeWith(['qemu'], 'apply and restore order with a real QEMU whose threads sit in a captured libvirt layout', () => {
  let qemu: Qemu;
  beforeAll(async () => {
    qemu = await startQemu();
  });
  afterAll(async () => {
    await qemu?.stop();
  });

  /**
   * The fixture's /sys with a /proc made of the real QEMU's threads (real
   * tids, comm and stat), each pointing at its libvirt group: the thread
   * writes are real sched_setaffinity calls, the cgroup writes go to the
   * captured files (the kernel does not enforce them).
   */
  function rootWithRealThreads(fixture: string, version: 1 | 2, pid = qemu.pid): ReturnType<typeof copyFixture> {
    const fx = copyFixture(fixture);
    rmSync(fx.paths.proc, { recursive: true });
    const base = join(fx.paths.sys, 'fs/cgroup', ...(version === 1 ? ['cpuset'] : []), ...LIBVIRT);
    for (const n of [2, 3]) cpSync(join(base, 'vcpu1'), join(base, `vcpu${n}`), { recursive: true });
    mkdirSync(join(fx.paths.proc, String(pid)), { recursive: true });
    writeFileSync(join(fx.paths.proc, String(pid), 'stat'), readFileSync(`/proc/${pid}/stat`));
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8');
      const v = /^CPU (\d+)\//.exec(comm);
      const leaf = v ? `vcpu${v[1]}` : comm.trim() === 'IO iothread1' ? 'iothread1' : 'emulator';
      const path = `/machine.slice/${SCOPE}/libvirt/${leaf}`;
      mkdirSync(join(fx.paths.proc, String(pid), 'task', t), { recursive: true });
      writeFileSync(join(fx.paths.proc, String(pid), 'task', t, 'comm'), comm);
      writeFileSync(join(fx.paths.proc, String(pid), 'task', t, 'cgroup'), version === 1 ? `12:cpuset:${path}\n10:cpu,cpuacct:${path}\n0::/machine.slice/${SCOPE}/libvirt\n` : `0::${path}\n`);
    }
    return fx;
  }
  const input = (vcpu0: string): PlanInput => ({
    domain: { name: 'vm' },
    vcpus: [0, 1, 2, 3].map((id) => ({ id, online: true, cpus: id === 0 ? vcpu0 : '1', source: 'vcpupin' })),
    iothreads: [{ id: 1, cpus: '0', source: 'iothreadpin' }],
    emulator: { cpus: '0', source: 'emulatorpin' },
  });
  /**
   * The real kernel writers, handed in by the test: this /proc is a copy, not
   * the caller's namespace, and apply()/restore() refuse their built-in
   * thread writers under such a root (APPLY_FOREIGN_PROC, issue 14 item 5)
   * unless the caller vouches for the ids with its own writers.
   */
  const ownThreadWriters = (): Partial<HostIo> => {
    const real = defaultIo('/proc');
    return { writeThreadAffinity: real.writeThreadAffinity, writeThreadSched: real.writeThreadSched };
  };
  const masks = (pid: number) => new Map(readdirSync(`/proc/${pid}/task`).map((t) => [Number(t), cpusAllowed(pid, Number(t)).toString()]));

  it.each(layouts)('v$version: cgroups widened first, thread affinity restored before the cgroups; the state file records both', async ({ version, fixture, mount }) => {
    const fx = rootWithRealThreads(fixture, version);
    try {
      const stateDir = join(fx.dir, 'state');
      const real = defaultIo('/proc');
      const order: string[] = [];
      const spy: Partial<HostIo> = {
        writeThreadAffinity: (tid, cpus) => (order.push(`thread ${tid}`), real.writeThreadAffinity(tid, cpus)),
        writeCgroupCpus: (file, cpus) => (order.push(`cgroup ${file.split('/').at(-2)}`), real.writeCgroupCpus(file, cpus)),
      };
      const p: RuntimePlan = plan(input('1'), { onlineCpus: '0-3' });
      const threads0 = masks(qemu.pid);
      const files0 = snapshotTree(join(fx.paths.sys, 'fs/cgroup'));
      const leafFile = (leaf: string) => join(fx.paths.sys, 'fs/cgroup', ...mount, ...LIBVIRT, leaf, 'cpuset.cpus');

      const r = await apply(p, { paths: fx.paths, pid: qemu.pid, stateDir, widenCgroups: true, io: spy });
      expect(r.ok).toBe(true);
      // vcpu0's group (0) must take CPU 1, iothread1's group (2) CPU 0; vcpu1-3 (1) and the emulator (0) already fit.
      expect(r.results.filter((x) => x.key.startsWith('cgroup:')).map((x) => [x.key.split('/').at(-1), x.before, x.requested, x.status])).toEqual([
        ['vcpu0', '0', '0-1', 'changed'],
        ['iothread1', '2', '0,2', 'changed'],
      ]);
      expect(order.slice(0, 2)).toEqual(['cgroup vcpu0', 'cgroup iothread1']);
      expect(order.slice(2).every((o) => o.startsWith('thread '))).toBe(true);
      expect(readFileSync(leafFile('vcpu0'), 'utf8')).toBe('0-1\n');
      expect(readFileSync(leafFile('iothread1'), 'utf8')).toBe('0,2\n');
      const state = readStateFile(r.statePath);
      expect(state?.entries.filter((e) => e.kind === 'cgroup')).toEqual([
        { kind: 'cgroup', path: [...mount, ...LIBVIRT, 'vcpu0'].join('/'), version, before: '0', after: '0-1' },
        { kind: 'cgroup', path: [...mount, ...LIBVIRT, 'iothread1'].join('/'), version, before: '2', after: '0,2' },
      ]);
      expect(state?.entries.findIndex((e) => e.kind === 'thread')).toBe(2); // cgroups first in the file: restore walks it backwards

      order.length = 0;
      const again = await apply(p, { paths: fx.paths, pid: qemu.pid, stateDir, widenCgroups: true, io: spy });
      expect([again.ok, again.changed, order]).toEqual([true, 0, []]);

      const back = await restore('vm', { paths: fx.paths, stateDir, io: spy });
      expect(back.ok).toBe(true);
      const firstCgroup = order.findIndex((o) => o.startsWith('cgroup '));
      expect(order.slice(firstCgroup)).toEqual(['cgroup iothread1', 'cgroup vcpu0']);
      expect(order.slice(0, firstCgroup).length).toBeGreaterThan(0);
      expect(order.slice(0, firstCgroup).every((o) => o.startsWith('thread '))).toBe(true);
      expect(masks(qemu.pid)).toEqual(threads0);
      expect(snapshotTree(join(fx.paths.sys, 'fs/cgroup'))).toEqual(files0);
    } finally {
      fx.cleanup();
    }
  });

  it.each(layouts)('v$version: the process dies after the cgroups were widened: the cgroups are put back, the threads need nothing', async ({ version, fixture }) => {
    const victim = await startQemu();
    const fx = rootWithRealThreads(fixture, version, victim.pid);
    try {
      const stateDir = join(fx.dir, 'state');
      const files0 = snapshotTree(join(fx.paths.sys, 'fs/cgroup'));
      const real = defaultIo('/proc');
      let writes = 0;
      const io: Partial<HostIo> = {
        writeThreadAffinity: async (tid, cpus) => {
          real.writeThreadAffinity(tid, cpus);
          if (++writes === 1) {
            const exited = new Promise((r) => victim.proc.once('exit', r));
            victim.proc.kill('SIGKILL');
            await exited;
            rmSync(join(fx.paths.proc, String(victim.pid)), { recursive: true }); // the captured /proc follows the real one
          }
        },
      };
      const r = await apply(plan(input('1'), { onlineCpus: '0-3' }), { paths: fx.paths, pid: victim.pid, stateDir, widenCgroups: true, io });
      expect(r.error?.code).toBe('APPLY_PROCESS_GONE');
      expect(r.results.filter((x) => x.key.startsWith('cgroup:')).map((x) => x.status)).toEqual(['rolled-back', 'rolled-back']);
      expect(r.rollback).toEqual({ restored: 2, failed: [] });
      expect(snapshotTree(join(fx.paths.sys, 'fs/cgroup'))).toEqual(files0);
      expect(existsSync(join(stateDir, 'vm.json'))).toBe(false);
    } finally {
      // Killed by a signal: support.ts's stop() would wait for an exit that already happened.
      rmSync(dirname(victim.qmp), { recursive: true, force: true });
      fx.cleanup();
    }
  });

  it.each(layouts)('v$version: a parent without the CPUs refuses before anything changes; a group changed by someone else is left alone on restore', async ({ version, fixture, mount }) => {
    const fx = rootWithRealThreads(fixture, version);
    try {
      const stateDir = join(fx.dir, 'state');
      const threads0 = masks(qemu.pid);
      const files0 = snapshotTree(join(fx.paths.sys, 'fs/cgroup'));
      await expect(apply(plan(input('3'), { onlineCpus: '0-3' }), { paths: fx.paths, pid: qemu.pid, stateDir, widenCgroups: true, io: ownThreadWriters() })).rejects.toMatchObject({ code: 'APPLY_CGROUP_PARENT' });
      expect(masks(qemu.pid)).toEqual(threads0);
      expect(snapshotTree(join(fx.paths.sys, 'fs/cgroup'))).toEqual(files0);
      expect(existsSync(join(stateDir, 'vm.json'))).toBe(false);

      const r = await apply(plan(input('1'), { onlineCpus: '0-3' }), { paths: fx.paths, pid: qemu.pid, stateDir, widenCgroups: true, io: ownThreadWriters() });
      expect(r.ok).toBe(true);
      const vcpu0 = join(fx.paths.sys, 'fs/cgroup', ...mount, ...LIBVIRT, 'vcpu0', 'cpuset.cpus');
      writeFileSync(vcpu0, '1\n'); // e.g. `virsh vcpupin vm 0 1 --live` meanwhile
      const back = await restore('vm', { paths: fx.paths, stateDir, io: ownThreadWriters() });
      expect(back.ok).toBe(true);
      expect(back.results.find((x) => x.key.endsWith('/vcpu0'))).toMatchObject({ status: 'reused' });
      expect(back.results.find((x) => x.key.endsWith('/iothread1'))).toMatchObject({ status: 'restored' });
      expect(readFileSync(vcpu0, 'utf8')).toBe('1\n');
    } finally {
      fx.cleanup();
    }
  });
});

// ------------------------------------------------------- this machine's cpuset hierarchy

interface Scratch {
  version: 1 | 2;
  parent: string;
  leaf: string;
  /** The leaf's path under /sys/fs/cgroup, as the state file records it. */
  rel: string;
  cleanup: () => void;
}

/** A scratch parent (CPUs 0-1) with a leaf limited to CPU 0, on whichever hierarchy holds the cpuset controller here. */
function scratchCpuset(): Scratch {
  const name = `vp-cgroup-test-${process.pid}`;
  const v1 = '/sys/fs/cgroup/cpuset';
  const v2Root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  let version: 1 | 2;
  let parent: string;
  if (existsSync(join(v1, 'cpuset.cpus'))) {
    version = 1;
    parent = join(v1, name);
  } else if (readFileSync(join(v2Root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpuset')) {
    version = 2;
    parent = join(v2Root, name);
  } else {
    throw new Error('no cpuset controller on any cgroup hierarchy of this machine (v1 /sys/fs/cgroup/cpuset or v2 cgroup.controllers)');
  }
  const leaf = join(parent, 'leaf');
  mkdirSync(parent);
  const mems = version === 1 ? readFileSync(join(v1, 'cpuset.mems'), 'utf8').trim() : '';
  if (version === 1) {
    writeFileSync(join(parent, 'cpuset.cpus'), '0-1');
    writeFileSync(join(parent, 'cpuset.mems'), mems);
  } else {
    writeFileSync(join(v2Root, 'cgroup.subtree_control'), '+cpuset');
    writeFileSync(join(parent, 'cgroup.subtree_control'), '+cpuset');
    writeFileSync(join(parent, 'cpuset.cpus'), '0-1');
  }
  mkdirSync(leaf);
  writeFileSync(join(leaf, 'cpuset.cpus'), '0');
  if (version === 1) writeFileSync(join(leaf, 'cpuset.mems'), mems);
  const rel = version === 1 ? `cpuset/${name}/leaf` : `${v2Root === '/sys/fs/cgroup' ? '' : 'unified/'}${name}/leaf`;
  return {
    version,
    parent,
    leaf,
    rel,
    cleanup: () => {
      if (existsSync(leaf)) rmdirSync(leaf);
      if (existsSync(parent)) rmdirSync(parent);
    },
  };
}

describeWith(['root', 'cpuset-cgroup'], "this machine's cpuset cgroups", () => {
  it('a mask outside a real narrow cpuset is EINVAL without widenCgroups, works with it, and restore puts affinity then cgroup back', async () => {
    const onlineCpus = parseKernelCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
    expect(onlineCpus.isSubsetOf(parseKernelCpuList('0')), 'at least CPUs 0 and 1 online').toBe(false);
    const sc = scratchCpuset();
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const work = mkdtempSync(join(tmpdir(), 'vp-cgroup-real-'));
    try {
      const pid = sleeper.pid as number;
      writeFileSync(join(sc.leaf, 'cgroup.procs'), String(pid));
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/vp-cgroup-test-${process.pid}/leaf`);
      expect(cpusAllowed(pid, pid).toString()).toBe('0');
      const p = plan({ domain: { name: 'sleeper' }, vcpus: [], iothreads: [], emulator: { cpus: '1', source: 'emulatorpin' } }, { onlineCpus });
      const paths: HostPaths = { proc: '/proc', sys: '/sys', run: work };

      const refused = await apply(p, { paths, pid, stateDir: work });
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatchObject({ code: 'APPLY_THREAD_CPUSET' });
      expect(refused.error?.hint).toMatch(/widenCgroups/);
      expect(cpusAllowed(pid, pid).toString()).toBe('0');
      expect(readFileSync(join(sc.leaf, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
      expect(readStateFile(refused.statePath)).toBeUndefined();

      const r = await apply(p, { paths, pid, stateDir: work, widenCgroups: true });
      expect(r.ok).toBe(true);
      expect(r.results.map((x) => [x.key, x.before, x.requested, x.status, x.effective])).toEqual([
        [`cgroup:${sc.rel}`, '0', '0-1', 'changed', '0-1'],
        [`thread:${pid}`, '0', '1', 'changed', '1'],
      ]);
      expect(cpusAllowed(pid, pid).toString()).toBe('1');
      expect(readFileSync(join(sc.leaf, 'cpuset.cpus'), 'utf8').trim()).toBe('0-1');
      expect(readStateFile(r.statePath)?.entries[0]).toEqual({ kind: 'cgroup', path: sc.rel, version: sc.version, before: '0', after: '0-1' });
      expect((await apply(p, { paths, pid, stateDir: work, widenCgroups: true })).changed).toBe(0);

      const back = await restore('sleeper', { paths, stateDir: work });
      expect(back.results.map((x) => [x.key, x.status])).toEqual([
        [`thread:${pid}`, 'restored'],
        [`cgroup:${sc.rel}`, 'restored'],
      ]);
      expect(cpusAllowed(pid, pid).toString()).toBe('0');
      expect(readFileSync(join(sc.leaf, 'cpuset.cpus'), 'utf8').trim()).toBe('0');

      // The parent narrowed to CPU 0: the leaf cannot be widened to 1, and virt-pin does not touch parents.
      writeFileSync(join(sc.parent, 'cpuset.cpus'), '0');
      await expect(apply(p, { paths, pid, stateDir: work, widenCgroups: true })).rejects.toMatchObject({ code: 'APPLY_CGROUP_PARENT' });
      expect(readFileSync(join(sc.parent, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
      expect(readFileSync(join(sc.leaf, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
      expect(cpusAllowed(pid, pid).toString()).toBe('0');
    } finally {
      const exited = new Promise((r) => sleeper.once('exit', r));
      sleeper.kill('SIGKILL');
      await exited;
      sc.cleanup();
      rmSync(work, { recursive: true, force: true });
    }
    expect(existsSync(sc.parent)).toBe(false);
  });
});
