import { fieldRefused } from '../helpers.js';
import type { Rule } from '../types.js';

/** V22: one <numatune>; valid mode/placement; nodeset valid and non-empty; static placement needs a nodeset. */
export const numatune: Rule = {
  code: 'NUMATUNE_INVALID',
  severity: 'error',
  spec: 'V22',
  summary: 'more than one <numatune>; bad mode/placement; bad or empty nodeset; static without nodeset',
  check(ctx) {
    const nt = ctx.model.numatune;
    if (!nt) return;
    // libvirt counts them before it reads the first one.
    nt.blocks.slice(1).forEach((b) => ctx.report(b, 'a second <numatune>; libvirt allows one', { hint: 'merge them', order: { step: -1 } }));
    const m = nt.memory;
    if (!m) return;
    fieldRefused(ctx, m.mode, '<memory mode>', 'use strict, preferred, interleave or restrictive');
    fieldRefused(ctx, m.placement, '<memory placement>', "use 'static' or 'auto'");
    // libvirt 9.0 ignores a bare <memory/> (nothing to set).
    if (!m.mode && !m.placement && !m.nodeset) return;
    const vcpuPlacement = ctx.model.vcpu?.placement?.value ?? 'static';
    const placement = m.placement?.value ?? (m.nodeset || vcpuPlacement === 'static' ? 'static' : 'auto');
    // The nodeset is parsed (and refused when bad or empty) even under auto placement, which then drops it.
    if (placement === 'auto' && !m.nodeset) return;
    if (!m.nodeset) {
      ctx.report(m, "<numatune><memory> with static placement has no nodeset", { hint: "add nodeset='0', or placement='auto' to let numad choose" });
    } else if (m.nodeset.error) ctx.report(m.nodeset.loc, `nodeset='${m.nodeset.raw}' is refused: ${m.nodeset.error.message}`);
    else if (m.nodeset.value!.isEmpty()) ctx.report(m.nodeset.loc, `nodeset='${m.nodeset.raw}' names no NUMA node`);
  },
};
