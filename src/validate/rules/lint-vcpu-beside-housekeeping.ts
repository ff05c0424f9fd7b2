import { CpuSet } from '../../cpuset/index.js';
import { dedicatedVcpus, hostTopologyOf, vcpuLocation } from '../topology.js';
import type { Rule } from '../types.js';

/**
 * A vCPU on the SMT sibling of a CPU the emulator or an IOThread is pinned
 * to shares that core's execution units with the host-side I/O work: the
 * guide layouts that put QEMU on "CPU 0" and a vCPU on its sibling.
 */
export const vcpuBesideHousekeeping: Rule = {
  code: 'VCPU_ON_HOUSEKEEPING_SIBLING',
  severity: 'warning',
  needsHost: true,
  spec: 'lint',
  summary: 'a dedicated vCPU runs on the SMT sibling of a CPU the emulator or an IOThread is pinned to',
  check(ctx) {
    const topo = hostTopologyOf(ctx.host);
    if (!topo) return;
    const r = ctx.resolved();
    const threads = [{ name: 'the emulator', t: r.emulator }, ...r.iothreads.map((t) => ({ name: `IOThread ${t.id}`, t }))].filter(
      ({ t }) => typeof t.cpus !== 'string' && (t.source === 'emulatorpin' || t.source === 'iothreadpin'),
    );
    if (!threads.length) return;
    for (const [v, cpu] of dedicatedVcpus(r)) {
      const core = topo.coreOf(cpu);
      if (!core) continue;
      const siblings = core.difference(CpuSet.of(cpu));
      // Same CPU is EMULATOR_ON_DEDICATED_CPU's finding.
      const hits = threads.filter(({ t }) => (t.cpus as CpuSet).intersects(siblings) && !(t.cpus as CpuSet).has(cpu));
      if (!hits.length) continue;
      ctx.report(
        vcpuLocation(ctx, v),
        `vCPU ${v} on CPU ${cpu} shares host core ${core} with ${hits.map((h) => `${h.name} (CPUs ${h.t.cpus.toString()})`).join(' and ')}`,
        { hint: "keep housekeeping on whole cores of its own: 'virt-pin pin' reserves a full core (--reserve SET with both siblings, or --emulator isolate)" },
      );
    }
  },
};
