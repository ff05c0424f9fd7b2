import { missing } from '../helpers.js';
import type { Rule } from '../types.js';

/** V16: vcpupin needs vcpu and a valid, non-empty cpuset; one pin per vCPU. */
export const vcpupin: Rule = {
  code: 'VCPUPIN_INVALID',
  severity: 'error',
  spec: 'V16',
  summary: 'vcpupin without vcpu/cpuset, bad or empty cpuset, duplicate vcpu',
  check(ctx) {
    // Line of the first pin per vCPU id (0: none yet); ids below maxVcpus (at most 16,384), so an array, not a Map entry per pin.
    const firstLine = new Int32Array(ctx.definition.maxVcpus);
    for (const p of ctx.model.cputune?.vcpupins ?? []) {
      if (!p.vcpu) missing(ctx, p, 'vcpupin', 'vcpu', "vcpu='0'");
      else if (p.vcpu.error) ctx.report(p.vcpu.loc, `<vcpupin vcpu='${p.vcpu.raw}'> is refused: ${p.vcpu.error.message}`, { hint: 'vcpu is a vCPU number from 0' });
      // libvirt skips a pin for a vCPU beyond the maximum before reading its cpuset (§7.1).
      if (p.vcpu?.value !== undefined && p.vcpu.value >= ctx.definition.maxVcpus) continue;
      if (!p.cpuset) missing(ctx, p, 'vcpupin', 'cpuset', "cpuset='2-3'");
      else if (p.cpuset.error) ctx.report(p.cpuset.loc, `<vcpupin cpuset='${p.cpuset.raw}'> is refused: ${p.cpuset.error.message}`, { hint: "use items N, N-M or ^N separated by commas, e.g. cpuset='2-3'" });
      else if (p.cpuset.value!.isEmpty()) ctx.report(p.cpuset.loc, `<vcpupin cpuset='${p.cpuset.raw}'> names no CPU`, { hint: 'name at least one host CPU' });
      const id = p.vcpu?.value;
      if (id === undefined || id >= ctx.definition.maxVcpus) continue;
      if (firstLine[id]) ctx.report(p, `vCPU ${id} is pinned twice (first at line ${firstLine[id]})`, { hint: 'keep one <vcpupin> per vCPU' });
      else firstLine[id] = p.loc.line;
    }
  },
};
