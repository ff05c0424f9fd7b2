import type { ElementRef } from '../../domain/index.js';
import { idList, isAscending } from '../helpers.js';
import type { Rule } from '../types.js';

const HINT = { hint: 'give each dedicated vCPU its own host CPU (virt-pin pin can write the layout)' } as const;

/** The vCPUs pinned to one host CPU alone, and where the second of them (the first to take turns) is pinned. */
interface Sharing {
  cpu: number;
  vcpus: number[];
  at: ElementRef;
}

/**
 * Two or more vCPUs pinned each to the same single CPU take turns on it:
 * almost always a typo. One finding per such CPU, naming all its vCPUs, at
 * the <vcpupin> of the second one: a 4,096-vCPU guest on 512 CPUs has 512
 * such CPUs, not 3,584 warnings that differ only in a number.
 */
export const sharedDedicated: Rule = {
  code: 'PIN_SHARED_SINGLE_CPU',
  severity: 'warning',
  spec: 'lint',
  summary: 'two or more vCPUs are each pinned to one and the same host CPU',
  check(ctx) {
    const byCpu = new Map<number, Sharing | number>();
    // In the order the second vCPU of each CPU is met (where the finding is placed).
    const shared: Sharing[] = [];
    for (const v of ctx.definition.vcpus) {
      const cpus = v.pin?.cpus;
      if (!cpus || cpus.size !== 1) continue;
      const cpu = cpus.min()!;
      const seen = byCpu.get(cpu);
      if (seen === undefined) byCpu.set(cpu, v.id);
      else if (typeof seen === 'number') {
        const s: Sharing = { cpu, vcpus: [seen, v.id], at: v.pin!.from };
        byCpu.set(cpu, s);
        shared.push(s);
      } else seen.vcpus.push(v.id);
    }
    for (const { cpu, vcpus, at } of shared) {
      if (vcpus.length === 2) {
        ctx.report(at, `vCPUs ${vcpus[0]} and ${vcpus[1]} are both pinned to CPU ${cpu} alone and will take turns on it`, HINT);
        continue;
      }
      // Already ascending when the definition lists vCPUs by id (it does); a sort per CPU cost more than the rule.
      const ids = isAscending(vcpus) ? vcpus : vcpus.slice().sort((a, b) => a - b);
      ctx.report(at, `${ids.length} vCPUs (${idList(ids)}) are all pinned to CPU ${cpu} alone and will take turns on it`, HINT);
    }
  },
};
