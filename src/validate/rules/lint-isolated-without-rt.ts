import { dedicatedVcpus, vcpuLocation } from '../topology.js';
import type { Rule } from '../types.js';

/**
 * Isolated CPUs (isolcpus) pay off with a real-time setup; a guest with no
 * real-time vCPU at all gains little there and gives up the kernel's load
 * balancing on those CPUs.
 */
export const isolatedWithoutRealtime: Rule = {
  code: 'VCPU_ISOLATED_WITHOUT_RT',
  severity: 'info',
  needsHost: true,
  spec: 'lint',
  summary: 'vCPUs are pinned to isolated CPUs but the guest has no real-time vCPU scheduler',
  check(ctx) {
    const isolated = ctx.host!.isolatedCpus;
    if (!isolated || isolated.isEmpty()) return;
    const realtime = ctx.definition.vcpus.some((v) => v.sched?.scheduler === 'fifo' || v.sched?.scheduler === 'rr');
    if (realtime) return;
    const onIsolated = [...dedicatedVcpus(ctx.resolved())].filter(([, c]) => isolated.has(c));
    if (!onIsolated.length) return;
    ctx.report(
      vcpuLocation(ctx, onIsolated[0]![0]),
      `vCPUs ${onIsolated.map(([v]) => v).join(', ')} are pinned to isolated CPUs ${onIsolated.map(([, c]) => c).join(', ')} but no vCPU has a real-time scheduler (<vcpusched scheduler='fifo'>)`,
      { hint: 'add a real-time setup (virt-pin pin --cpus ISOLATED --realtime fifo:1), or pin to non-isolated CPUs if none is intended' },
    );
  },
};
