import { CpuBitmap } from '../../cpuset/cpuset.js';
import type { Rule } from '../types.js';

/** More vCPUs than host CPUs they may run on: they take turns (fine for idle guests, not for latency). */
export const cpuOvercommit: Rule = {
  code: 'CPU_OVERCOMMIT',
  severity: 'info',
  needsHost: true,
  spec: 'lint',
  summary: 'the guest has more vCPUs than the host CPUs they may run on',
  check(ctx) {
    const r = ctx.resolved();
    const online = r.vcpus.filter((v) => v.online);
    // A bitmap, not a union per vCPU: those re-sorted every range so far for each of thousands of vCPUs.
    // Each set once: vCPUs that inherit one mask share one CpuSet, and a long
    // mask added for each of 16,384 vCPUs cost seconds (fuzz seed 20261202, case 919952).
    const all = new CpuBitmap();
    const added = new Set<object>();
    for (const v of online) {
      if (typeof v.cpus === 'string') return;
      if (added.has(v.cpus)) continue;
      added.add(v.cpus);
      all.add(v.cpus);
    }
    const cpus = all.toSet();
    if (cpus.isEmpty() || online.length <= cpus.size) return;
    const per = Math.round((online.length / cpus.size) * 10) / 10;
    ctx.report(ctx.model.vcpu ?? ctx.model.root, `${online.length} online vCPUs may run only on ${cpus.size} host CPU${cpus.size === 1 ? '' : 's'} (${cpus}): ${per} vCPUs per CPU take turns`, {
      hint: 'fine for mostly idle guests; for latency give each vCPU a CPU of its own (fewer vCPUs, or virt-pin pin on a larger --cpus set)',
    });
  },
};
