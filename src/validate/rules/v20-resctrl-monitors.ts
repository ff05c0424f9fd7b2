import type { ResctrlMonitorDef } from '../../domain/index.js';
import type { OrderHint } from '../libvirt-order.js';
import { resctrlWalk } from '../resctrl-groups.js';
import type { Rule } from '../types.js';

/**
 * V20 (monitors), virDomainResctrlMonDefParse and
 * virDomainResctrlValidateMonitor: a cache monitor needs level='3'; monitor
 * vcpus are cut to the domain's vCPUs first, and what is left must not be
 * empty, must lie within the group, must not repeat another monitor of the
 * same kind, and must not overlap another monitor (unless one of the two
 * covers the whole group of an allocating tune).
 */
export const resctrlMonitors: Rule = {
  code: 'RESCTRL_MONITOR_INVALID',
  severity: 'error',
  spec: 'V20',
  summary: '<monitor>: cache monitor without level 3, missing/bad/empty vcpus, vcpus outside the group, identical or overlapping monitors',
  check(ctx) {
    const ct = ctx.model.cputune;
    if (!ct || (!ct.cachetunes.some((t) => t.monitors.length) && !ct.memorytunes.some((t) => t.monitors.length))) return;
    // libvirt finishes each tune before the next (LIBVIRT_ORDER): a monitor's finding sorts by its tune.
    const tuneOf = new Map<ResctrlMonitorDef, OrderHint>();
    for (const t of ct.cachetunes) for (const m of t.monitors) tuneOf.set(m, { anchor: t.loc, stage: 'parse-cachetune' });
    for (const t of ct.memorytunes) for (const m of t.monitors) tuneOf.set(m, { anchor: t.loc, stage: 'parse-memorytune' });
    for (const [m, v] of resctrlWalk(ctx.model, ctx.definition).monitors) {
      if (v.ok) continue;
      const order = tuneOf.get(m);
      const report = (at: Parameters<typeof ctx.report>[0], message: string, extra: { hint?: string } = {}): void => ctx.report(at, message, { ...extra, ...(order ? { order } : {}) });
      const vcpus = `<monitor vcpus='${m.vcpus?.raw ?? ''}'>`;
      switch (v.why) {
        case 'level-missing':
          report(m, "a cache <monitor> has no level attribute, which libvirt requires", { hint: "write <monitor level='3' vcpus='…'/>" });
          break;
        case 'level-bad':
          report(m.level!.loc, `<monitor level='${m.level!.raw}'> is refused: ${m.level!.error?.message ?? 'not a non-negative integer'}`);
          break;
        case 'level-not-3':
          report(m.level!.loc, `cache monitor level='${m.level!.raw}': only level 3 can be monitored`);
          break;
        case 'vcpus-missing':
          report(m, '<monitor> has no vcpus attribute, which libvirt requires', { hint: "write <monitor vcpus='0'/>" });
          break;
        case 'vcpus-bad':
          report(m.vcpus!.loc, `${vcpus} is refused: ${m.vcpus!.error?.message ?? 'not a vCPU list'}`);
          break;
        case 'empty':
          report(m.vcpus!.loc, `${vcpus} names no vCPU below the maximum ${ctx.definition.maxVcpus} (libvirt: "vcpus is empty")`);
          break;
        case 'outside-group':
          report(m.vcpus!.loc, `${vcpus} must name only vCPUs of its group`);
          break;
        case 'identical':
          report(m.vcpus!.loc, `${vcpus} repeats the vCPUs of the monitor at line ${v.other!.loc.line}`, { hint: 'one monitor per vCPU set and kind' });
          break;
        case 'overlap':
          report(m.vcpus!.loc, `${vcpus} overlaps another monitor of the group`, { hint: 'monitors must be disjoint unless one of them covers the whole group' });
          break;
      }
    }
  },
};
