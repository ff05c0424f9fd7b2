import type { Rule } from '../types.js';

const PERIODS = [['period', 'period'], ['globalPeriod', 'global_period'], ['emulatorPeriod', 'emulator_period'], ['iothreadPeriod', 'iothread_period']] as const;
const QUOTAS = [['quota', 'quota'], ['globalQuota', 'global_quota'], ['emulatorQuota', 'emulator_quota'], ['iothreadQuota', 'iothread_quota']] as const;
const QUOTA_MAX = 17592186044415n;

/** V15: positive periods within 1000..1000000, positive quotas within 1000..17592186044415. */
export const bandwidthRange: Rule = {
  code: 'CPUTUNE_VALUE_OUT_OF_RANGE',
  severity: 'error',
  spec: 'V15',
  summary: 'a positive period outside 1000..1000000 or a positive quota outside 1000..17592186044415',
  check(ctx) {
    const ct = ctx.model.cputune;
    if (!ct) return;
    for (const [key, name] of PERIODS) {
      const v = ct[key]?.value;
      if (v !== undefined && v > 0n && (v < 1000n || v > 1000000n)) ctx.report(ct[key]!.loc, `<${name}>${v}</${name}> is outside 1000..1000000 µs`, { hint: 'use 100000 (100 ms) unless you have a reason' });
    }
    for (const [key, name] of QUOTAS) {
      const v = ct[key]?.value;
      if (v !== undefined && v > 0n && (v < 1000n || v > QUOTA_MAX)) ctx.report(ct[key]!.loc, `<${name}>${v}</${name}> is outside 1000..${QUOTA_MAX} µs`, { hint: 'use -1 for unlimited' });
    }
  },
};
