import type { MemoryTuneDef } from '../../domain/index.js';
import { resctrlWalk } from '../resctrl-groups.js';
import type { Rule } from '../types.js';

/**
 * V20 (memorytune nodes), virDomainMemorytuneDefParseMemory and
 * virResctrlAllocSetMemoryBandwidth: every <node> needs a numeric id and
 * bandwidth, bandwidth is a percentage (≤ 100), and one resctrl group holds
 * one bandwidth per node id — also across two <memorytune> with the same
 * vCPUs, which libvirt merges into one allocation.
 */
export const memorytuneNodes: Rule = {
  code: 'MEMORYTUNE_NODE_INVALID',
  severity: 'error',
  spec: 'V20',
  summary: '<memorytune><node>: missing or non-numeric id/bandwidth, bandwidth over 100, a node id given twice for one group',
  check(ctx) {
    if (!ctx.model.cputune?.memorytunes.length) return;
    const seen = new Map<object, Map<number, number>>(); // group → node id → line first given
    for (const step of resctrlWalk(ctx.model, ctx.definition).steps) {
      if (step.kind !== 'memorytune' || step.outcome !== 'grouped') continue;
      const ids = seen.get(step.group) ?? new Map<number, number>();
      seen.set(step.group, ids);
      // libvirt finishes each tune before the next (LIBVIRT_ORDER): every finding sorts by its tune.
      const order = { anchor: step.element.loc, stage: 'parse-memorytune' } as const;
      for (const n of (step.element as MemoryTuneDef).nodes) {
        let good = true;
        for (const [name, f] of [['id', n.id], ['bandwidth', n.bandwidth]] as const) {
          if (!f) {
            ctx.report(n, `<memorytune><node> has no ${name} attribute, which libvirt requires`, { hint: "write e.g. <node id='0' bandwidth='60'/>", order });
            good = false;
          } else if (f.error || f.value === undefined) {
            ctx.report(f.loc, `<node ${name}='${f.raw}'> is refused: ${f.error?.message ?? 'not a non-negative integer'}`, { order });
            good = false;
          }
        }
        if (!good) continue;
        if (n.bandwidth!.value! > 100) {
          ctx.report(n.bandwidth!.loc, `<node bandwidth='${n.bandwidth!.raw}'>: memory bandwidth is a percentage, at most 100`, { order });
          continue;
        }
        const id = n.id!.value!;
        const first = ids.get(id);
        if (first !== undefined) {
          ctx.report(n, `memory bandwidth for node ${id} is already given at line ${first} for these vCPUs`, { hint: 'one <node> per host memory controller id in a resctrl group', order });
          continue;
        }
        ids.set(id, n.loc.line);
      }
    }
  },
};
