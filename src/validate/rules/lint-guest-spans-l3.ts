import { CpuSet } from '../../cpuset/index.js';
import { capacityFor, dedicatedVcpus, hostTopologyOf, housekeepingCpus, vcpuLocation } from '../topology.js';
import type { Rule } from '../types.js';

/** Dedicated vCPUs spread over several L3 caches although one L3 group has enough CPUs for all of them. */
export const guestSpansL3: Rule = {
  code: 'GUEST_SPANS_L3_GROUPS',
  severity: 'warning',
  needsHost: true,
  spec: 'lint',
  summary: "a guest's dedicated vCPUs span several L3 cache groups though one group could hold them",
  check(ctx) {
    const topo = hostTopologyOf(ctx.host);
    if (!topo || topo.l3Groups.length < 2) return;
    const pinned = dedicatedVcpus(ctx.resolved());
    if (pinned.size < 2) return;
    const cpus = [...pinned.values()];
    const used = topo.l3Groups.filter((g) => cpus.some((c) => g.has(c)));
    if (used.length < 2) return;
    // Room for the vCPUs besides the host's housekeeping (first core of each node) and this guest's emulator/IOThreads.
    const usable = ctx.host!.onlineCpus.difference(ctx.host!.isolatedCpus ?? CpuSet.empty()).difference(topo.firstCoreOfEachNode).difference(housekeepingCpus(ctx.resolved()));
    const room = (g: CpuSet): number => capacityFor(topo, g.intersect(usable), cpus);
    const roomy = topo.l3Groups.find((g) => room(g) >= pinned.size);
    if (!roomy) return;
    ctx.report(
      vcpuLocation(ctx, [...pinned.keys()][0]!),
      `the ${pinned.size} dedicated vCPUs are spread over ${used.length} L3 groups (${used.map((g) => g.toString()).join(' | ')}), though L3 group ${roomy} has room for ${room(roomy)} of them besides housekeeping: cache-sharing vCPUs then miss each other's data`,
      { hint: "re-pin with 'virt-pin pin' (--cache prefer, the default, keeps the guest in one L3 group; --cache require insists)" },
    );
  },
};
