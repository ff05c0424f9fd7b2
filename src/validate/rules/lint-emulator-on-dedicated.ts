import type { CpuSet } from '../../cpuset/index.js';
import { idList, isAscending } from '../helpers.js';
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
    // A vCPU is in one list at most, so the lists of different CPUs never overlap.
    const dedicated = new Map<number, number[]>();
    let maxVcpu = -1;
    for (const v of r.vcpus) {
      if (typeof v.cpus === 'string' || v.cpus.size !== 1 || v.source !== 'vcpupin') continue;
      const cpu = v.cpus.min()!;
      const owners = dedicated.get(cpu);
      if (owners) owners.push(v.id);
      else dedicated.set(cpu, [v.id]);
      if (v.id > maxVcpu) maxVcpu = v.id;
    }
    if (!dedicated.size) return;
    /** "CPUs 0-511, which vCPUs 0-4095 are pinned to", or null: once per mask, as threads that inherit one mask share its CpuSet. */
    const described = new Map<CpuSet, string | null>();
    const describe = (cpus: CpuSet): string | null => {
      const hit = cpus.ids().filter((c) => dedicated.has(c));
      if (!hit.length) return null;
      let owners: readonly number[];
      if (hit.length === 1) owners = dedicated.get(hit[0]!)!;
      else {
        // Ascending without a sort or a Set: mark each owner, then read the marks in order.
        const marked = new Uint8Array(maxVcpu + 1);
        for (const c of hit) for (const id of dedicated.get(c)!) marked[id] = 1;
        const all: number[] = [];
        for (let id = 0; id <= maxVcpu; id++) if (marked[id]) all.push(id);
        owners = all;
      }
      if (!isAscending(owners)) owners = owners.slice().sort((a, b) => a - b);
      const whose = owners.length === 1 ? `which vCPU ${owners[0]} is pinned to` : `which vCPUs ${idList(owners)} are pinned to`;
      return `CPU${hit.length === 1 ? '' : 's'} ${idList(hit)}, ${whose}`;
    };
    const threads = [{ name: 'the emulator', t: r.emulator }, ...r.iothreads.map((t) => ({ name: `IOThread ${t.id}`, t }))];
    for (const { name, t } of threads) {
      if (typeof t.cpus === 'string') continue;
      let what = described.get(t.cpus);
      if (what === undefined) described.set(t.cpus, (what = describe(t.cpus)));
      if (what === null) continue;
      const at = t.provenance.element ? { loc: { line: t.provenance.element.line, column: t.provenance.element.column, offset: 0 } } : ctx.model.vcpu ?? ctx.model.root;
      // Ascending, runs folded: the emulator floating over 512 CPUs of 4,096 pinned vCPUs is `CPUs 0-511, which vCPUs 0-4095 …`.
      ctx.report(at, `${name} may run on ${what} (${t.source})`, {
        hint: name === 'the emulator' ? 'add an <emulatorpin> on housekeeping CPUs' : `add an <iothreadpin> on housekeeping CPUs`,
      });
    }
  },
};
