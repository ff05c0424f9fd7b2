import type { Rule } from '../types.js';

/** Values libvirt defines but cannot start with on Linux: RT priority outside 1..99, shares=0. */
export const startFailures: Rule = {
  code: 'FAILS_AT_START',
  severity: 'warning',
  spec: 'lint',
  summary: 'defines fine but fails when the guest starts (RT priority outside 1..99, shares 0)',
  check(ctx) {
    const ct = ctx.model.cputune;
    if (!ct) return;
    for (const s of [...ct.vcpuscheds, ...ct.iothreadscheds, ...ct.emulatorscheds]) {
      const rt = s.scheduler?.value === 'fifo' || s.scheduler?.value === 'rr';
      const p = s.priority?.value;
      if (rt && p !== undefined && (p < 1 || p > 99)) ctx.report(s.priority!.loc, `priority='${p}' is outside the kernel's real-time range 1..99: libvirt accepts it, the start fails`, { hint: "use priority='1' (the kvm-realtime guide's value)" });
    }
    if (ct.shares?.value === 0n) ctx.report(ct.shares.loc, '<shares>0</shares> is stored but no cgroup version accepts 0: the start fails', { hint: 'leave <shares> out, or use 1024' });
  },
};
