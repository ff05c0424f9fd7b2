import { fieldRefused } from '../helpers.js';
import type { Rule } from '../types.js';

const NAMES = {
  shares: 'shares',
  period: 'period',
  quota: 'quota',
  globalPeriod: 'global_period',
  globalQuota: 'global_quota',
  emulatorPeriod: 'emulator_period',
  emulatorQuota: 'emulator_quota',
  iothreadPeriod: 'iothread_period',
  iothreadQuota: 'iothread_quota',
} as const;

/** V14: shares/period/quota values must parse (periods are unsigned). */
export const bandwidthSyntax: Rule = {
  code: 'CPUTUNE_VALUE_INVALID',
  severity: 'error',
  spec: 'V14',
  summary: '<cputune> shares/period/quota value not parseable (negative periods included)',
  check(ctx) {
    const ct = ctx.model.cputune;
    if (!ct) return;
    // libvirt reads them in NAMES' order, whatever the document's (LIBVIRT_ORDER steps).
    (Object.entries(NAMES) as [keyof typeof NAMES, string][]).forEach(([key, name], step) => {
      fieldRefused(ctx, ct[key], `<${name}>`, name.endsWith('quota') ? 'a quota is a whole number of microseconds; -1 means unlimited' : 'write a whole non-negative number', { step });
    });
  },
};
