import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

/**
 * V24: 'restrictive' must be used on both the global memory and every memnode,
 * or on neither. Before libvirt 9.4 only a restrictive <memory> with another
 * memnode mode is refused (LIBVIRT_CHANGES restrictive-memnode-under-other-mode).
 */
export const restrictive: Rule = {
  code: 'NUMATUNE_RESTRICTIVE_MIXED',
  severity: 'error',
  spec: 'V24',
  summary: "mode='restrictive' on only one of <memory> and <memnode>",
  check(ctx) {
    const nt = ctx.model.numatune;
    if (!nt?.memnodes.length) return;
    const globalR = nt.memory?.mode?.value === 'restrictive';
    const nodesR = nt.memnodes.map((n) => n.mode?.value === 'restrictive');
    const bothWays = hasChange(ctx.definition.libvirtVersion, 'restrictive-memnode-under-other-mode');
    if (globalR ? nodesR.some((r) => !r) : bothWays && nodesR.some((r) => r)) {
      const message = "mode='restrictive' must be used on <memory> and on every <memnode>, or on none";
      if (bothWays) ctx.report(nt.memory ?? nt.memnodes[0]!, message, { hint: 'make the modes agree' });
      else {
        // Before the change libvirt checks each <memnode>'s mode while parsing it (9.0 measured; LIBVIRT_ORDER parse-memnodes).
        const n = nt.memnodes[nodesR.indexOf(false)]!;
        ctx.report(n.mode?.loc ?? n.loc, message, { hint: 'make the modes agree', order: { stage: 'parse-memnodes', anchor: n.loc } });
      }
    }
  },
};
