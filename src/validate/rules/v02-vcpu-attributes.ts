import { fieldRefused } from '../helpers.js';
import type { Rule } from '../types.js';

/** V2: `current` and `placement` of `<vcpu>` must parse. */
export const vcpuAttributes: Rule = {
  code: 'VCPU_ATTRIBUTE_INVALID',
  severity: 'error',
  spec: 'V2',
  summary: "<vcpu current> is not an unsigned integer or placement is not 'static'/'auto'",
  check(ctx) {
    const v = ctx.model.vcpu;
    if (!v) return;
    fieldRefused(ctx, v.current, '<vcpu current>', 'write the number of vCPUs online at boot, e.g. current=\'2\'');
    fieldRefused(ctx, v.placement, '<vcpu placement>', "use placement='static' or placement='auto'");
  },
};
