import { hasChange } from '../../domain/index.js';
import { fieldRefused, missing } from '../helpers.js';
import type { Rule } from '../types.js';

/** V12: IOThread ids required, non-zero, unique; thread_pool_* not negative. */
export const iothreadIds: Rule = {
  code: 'IOTHREAD_ID_INVALID',
  severity: 'error',
  spec: 'V12',
  summary: 'iothread id missing, zero, non-numeric or duplicate; negative thread_pool_*',
  check(ctx) {
    const seen = new Set<number>();
    for (const e of ctx.model.iothreadids?.entries ?? []) {
      if (!e.id) missing(ctx, e, 'iothread', 'id', "id='1'");
      else if (!fieldRefused(ctx, e.id, '<iothread id>', 'ids are positive numbers')) {
        if (e.id.value === 0) ctx.report(e.id.loc, "<iothread id='0'>: IOThread ids start at 1", { hint: "use id='1' or higher" });
        else if (seen.has(e.id.value!)) ctx.report(e.id.loc, `IOThread id ${e.id.value} is listed twice`, { hint: 'give each <iothread> its own id' });
        else seen.add(e.id.value!);
      }
      // libvirt before 8.5 does not read the pool sizes at all (LIBVIRT_CHANGES 'iothread-thread-pool').
      if (!hasChange(ctx.definition.libvirtVersion, 'iothread-thread-pool')) continue;
      for (const [f, name] of [[e.threadPoolMin, 'thread_pool_min'], [e.threadPoolMax, 'thread_pool_max']] as const) {
        if (fieldRefused(ctx, f, `<iothread ${name}>`)) continue;
        if (f?.value !== undefined && f.value < 0) ctx.report(f.loc, `${name}='${f.raw}' is negative`, { hint: 'use 0 or more' });
      }
    }
  },
};
