import type { Rule } from '../types.js';

/** V6: an offline vCPU cannot be marked hotpluggable='no' (it could never come online). */
export const offlineNotHotpluggable: Rule = {
  code: 'VCPU_OFFLINE_NOT_HOTPLUGGABLE',
  severity: 'error',
  spec: 'V6',
  summary: "offline vCPU with hotpluggable='no'",
  check(ctx) {
    for (const e of ctx.model.vcpus?.entries ?? []) {
      if (e.enabled?.value === false && e.hotpluggable?.value === false) {
        ctx.report(e.hotpluggable.loc, `vCPU ${e.id?.value ?? '?'} is offline but hotpluggable='no': it could never be brought online`, { hint: "set hotpluggable='yes' or enabled='yes'" });
      }
    }
  },
};
