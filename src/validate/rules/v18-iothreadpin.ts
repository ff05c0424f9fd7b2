import { missing } from '../helpers.js';
import type { Rule } from '../types.js';

/** V18: iothreadpin names an existing IOThread (after auto-fill) once, with a valid non-empty cpuset. */
export const iothreadpin: Rule = {
  code: 'IOTHREADPIN_INVALID',
  severity: 'error',
  spec: 'V18',
  summary: 'iothreadpin id missing, zero or unknown; bad or empty cpuset; duplicate',
  check(ctx) {
    const ids = new Set(ctx.definition.iothreads.map((t) => t.id));
    const seen = new Set<number>();
    for (const p of ctx.model.cputune?.iothreadpins ?? []) {
      if (!p.iothread) missing(ctx, p, 'iothreadpin', 'iothread', "iothread='1'");
      else if (p.iothread.error) ctx.report(p.iothread.loc, `<iothreadpin iothread='${p.iothread.raw}'> is refused: ${p.iothread.error.message}`);
      else if (p.iothread.value === 0) ctx.report(p.iothread.loc, "<iothreadpin iothread='0'>: IOThread ids start at 1");
      else if (!ids.has(p.iothread.value!)) {
        const known = [...ids].join(', ');
        ctx.report(p.iothread.loc, `<iothreadpin iothread='${p.iothread.value}'> names an IOThread the domain does not have`, { hint: known ? `the domain's IOThread ids are ${known}` : 'add <iothreads>N</iothreads> first' });
      } else if (seen.has(p.iothread.value!)) ctx.report(p, `IOThread ${p.iothread.value} is pinned twice`, { hint: 'keep one <iothreadpin> per IOThread' });
      else seen.add(p.iothread.value!);
      if (!p.cpuset) missing(ctx, p, 'iothreadpin', 'cpuset', "cpuset='0-1'");
      else if (p.cpuset.error) ctx.report(p.cpuset.loc, `<iothreadpin cpuset='${p.cpuset.raw}'> is refused: ${p.cpuset.error.message}`);
      else if (p.cpuset.value!.isEmpty()) ctx.report(p.cpuset.loc, `<iothreadpin cpuset='${p.cpuset.raw}'> names no CPU`);
    }
  },
};
