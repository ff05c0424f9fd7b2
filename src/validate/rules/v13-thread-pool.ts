import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

/** V13: thread_pool_max may not be 0 nor below thread_pool_min (an unset max counts as -1). */
export const threadPool: Rule = {
  code: 'IOTHREAD_POOL_INVALID',
  severity: 'error',
  spec: 'V13',
  summary: 'thread_pool_max = 0, or thread_pool_min > thread_pool_max (unset max = -1)',
  check(ctx) {
    // libvirt before 8.5 does not read the pool sizes at all (LIBVIRT_CHANGES 'iothread-thread-pool').
    if (!hasChange(ctx.definition.libvirtVersion, 'iothread-thread-pool')) return;
    const check = (min: number | undefined, max: number | undefined, at: { loc: import('../../domain/index.js').Loc }, what: string): void => {
      const lo = min ?? -1;
      const hi = max ?? -1;
      if (max === 0) ctx.report(at, `${what}: thread_pool_max='0' leaves no worker thread`, { hint: 'use 1 or more, or leave it out' });
      else if (lo > hi) {
        ctx.report(at, `${what}: thread_pool_min (${lo}) is above thread_pool_max (${max === undefined ? 'unset, which libvirt stores as -1' : hi})`, {
          hint: max === undefined ? 'set thread_pool_max too: libvirt compares against -1 when it is missing' : 'make min ≤ max',
        });
      }
    };
    for (const e of ctx.model.iothreadids?.entries ?? []) {
      const min = e.threadPoolMin?.value;
      const max = e.threadPoolMax?.value;
      if ((min !== undefined && min >= 0) || (max !== undefined && max >= 0)) check(min, max, e, `<iothread id='${e.id?.raw ?? '?'}'>`);
    }
    const d = ctx.model.defaultIOThread;
    if (d && (d.threadPoolMin?.value !== undefined || d.threadPoolMax?.value !== undefined)) check(d.threadPoolMin?.value, d.threadPoolMax?.value, d, '<defaultiothread>');
  },
};
