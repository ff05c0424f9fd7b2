import type { Rule } from '../types.js';

/** V4: `<vcpu cpuset>` (unless placement is auto) must parse and name at least one CPU. */
export const vcpuCpuset: Rule = {
  code: 'VCPU_CPUSET_INVALID',
  severity: 'error',
  spec: 'V4',
  summary: '<vcpu cpuset> fails the cpuset grammar or is empty',
  check(ctx) {
    const c = ctx.model.vcpu?.cpuset;
    if (!c || c.ignored) return;
    if (c.error) ctx.report(c.loc, `<vcpu cpuset='${c.raw}'> is refused: ${c.error.message}`, { hint: "use items N, N-M or ^N separated by commas, e.g. cpuset='2-7,^4'" });
    else if (c.value?.isEmpty()) ctx.report(c.loc, `<vcpu cpuset='${c.raw}'> names no CPU`, { hint: 'name at least one host CPU, or drop the attribute' });
  },
};
