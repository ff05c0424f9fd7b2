/**
 * What the applier's steps share: the options and report of apply(), one
 * change as a Step (how to make it, undo it, read it back and explain a
 * failure), and the retrying write. See apply.ts for the order of steps.
 */
import { AffinityWriteError, defaultIo, type HostIo, type ThreadMethod } from './io.js';
import type { HostPaths } from './paths.js';
import { statePath, type StateEntry } from './state.js';
import type { Binding, TargetOptions } from './bind.js';

export interface ApplyOptions extends TargetOptions {
  /** Default `${paths.run}/virt-pin`. */
  stateDir?: string;
  /**
   * Wrap or replace the low-level readers and writers (tests inject faults
   * here). A write may return a promise; the applier awaits it.
   */
  io?: Partial<HostIo>;
  threadMethod?: ThreadMethod;
  /** Kernel-managed IRQs (EIO/EPERM) and IRQs that vanish mid-apply fail the apply (rolled back) instead of being skipped. */
  strict?: boolean;
  /** Discover and compare only; write nothing (not even the state file or the lock). */
  dryRun?: boolean;
  /** EBUSY/EAGAIN: attempts and base delay (default 5 × 20 ms, linear back-off). */
  retry?: { attempts: number; delayMs: number };
  /**
   * Before a thread's affinity is written, widen the thread's own cpuset
   * cgroup (`cpuset.cpus`, e.g. libvirt's `…/libvirt/vcpuN`) when the new
   * CPUs lie outside it, as libvirt does. The previous list goes into the
   * state file; parents are never changed (APPLY_CGROUP_PARENT). Default off.
   */
  widenCgroups?: boolean;
  /** Wait up to this long for another apply/restore of the same domain to finish (default 0: APPLY_LOCKED at once). */
  lockWaitMs?: number;
  /**
   * Called once the domain's lock is held, before anything is read or
   * written; throwing stops the apply with nothing changed. The late-IRQ
   * waiter checks here that its domain has not been restored meanwhile.
   */
  whileLocked?: () => void;
}

export type TargetStatus = 'unchanged' | 'changed' | 'would-change' | 'managed-skipped' | 'not-owned' | 'vanished' | 'failed' | 'rolled-back' | 'not-reached';

export interface TargetResult {
  /** `thread:TID`, `irq:N`, `sched:TID` or `cgroup:PATH`. */
  key: string;
  label: string;
  actionId: string;
  /** A CPU list, or a scheduler setting (`fifo 1`) for `sched:` keys. */
  requested: string;
  before?: string;
  status: TargetStatus;
  /** Read back after the write: thread affinity, the IRQ's effective_affinity_list, the policy, the cgroup's effective CPUs. */
  effective?: string;
  message?: string;
}

export interface ApplyReport {
  ok: boolean;
  name: string;
  pid: number;
  dryRun: boolean;
  statePath: string;
  /** Targets written. 0 = the plan was already in force (re-apply is a no-op). */
  changed: number;
  results: TargetResult[];
  notApplied: { actionId: string; why: string }[];
  notes: string[];
  warnings: string[];
  error?: { code: string; message: string; hint?: string };
  rollback?: { restored: number; failed: { key: string; message: string }[] };
  binding: Binding;
}

export interface Failure {
  code: string;
  message: string;
  hint?: string;
}

/** One change the applier may make, with everything needed to make it, undo it and explain it. */
export interface Step {
  key: string;
  label: string;
  actionId: string;
  kind: 'thread' | 'irq' | 'sched' | 'cgroup';
  requested: string;
  before: string;
  inForce: boolean;
  entry: StateEntry;
  /** Thread and scheduler changes die with the process: nothing to roll back then. */
  ofProcess: boolean;
  /** vCPU/IOThread targets must not vanish; emulator-class threads and IRQs may. */
  mayVanish: boolean;
  /** IRQ whose smp_affinity_list is read-only (kernel-managed). */
  readOnly?: boolean;
  write(to: 'requested' | 'before'): void | Promise<void>;
  readBack(): { effective: string; message?: string };
  failure(e: unknown): Failure;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function ioFor(paths: HostPaths, options: { io?: Partial<HostIo>; threadMethod?: ThreadMethod }): HostIo {
  return { ...defaultIo(paths.irqProc ?? paths.proc, options.threadMethod), ...options.io };
}

export const errnoOf = (e: unknown): string => (e instanceof AffinityWriteError ? e.code : '');

export async function withRetry(write: () => void | Promise<void>, retry: { attempts: number; delayMs: number }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (e) {
      const code = errnoOf(e);
      if ((code === 'EBUSY' || code === 'EAGAIN') && attempt < retry.attempts) {
        await sleep(retry.delayMs * attempt);
        continue;
      }
      throw e;
    }
  }
}
