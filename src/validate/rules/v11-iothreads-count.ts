import type { Rule } from '../types.js';

/** V11: `<iothreads>` must be an unsigned integer. */
export const iothreadsCount: Rule = {
  code: 'IOTHREADS_COUNT_INVALID',
  severity: 'error',
  spec: 'V11',
  summary: '<iothreads> is not an unsigned integer',
  check(ctx) {
    const f = ctx.model.iothreads;
    if (f?.error) ctx.report(f.loc, `<iothreads>${f.raw}</iothreads> is refused: ${f.error.message}`, { hint: 'write a plain count, e.g. <iothreads>2</iothreads>' });
  },
};
