import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

/**
 * V24: 'restrictive' must be used on both the global memory and every memnode,
 * or on neither. Before libvirt 10.7 only a restrictive <memory> with another
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
      ctx.report(nt.memory ?? nt.memnodes[0]!, "mode='restrictive' must be used on <memory> and on every <memnode>, or on none", { hint: 'make the modes agree' });
    }
  },
};
