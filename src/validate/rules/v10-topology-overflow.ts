import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

/** V10: the topology product must fit in 32 bits. */
export const topologyOverflow: Rule = {
  code: 'TOPOLOGY_OVERFLOW',
  severity: 'error',
  spec: 'V10',
  summary: '<cpu><topology> product overflows 32 bits',
  check(ctx) {
    const t = ctx.model.cpu?.topology;
    if (!t) return;
    // libvirt before 10.1 does not read clusters at all (LIBVIRT_CHANGES 'topology-clusters').
    const clusters = hasChange(ctx.definition.libvirtVersion, 'topology-clusters') ? t.clusters : undefined;
    const product = [t.sockets, t.dies, clusters, t.cores, t.threads].reduce((a, f) => a * (f?.value ?? 1), 1);
    if (product > 0xffffffff) ctx.report(t, `sockets×dies×clusters×cores×threads = ${product} does not fit in 32 bits`, { hint: 'the product must equal the vCPU count' });
  },
};
