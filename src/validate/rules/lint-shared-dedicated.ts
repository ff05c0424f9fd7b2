import type { Rule } from '../types.js';

const HINT = { hint: 'give each dedicated vCPU its own host CPU (virt-pin pin can write the layout)' } as const;

/** Two vCPUs pinned each to the same single CPU take turns on it: almost always a typo. */
export const sharedDedicated: Rule = {
  code: 'PIN_SHARED_SINGLE_CPU',
  severity: 'warning',
  spec: 'lint',
  summary: 'two vCPUs are each pinned to one and the same host CPU',
  check(ctx) {
    const owner = new Map<number, number>();
    for (const v of ctx.definition.vcpus) {
      const cpus = v.pin?.cpus;
      if (!cpus || cpus.size !== 1) continue;
      const cpu = cpus.min()!;
      const other = owner.get(cpu);
      if (other === undefined) owner.set(cpu, v.id);
      // join() makes one flat string: a template keeps ~5 concatenation nodes per message alive, and a large
      // domain can report this for thousands of vCPUs. The hint object is shared.
      else ctx.report(v.pin!.from, ['vCPUs ', other, ' and ', v.id, ' are both pinned to CPU ', cpu, ' alone and will take turns on it'].join(''), HINT);
    }
  },
};
