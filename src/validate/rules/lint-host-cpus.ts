import type { CpuSet } from '../../cpuset/index.js';
import type { Rule } from '../types.js';

/** Host: a pin naming CPUs the host does not have online makes the start fail (cgroup write refused). */
export const hostCpusAvailable: Rule = {
  code: 'HOST_CPU_NOT_ONLINE',
  severity: 'error',
  needsHost: true,
  spec: 'lint',
  summary: 'a pin or <vcpu cpuset> names host CPUs that are not online: the guest will not start',
  check(ctx) {
    const online = ctx.host!.onlineCpus;
    // `what` is a function: the element's name is built only for a report, not for each of thousands of pins.
    const check = (set: CpuSet | undefined, at: { loc: import('../../domain/index.js').Loc }, what: () => string): void => {
      if (!set) return;
      const missing = set.difference(online);
      if (!missing.isEmpty()) ctx.report(at, `${what()} names CPUs ${missing} that are not online on this host (online: ${online})`, { hint: 'libvirt fails the start when it writes this mask; pick online CPUs' });
    };
    const m = ctx.model;
    if (m.vcpu?.cpuset && !m.vcpu.cpuset.ignored) check(m.vcpu.cpuset.value, m.vcpu.cpuset, () => '<vcpu cpuset>');
    for (const p of m.cputune?.vcpupins ?? []) if (p.cpuset) check(p.cpuset.value, p.cpuset, () => `<vcpupin vcpu='${p.vcpu?.raw ?? '?'}'>`);
    for (const p of m.cputune?.emulatorpins ?? []) if (p.cpuset) check(p.cpuset.value, p.cpuset, () => '<emulatorpin>');
    for (const p of m.cputune?.iothreadpins ?? []) if (p.cpuset) check(p.cpuset.value, p.cpuset, () => `<iothreadpin iothread='${p.iothread?.raw ?? '?'}'>`);
  },
};
