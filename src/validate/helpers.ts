/** Small helpers shared by rules: reporting Field errors in one shape. */
import type { Field, Loc } from '../domain/index.js';
import type { OrderHint } from './libvirt-order.js';
import type { RuleContext } from './types.js';

export interface Located {
  loc: Loc;
  path?: string;
}

/** Report a value libvirt's parser refuses; returns true when it did. */
export function fieldRefused<T>(ctx: RuleContext, f: Field<T> | undefined, what: string, hint?: string, order?: OrderHint): boolean {
  if (!f?.error) return false;
  const at = f.error.position !== undefined ? { ...f.loc, column: f.loc.column } : f.loc;
  ctx.report(at, `${what} '${f.raw}' is refused: ${f.error.message}`, { ...(hint ? { hint } : {}), ...(order ? { order } : {}) });
  return true;
}

/** Report a missing required attribute. */
export function missing(ctx: RuleContext, at: Located, element: string, attr: string, example: string, order?: OrderHint): void {
  ctx.report(at, `<${element}> has no ${attr} attribute, which libvirt requires`, { hint: `write it, e.g. ${example}`, ...(order ? { order } : {}) });
}

/**
 * The same context, every report placed by `hint` in libvirt's order
 * (LIBVIRT_ORDER): a stage, the element libvirt is walking, a step inside it.
 */
export function ordered(ctx: RuleContext, hint: OrderHint): RuleContext {
  return { ...ctx, report: (at, message, extra = {}) => ctx.report(at, message, { ...extra, order: { ...hint, ...extra.order } }) };
}

/**
 * Ascending ids as a list with runs of three or more folded: `0-3, 8, 12, 13`
 * (a pair stays a pair, as findings always wrote it). vCPU ids can exceed
 * what a CpuSet holds, so this does not go through one.
 */
export function idList(ids: readonly number[]): string {
  const out: string[] = [];
  for (let k = 0; k < ids.length; ) {
    let j = k;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    if (j - k >= 2) {
      out.push(`${ids[k]}-${ids[j]}`);
      k = j + 1;
    } else out.push(`${ids[k++]}`);
  }
  return out.join(', ');
}

/** Whether the ids are in ascending order (lists built in vCPU order are; checking is cheaper than sorting). */
export function isAscending(ids: readonly number[]): boolean {
  for (let k = 1; k < ids.length; k++) if (ids[k - 1]! > ids[k]!) return false;
  return true;
}
