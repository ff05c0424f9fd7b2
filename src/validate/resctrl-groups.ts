/**
 * libvirt's resctrl parse as a sequence (domain_conf.c: every <cachetune>,
 * then every <memorytune>, each: vcpus → cut to the domain's vCPUs → nothing
 * left: ignored → match against the groups made so far (equal set: same
 * group, overlap: refused) → allocations → monitors → appended only when it
 * has allocations or monitors). The V20 rules read this one walk so they
 * agree on which element reaches which check, and on what a group holds when
 * a later element is compared with it. Pure; computed once per model.
 */
import { CpuSet } from '../cpuset/index.js';
import type { CacheTuneDef, DomainDefinition, DomainModel, MemoryTuneDef, ResctrlMonitorDef } from '../domain/index.js';

export interface ResctrlGroup {
  vcpus: CpuSet;
  /** The element that created the group. */
  first: CacheTuneDef | MemoryTuneDef;
  kind: 'cachetune' | 'memorytune';
  /** Memory bandwidth node ids allocated so far (merged memorytunes share them). */
  nodeIds: Set<number>;
  /** Whether the group allocates anything yet (libvirt's !virResctrlAllocIsEmpty). */
  allocates: boolean;
  /** Monitors accepted so far, with their cut vCPU sets. */
  monitors: { tag: 'cache' | 'membw'; vcpus: CpuSet; def: ResctrlMonitorDef }[];
  /** Every tune that joined the group, in parse order (the first made it). */
  members: (CacheTuneDef | MemoryTuneDef)[];
}

export type TuneStep =
  | { element: CacheTuneDef | MemoryTuneDef; kind: 'cachetune' | 'memorytune'; outcome: 'bad-vcpus' | 'no-vcpus-left' }
  | { element: CacheTuneDef | MemoryTuneDef; kind: 'cachetune' | 'memorytune'; outcome: 'identical-cachetune' | 'overlap'; vcpus: CpuSet; other: ResctrlGroup }
  | { element: CacheTuneDef | MemoryTuneDef; kind: 'cachetune' | 'memorytune'; outcome: 'grouped'; vcpus: CpuSet; group: ResctrlGroup; merged: boolean };

/** What the monitor walk concluded for one monitor. */
export type MonitorVerdict =
  | { ok: true; vcpus: CpuSet }
  | { ok: false; why: 'level-missing' | 'level-bad' | 'level-not-3' | 'vcpus-missing' | 'vcpus-bad' | 'empty' | 'outside-group' | 'identical' | 'overlap'; vcpus?: CpuSet; other?: ResctrlMonitorDef };

export interface ResctrlWalk {
  steps: TuneStep[];
  /** The groups libvirt keeps (appended to def->resctrls), in its order: what it formats. */
  groups: ResctrlGroup[];
  /** Verdict per monitor element of a grouped tune. */
  monitors: Map<ResctrlMonitorDef, MonitorVerdict>;
}

const cache = new WeakMap<DomainModel, ResctrlWalk>();

export function resctrlWalk(model: DomainModel, definition: DomainDefinition): ResctrlWalk {
  const known = cache.get(model);
  if (known) return known;
  const walk = compute(model, definition.maxVcpus);
  cache.set(model, walk);
  return walk;
}

function compute(model: DomainModel, maxVcpus: number): ResctrlWalk {
  const ct = model.cputune;
  const steps: TuneStep[] = [];
  const monitors = new Map<ResctrlMonitorDef, MonitorVerdict>();
  const groups: ResctrlGroup[] = [];
  const bySet = new Map<string, ResctrlGroup>();
  // Which appended group each vCPU belongs to: an overlap is found without comparing every pair.
  const owner = new Map<number, ResctrlGroup>();
  const cut = (set: CpuSet): CpuSet => (maxVcpus > 0 ? set.truncate(maxVcpus - 1) : CpuSet.empty());

  const visit = (kind: 'cachetune' | 'memorytune', t: CacheTuneDef | MemoryTuneDef): void => {
    const set = t.vcpus?.value;
    if (!t.vcpus || t.vcpus.error || !set) return void steps.push({ element: t, kind, outcome: 'bad-vcpus' });
    const vcpus = cut(set);
    if (vcpus.isEmpty()) return void steps.push({ element: t, kind, outcome: 'no-vcpus-left' });
    const same = bySet.get(vcpus.toString());
    if (!same) {
      const other = vcpus.ids().map((v) => owner.get(v)).find((g) => g !== undefined);
      if (other) return void steps.push({ element: t, kind, outcome: 'overlap', vcpus, other });
    } else if (kind === 'cachetune') {
      return void steps.push({ element: t, kind, outcome: 'identical-cachetune', vcpus, other: same });
    }
    const group: ResctrlGroup = same ?? { vcpus, first: t, kind, nodeIds: new Set(), allocates: false, monitors: [], members: [] };
    group.members.push(t);
    if (kind === 'cachetune') {
      if ((t as CacheTuneDef).caches.length) group.allocates = true;
    } else {
      for (const n of (t as MemoryTuneDef).nodes) {
        if (n.id?.value !== undefined) group.nodeIds.add(n.id.value);
        group.allocates = true;
      }
    }
    steps.push({ element: t, kind, outcome: 'grouped', vcpus, group, merged: same !== undefined });
    for (const m of t.monitors) {
      const verdict = monitorVerdict(kind, m, group, cut);
      monitors.set(m, verdict);
      if (verdict.ok) group.monitors.push({ tag: kind === 'cachetune' ? 'cache' : 'membw', vcpus: verdict.vcpus, def: m });
    }
    const has = kind === 'cachetune' ? (t as CacheTuneDef).caches.length > 0 : (t as MemoryTuneDef).nodes.length > 0;
    if (!same && (has || group.monitors.length > 0)) {
      groups.push(group);
      bySet.set(vcpus.toString(), group);
      for (const v of vcpus.ids()) owner.set(v, group);
    }
  };
  for (const t of ct?.cachetunes ?? []) visit('cachetune', t);
  for (const t of ct?.memorytunes ?? []) visit('memorytune', t);
  return { steps, groups, monitors };
}

/** virDomainResctrlMonDefParse + virDomainResctrlValidateMonitor for one monitor. */
function monitorVerdict(kind: 'cachetune' | 'memorytune', m: ResctrlMonitorDef, group: ResctrlGroup, cut: (s: CpuSet) => CpuSet): MonitorVerdict {
  const tag = kind === 'cachetune' ? 'cache' : 'membw';
  if (kind === 'cachetune') {
    // Memory bandwidth monitors have no level: libvirt never reads one there.
    if (!m.level) return { ok: false, why: 'level-missing' };
    if (m.level.error || m.level.value === undefined) return { ok: false, why: 'level-bad' };
    if (m.level.value !== 3) return { ok: false, why: 'level-not-3' };
  }
  if (!m.vcpus) return { ok: false, why: 'vcpus-missing' };
  if (m.vcpus.error || !m.vcpus.value) return { ok: false, why: 'vcpus-bad' };
  const vcpus = cut(m.vcpus.value);
  if (vcpus.isEmpty()) return { ok: false, why: 'empty', vcpus };
  if (!vcpus.isSubsetOf(group.vcpus)) return { ok: false, why: 'outside-group', vcpus };
  const equalToGroup = vcpus.equals(group.vcpus);
  let overlapAny = false;
  let overlapNotGroup = false;
  for (const other of group.monitors) {
    if (other.vcpus.equals(vcpus)) {
      if (other.tag === tag) return { ok: false, why: 'identical', vcpus, other: other.def };
      continue;
    }
    const overlaps = other.vcpus.intersects(vcpus);
    if (overlaps) overlapAny = true;
    if (equalToGroup || other.vcpus.equals(group.vcpus)) continue;
    if (overlaps) overlapNotGroup = true;
  }
  if (overlapNotGroup || (!group.allocates && overlapAny)) return { ok: false, why: 'overlap', vcpus };
  return { ok: true, vcpus };
}
