import { idList } from '../helpers.js';
import type { Rule } from '../types.js';

/** The emulator or an IOThread may run on a CPU that vCPUs are pinned to alone, so it steals that vCPU's time. */
export const emulatorOnDedicated: Rule = {
  code: 'EMULATOR_ON_DEDICATED_CPU',
  severity: 'warning',
  spec: 'lint',
  summary: 'the emulator or an IOThread may run on a CPU that a vCPU is pinned to alone',
  check(ctx) {
    const r = ctx.resolved();
    // Host CPU → the vCPUs pinned to it alone (two vCPUs on one CPU share it, but it is still theirs).
    const dedicated = new Map<number, number[]>();
    for (const v of r.vcpus) {
      if (typeof v.cpus === 'string' || v.cpus.size !== 1 || v.source !== 'vcpupin') continue;
      const cpu = v.cpus.min()!;
      const owners = dedicated.get(cpu);
      if (owners) owners.push(v.id);
      else dedicated.set(cpu, [v.id]);
    }
    if (!dedicated.size) return;
    const threads = [{ name: 'the emulator', t: r.emulator }, ...r.iothreads.map((t) => ({ name: `IOThread ${t.id}`, t }))];
    for (const { name, t } of threads) {
      if (typeof t.cpus === 'string') continue;
      const hit = t.cpus.ids().filter((c) => dedicated.has(c));
      if (!hit.length) continue;
      const at = t.provenance.element ? { loc: { line: t.provenance.element.line, column: t.provenance.element.column, offset: 0 } } : ctx.model.vcpu ?? ctx.model.root;
      // Ascending, runs folded: the emulator floating over 512 CPUs of 4,096 pinned vCPUs is `CPUs 0-511, which vCPUs 0-4095 …`.
      const owners = [...new Set(hit.flatMap((c) => dedicated.get(c)!))].sort((a, b) => a - b);
      const whose = owners.length === 1 ? `which vCPU ${owners[0]} is pinned to` : `which vCPUs ${idList(owners)} are pinned to`;
      ctx.report(at, `${name} may run on CPU${hit.length === 1 ? '' : 's'} ${idList(hit)}, ${whose} (${t.source})`, {
        hint: name === 'the emulator' ? 'add an <emulatorpin> on housekeeping CPUs' : `add an <iothreadpin> on housekeeping CPUs`,
      });
    }
  },
};
