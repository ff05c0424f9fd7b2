/**
 * normalize: rewrite the affinity elements the way libvirt formats them
 * after define (spec §8, with the §7 changes applied), through the editing
 * API, so every other byte stays. An element whose content already equals
 * libvirt's form is left untouched (an already-normalized document comes
 * back byte-identical).
 */
import { MAX_CPUSET_ID } from '../cpuset/index.js';
import type { DomainDefinition, DomainModel, Driver, LibvirtVersion } from '../domain/index.js';
import { definitionOf, prettyBytes, readDomain, scaledBytes } from '../domain/index.js';
import { VirtPinError } from '../errors.js';
import { firstError, validate } from '../validate/index.js';
import { resctrlWalk } from '../validate/resctrl-groups.js';
import { elementSpec, type ElementSpec, type XmlDocument, type XmlElement } from '../xml/index.js';
import { canonicalOf, canonicalOfSpec } from './compare.js';

export interface NormalizeOptions {
  /** Default `qemu`. */
  driver?: Driver;
  /** The libvirt whose stored form to produce, e.g. '9.0' (default: the newest modelled, 10.7). */
  libvirtVersion?: string | LibvirtVersion;
}

/** The top-level elements normalize owns, in libvirt's order. */
export const AFFINITY_ELEMENTS = ['vcpu', 'vcpus', 'iothreads', 'iothreadids', 'defaultiothread', 'cputune', 'numatune'] as const;

/**
 * Edit `doc` in place into libvirt's stored form of its affinity elements.
 * Refuses (NORMALIZE_REFUSED) a domain libvirt would refuse: there is no
 * stored form to show.
 */
export function normalize(doc: XmlDocument, options: NormalizeOptions = {}): XmlDocument {
  const driver = options.driver ?? 'qemu';
  const model = readDomain(doc);
  const def = definitionOf(model, { driver, ...(options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {}) });
  const errors = validate(model, def, { driver }).filter((d) => d.severity === 'error');
  if (errors.length) {
    // The error libvirt itself would report (it stops at its first).
    const first = firstError(errors)!;
    throw new VirtPinError('NORMALIZE_REFUSED', `libvirt would refuse this domain (${errors.length} error${errors.length === 1 ? '' : 's'}; first: ${first.code} ${first.message})`, {
      location: { line: first.line, column: first.column, offset: 0 },
      hint: 'run virt-pin check and fix the errors first',
    });
  }
  const root = doc.root.name === 'domstatus' ? (doc.root.element('domain') ?? doc.root) : doc.root;
  const specs = specsOf(def, model, root);
  for (const name of AFFINITY_ELEMENTS) place(root, name, specs[name]);
  normalizeCells(root, def, (model.cpu?.numa?.cells ?? []).map((c) => (c.id ? c.id.value : c.index)));
  return doc;
}

function place(parent: XmlElement, name: string, spec: ElementSpec | undefined): void {
  const existing = parent.elements(name);
  for (const extra of existing.slice(1)) parent.remove(extra);
  const el = existing[0];
  if (!spec) {
    if (el) parent.remove(el);
    return;
  }
  if (!el) parent.insert(spec);
  else if (canonicalOf(el) !== canonicalOfSpec(spec)) parent.replace(el, spec);
}

const attrs = (...pairs: [string, string | number | bigint | undefined][]): [string, string][] =>
  pairs.filter((p): p is [string, string | number | bigint] => p[1] !== undefined).map(([k, v]) => [k, String(v)]);

function specsOf(def: DomainDefinition, model: DomainModel, root: XmlElement): Partial<Record<(typeof AFFINITY_ELEMENTS)[number], ElementSpec>> {
  const out: Partial<Record<(typeof AFFINITY_ELEMENTS)[number], ElementSpec>> = {};
  const online = def.vcpus.filter((v) => v.online).length;
  const cpuset = def.cpuset && def.cpuset.cpus.size < MAX_CPUSET_ID + 1 ? def.cpuset.cpus.toString() : undefined;
  out.vcpu = {
    name: 'vcpu',
    attrs: attrs(['placement', def.placement], ['cpuset', def.placement === 'auto' ? undefined : cpuset], ['current', online < def.maxVcpus ? online : undefined]),
    text: String(def.maxVcpus),
  };
  if (def.individualVcpus) {
    out.vcpus = {
      name: 'vcpus',
      children: def.vcpus.map((v) => ({
        name: 'vcpu',
        attrs: attrs(['id', v.id], ['enabled', v.online ? 'yes' : 'no'], ['hotpluggable', v.hotpluggable ? 'yes' : 'no'], ['order', v.order || undefined]),
      })),
    };
  }
  if (def.iothreads.length) out.iothreads = { name: 'iothreads', text: String(def.iothreads.length) };
  if (def.printIOThreadIds) {
    out.iothreadids = {
      name: 'iothreadids',
      children: def.iothreads.map((t) => {
        const poll = t.poll && Object.keys(t.poll).length ? [{ name: 'poll', attrs: attrs(['max', t.poll.max], ['grow', t.poll.grow], ['shrink', t.poll.shrink]) }] : undefined;
        return {
          name: 'iothread',
          attrs: attrs(['id', t.id], ['thread_pool_min', t.threadPoolMin >= 0 ? t.threadPoolMin : undefined], ['thread_pool_max', t.threadPoolMax >= 0 ? t.threadPoolMax : undefined]),
          ...(poll ? { children: poll } : {}),
        };
      }),
    };
  }
  if (def.defaultIOThread) {
    const d = def.defaultIOThread;
    out.defaultiothread = { name: 'defaultiothread', attrs: attrs(['thread_pool_min', d.threadPoolMin >= 0 ? d.threadPoolMin : undefined], ['thread_pool_max', d.threadPoolMax >= 0 ? d.threadPoolMax : undefined]) };
  }

  const ct: ElementSpec[] = [];
  const b = def.bandwidth;
  const scalar = (name: string, v: bigint | undefined): void => {
    if (v !== undefined) ct.push({ name, text: String(v) });
  };
  scalar('shares', b.shares);
  scalar('period', b.period);
  scalar('quota', b.quota);
  scalar('global_period', b.globalPeriod);
  scalar('global_quota', b.globalQuota);
  scalar('emulator_period', b.emulatorPeriod);
  scalar('emulator_quota', b.emulatorQuota);
  scalar('iothread_period', b.iothreadPeriod);
  scalar('iothread_quota', b.iothreadQuota);
  for (const v of def.vcpus) if (v.pin) ct.push({ name: 'vcpupin', attrs: attrs(['vcpu', v.id], ['cpuset', v.pin.cpus.toString()]) });
  if (def.emulatorPin) ct.push({ name: 'emulatorpin', attrs: attrs(['cpuset', def.emulatorPin.cpus.toString()]) });
  for (const t of def.iothreads) if (t.pin) ct.push({ name: 'iothreadpin', attrs: attrs(['iothread', t.id], ['cpuset', t.pin.cpus.toString()]) });
  const sched = (name: string, listAttr: string | undefined, id: number | undefined, s: { scheduler: string; priority?: number }): ElementSpec => ({
    name,
    attrs: attrs(...(listAttr ? [[listAttr, id] as [string, number | undefined]] : []), ['scheduler', s.scheduler], ['priority', s.scheduler === 'fifo' || s.scheduler === 'rr' ? s.priority : undefined]),
  });
  if (def.emulatorSched) ct.push(sched('emulatorsched', undefined, undefined, def.emulatorSched));
  for (const v of def.vcpus) if (v.sched) ct.push(sched('vcpusched', 'vcpus', v.id, v.sched));
  for (const t of def.iothreads) if (t.sched) ct.push(sched('iothreadsched', 'iothreads', t.id, t.sched));
  ct.push(...resctrlSpecs(model, def, root));
  if (ct.length) out.cputune = { name: 'cputune', children: ct };

  const nt = def.numatune;
  if (nt.memory || nt.memnodes.length) {
    const children: ElementSpec[] = [];
    if (nt.memory) {
      const m = nt.memory;
      children.push({ name: 'memory', attrs: m.placement === 'auto' ? attrs(['mode', m.mode], ['placement', 'auto']) : attrs(['mode', m.mode], ['nodeset', m.nodeset?.toString()]) });
    }
    for (const n of nt.memnodes) children.push({ name: 'memnode', attrs: attrs(['cellid', n.cellid], ['mode', n.mode], ['nodeset', n.nodeset.toString()]) });
    out.numatune = { name: 'numatune', children };
  }
  return out;
}

/** Guest cells: sorted by id, `cpus` canonical (with QEMU's cell-0 absorption), memory in KiB. Other attributes and children stay. */
function normalizeCells(root: XmlElement, def: DomainDefinition, ids: readonly (number | undefined)[]): void {
  const numa = root.findFirst('cpu/numa');
  if (!numa || def.guestCells.length === 0) return;
  const cells = numa.elements('cell');
  // The id as libvirt parses it (' 1' and '+1' are 1; no id is the position): the reader's, never a second grammar here.
  const cellId = (cell: XmlElement): number => ids[cells.indexOf(cell)] ?? cells.indexOf(cell);
  const byId = new Map(def.guestCells.map((c) => [c.id, c]));
  const sorted = [...cells].sort((a, b) => cellId(a) - cellId(b));
  const reorder = sorted.some((c, i) => c !== cells[i]);
  for (const cell of cells) {
    const state = byId.get(cellId(cell));
    if (!state) continue;
    if (cell.attr('id') !== String(state.id)) cell.setAttr('id', String(state.id));
    // libvirt prints cpus only when the cell has some (cpus='^1' parses to none and is left out).
    if (state.cpus.isEmpty()) {
      if (cell.attr('cpus') !== undefined) cell.removeAttr('cpus');
    } else {
      const cpus = state.cpus.toString();
      if (cell.attr('cpus') !== cpus) cell.setAttr('cpus', cpus);
    }
    if (state.memoryKiB !== undefined && (cell.attr('memory') !== String(state.memoryKiB) || cell.attr('unit') !== 'KiB')) {
      cell.setAttr('memory', String(state.memoryKiB));
      cell.setAttr('unit', 'KiB');
    }
  }
  if (reorder) {
    const specs = sorted.map((c) => elementSpec(c));
    cells.forEach((c, i) => numa.replace(c, specs[i]!));
  }
}


/**
 * resctrl as libvirt formats it (virDomainCachetuneDefFormat,
 * virDomainMemorytuneDefFormat): every kept group's <cachetune>, then every
 * group's <memorytune>, in group order; vcpus cut to the domain's vCPUs;
 * caches sorted by level, then type (both, code, data), then id, with the
 * size in bytes printed in the largest binary unit that divides it (§12.20);
 * bandwidth nodes sorted by id, merged across memorytunes of one group;
 * monitors after the allocations, in the order libvirt accepted them, with
 * canonical vcpus (a memory bandwidth monitor has no level). Numbers are
 * printed as parsed (' 0' and '+0' are 0).
 */
function resctrlSpecs(model: DomainModel, def: DomainDefinition, root: XmlElement): ElementSpec[] {
  if (!def.resctrl.length) return [];
  const groups = resctrlWalk(model, def).groups;
  // The allocation id (id='vcpus_0-1') exists only in live XML; where it is written, it stays.
  const elements = { cachetune: root.find('cputune/cachetune'), memorytune: root.find('cputune/memorytune') };
  const idOf = (kind: 'cachetune' | 'memorytune', members: readonly object[]): string | undefined => {
    const list: readonly object[] = kind === 'cachetune' ? (model.cputune?.cachetunes ?? []) : (model.cputune?.memorytunes ?? []);
    const first = members.find((m) => list.includes(m));
    return first ? elements[kind][list.indexOf(first)]?.attr('id') : undefined;
  };
  const TYPE_ORDER = ['both', 'code', 'data'];
  const cachetunes: ElementSpec[] = [];
  const memorytunes: ElementSpec[] = [];
  for (const g of groups) {
    const vcpus = g.vcpus.toString();
    const caches = g.members
      .flatMap((t) => ('caches' in t ? t.caches : []))
      .flatMap((c) => {
        const [id, level, type, size] = [c.id?.value, c.level?.value, c.type?.value, c.size?.value];
        if (id === undefined || level === undefined || type === undefined || size === undefined) return [];
        const scaled = scaledBytes(size, c.unit?.value);
        return 'error' in scaled ? [] : [{ id, level, type, bytes: scaled.bytes }];
      })
      .sort((a, b) => a.level - b.level || TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type) || a.id - b.id);
    const nodes = new Map<number, number>();
    for (const t of g.members) for (const n of 'nodes' in t ? t.nodes : []) if (n.id?.value !== undefined && n.bandwidth?.value !== undefined && !nodes.has(n.id.value)) nodes.set(n.id.value, n.bandwidth.value);
    const monitors = (tag: 'cache' | 'membw'): ElementSpec[] =>
      g.monitors.filter((m) => m.tag === tag).map((m) => ({ name: 'monitor', attrs: attrs(['level', tag === 'cache' ? 3 : undefined], ['vcpus', m.vcpus.toString()]) }));
    const cacheChildren: ElementSpec[] = [
      ...caches.map((c) => {
        const pretty = prettyBytes(c.bytes);
        return { name: 'cache', attrs: attrs(['id', c.id], ['level', c.level], ['type', c.type], ['size', pretty.size], ['unit', pretty.unit]) };
      }),
      ...monitors('cache'),
    ];
    const memoryChildren: ElementSpec[] = [
      ...[...nodes].sort((a, b) => a[0] - b[0]).map(([id, bandwidth]) => ({ name: 'node', attrs: attrs(['id', id], ['bandwidth', bandwidth]) })),
      ...monitors('membw'),
    ];
    if (cacheChildren.length) cachetunes.push({ name: 'cachetune', attrs: attrs(['vcpus', vcpus], ['id', idOf('cachetune', g.members)]), children: cacheChildren });
    if (memoryChildren.length) memorytunes.push({ name: 'memorytune', attrs: attrs(['vcpus', vcpus], ['id', idOf('memorytune', g.members)]), children: memoryChildren });
  }
  return [...cachetunes, ...memorytunes];
}
