import { scaledBytes } from '../../domain/index.js';
import type { Rule } from '../types.js';

/**
 * V25 (cell memory), virDomainNumaDefParseXML → virDomainParseMemory with
 * `required`: every guest NUMA <cell> needs a memory size libvirt can read
 * and scale. libvirt checks it right after the cell's id and cpus, so a cell
 * without memory is refused for that even when a later cell has another
 * problem.
 */
export const guestNumaMemory: Rule = {
  code: 'GUEST_NUMA_MEMORY_INVALID',
  severity: 'error',
  spec: 'V25',
  summary: 'guest NUMA <cell> without memory, or with a memory size/unit libvirt cannot read',
  check(ctx) {
    for (const c of ctx.model.cpu?.numa?.cells ?? []) {
      if (!c.memory) {
        ctx.report(c, "guest NUMA <cell> has no memory attribute, which libvirt requires (libvirt: \"missing element or attribute './@memory'\")", { hint: "write e.g. memory='1048576' (KiB) or memory='1' unit='GiB'", order: { anchor: c.loc } });
        continue;
      }
      if (c.memory.error || c.memory.value === undefined) {
        ctx.report(c.memory.loc, `cell memory='${c.memory.raw}' is refused: ${c.memory.error?.message ?? 'not a non-negative integer'}`, { order: { anchor: c.loc } });
        continue;
      }
      const scaled = scaledBytes(c.memory.value, c.unit?.value);
      if ('error' in scaled) ctx.report(c.unit?.loc ?? c.memory.loc, `cell memory='${c.memory.raw}'${c.unit ? ` unit='${c.unit.raw}'` : ''} is refused: ${scaled.error}`, { hint: 'units are b, KiB, MiB, GiB… (powers of 1024) or KB, MB, GB… (powers of 1000); no unit means KiB', order: { anchor: c.loc } });
    }
  },
};
