import type { Rule } from '../types.js';

/** A thread allowed on several CPUs that include isolcpus CPUs is never balanced across them by the kernel. */
export const isolatedFloating: Rule = {
  code: 'FLOATING_OVER_ISOLATED_CPUS',
  severity: 'info',
  needsHost: true,
  spec: 'lint',
  summary: 'a thread floats over several CPUs that include isolated ones; the scheduler will not balance it there',
  check(ctx) {
    const isolated = ctx.host!.isolatedCpus;
    if (!isolated || isolated.isEmpty()) return;
    const m = ctx.model;
    const pins = [
      ...(m.cputune?.vcpupins ?? []).map((p) => ({ f: p.cpuset, what: `<vcpupin vcpu='${p.vcpu?.raw ?? '?'}'>` })),
      ...(m.cputune?.emulatorpins ?? []).map((p) => ({ f: p.cpuset, what: '<emulatorpin>' })),
      ...(m.cputune?.iothreadpins ?? []).map((p) => ({ f: p.cpuset, what: `<iothreadpin iothread='${p.iothread?.raw ?? '?'}'>` })),
    ];
    for (const { f, what } of pins) {
      const set = f?.value;
      if (!f || !set || set.size < 2) continue;
      const iso = set.intersect(isolated);
      if (!iso.isEmpty()) ctx.report(f.loc, `${what} lets the thread float over ${set}, including isolated CPUs ${iso}: the kernel does not balance tasks onto isolated CPUs, so it will stay where it starts`, { hint: 'pin to one isolated CPU, or use non-isolated CPUs for floating threads' });
    }
  },
};
