import type { CpuSet } from '../../cpuset/index.js';
import type { Loc } from '../../domain/index.js';
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
    // Hosts usually have one run of online CPUs: a set between its ends needs no difference (a new set per pin).
    const [first, last] = online.ranges().length === 1 ? [online.min()!, online.max()!] : [1, 0];
    /** The CPUs of `set` that are not online, or undefined when all are. */
    const offline = (set: CpuSet | undefined): CpuSet | undefined => {
      if (!set || set.isEmpty() || (set.min()! >= first && set.max()! <= last)) return undefined;
      const missing = set.difference(online);
      return missing.isEmpty() ? undefined : missing;
    };
    // The element's name is built only for a report, not for each of thousands of pins.
    const report = (at: { loc: Loc }, what: string, missing: CpuSet): void =>
      ctx.report(at, `${what} names CPUs ${missing} that are not online on this host (online: ${online})`, { hint: 'libvirt fails the start when it writes this mask; pick online CPUs' });
    const m = ctx.model;
    let missing: CpuSet | undefined;
    if (m.vcpu?.cpuset && !m.vcpu.cpuset.ignored && (missing = offline(m.vcpu.cpuset.value))) report(m.vcpu.cpuset, '<vcpu cpuset>', missing);
    for (const p of m.cputune?.vcpupins ?? []) if (p.cpuset && (missing = offline(p.cpuset.value))) report(p.cpuset, `<vcpupin vcpu='${p.vcpu?.raw ?? '?'}'>`, missing);
    for (const p of m.cputune?.emulatorpins ?? []) if (p.cpuset && (missing = offline(p.cpuset.value))) report(p.cpuset, '<emulatorpin>', missing);
    for (const p of m.cputune?.iothreadpins ?? []) if (p.cpuset && (missing = offline(p.cpuset.value))) report(p.cpuset, `<iothreadpin iothread='${p.iothread?.raw ?? '?'}'>`, missing);
  },
};
