/**
 * Scheduler settings of QEMU threads (`<vcpusched>`, `<iothreadsched>`,
 * `<emulatorsched>`): the policy names, their kernel numbers, the text form
 * kept in the state file, and why the kernel may refuse a real-time policy.
 */
import { readFileSync } from 'node:fs';
import { Confined, checkTaskId, type HostPaths } from './paths.js';

/** What a thread runs under. `deadline` is only ever read (it cannot be set or restored through sched_setscheduler). */
export type SchedPolicy = 'other' | 'fifo' | 'rr' | 'batch' | 'idle' | 'deadline';

export interface SchedState {
  policy: SchedPolicy;
  /** 1–99 for fifo/rr, 0 otherwise. */
  priority: number;
  /** SCHED_RESET_ON_FORK: children start as SCHED_OTHER. Kept as found. */
  resetOnFork: boolean;
}

/** Linux policy numbers (include/uapi/linux/sched.h). */
export const POLICY_NUMBER: Readonly<Record<SchedPolicy, number>> = { other: 0, fifo: 1, rr: 2, batch: 3, idle: 5, deadline: 6 };
export const SCHED_RESET_ON_FORK = 0x40000000;

export function policyOfNumber(n: number): SchedPolicy | undefined {
  const base = n & ~SCHED_RESET_ON_FORK;
  return (Object.keys(POLICY_NUMBER) as SchedPolicy[]).find((k) => POLICY_NUMBER[k] === base);
}

export const isRealtime = (p: SchedPolicy): boolean => p === 'fifo' || p === 'rr';

/** `fifo 10`, `other 0`, `batch 0 reset-on-fork`: the report and state-file form. */
export function formatSched(s: SchedState): string {
  return `${s.policy} ${s.priority}${s.resetOnFork ? ' reset-on-fork' : ''}`;
}

const SCHED_TEXT = /^(other|fifo|rr|batch|idle) (0|[1-9][0-9]?)( reset-on-fork)?$/;

/** The inverse of formatSched for settable policies; undefined for anything else (deadline included). */
export function parseSched(text: string): SchedState | undefined {
  const m = SCHED_TEXT.exec(text);
  if (!m?.[1] || m[2] === undefined) return undefined;
  const policy = m[1] as SchedPolicy;
  const priority = Number(m[2]);
  if (isRealtime(policy) ? priority < 1 : priority !== 0) return undefined;
  return { policy, priority, resetOnFork: m[3] !== undefined };
}

/** Same policy and priority; the reset-on-fork flag is the thread's own business and does not count. */
export function sameSched(a: SchedState, b: Pick<SchedState, 'policy' | 'priority'>): boolean {
  return a.policy === b.policy && a.priority === b.priority;
}

/** CAP_SYS_NICE is capability 23. */
function hasSysNice(): boolean | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? (BigInt(`0x${m[1]}`) & (1n << 23n)) !== 0n : undefined;
  } catch {
    return undefined;
  }
}

function readNumber(path: string | undefined): number | undefined {
  if (!path) return undefined;
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The reasons the kernel answers EPERM to a real-time policy for a thread,
 * as far as they can be seen from here: no CAP_SYS_NICE, real-time
 * scheduling switched off host-wide, or (cgroup v1 with RT group
 * scheduling) a cpu cgroup with no real-time budget.
 */
export function explainSchedRefusal(paths: HostPaths, pid: number, tid: number): string {
  const reasons: string[] = [];
  if (hasSysNice() === false) reasons.push('this process lacks CAP_SYS_NICE');
  const runtime = readNumber(new Confined(paths.proc).resolve(['sys', 'kernel', 'sched_rt_runtime_us']));
  if (runtime === 0) reasons.push('/proc/sys/kernel/sched_rt_runtime_us is 0 (real-time scheduling disabled)');
  try {
    const cgFile = new Confined(paths.proc).resolve([String(checkTaskId(pid)), 'task', String(checkTaskId(tid)), 'cgroup']);
    const line = cgFile ? readFileSync(cgFile, 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l)) : undefined;
    if (line) {
      const rel = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).split('/').filter(Boolean);
      const fs = new Confined(`${paths.sys}/fs/cgroup`, { names: 'cgroup' });
      const controllers = line.split(':')[1] ?? 'cpu';
      for (const mount of [controllers, 'cpu']) {
        const budget = readNumber(fs.resolve([mount, ...rel, 'cpu.rt_runtime_us']));
        if (budget !== undefined) {
          if (budget === 0) reasons.push(`its cpu cgroup ${fs.lexical([mount, ...rel])} has cpu.rt_runtime_us 0 (no real-time budget)`);
          break;
        }
      }
    }
  } catch {
    /* best effort: the refusal is reported either way */
  }
  if (!reasons.length) reasons.push('no CAP_SYS_NICE, RT throttling, or a cgroup without a real-time budget (on cgroup v2 with RT group scheduling, RT tasks must stay in the root cpu cgroup)');
  return reasons.join('; ');
}
