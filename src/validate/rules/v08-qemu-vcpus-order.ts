import type { Rule } from '../types.js';

/** V8 (QEMU): vCPU 0 online, not hotpluggable, order 0/1; orders all or none; non-hotpluggable first; orders non-decreasing. */
export const qemuVcpusOrder: Rule = {
  code: 'QEMU_VCPUS_LAYOUT',
  severity: 'error',
  driver: 'qemu',
  spec: 'V8',
  summary: 'QEMU <vcpus> layout: vCPU 0 state/order, order presence, hotpluggable ordering',
  check(ctx) {
    const d = ctx.definition;
    if (!d.individualVcpus || d.vcpus.length === 0) return;
    const at = ctx.model.vcpus!.entries.find((e) => e.id?.value === 0) ?? ctx.model.vcpus!.blocks[0]!;
    const v0 = d.vcpus[0]!;
    if (!v0.online) ctx.report(at, 'vCPU 0 is offline; QEMU needs vCPU 0 online', { hint: "set <vcpu id='0' enabled='yes'/>" });
    else if (v0.hotpluggable) ctx.report(at, 'vCPU 0 is hotpluggable; QEMU needs it fixed', { hint: "set hotpluggable='no' on vCPU 0" });
    else if (v0.order > 1) ctx.report(at, `vCPU 0 has order='${v0.order}'; QEMU accepts only 0 or 1`, { hint: "use order='1' or leave it out" });
    const online = d.vcpus.filter((v) => v.online);
    const withOrder = online.filter((v) => v.order !== 0);
    if (withOrder.length > 0 && withOrder.length < online.length) {
      ctx.report(ctx.model.vcpus!.blocks[0]!, 'some online vCPUs have an order and others do not; QEMU needs all or none', { hint: 'give every online vCPU an order, or none' });
    }
    let seenHot = false;
    let lastOrder = 0;
    for (const v of d.vcpus) {
      if (v.hotpluggable) seenHot = true;
      else if (seenHot && v.online) {
        ctx.report(ctx.model.vcpus!.blocks[0]!, `vCPU ${v.id} is not hotpluggable but comes after a hotpluggable vCPU; QEMU needs the fixed vCPUs first`);
        break;
      }
      if (!v.hotpluggable && v.order !== 0) {
        if (v.order < lastOrder) {
          ctx.report(ctx.model.vcpus!.blocks[0]!, `vCPU ${v.id} has order ${v.order}, lower than an earlier fixed vCPU's ${lastOrder}`, { hint: 'number the fixed vCPUs in increasing order' });
          break;
        }
        lastOrder = v.order;
      }
    }
  },
};
