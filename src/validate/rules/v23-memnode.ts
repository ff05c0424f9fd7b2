import { fieldRefused, missing } from '../helpers.js';
import type { Rule } from '../types.js';

/** V23: memnodes need guest cells and static memory, a cellid in range once, a mode and a non-empty nodeset. */
export const memnode: Rule = {
  code: 'MEMNODE_INVALID',
  severity: 'error',
  spec: 'V23',
  summary: 'memnode with auto placement or without guest cells; cellid missing/out of range/duplicate; bad mode or nodeset',
  check(ctx) {
    const nodes = ctx.model.numatune?.memnodes ?? [];
    if (!nodes.length) return;
    const cells = ctx.model.cpu?.numa?.cells.length ?? 0;
    const memory = ctx.definition.numatune.memory;
    if (memory?.placement === 'auto') {
      ctx.report(nodes[0]!, `<memnode> cannot be combined with automatic memory placement${memory.implicit ? " (implied by <vcpu placement='auto'>)" : ''}`, { hint: "use placement='static' with a nodeset, or drop the memnodes" });
    }
    if (cells === 0) ctx.report(nodes[0]!, '<memnode> needs guest NUMA cells (<cpu><numa><cell>)', { hint: 'define the guest cells, or use <memory nodeset> only' });
    const seen = new Set<number>();
    for (const n of nodes) {
      // libvirt parses each <memnode> before the next (LIBVIRT_ORDER parse-memnodes).
      const order = { anchor: n.loc };
      if (!n.cellid) missing(ctx, n, 'memnode', 'cellid', "cellid='0'", order);
      else if (!fieldRefused(ctx, n.cellid, '<memnode cellid>', undefined, order)) {
        if (cells > 0 && n.cellid.value! >= cells) ctx.report(n.cellid.loc, `cellid='${n.cellid.value}' is not a guest cell (there are ${cells})`, { order });
        else if (seen.has(n.cellid.value!)) ctx.report(n.cellid.loc, `cellid ${n.cellid.value} has two <memnode>s`, { order });
        seen.add(n.cellid.value!);
      }
      fieldRefused(ctx, n.mode, '<memnode mode>', 'use strict, preferred, interleave or restrictive', order);
      if (!n.nodeset) missing(ctx, n, 'memnode', 'nodeset', "nodeset='0'", order);
      else if (n.nodeset.error) ctx.report(n.nodeset.loc, `nodeset='${n.nodeset.raw}' is refused: ${n.nodeset.error.message}`, { order });
      else if (n.nodeset.value!.isEmpty()) ctx.report(n.nodeset.loc, `nodeset='${n.nodeset.raw}' names no NUMA node`, { order });
    }
  },
};
