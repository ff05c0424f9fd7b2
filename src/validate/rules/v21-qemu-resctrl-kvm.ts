import type { Rule } from '../types.js';

/** V21 (QEMU): resctrl needs a KVM domain. */
export const qemuResctrlKvm: Rule = {
  code: 'QEMU_RESCTRL_NEEDS_KVM',
  severity: 'error',
  driver: 'qemu',
  spec: 'V21',
  summary: "cachetune/memorytune on a domain that is not type='kvm'",
  check(ctx) {
    const ct = ctx.model.cputune;
    const tunes = [...(ct?.cachetunes ?? []), ...(ct?.memorytunes ?? [])];
    if (tunes.length && ctx.model.type?.value !== 'kvm') {
      ctx.report(tunes[0]!, `resctrl (cachetune/memorytune) needs <domain type='kvm'>, not '${ctx.model.type?.value ?? '(none)'}'`, { hint: "use type='kvm' or drop the resctrl elements" });
    }
  },
};
