import type { Rule } from '../types.js';

/** V1: `<vcpu>` text must be an unsigned integer, with nothing after it (not even a newline), and not 0. */
export const vcpuCount: Rule = {
  code: 'VCPU_COUNT_INVALID',
  severity: 'error',
  spec: 'V1',
  summary: '<vcpu> text is not an unsigned integer (trailing whitespace included), or is 0',
  check(ctx) {
    const max = ctx.model.vcpu?.max;
    if (max?.warning) {
      ctx.report(ctx.model.vcpu!, `<vcpu>${max.raw}</vcpu> is accepted but stored as ${max.value}: ${max.warning.message}`, {
        code: 'VCPU_COUNT_WRAPPED',
        severity: 'warning',
        hint: 'write the vCPU count as a positive number',
      });
    }
    if (max && !max.error && max.value === 0) {
      // Not in the spec (read from 10.7's code): libvirt 9.0 refuses it for every driver, with a NUMA message.
      ctx.report(ctx.model.vcpu!, `<vcpu>${max.raw.trim()}</vcpu> is refused: a domain needs at least one vCPU (libvirt says 'CPU IDs in <numa> exceed the <vcpu> count')`, {
        hint: 'give <vcpu> a count of at least 1',
        order: { stage: 'parse-numa-vcpus' },
      });
      return;
    }
    if (!max?.error) return;
    const hint =
      max.error.code === 'TRAILING_WHITESPACE'
        ? `write <vcpu>${max.raw.trim()}</vcpu> on one line: libvirt refuses whitespace after the number`
        : 'write the maximum vCPU count as a plain number, e.g. <vcpu>4</vcpu>';
    ctx.report(ctx.model.vcpu!, `<vcpu>${max.raw.replace(/\n/g, '\\n')}</vcpu> is refused: ${max.error.message}`, { hint });
  },
};
