import { capacityFor, dedicatedVcpus, hostTopologyOf, vcpuLocation } from '../topology.js';
import type { Rule } from '../types.js';

/**
 * On a hybrid host, dedicated vCPUs split between performance and
 * efficiency cores run at different speeds behind the guest scheduler's
 * back, although the performance cores alone could hold them.
 */
export const guestSpansCoreTypes: Rule = {
  code: 'GUEST_SPANS_CORE_TYPES',
  severity: 'warning',
  needsHost: true,
  spec: 'lint',
  summary: "a guest's dedicated vCPUs mix performance and efficiency cores though the performance cores could hold them",
  check(ctx) {
    const topo = hostTopologyOf(ctx.host);
    if (!topo?.hybrid) return;
    const pinned = dedicatedVcpus(ctx.resolved());
    const onE = [...pinned].filter(([, cpu]) => topo.coreTypeOf(cpu) === 'efficiency');
    const onP = [...pinned].filter(([, cpu]) => topo.coreTypeOf(cpu) === 'performance');
    const room = capacityFor(topo, topo.typeCpus.performance, [...pinned.values()]);
    if (!onE.length || !onP.length || room < pinned.size) return;
    ctx.report(
      vcpuLocation(ctx, onE[0]![0]),
      `vCPUs ${onE.map(([v]) => v).join(', ')} run on efficiency cores (CPUs ${onE.map(([, c]) => c).join(', ')}) and vCPUs ${onP.map(([v]) => v).join(', ')} on performance cores, though the performance cores (${topo.typeCpus.performance}) have room for ${room}`,
      { hint: "re-pin with 'virt-pin pin' (vCPUs go to performance cores by default on hybrid hosts; --core-type performance insists)" },
    );
  },
};
