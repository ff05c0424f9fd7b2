/**
 * Step 2 of apply: read every bound target's current setting and turn it
 * into Steps (already in force or pending), with the widened cgroups first,
 * in libvirt's order: cpuset.cpus, thread affinity, scheduler, IRQs.
 * Anything unreadable here is thrown: nothing has changed yet.
 */
import { CpuSet } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import { cgroupCpusFile, planWidening, readCgroup, relText, threadCgroup, type CgroupWidening, type ThreadCgroup } from './cgroup.js';
import { processAlive } from './discover.js';
import type { HostIo } from './io.js';
import type { HostPaths } from './paths.js';
import { explainSchedRefusal, formatSched, isRealtime, sameSched, type SchedState } from './sched.js';
import type { BoundSched, BoundTarget, Binding } from './bind.js';
import { errnoOf, type ApplyOptions, type ApplyReport, type Failure, type Step } from './steps.js';

function irqFailure(t: BoundTarget, e: unknown): Failure {
  const code = errnoOf(e) || 'EIO';
  if (code === 'ENOENT') return { code: 'APPLY_IRQ_GONE', message: `${t.label}: the IRQ disappeared before it was written (the guest freed the vector)`, hint: 'without --strict a vanished vector is skipped; apply again when the vectors settle' };
  if (code === 'ENOSPC') return { code: 'APPLY_IRQ_NO_VECTOR', message: `${t.label}: CPU(s) ${t.cpus.toString()} have no free interrupt vector (ENOSPC)`, hint: 'choose other CPUs for this device or free vectors there' };
  if (code === 'EBUSY' || code === 'EAGAIN') return { code: 'APPLY_IRQ_BUSY', message: `${t.label}: the kernel stayed busy (${code}) after retries` };
  if (code === 'EIO' || code === 'EPERM') return { code: 'APPLY_IRQ_MANAGED', message: `${t.label}: kernel-managed, cannot be moved (${code}); --strict makes this an error` };
  if (code === 'EINVAL' || code === 'ERANGE') return { code: 'APPLY_IRQ_NO_ONLINE_CPU', message: `${t.label}: no online CPU in ${t.cpus.toString()} (${code})` };
  return { code: 'APPLY_WRITE_FAILED', message: `${t.label}: ${(e as Error).message}` };
}

function threadFailure(t: BoundTarget, e: unknown, widen: boolean): Failure {
  const code = errnoOf(e);
  if (code === 'EINVAL') {
    return {
      code: 'APPLY_THREAD_CPUSET',
      message: `${t.label}: CPUs ${t.cpus.toString()} lie outside the thread's cgroup cpuset (EINVAL)`,
      hint: widen
        ? 'the thread has no cpuset cgroup virt-pin can widen (or the CPUs are offline); check /proc/PID/task/TID/cgroup'
        : "pass widenCgroups (CLI --cgroups) to widen the thread's own cgroup first, or use 'virsh vcpupin/emulatorpin/iothreadpin --live' for a libvirt domain",
    };
  }
  if (code === 'ESRCH') return { code: 'APPLY_THREAD_GONE', message: `${t.label}: the thread exited (ESRCH)`, hint: 'a vCPU was unplugged or an IOThread deleted; plan again from the live domain' };
  if (code === 'EPERM') return { code: 'APPLY_NOT_PERMITTED', message: `${t.label}: not permitted (needs CAP_SYS_NICE)` };
  return { code: 'APPLY_WRITE_FAILED', message: `${t.label}: ${(e as Error).message}` };
}

function schedFailure(paths: HostPaths, pid: number, s: BoundSched, e: unknown): Failure {
  const code = errnoOf(e);
  const want = `${s.policy}${isRealtime(s.policy) ? ` ${s.priority}` : ''}`;
  if (code === 'EPERM') {
    return { code: 'APPLY_SCHED_NOT_PERMITTED', message: `${s.label}: the kernel refused SCHED_${s.policy.toUpperCase()} (EPERM): ${explainSchedRefusal(paths, pid, s.tid)}`, hint: 'run as root with CAP_SYS_NICE and give the thread a real-time budget (sched_rt_runtime_us, cpu.rt_runtime_us)' };
  }
  if (code === 'EINVAL') return { code: 'APPLY_SCHED_INVALID', message: `${s.label}: the kernel refused '${want}' (EINVAL)` };
  if (code === 'ESRCH') return { code: 'APPLY_THREAD_GONE', message: `${s.label}: the thread exited (ESRCH)`, hint: 'plan again from the live domain' };
  return { code: 'APPLY_WRITE_FAILED', message: `${s.label}: ${(e as Error).message}` };
}

function cgroupFailure(label: string, cpus: string, e: unknown): Failure {
  const code = errnoOf(e) || 'EIO';
  if (code === 'ENOENT') return { code: 'APPLY_CGROUP_GONE', message: `${label}: the cgroup disappeared (the domain stopped?)` };
  return {
    code: 'APPLY_CGROUP_WRITE_FAILED',
    message: `${label}: the kernel refused cpuset.cpus ${cpus} (${code})`,
    hint: code === 'EINVAL' ? 'the CPUs must lie within the parent cgroup and must not collide with an exclusive sibling' : 'virt-pin needs write access to the cgroup tree',
  };
}

/** Group the threads that need more CPUs than their cgroup allows, per cgroup, and plan each widening. */
function cgroupWidenings(paths: HostPaths, pid: number, threads: { t: BoundTarget }[]): CgroupWidening[] {
  const groups = new Map<string, { cg: ThreadCgroup; need: CpuSet; labels: string[] }>();
  for (const { t } of threads) {
    const cg = threadCgroup(paths, pid, t.tid as number);
    if (!cg || t.cpus.isSubsetOf(cg.effective)) continue;
    const g = groups.get(cg.dir) ?? { cg, need: CpuSet.empty(), labels: [] };
    g.need = g.need.union(t.cpus);
    g.labels.push(t.label);
    groups.set(cg.dir, g);
  }
  const out: CgroupWidening[] = [];
  for (const g of groups.values()) {
    const w = planWidening(paths, g.cg, g.need, g.labels);
    if (w) out.push(w);
  }
  return out;
}

function thrownBeforeChange(t: { label: string }, e: unknown, processGone: boolean): VirtPinError {
  if (e instanceof VirtPinError) return e;
  if (processGone) return new VirtPinError('APPLY_PROCESS_GONE', `the QEMU process exited before anything was changed (${t.label})`);
  if (errnoOf(e) === 'ESRCH') return new VirtPinError('APPLY_THREAD_GONE', `${t.label} exited before anything was changed`, { hint: 'a vCPU was unplugged or an IOThread deleted; plan again from the live domain' });
  return new VirtPinError('APPLY_SNAPSHOT_FAILED', `cannot read the current setting of ${t.label}: ${(e as Error).message}`);
}

/** Read every target's current setting and turn it into steps (plus results for targets that vanished). */
export function snapshot(paths: HostPaths, io: HostIo, binding: Binding, options: ApplyOptions, report: ApplyReport): Step[] {
  const steps: Step[] = [];
  const gone = (): boolean => binding.pid > 0 && !processAlive(paths, binding.pid, binding.startTime);
  const vanished = (key: string, label: string, actionId: string, requested: string, message: string): void => {
    report.results.push({ key, label, actionId, requested, status: 'vanished', message });
  };
  const threadSteps: { t: BoundTarget; step: Step }[] = [];
  for (const t of binding.targets) {
    let cur: CpuSet;
    let readOnly = false;
    try {
      if (t.kind === 'thread') cur = io.readThreadAffinity(t.tid as number);
      else {
        const s = io.readIrqAffinity(t.irq as number);
        cur = s.requested;
        readOnly = !s.writable;
      }
    } catch (e) {
      const code = errnoOf(e);
      if (t.kind === 'thread' && t.actionId === 'emulator' && code === 'ESRCH' && !gone()) {
        vanished(t.key, t.label, t.actionId, t.cpus.toString(), 'exited before it was read');
        continue;
      }
      if (t.kind === 'irq' && code === 'ENOENT') {
        vanished(t.key, t.label, t.actionId, t.cpus.toString(), 'the IRQ disappeared before it was read (the guest freed the vector)');
        continue;
      }
      throw thrownBeforeChange(t, e, t.kind === 'thread' && gone());
    }
    const before = cur.toString();
    const step: Step = {
      key: t.key,
      label: t.label,
      actionId: t.actionId,
      kind: t.kind,
      requested: t.cpus.toString(),
      before,
      inForce: cur.equals(t.cpus),
      entry: t.kind === 'thread' ? { kind: 'thread', tid: t.tid as number, comm: t.comm ?? '', role: t.role ?? 'other', before } : { kind: 'irq', irq: t.irq as number, device: t.device as string, ...(t.name ? { name: t.name } : {}), before },
      ofProcess: t.kind === 'thread',
      mayVanish: t.kind === 'irq' || t.actionId === 'emulator',
      readOnly,
      write: (to) => (t.kind === 'thread' ? io.writeThreadAffinity(t.tid as number, to === 'requested' ? t.cpus : cur) : io.writeIrqAffinity(t.irq as number, to === 'requested' ? t.cpus : cur)),
      readBack: () => {
        if (t.kind === 'thread') {
          const after = io.readThreadAffinity(t.tid as number);
          return { effective: after.toString(), ...(after.equals(t.cpus) ? {} : { message: `the kernel kept ${after.toString()} (the thread's cpuset allows only part of ${t.cpus.toString()})` }) };
        }
        const after = io.readIrqAffinity(t.irq as number);
        return { effective: (after.effective ?? after.requested).toString(), ...(after.requested.equals(t.cpus) ? {} : { message: `kernel kept ${after.requested.toString()}` }) };
      },
      failure: (e) => (t.kind === 'thread' ? threadFailure(t, e, options.widenCgroups === true) : irqFailure(t, e)),
    };
    if (t.kind === 'thread') threadSteps.push({ t, step });
    steps.push(step);
  }

  const schedSteps: Step[] = [];
  for (const s of binding.sched) {
    let cur: SchedState;
    try {
      cur = io.readThreadSched(s.tid);
    } catch (e) {
      if (errnoOf(e) === 'ESRCH' && !gone() && s.role !== 'vcpu' && s.role !== 'iothread') {
        vanished(s.key, s.label, s.actionId, formatSched({ ...s, resetOnFork: false }), 'exited before it was read');
        continue;
      }
      throw thrownBeforeChange(s, e, gone());
    }
    if (cur.policy === 'deadline') {
      throw new VirtPinError('APPLY_SCHED_UNSUPPORTED', `${s.label} runs under SCHED_DEADLINE, which virt-pin cannot restore; nothing was changed`, { hint: 'leave this thread out of the plan or reset it first' });
    }
    // Keep the thread's own reset-on-fork flag: the plan does not speak about it.
    const wanted: SchedState = { policy: s.policy, priority: s.priority, resetOnFork: cur.resetOnFork };
    const before = formatSched(cur);
    schedSteps.push({
      key: s.key,
      label: s.label,
      actionId: s.actionId,
      kind: 'sched',
      requested: formatSched({ ...wanted, resetOnFork: false }),
      before,
      inForce: sameSched(cur, wanted),
      entry: { kind: 'sched', tid: s.tid, comm: s.comm, role: s.role, before },
      ofProcess: true,
      mayVanish: s.role !== 'vcpu' && s.role !== 'iothread',
      write: (to) => io.writeThreadSched(s.tid, to === 'requested' ? wanted : cur),
      readBack: () => {
        const after = io.readThreadSched(s.tid);
        return { effective: formatSched(after), ...(sameSched(after, wanted) ? {} : { message: `the kernel kept ${formatSched(after)}` }) };
      },
      failure: (e) => schedFailure(paths, binding.pid, s, e),
    });
  }

  // cgroups first (libvirt's order: cpuset.cpus, then sched_setaffinity), then affinity, then scheduler settings, then IRQs.
  const cgroupSteps: Step[] = [];
  if (options.widenCgroups && binding.pid) {
    for (const w of cgroupWidenings(paths, binding.pid, threadSteps.filter((x) => !x.step.inForce))) {
      const file = cgroupCpusFile(paths, w.cgroup.rel);
      if (!file) continue;
      const before = w.cgroup.cpus;
      const path = relText(w.cgroup.rel);
      const label = `cgroup ${path} (for ${w.threads.join(', ')})`;
      cgroupSteps.push({
        key: `cgroup:${path}`,
        label,
        actionId: threadSteps.find((x) => w.threads.includes(x.t.label))?.t.actionId ?? 'cgroup',
        kind: 'cgroup',
        requested: w.cpus.toString(),
        before: before.toString(),
        inForce: false,
        entry: { kind: 'cgroup', path, version: w.cgroup.version, before: before.toString(), after: w.cpus.toString() },
        ofProcess: false,
        mayVanish: false,
        write: (to) => io.writeCgroupCpus(file, to === 'requested' ? w.cpus : before),
        readBack: () => ({ effective: readCgroup(paths, w.cgroup.version, w.cgroup.rel)?.effective.toString() ?? '' }),
        failure: (e) => cgroupFailure(label, w.cpus.toString(), e),
      });
    }
  }
  const irqSteps = steps.filter((x) => x.kind === 'irq');
  return [...cgroupSteps, ...steps.filter((x) => x.kind === 'thread'), ...schedSteps, ...irqSteps];
}
