import { CpuSet, MAX_CPUSET_ID } from '../../cpuset/index.js';
import { CpuBitmap } from '../../cpuset/cpuset.js';
import type { Rule } from '../types.js';

/** V25: guest NUMA: cells exist, ids 0..n-1 once each, cpus parse, no overlap, vCPUs below the maximum. */
export const guestNuma: Rule = {
  code: 'GUEST_NUMA_INVALID',
  severity: 'error',
  spec: 'V25',
  summary: '<numa> without cells; cell id out of range or duplicate; bad cpus; overlapping cells; more vCPUs than the maximum',
  check(ctx) {
    const numa = ctx.model.cpu?.numa;
    if (!numa) return;
    if (!numa.cells.length) {
      ctx.report(numa, '<numa> has no <cell>', { hint: "add <cell id='0' cpus='0-1' memory='1048576'/>" });
      return;
    }
    const n = numa.cells.length;
    const ids = new Set<number>();
    // Accumulated in a bitmap: a chain of unions, or ids(), costs cells × width.
    const union = new CpuBitmap();
    let total = 0;
    let overlapped = false;
    const max = ctx.definition.maxVcpus;
    const allowed = max > 0 ? CpuSet.range(0, Math.min(max, MAX_CPUSET_ID + 1) - 1) : CpuSet.empty();
    for (const c of numa.cells) {
      const id = c.id ? c.id.value : c.index;
      if (c.id?.error) ctx.report(c.id.loc, `cell id='${c.id.raw}' is refused: ${c.id.error.message}`, { order: { anchor: c.loc } });
      else if (id !== undefined && id >= n) ctx.report(c.id!.loc, `cell id='${id}' is not below the number of cells (${n})`, { hint: `number the cells 0 to ${n - 1}`, order: { anchor: c.loc } });
      else if (id !== undefined && ids.has(id)) ctx.report(c, `cell id ${id} is used twice`, { order: { anchor: c.loc } });
      if (id !== undefined) ids.add(id);
      if (!c.cpus) continue;
      if (c.cpus.error) {
        ctx.report(c.cpus.loc, `cell cpus='${c.cpus.raw}' is refused: ${c.cpus.error.message}`, { order: { anchor: c.loc } });
        continue;
      }
      const set = c.cpus.value!;
      const beyond = set.difference(allowed);
      if (!beyond.isEmpty()) ctx.report(c.cpus.loc, `cell cpus='${c.cpus.raw}' names vCPUs ${listOf(beyond)}, beyond the maximum of ${max}`, { order: { stage: 'parse-numa-vcpus' } });
      const overlap = union.overlap(set);
      if (!overlap.isEmpty()) overlapped = true;
      if (!overlap.isEmpty()) ctx.report(c.cpus.loc, `cell cpus='${c.cpus.raw}' overlaps another cell (vCPUs ${overlap})`, { hint: 'each vCPU belongs to one cell', order: { anchor: c.loc } });
      union.add(set);
      total += set.size;
    }
    // libvirt stops at an overlap in the cell loop; the total it checks later is then only its consequence.
    if (total > max && !overlapped) ctx.report(numa, `the cells list ${total} vCPUs but the domain has ${max}`, { order: { stage: 'parse-numa-vcpus' } });
  },
};

/** Ids one by one as before for short lists; ranges once a list would run long (0-16383 is 16,384 ids). */
function listOf(set: CpuSet): string {
  return set.size <= 64 ? set.ids().join(', ') : set.ranges().map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
}
