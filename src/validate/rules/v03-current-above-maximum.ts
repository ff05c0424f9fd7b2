import type { Rule } from '../types.js';

/** V3: without `<vcpus>`, `current` may not exceed the maximum. */
export const currentAboveMaximum: Rule = {
  code: 'VCPU_CURRENT_ABOVE_MAXIMUM',
  severity: 'error',
  spec: 'V3',
  summary: '<vcpu current> is larger than the maximum',
  check(ctx) {
    const v = ctx.model.vcpu;
    const current = v?.current?.value;
    const max = v?.max.value;
    if (!v || current === undefined || max === undefined || ctx.definition.individualVcpus) return;
    if (current > max) {
      ctx.report(v.current!.loc, `current='${current}' is more vCPUs than the maximum ${max}`, { hint: `raise <vcpu> to ${current} or lower current to ${max}` });
    }
  },
};
