import { CpuSet } from '../../cpuset/index.js';
import type { Rule } from '../types.js';

/** Host: a numatune nodeset naming host NUMA nodes that do not exist makes the start fail. */
export const hostNodesAvailable: Rule = {
  code: 'HOST_NODE_MISSING',
  severity: 'error',
  needsHost: true,
  spec: 'lint',
  summary: 'a numatune nodeset names host NUMA nodes that do not exist: the guest will not start',
  check(ctx) {
    const nodes = ctx.host!.nodes;
    if (!nodes?.length) return;
    const have = CpuSet.fromIds(nodes.map((n) => n.id));
    const sets = [ctx.model.numatune?.memory?.nodeset, ...(ctx.model.numatune?.memnodes ?? []).map((m) => m.nodeset)];
    for (const f of sets) {
      const missing = f?.value?.difference(have);
      if (f && missing && !missing.isEmpty()) ctx.report(f.loc, `nodeset='${f.raw}' names host NUMA nodes ${missing} that this host does not have (nodes: ${have})`, { hint: 'use existing nodes' });
    }
  },
};
