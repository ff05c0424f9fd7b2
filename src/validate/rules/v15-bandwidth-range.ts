import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

const PERIODS = [['period', 'period'], ['globalPeriod', 'global_period'], ['emulatorPeriod', 'emulator_period'], ['iothreadPeriod', 'iothread_period']] as const;
const QUOTAS = [['quota', 'quota'], ['globalQuota', 'global_quota'], ['emulatorQuota', 'emulator_quota'], ['iothreadQuota', 'iothread_quota']] as const;
const QUOTA_MAX = 17592186044415n;

/**
 * V15: positive periods within 1000..1000000, positive quotas within
 * 1000..17592186044415; before libvirt 9.1 also a non-zero <shares> within
 * 2..262144 (LIBVIRT_CHANGES shares-range).
 */
export const bandwidthRange: Rule = {
  code: 'CPUTUNE_VALUE_OUT_OF_RANGE',
  severity: 'error',
  spec: 'V15',
  summary: 'a positive period outside 1000..1000000 or a positive quota outside 1000..17592186044415; with libvirt < 9.1 a non-zero shares outside 2..262144',
  check(ctx) {
    const ct = ctx.model.cputune;
    if (!ct) return;
    // libvirt checks (9.0: shares,) the periods, then the quotas, whatever the document's order (LIBVIRT_ORDER steps).
    PERIODS.forEach(([key, name], i) => {
      const v = ct[key]?.value;
      if (v !== undefined && v > 0n && (v < 1000n || v > 1000000n)) ctx.report(ct[key]!.loc, `<${name}>${v}</${name}> is outside 1000..1000000 µs`, { hint: 'use 100000 (100 ms) unless you have a reason', order: { step: 1 + i } });
    });
    const shares = ct.shares?.value;
    if (shares !== undefined && shares !== 0n && (shares < 2n || shares > 262144n) && !hasChange(ctx.definition.libvirtVersion, 'shares-range')) {
      ctx.report(ct.shares!.loc, `<shares>${shares}</shares> is outside 2..262144, which libvirt before 9.1 refuses`, { hint: 'use 1024 (the default weight) or a value in 2..262144', order: { step: 0 } });
    }
    QUOTAS.forEach(([key, name], i) => {
      const v = ct[key]?.value;
      if (v !== undefined && v > 0n && (v < 1000n || v > QUOTA_MAX)) ctx.report(ct[key]!.loc, `<${name}>${v}</${name}> is outside 1000..${QUOTA_MAX} µs`, { hint: 'use -1 for unlimited', order: { step: 1 + PERIODS.length + i } });
    });
  },
};
