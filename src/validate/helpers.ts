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
