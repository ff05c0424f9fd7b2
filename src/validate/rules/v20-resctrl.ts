import type { CpuSet } from '../../cpuset/index.js';
import { scaledBytes, type CacheAllocDef } from '../../domain/index.js';
import type { Rule, RuleContext } from '../types.js';

/** V20: resctrl groups need vcpus; cache allocations need id, level, type and a size libvirt can scale; no identical cachetune sets, no partial overlap; cachetune monitors at level 3 within the group. */
export const resctrl: Rule = {
  code: 'RESCTRL_INVALID',
  severity: 'error',
  spec: 'V20',
  summary: 'cachetune/memorytune: missing or bad vcpus, identical cachetunes, partial overlap, bad monitors',
  check(ctx) {
    const ct = ctx.model.cputune;
    if (!ct) return;
    const max = ctx.definition.maxVcpus;
    // Groups by set, and the group each vCPU belongs to: every element is compared once, with the
    // group(s) its vCPUs already belong to, not with every earlier element (10^4 tunes stay linear).
    const groups = new Map<string, { set: CpuSet; kind: string; line: number; cachetunes: number }>();
    const owner = new Map<number, { set: CpuSet; kind: string; line: number }>();
    for (const [kind, tunes] of [['cachetune', ct.cachetunes], ['memorytune', ct.memorytunes]] as const) {
      for (const t of tunes) {
        if (!t.vcpus) {
          ctx.report(t, `<${kind}> has no vcpus attribute`, { hint: "add vcpus='0-3'" });
          continue;
        }
        if (t.vcpus.error) {
          ctx.report(t.vcpus.loc, `<${kind} vcpus='${t.vcpus.raw}'> is refused: ${t.vcpus.error.message}`);
          continue;
        }
        const set = t.vcpus.value!.truncate(max - 1);
        if (set.isEmpty()) continue; // dropped silently (§7.12)
        const key = set.toString();
        const same = groups.get(key);
        if (same) {
          if (kind === 'cachetune' && same.cachetunes > 0) ctx.report(t, `<cachetune vcpus='${t.vcpus.raw}'> repeats the vCPU set of the cachetune at line ${same.line}`, { hint: 'merge them into one <cachetune>' });
          if (kind === 'cachetune') same.cachetunes++;
        } else {
          const other = set.ids().map((v) => owner.get(v)).find((g) => g !== undefined);
          if (other) {
            ctx.report(t, `<${kind} vcpus='${t.vcpus.raw}'> partly overlaps the ${other.kind} at line ${other.line} (vCPUs ${other.set.intersect(set)})`, { hint: 'resctrl groups must have equal or disjoint vCPU sets' });
          } else {
            const group = { set, kind, line: t.loc.line, cachetunes: kind === 'cachetune' ? 1 : 0 };
            groups.set(key, group);
            for (const v of set.ids()) owner.set(v, group);
          }
        }
        if (kind === 'cachetune') {
          const taken = new Map<string, string>();
          for (const c of (t as (typeof ct.cachetunes)[number]).caches) {
            cacheAttributes(ctx, c);
            const id = c.id?.value;
            const level = c.level?.value;
            const type = c.type?.value;
            if (id === undefined || level === undefined || type === undefined) continue;
            const key = `${level}/${id}`;
            const prev = taken.get(key);
            if (prev && (prev === type || prev === 'both' || type === 'both')) {
              ctx.report(c, `<cache id='${id}' level='${level}' type='${type}'> collides with type='${prev}' for the same cache`, { hint: "use either 'both' or separate 'code' and 'data'" });
            }
            taken.set(key, prev && prev !== type ? 'both' : type);
          }
        }
        for (const m of t.monitors) {
          if (kind === 'cachetune' && m.level && m.level.value !== 3) ctx.report(m.level.loc, `cache monitor level='${m.level.raw}': only level 3 can be monitored`);
          if (!m.vcpus) continue;
          if (m.vcpus.error) ctx.report(m.vcpus.loc, `<monitor vcpus='${m.vcpus.raw}'> is refused: ${m.vcpus.error.message}`);
          else if (m.vcpus.value!.isEmpty() || !m.vcpus.value!.isSubsetOf(t.vcpus.value!)) {
            ctx.report(m.vcpus.loc, `<monitor vcpus='${m.vcpus.raw}'> must name some of the group's vCPUs (${t.vcpus.value})`);
          }
        }
      }
    }
  },
};

/** virDomainCachetuneDefParseCache: every attribute is required and the size must scale to at most 2^64-1 bytes. */
function cacheAttributes(ctx: RuleContext, c: CacheAllocDef): void {
  for (const [name, f] of [['id', c.id], ['level', c.level], ['type', c.type], ['size', c.size]] as const) {
    if (!f) ctx.report(c, `<cache> has no ${name} attribute`, { hint: "write e.g. <cache id='0' level='3' type='both' size='3' unit='MiB'/>" });
    else if (f.error) ctx.report(f.loc, `<cache ${name}='${f.raw}'> is refused: ${f.error.message}`);
  }
  if (c.size?.value === undefined) return;
  const scaled = scaledBytes(c.size.value, c.unit?.value);
  if ('error' in scaled) ctx.report(c.unit?.loc ?? c.size.loc, `<cache size='${c.size.raw}'${c.unit ? ` unit='${c.unit.raw}'` : ''}> is refused: ${scaled.error}`, { hint: "units are B, KiB, MiB, GiB… (powers of 1024) or KB, MB, GB… (powers of 1000); no unit means KiB" });
}
