import { scaledBytes, type CacheAllocDef, type CacheTuneDef } from '../../domain/index.js';
import { resctrlWalk } from '../resctrl-groups.js';
import type { OrderHint } from '../libvirt-order.js';
import type { Rule, RuleContext } from '../types.js';

/**
 * V20: resctrl groups need vcpus; no two cachetunes with one vCPU set; groups
 * are equal or disjoint (compared with the groups libvirt kept so far: an
 * empty tune is dropped before later ones are compared with it); cache
 * allocations need id, level, type and a size libvirt can scale, without
 * collisions. A tune whose vCPUs all lie past the maximum is ignored before
 * any of this (its caches are never read). Memory bandwidth nodes and
 * monitors have their own rules (V20 memorytune nodes, V20 monitors).
 */
export const resctrl: Rule = {
  code: 'RESCTRL_INVALID',
  severity: 'error',
  spec: 'V20',
  summary: 'cachetune/memorytune: missing or bad vcpus, identical cachetunes, partial overlap, bad or colliding cache allocations',
  check(ctx) {
    if (!ctx.model.cputune) return;
    for (const step of resctrlWalk(ctx.model, ctx.definition).steps) {
      const t = step.element;
      const kind = step.kind;
      // libvirt finishes each tune before the next (LIBVIRT_ORDER): every finding sorts by its tune.
      const order: OrderHint = { anchor: t.loc, stage: kind === 'cachetune' ? 'parse-cachetune' : 'parse-memorytune' };
      if (step.outcome === 'bad-vcpus') {
        if (!t.vcpus) ctx.report(t, `<${kind}> has no vcpus attribute`, { hint: "add vcpus='0-3'", order });
        else ctx.report(t.vcpus.loc, `<${kind} vcpus='${t.vcpus.raw}'> is refused: ${t.vcpus.error?.message ?? 'not a vCPU list'}`, { order });
        continue;
      }
      if (step.outcome === 'no-vcpus-left') continue; // ignored by libvirt (RESCTRL_GROUP_DROPPED, §7.12)
      if (step.outcome === 'identical-cachetune') {
        ctx.report(t, `<cachetune vcpus='${t.vcpus!.raw}'> repeats the vCPU set of the cachetune at line ${step.other.first.loc.line}`, { hint: 'merge them into one <cachetune>', order });
        continue;
      }
      if (step.outcome === 'overlap') {
        ctx.report(t, `<${kind} vcpus='${t.vcpus!.raw}'> partly overlaps the ${step.other.kind} at line ${step.other.first.loc.line} (vCPUs ${step.other.vcpus.intersect(step.vcpus)})`, { hint: 'resctrl groups must have equal or disjoint vCPU sets', order });
        continue;
      }
      if (kind !== 'cachetune') continue;
      const taken = new Map<string, string>();
      for (const c of (t as CacheTuneDef).caches) {
        cacheAttributes(ctx, c, order);
        const id = c.id?.value;
        const level = c.level?.value;
        const type = c.type?.value;
        if (id === undefined || level === undefined || type === undefined) continue;
        const key = `${level}/${id}`;
        const prev = taken.get(key);
        if (prev && (prev === type || prev === 'both' || type === 'both')) {
          ctx.report(c, `<cache id='${id}' level='${level}' type='${type}'> collides with type='${prev}' for the same cache`, { hint: "use either 'both' or separate 'code' and 'data'", order });
        }
        taken.set(key, prev && prev !== type ? 'both' : type);
      }
    }
  },
};

/** virDomainCachetuneDefParseCache: every attribute is required and the size must scale to at most 2^64-1 bytes. */
function cacheAttributes(ctx: RuleContext, c: CacheAllocDef, order: OrderHint): void {
  for (const [name, f] of [['id', c.id], ['level', c.level], ['type', c.type], ['size', c.size]] as const) {
    if (!f) ctx.report(c, `<cache> has no ${name} attribute`, { hint: "write e.g. <cache id='0' level='3' type='both' size='3' unit='MiB'/>", order });
    else if (f.error) ctx.report(f.loc, `<cache ${name}='${f.raw}'> is refused: ${f.error.message}`, { order });
  }
  if (c.size?.value === undefined) return;
  const scaled = scaledBytes(c.size.value, c.unit?.value);
  if ('error' in scaled) ctx.report(c.unit?.loc ?? c.size.loc, `<cache size='${c.size.raw}'${c.unit ? ` unit='${c.unit.raw}'` : ''}> is refused: ${scaled.error}`, { hint: "units are B, KiB, MiB, GiB… (powers of 1024) or KB, MB, GB… (powers of 1000); no unit means KiB", order });
}
