import { CpuSet, MAX_CPUSET_ID } from '../../cpuset/index.js';
import type { SchedDef } from '../../domain/index.js';
import { ordered } from '../helpers.js';
import type { LibvirtStageId } from '../libvirt-order.js';
import type { Rule, RuleContext } from '../types.js';

/** V19: sched elements need their list, a known scheduler, a priority for fifo/rr, existing threads, no overlap; one emulatorsched. */
export const sched: Rule = {
  code: 'SCHED_INVALID',
  severity: 'error',
  spec: 'V19',
  summary: 'vcpusched/iothreadsched/emulatorsched: missing list, unknown scheduler, missing priority, unknown or repeated thread',
  check(rule) {
    // libvirt parses every <vcpusched>, then every <iothreadsched>, then counts and parses <emulatorsched>
    // (LIBVIRT_ORDER stages, whatever the document order); inside one element the list attribute, then the
    // scheduler and priority, then each thread's existence and overlap. The helpers report through `ctx`,
    // set per element and step.
    let ctx = rule;
    const at = (stage: LibvirtStageId, s: SchedDef, step: number): RuleContext => ordered(rule, { stage, anchor: s.loc, step });
    const ct = ctx.model.cputune;
    if (!ct) return;
    const common = (s: SchedDef, name: string): boolean => {
      if (!s.scheduler) {
        ctx.report(s, `<${name}> has no scheduler`, { hint: "add scheduler='fifo', 'rr', 'batch' or 'idle'" });
        return false;
      }
      if (s.scheduler.error) {
        ctx.report(s.scheduler.loc, `scheduler='${s.scheduler.raw}' is not batch, idle, fifo or rr`);
        return false;
      }
      const rt = s.scheduler.value === 'fifo' || s.scheduler.value === 'rr';
      if (rt && !s.priority) ctx.report(s, `scheduler='${s.scheduler.value}' needs a priority`, { hint: "add priority='1' (1..99)" });
      else if (rt && s.priority?.error) ctx.report(s.priority.loc, `priority='${s.priority.raw}' is not an integer`);
      return true;
    };
    // Set algebra on ranges, not id by id: vcpus='0-16383' must not cost 16,384 steps per element.
    const lists = (items: SchedDef[], name: 'vcpusched' | 'iothreadsched', attr: string, existing: CpuSet, what: string): void => {
      const stage = name === 'vcpusched' ? 'parse-vcpusched' : 'parse-iothreadsched';
      let taken = CpuSet.empty();
      for (const s of items) {
        ctx = at(stage, s, 1);
        common(s, name);
        ctx = at(stage, s, 0);
        if (!s.ids) {
          ctx.report(s, `<${name}> has no ${attr} attribute; libvirt's parser requires it although the schema does not`, { hint: `add ${attr}='0'` });
          continue;
        }
        if (s.ids.error) {
          ctx.report(s.ids.loc, `${attr}='${s.ids.raw}' is refused: ${s.ids.error.message}`);
          continue;
        }
        const set = s.ids.value!;
        if (set.isEmpty()) ctx.report(s.ids.loc, `${attr}='${s.ids.raw}' names no ${what}`);
        ctx = at(stage, s, 2);
        const unknown = set.difference(existing);
        if (!unknown.isEmpty()) {
          ctx.report(s.ids.loc, `${attr}='${s.ids.raw}' names ${what}s that do not exist: ${unknown.ranges().map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')}`, {
            hint: what === 'vCPU' ? `vCPUs run from 0 to ${ctx.definition.maxVcpus - 1}; unlike <vcpupin>, sched elements may not name more (the kvm-realtime guide's vcpus='0-4' for 4 vCPUs is refused)` : `the IOThread ids are ${ctx.definition.iothreads.map((t) => t.id).join(', ') || 'none'}`,
          });
        }
        const overlap = set.intersect(taken);
        if (!overlap.isEmpty()) ctx.report(s.ids.loc, `${what}s ${overlap.ranges().map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')} already got a scheduler from an earlier <${name}>`, { hint: 'give each thread one scheduler' });
        taken = taken.union(set);
      }
    };
    const max = ctx.definition.maxVcpus;
    lists(ct.vcpuscheds, 'vcpusched', 'vcpus', max > 0 ? CpuSet.range(0, max - 1) : CpuSet.empty(), 'vCPU');
    lists(ct.iothreadscheds, 'iothreadsched', 'iothreads', CpuSet.fromIds(rule.definition.iothreads.map((t) => t.id).filter((id) => id <= MAX_CPUSET_ID)), 'IOThread');
    const [first, ...more] = ct.emulatorscheds;
    if (!first) return;
    // Counted before the first one is read.
    ctx = at('parse-emulatorsched', first, -1);
    more.forEach((s) => ctx.report(s, 'a second <emulatorsched>', { hint: 'keep one' }));
    for (const s of ct.emulatorscheds) {
      ctx = at('parse-emulatorsched', s, 0);
      common(s, 'emulatorsched');
    }
  },
};

export type { RuleContext };
