import { vcpuLocation } from '../topology.js';
import type { Rule } from '../types.js';

/**
 * A real-time vCPU on a CPU the kernel still schedules host tasks on
 * competes with them, while the host has isolated CPUs set aside for exactly
 * this.
 */
export const realtimeNotIsolated: Rule = {
  code: 'RT_VCPU_NOT_ISOLATED',
  severity: 'info',
  needsHost: true,
  spec: 'lint',
  summary: 'the host isolates CPUs but real-time vCPUs are pinned elsewhere',
  check(ctx) {
    const isolated = ctx.host!.isolatedCpus;
    if (!isolated || isolated.isEmpty()) return;
    const r = ctx.resolved();
    const off = r.vcpus.filter((v) => {
      const s = ctx.definition.vcpus[v.id]?.sched?.scheduler;
      return (s === 'fifo' || s === 'rr') && typeof v.cpus !== 'string' && !v.cpus.isEmpty() && !v.cpus.isSubsetOf(isolated);
    });
    if (!off.length) return;
    ctx.report(
      vcpuLocation(ctx, off[0]!.id),
      `the host isolates CPUs ${isolated}, but real-time vCPUs ${off.map((v) => v.id).join(', ')} may run on non-isolated CPUs (${off.map((v) => v.cpus.toString()).join('; ')}), which host tasks share`,
      { hint: `pin them to isolated CPUs: virt-pin pin --cpus ${isolated} --realtime …` },
    );
  },
};
