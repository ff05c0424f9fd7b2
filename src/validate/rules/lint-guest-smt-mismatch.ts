import { dedicatedVcpus, hostTopologyOf, vcpuLocation } from '../topology.js';
import type { Rule } from '../types.js';

/**
 * The guest's scheduler trusts `<topology threads>`: it treats vCPUs
 * 2k, 2k+1 (threads=2) as siblings sharing a core, and with threads=1 it
 * assumes separate cores. Pinned to host CPUs whose SMT numbering differs
 * (a guide's consecutive "2,3,4,5" on a host whose siblings are N and N+8),
 * guest "siblings" sit on different host cores and guest "cores" on one.
 */
export const guestSmtMismatch: Rule = {
  code: 'GUEST_SMT_MISMATCH',
  severity: 'warning',
  needsHost: true,
  spec: 'lint',
  summary: "the guest's SMT topology does not match the host cores its vCPUs are pinned to",
  check(ctx) {
    const topo = hostTopologyOf(ctx.host);
    const declared = ctx.model.cpu?.topology;
    if (!topo || !declared) return;
    const threads = declared.threads?.value ?? 1;
    const pinned = dedicatedVcpus(ctx.resolved());
    const hint =
      threads > 1
        ? "re-pin with 'virt-pin pin' (guest sibling vCPUs go to one host core's siblings, --threads prefer), or declare threads='1' and use 'virt-pin pin --threads isolate'"
        : "re-pin with 'virt-pin pin' (a guest declaring threads='1' gets a host core per vCPU while cores last), or 'virt-pin pin --topology match-host' to tell the guest which vCPUs are siblings";
    if (threads > 1) {
      // Only a host with cores of that many threads could have matched.
      if (![...pinned.values()].some((c) => (topo.coreOf(c)?.size ?? 1) >= threads)) return;
      // Guest core k holds vCPUs k*threads .. k*threads+threads-1.
      for (let first = 0; first < ctx.resolved().maxVcpus; first += threads) {
        const ids = Array.from({ length: threads }, (_, i) => first + i).filter((v) => pinned.has(v));
        if (ids.length < 2) continue;
        const cores = new Set(ids.map((v) => topo.coreOf(pinned.get(v)!)?.toString()));
        if (cores.size > 1 && !cores.has(undefined)) {
          ctx.report(
            vcpuLocation(ctx, ids[1]!),
            `guest SMT siblings vCPU ${ids.join(', ')} (threads='${threads}') are pinned to host CPUs ${ids.map((v) => pinned.get(v)).join(', ')}, which are on ${cores.size} different host cores`,
            { hint },
          );
        }
      }
      return;
    }
    // threads=1: two guest "cores" on one host core's siblings.
    const byCore = new Map<string, number[]>();
    for (const [v, cpu] of pinned) {
      const core = topo.coreOf(cpu);
      if (!core || core.size < 2) continue;
      byCore.set(core.toString(), [...(byCore.get(core.toString()) ?? []), v]);
    }
    for (const [core, ids] of byCore) {
      if (ids.length < 2) continue;
      ctx.report(
        vcpuLocation(ctx, ids[1]!),
        `vCPUs ${ids.join(', ')} are separate cores to the guest (threads='1') but are pinned to SMT siblings ${core} of one host core`,
        { hint },
      );
    }
  },
};
