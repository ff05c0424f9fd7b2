/**
 * Oracle C (issue 5 §4): QEMU's own thread model. A real
 * `qemu-system-x86_64` (TCG, and KVM when /dev/kvm works) is started the
 * way libvirt starts it (`-S`, `-name …,debug-threads=on`, IOThread
 * objects named `iothreadN`, a QMP monitor), and every one of its threads
 * is classified twice: the way libvirt's cgroup placement does it (thread
 * ids from `query-cpus-fast` → vcpuN, from `query-iothreads` → iothreadN,
 * every other task stays in the emulator cgroup), and by virt-pin
 * (discoverThreads from /proc comm names, with and without QMP, and
 * bindPlan, which decides what apply writes). They must agree on every
 * thread. Fails, never skips, without QEMU; without a usable /dev/kvm the
 * KVM test asserts exactly why KVM is unusable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindPlan, classifyThread, discoverThreads, LIVE_PATHS, queryQmpThreads, threadAffinityIo, type QmpThreadIds } from '../../src/apply/index.js';
import { CpuSet, parseKernelCpuList } from '../../src/cpuset/index.js';
import { plan, type PlanInput } from '../../src/plan/index.js';
import { qmpExecute } from '../apply/support.js';
import { describeWith, findProgram } from '../support/components.js';

const QEMU = findProgram('qemu-system-x86_64');

interface RawQemu {
  pid: number;
  qmp: string;
  stop: () => Promise<void>;
}

interface QemuOptions {
  accel: 'tcg' | 'kvm';
  smp: number;
  /** QEMU IOThread object ids (libvirt names them `iothreadN`). */
  iothreads: string[];
  debugThreads: boolean;
}

const comms = (pid: number): Map<number, string> =>
  new Map(readdirSync(`/proc/${pid}/task`).map((t) => [Number(t), readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').replace(/\n$/, '')]));

const cpusAllowed = (pid: number, tid: number): string => {
  const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
  return parseKernelCpuList(m![1]!).toString();
};

/** A paused QEMU, ready once QMP answers with every vCPU and IOThread. */
async function startQemu(o: QemuOptions): Promise<RawQemu> {
  if (!QEMU) throw new Error('qemu-system-x86_64 is not installed (apt-get install qemu-system-x86; .ci/run does): Oracle C needs a real QEMU');
  const dir = mkdtempSync(join(tmpdir(), 'vp-oracle-c-'));
  const qmp = join(dir, 'qmp.sock');
  const args = ['-S', '-accel', o.accel, '-smp', String(o.smp), '-m', '64', '-nodefaults', '-display', 'none', '-name', `oracle-c,debug-threads=${o.debugThreads ? 'on' : 'off'}`];
  for (const id of o.iothreads) args.push('-object', `iothread,id=${id}`);
  args.push('-qmp', `unix:${qmp},server=on,wait=off`);
  const proc: ChildProcess = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c) => (stderr += String(c)));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`qemu (${o.accel}) exited with ${proc.exitCode}: ${stderr}`);
    }
    if (existsSync(qmp)) {
      try {
        const ids = await queryQmpThreads(qmp);
        if (ids.vcpus.length === o.smp && ids.iothreads.length === o.iothreads.length) break;
      } catch {
        /* monitor not ready yet */
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`qemu (${o.accel}) did not answer on QMP within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: proc.pid as number, qmp, stop };
}

/**
 * libvirt's placement: the thread ids QMP reports for vCPUs go to vcpuN
 * cgroups, those of IOThreads `iothreadN` to iothreadN cgroups, every
 * other task of the process stays in the emulator cgroup
 * (qemuProcessSetupVcpus / qemuProcessSetupIOThreads / qemuProcessSetupEmulator).
 */
function libvirtClasses(pid: number, ids: QmpThreadIds): Map<number, string> {
  const out = new Map<number, string>();
  for (const tid of comms(pid).keys()) out.set(tid, 'emulator');
  for (const v of ids.vcpus) out.set(v.threadId, `vcpu${v.cpuIndex}`);
  for (const t of ids.iothreads) {
    const n = /^iothread(\d+)$/.exec(t.id);
    if (n) out.set(t.threadId, `iothread${n[1]}`);
  }
  return out;
}

/** The plan libvirt's own pinning corresponds to, for QEMU started with these options (masks do not matter here). */
function planFor(o: QemuOptions) {
  const input: PlanInput = {
    domain: { name: 'oracle-c' },
    vcpus: Array.from({ length: o.smp }, (_, id) => ({ id, online: true, cpus: '0-1', source: 'all' })),
    iothreads: o.iothreads.map((id) => ({ id: Number(/\d+$/.exec(id)![0]), cpus: '0-1', source: 'all' })),
    emulator: { cpus: '0-1', source: 'all' },
  };
  return plan(input, { onlineCpus: '0-1' });
}

/** virt-pin's class for every thread: the plan action apply binds it to. */
async function virtPinClasses(pid: number, o: QemuOptions, qmpSocket?: string): Promise<Map<number, string>> {
  const binding = await bindPlan(planFor(o), { pid, paths: LIVE_PATHS, ...(qmpSocket ? { qmpSocket } : {}) });
  return new Map(binding.targets.map((t) => [t.tid as number, t.actionId]));
}

const TCG: QemuOptions = { accel: 'tcg', smp: 3, iothreads: ['iothread1', 'iothread7'], debugThreads: true };

describeWith(['qemu'], 'Oracle C: raw QEMU thread model vs libvirt placement', () => {
  it('TCG: every thread (vCPUs, sparse IOThreads, main, call_rcu, mon_iothread) is classified as libvirt places it', async () => {
    const q = await startQemu(TCG);
    try {
      const ids = await queryQmpThreads(q.qmp);
      const byTid = comms(q.pid);
      const expected = libvirtClasses(q.pid, ids);
      // QEMU 7.2's own threads: the monitor's IOThread is internal, so query-iothreads does not list it.
      expect(ids.iothreads.map((t) => t.id).sort()).toEqual(['iothread1', 'iothread7']);
      const mon = [...byTid].filter(([, c]) => c === 'IO mon_iothread');
      expect(mon).toHaveLength(1);
      // call_rcu is created before debug-threads is parsed and renamed later: the race of oracles.md §4.1.
      const helpers = [...byTid].filter(([tid, c]) => tid !== q.pid && !/^(CPU \d+\/TCG|IO .*)$/.test(c)).map(([, c]) => c);
      expect(helpers.length).toBeGreaterThanOrEqual(1);
      for (const c of helpers) expect(['call_rcu', 'qemu-system-x86']).toContain(c);

      // discoverThreads from comm names alone, and with QMP thread ids: the same vCPU and IOThread ids.
      const byComm = discoverThreads(LIVE_PATHS, q.pid);
      const byQmp = discoverThreads(LIVE_PATHS, q.pid, ids);
      expect(byComm.map((t) => t.tid)).toEqual([...byTid.keys()].sort((a, b) => a - b));
      const named = (ts: typeof byComm) => ts.filter((t) => t.kind === 'vcpu' || (t.kind === 'iothread' && t.iothread !== 'mon_iothread')).map((t) => [t.tid, t.kind, t.vcpu ?? t.iothread]);
      expect(named(byComm)).toEqual(named(byQmp));
      expect(byComm.find((t) => t.tid === q.pid)?.kind).toBe('main');
      // mon_iothread matches the `IO <id>` pattern, so discovery calls it an IOThread; bindPlan makes it emulator-class.
      expect(byComm.find((t) => t.tid === mon[0]![0])).toMatchObject({ kind: 'iothread', iothread: 'mon_iothread', via: 'comm' });

      // The verdict: the class apply uses for every thread equals libvirt's cgroup placement, comm-based and QMP-based.
      const viaComm = await virtPinClasses(q.pid, TCG);
      const viaQmp = await virtPinClasses(q.pid, TCG, q.qmp);
      expect(viaComm).toEqual(expected);
      expect(viaQmp).toEqual(expected);
      expect(expected.get(mon[0]![0])).toBe('emulator');
      const tally = [...expected.values()].reduce((m, c) => m.set(c.replace(/\d+$/, ''), (m.get(c.replace(/\d+$/, '')) ?? 0) + 1), new Map<string, number>());
      console.log(`Oracle C (TCG): ${expected.size} threads, ${[...tally].map(([k, v]) => `${v} ${k}`).join(', ')}; virt-pin agrees on ${[...expected].filter(([t, c]) => viaComm.get(t) === c && viaQmp.get(t) === c).length}`);
    } finally {
      await q.stop();
    }
  });

  it('TCG without debug-threads: comm names say nothing, QMP thread ids still classify every thread', async () => {
    const o: QemuOptions = { ...TCG, debugThreads: false };
    const q = await startQemu(o);
    try {
      const ids = await queryQmpThreads(q.qmp);
      expect(new Set(comms(q.pid).values())).toEqual(new Set(['qemu-system-x86']));
      await expect(virtPinClasses(q.pid, o)).rejects.toMatchObject({ code: 'APPLY_THREADS_UNNAMED' });
      expect(await virtPinClasses(q.pid, o, q.qmp)).toEqual(libvirtClasses(q.pid, ids));
    } finally {
      await q.stop();
    }
  });

  it('KVM: kvm-nx-lpage-recovery inherits a vCPU thread (libvirt: a vcpu cgroup), virt-pin leaves it there; kvm-pit is outside the process', async () => {
    let fd: number | undefined;
    let unusable: string | undefined;
    if (!existsSync('/dev/kvm')) unusable = 'ENOENT';
    else {
      try {
        fd = openSync('/dev/kvm', 'r+');
      } catch (e) {
        unusable = (e as NodeJS.ErrnoException).code ?? 'EIO';
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    if (unusable !== undefined) {
      // Not a skip: this machine has no usable KVM, and that is asserted and printed.
      expect(['ENOENT', 'EACCES', 'EPERM', 'ENXIO', 'ENODEV']).toContain(unusable);
      console.log(`Oracle C (KVM): /dev/kvm is unusable here (${unusable}); only TCG was compared`);
      return;
    }
    const o: QemuOptions = { accel: 'kvm', smp: 2, iothreads: ['iothread1'], debugThreads: true };
    const q = await startQemu(o);
    try {
      expect(await qmpExecute(q.qmp, 'query-kvm')).toEqual({ enabled: true, present: true });
      const ids = await queryQmpThreads(q.qmp);
      expect([...comms(q.pid).values()].filter((c) => /^CPU \d+\/KVM$/.test(c))).toHaveLength(2);
      // Pin as libvirt would with vCPUs on CPU 1 and the emulator on CPU 0, then let the vCPUs run.
      const io = threadAffinityIo();
      const vcpuTids = new Set(ids.vcpus.map((v) => v.threadId));
      for (const tid of comms(q.pid).keys()) io.writeThreadAffinity(tid, vcpuTids.has(tid) ? CpuSet.of(1) : CpuSet.of(0));
      await qmpExecute(q.qmp, 'cont');
      const deadline = Date.now() + 10_000;
      let nx: number | undefined;
      while (nx === undefined && Date.now() < deadline) {
        nx = [...comms(q.pid)].find(([, c]) => c.startsWith('kvm-nx-lpage-re'))?.[0];
        if (nx === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(nx, 'kvm-nx-lpage-recovery did not appear as a task of QEMU after the vCPUs ran').toBeDefined();
      // Spawned by a vCPU thread on its first KVM_RUN: it carries the vCPU mask (and, under libvirt, the vcpu cgroup).
      expect(cpusAllowed(q.pid, nx!)).toBe('1');
      expect(classifyThread('kvm-nx-lpage-re', nx!, q.pid).kind).toBe('kvm-nx');
      const classes = await virtPinClasses(q.pid, o);
      expect(classes.has(nx!)).toBe(false); // left alone by default (DEFAULT_LEAVE_KINDS; docs/fidelity.md)
      const moved = await bindPlan(planFor(o), { pid: q.pid, paths: LIVE_PATHS, leaveKinds: [] });
      expect(moved.targets.find((t) => t.tid === nx)?.actionId).toBe('emulator');
      // Every other thread is classified as libvirt places it.
      const expected = libvirtClasses(q.pid, ids);
      expected.delete(nx!);
      classes.delete(nx!);
      expect(classes).toEqual(expected);
      // kvm-pit/PID is a kernel thread of kthreadd, not a task of QEMU: libvirt never places it, virt-pin never sees it.
      const pit = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
        try {
          return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === `kvm-pit/${q.pid}`;
        } catch {
          return false;
        }
      });
      expect(pit, `no kvm-pit/${q.pid} kernel thread`).toBeDefined();
      expect(/^PPid:\s*2$/m.test(readFileSync(`/proc/${pit}/status`, 'utf8'))).toBe(true);
      expect(comms(q.pid).has(Number(pit))).toBe(false);
      expect(discoverThreads(LIVE_PATHS, q.pid).some((t) => t.tid === Number(pit))).toBe(false);
      expect(classifyThread(`kvm-pit/${q.pid}`, Number(pit), q.pid).kind).toBe('kvm-pit');
      console.log(`Oracle C (KVM): ${comms(q.pid).size} threads; kvm-nx-lpage-recovery (tid ${nx}) carries the vCPU mask 1, virt-pin leaves it there; kvm-pit/${q.pid} is kernel thread ${pit}`);
    } finally {
      await q.stop();
    }
  });
});
