import { fieldRefused, missing } from '../helpers.js';
import type { Rule } from '../types.js';

/** V5: every `<vcpus><vcpu>` needs a valid id below the maximum and enabled yes/no. */
export const vcpusEntries: Rule = {
  code: 'VCPUS_ENTRY_INVALID',
  severity: 'error',
  spec: 'V5',
  summary: '<vcpus><vcpu> without id/enabled, with bad values, or with id ≥ maximum',
  check(ctx) {
    const max = ctx.definition.maxVcpus;
    for (const e of ctx.model.vcpus?.entries ?? []) {
      if (!e.id) missing(ctx, e, 'vcpu', 'id', "id='0'");
      else if (!fieldRefused(ctx, e.id, '<vcpus><vcpu id>') && e.id.value! >= max) {
        ctx.report(e.id.loc, `<vcpu id='${e.id.value}'> is not below the maximum of ${max} vCPUs`, { hint: `ids run from 0 to ${max - 1}` });
      }
      if (!e.enabled) missing(ctx, e, 'vcpu', 'enabled', "enabled='yes'");
      else fieldRefused(ctx, e.enabled, '<vcpus><vcpu enabled>', "use 'yes' or 'no'");
      fieldRefused(ctx, e.hotpluggable, '<vcpus><vcpu hotpluggable>', "use 'yes' or 'no'");
      fieldRefused(ctx, e.order, '<vcpus><vcpu order>');
    }
  },
};
