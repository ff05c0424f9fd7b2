/**
 * definitionOf: the definition libvirt stores after parse and post-parse
 * (spec §3 post-parse notes, §4, §7). Total: invalid values are skipped
 * the way libvirt would refuse them (validate reports those); every silent
 * change is recorded in `changes` with its spec §7 item.
 */
import type { DiagnosticCode } from '../codes.js';
import { CpuSet, MAX_CPUSET_ID } from '../cpuset/index.js';
import { CpuBitmap } from '../cpuset/cpuset.js';
import type {
  DefinitionChange,
  DomainDefinition,
  Driver,
  GuestCellState,
  IOThreadDef,
  MemnodeState,
  NumaMemoryState,
  PinDef,
  ResctrlGroupState,
  ThreadSched,
  VcpuState,
} from './definition.js';
import type { DomainModel, ElementRef, Field, SchedDef } from './types.js';
import { scaledBytes } from './grammar.js';
import { hasChange, toLibvirtVersion, type LibvirtVersion } from './libvirt-version.js';

export interface DefinitionOptions {
  driver: Driver;
  /** The libvirt whose behaviour to model, e.g. '9.0' (default: the newest modelled, 10.7); see LIBVIRT_CHANGES. */
  libvirtVersion?: string | LibvirtVersion;
}

const ok = <T>(f: Field<T> | undefined): T | undefined => (f && !f.error ? f.value : undefined);
const refOf = (r: ElementRef): ElementRef => ({ loc: r.loc, path: r.path });

// One per vCPU, so class instances rather than object literals: see PinnedVcpu in src/resolve/resolve.ts.
class Vcpu implements VcpuState {
  id: number;
  online: boolean;
  hotpluggable: boolean;
  order: number;
  pin: PinDef | undefined;
  sched: ThreadSched | undefined;
  constructor(id: number) {
    this.id = id;
    this.online = true;
    this.hotpluggable = false;
    this.order = 0;
    this.pin = undefined;
    this.sched = undefined;
  }
}

class Pin implements PinDef {
  constructor(
    public cpus: CpuSet,
    public from: ElementRef,
  ) {}
}

/**
 * The definition libvirt stores after post-parse for `options.driver`:
 * defaults filled in, placement promoted, out-of-range pins dropped…, with
 * every silent change listed in `changes`. Total: never throws.
 */
export function definitionOf(model: DomainModel, options: DefinitionOptions): DomainDefinition {
  const { driver } = options;
  const libvirtVersion = toLibvirtVersion(options.libvirtVersion);
  const changes: DefinitionChange[] = [];
  const change = (code: DiagnosticCode, specItem: number, message: string, from: ElementRef): void => {
    changes.push({ code, specItem, message, from: refOf(from) });
  };

  // ---- vCPUs (spec §3.1, §3.2)
  const vcpuEl = model.vcpu;
  const maxParsed = vcpuEl ? ok(vcpuEl.max) : 1;
  // A refused maximum leaves libvirt with nothing; keep 0 so nothing downstream invents vCPUs.
  const maxVcpus = Math.min(maxParsed ?? 0, MAX_CPUSET_ID + 1);
  for (const extra of model.ignoredVcpuElements) change('VCPU_ELEMENT_IGNORED', 16, 'only the first <vcpu> element is read; this one is ignored', extra);

  // pin and sched have their slots from the start: added later, each would give every vCPU a separate property store.
  // A loop, not Array.from({ length }, fn): that iterates an array-like through the generic protocol, per document.
  const vcpus: VcpuState[] = [];
  for (let id = 0; id < maxVcpus; id++) vcpus.push(new Vcpu(id));
  const entries = model.vcpus?.entries ?? [];
  const individualVcpus = entries.length > 0;
  if (individualVcpus) {
    // Records start zeroed (offline); listed ids take their state, last listing wins.
    for (const v of vcpus) v.online = false;
    const listed = new Set<number>();
    for (const e of entries) {
      const id = ok(e.id);
      const enabled = ok(e.enabled);
      if (id === undefined || enabled === undefined || id >= maxVcpus) continue;
      const v = vcpus[id]!;
      v.online = enabled;
      const hot = ok(e.hotpluggable);
      if (hot !== undefined) v.hotpluggable = hot;
      v.order = ok(e.order) ?? 0;
      listed.add(id);
      (v as VcpuState & { hotSet?: boolean }).hotSet = hot !== undefined;
    }
    const unlisted = vcpus.filter((v) => !listed.has(v.id));
    if (unlisted.length) {
      change('VCPUS_UNLISTED_OFFLINE', 10, `vCPUs ${CpuSet.fromIds(unlisted.map((v) => v.id))} are not listed in <vcpus> and become offline (hotpluggable)`, model.vcpus!.blocks[0]!);
    }
    for (const v of vcpus) {
      const explicit = (v as VcpuState & { hotSet?: boolean }).hotSet === true;
      delete (v as VcpuState & { hotSet?: boolean }).hotSet;
      if (!explicit) v.hotpluggable = !v.online;
    }
    // libvirt writes current= as the number of enabled vCPUs: only a different number is a change.
    const current = ok(vcpuEl?.current);
    const enabled = vcpus.filter((v) => v.online).length;
    if (vcpuEl?.current && current !== undefined && current !== enabled) {
      change('VCPU_CURRENT_IGNORED', 11, `current='${vcpuEl.current.raw}' is ignored because <vcpus> lists each vCPU's state; libvirt stores current='${enabled}' (the enabled vCPUs)`, vcpuEl);
    }
  } else {
    const current = vcpuEl ? ok(vcpuEl.current) : undefined;
    const online = current === undefined ? maxVcpus : Math.min(current, maxVcpus);
    for (const v of vcpus) {
      v.online = v.id < online;
      v.hotpluggable = !v.online;
    }
  }

  // ---- <vcpu placement cpuset>
  let placement = ok(vcpuEl?.placement) ?? 'static';
  let cpuset: PinDef | undefined;
  if (vcpuEl?.cpuset) {
    if (vcpuEl.cpuset.ignored) {
      change('VCPU_CPUSET_IGNORED_AUTO', 3, "<vcpu cpuset> is ignored (not even parsed) with placement='auto', and libvirt drops it", vcpuEl);
    } else {
      const set = ok(vcpuEl.cpuset);
      if (set && !set.isEmpty()) cpuset = { cpus: set, from: refOf(vcpuEl) };
    }
  }

  // ---- IOThreads (spec §3.3)
  const idEntries = model.iothreadids?.entries ?? [];
  const explicit: IOThreadDef[] = [];
  const seenIds = new Set<number>();
  let printIOThreadIds = false;
  for (const e of idEntries) {
    const id = ok(e.id);
    if (id === undefined || id === 0 || seenIds.has(id)) continue;
    seenIds.add(id);
    const poolRead = hasChange(libvirtVersion, 'iothread-thread-pool');
    if (!poolRead && (e.threadPoolMin || e.threadPoolMax)) {
      change('IOTHREAD_THREAD_POOL_IGNORED', 8, `<iothread id='${id}'> thread_pool_min/thread_pool_max are not read by libvirt before 8.5 and disappear`, e);
    }
    const min = poolRead ? ok(e.threadPoolMin) : undefined;
    const max = poolRead ? ok(e.threadPoolMax) : undefined;
    const t: IOThreadDef = { id, autofilled: false, threadPoolMin: min !== undefined && min >= 0 ? min : -1, threadPoolMax: max !== undefined && max >= 0 ? max : -1, from: refOf(e) };
    if (e.poll && !hasChange(libvirtVersion, 'iothread-poll')) {
      change('IOTHREAD_POLL_DROPPED', 8, `<iothread id='${id}'><poll> is not read by libvirt before 9.4 and disappears`, e.poll);
    } else if (e.poll) {
      const poll: NonNullable<IOThreadDef['poll']> = {};
      for (const k of ['max', 'grow', 'shrink'] as const) {
        const v = ok(e.poll[k]);
        if (v !== undefined) poll[k] = v;
      }
      t.poll = poll;
    }
    explicit.push(t);
    printIOThreadIds = true;
  }
  // Bounded like the vCPU count (THREAD_COUNT_LIMIT reports it): never build billions of entries.
  const declared = Math.min(ok(model.iothreads) ?? 0, MAX_CPUSET_ID + 1);
  const count = Math.max(declared, idEntries.length);
  const iothreads = [...explicit];
  if (count > iothreads.length) {
    const filled: number[] = [];
    for (let next = 1; iothreads.length < count; next++) {
      if (seenIds.has(next)) continue;
      iothreads.push({ id: next, autofilled: true, threadPoolMin: -1, threadPoolMax: -1 });
      filled.push(next);
    }
    if (explicit.length > 0) {
      change('IOTHREAD_IDS_AUTOFILLED', 8, `IOThread ids ${filled.join(', ')} are filled in (smallest unused ids) and will be written out explicitly`, model.iothreadids!.blocks[0]!);
    }
  }
  if (idEntries.length > declared && model.iothreads) {
    change('IOTHREADS_RAISED', 8, `<iothreads>${declared}</iothreads> is raised to ${idEntries.length}, the number of <iothread> ids`, { loc: model.iothreads.loc, path: '/domain/iothreads' });
  }

  let defaultIOThread: DomainDefinition['defaultIOThread'];
  if (model.defaultIOThread && !hasChange(libvirtVersion, 'iothread-thread-pool')) {
    change('DEFAULTIOTHREAD_DROPPED', 9, '<defaultiothread> is not read by libvirt before 8.5 and disappears', model.defaultIOThread);
  } else if (model.defaultIOThread) {
    const min = ok(model.defaultIOThread.threadPoolMin);
    const max = ok(model.defaultIOThread.threadPoolMax);
    if (min === undefined && max === undefined) change('DEFAULTIOTHREAD_DROPPED', 9, '<defaultiothread> without thread_pool_min/max says nothing and is dropped', model.defaultIOThread);
    else defaultIOThread = { threadPoolMin: min !== undefined && min >= 0 ? min : -1, threadPoolMax: max !== undefined && max >= 0 ? max : -1 };
  }

  // ---- <cputune> (spec §3.4)
  const ct = model.cputune;
  if (ct) {
    if (ct.blocks.length > 1) change('CPUTUNE_BLOCKS_MERGED', 16, `${ct.blocks.length} <cputune> elements are merged into one`, ct.blocks[1]!);
    for (const r of ct.ignoredRepeats) change('CPUTUNE_REPEAT_IGNORED', 16, `only the first <${r.path.split('/').pop()!.replace(/\[\d+\]$/, '')}> is read; this one is ignored`, r);
  }
  for (const p of ct?.vcpupins ?? []) {
    const id = ok(p.vcpu);
    const set = ok(p.cpuset);
    if (id === undefined || !p.cpuset || set === undefined) continue;
    if (id >= maxVcpus) {
      change('VCPUPIN_OUT_OF_RANGE_DROPPED', 1, `<vcpupin vcpu='${id}'> names a vCPU the domain does not have (maximum ${maxVcpus}); libvirt drops it with only a log warning`, p);
      continue;
    }
    // A vCPU's pin is set only here, so a pin already there is an earlier <vcpupin> for it (no Set of ids per vCPU).
    if (set.isEmpty() || vcpus[id]!.pin !== undefined) continue; // refusals (V16)
    // Offline pins are kept: QEMU and the test driver (our 'generic') both
    // support offline vcpupin; drivers that drop them (§7.2) are not modelled.
    // The pin's own record is its ElementRef (it has loc and path): no copy per vCPU.
    vcpus[id]!.pin = new Pin(set, p);
  }
  let emulatorPin: PinDef | undefined;
  const ep = ct?.emulatorpins[0];
  if (ep && ct!.emulatorpins.length === 1) {
    const set = ok(ep.cpuset);
    if (set && !set.isEmpty()) emulatorPin = { cpus: set, from: refOf(ep) };
  }
  const ioById = new Map(iothreads.map((t) => [t.id, t]));
  for (const p of ct?.iothreadpins ?? []) {
    const id = ok(p.iothread);
    const set = ok(p.cpuset);
    const t = id !== undefined ? ioById.get(id) : undefined;
    if (!t || !set || set.isEmpty() || t.pin) continue; // refusals (V18)
    t.pin = new Pin(set, p);
  }

  const schedOf = (s: SchedDef): ThreadSched | undefined => {
    const scheduler = ok(s.scheduler);
    if (!scheduler) return undefined;
    if (scheduler === 'fifo' || scheduler === 'rr') {
      const priority = ok(s.priority);
      if (priority === undefined) return undefined; // V19
      return { scheduler, priority, from: refOf(s) };
    }
    if (s.priority) change('SCHED_PRIORITY_IGNORED', 17, `priority is ignored for scheduler '${scheduler}'`, s);
    return { scheduler, from: refOf(s) };
  };
  // Which threads already have a scheduler, as a bitmap: checking a group id
  // by id would cost elements × width (2,000 × vcpus='0-16383'). Each thread
  // is then written once at most, so the per-id loops below stay bounded.
  const vcpuSched = new CpuBitmap();
  for (const s of ct?.vcpuscheds ?? []) {
    const ids = ok(s.ids);
    const sched = schedOf(s);
    if (!ids || ids.isEmpty() || !sched) continue;
    if (ids.max()! >= maxVcpus || vcpuSched.overlaps(ids)) continue; // V19
    vcpuSched.add(ids);
    for (const id of ids) vcpus[id]!.sched = sched;
    if (ids.size > 1) change('SCHED_GROUP_EXPLODED', 14, `<vcpusched vcpus='${s.ids!.raw}'> is stored per vCPU and written back as ${ids.size} elements`, s);
  }
  const ioIds = ct?.iothreadscheds.length ? CpuSet.fromIds([...ioById.keys()].filter((id) => id <= MAX_CPUSET_ID)) : CpuSet.empty();
  const ioSched = new CpuBitmap();
  for (const s of ct?.iothreadscheds ?? []) {
    const ids = ok(s.ids);
    const sched = schedOf(s);
    if (!ids || ids.isEmpty() || !sched) continue;
    if (!ids.isSubsetOf(ioIds) || ioSched.overlaps(ids)) continue; // V19
    ioSched.add(ids);
    for (const id of ids) ioById.get(id)!.sched = sched;
    if (ids.size > 1) change('SCHED_GROUP_EXPLODED', 14, `<iothreadsched iothreads='${s.ids!.raw}'> is stored per IOThread and written back as ${ids.size} elements`, s);
  }
  let emulatorSched: ThreadSched | undefined;
  if (ct && ct.emulatorscheds.length === 1) emulatorSched = schedOf(ct.emulatorscheds[0]!);

  const num = (f: Field<bigint> | undefined): bigint | undefined => {
    const v = ok(f);
    return v === undefined || v === 0n ? undefined : v;
  };
  const bandwidth: DomainDefinition['bandwidth'] = {};
  const shares = ok(ct?.shares);
  if (shares !== undefined) bandwidth.shares = shares; // 0 is "set to 0"
  for (const k of ['period', 'quota', 'globalPeriod', 'globalQuota', 'emulatorPeriod', 'emulatorQuota', 'iothreadPeriod', 'iothreadQuota'] as const) {
    const v = num(ct?.[k]);
    if (v !== undefined) bandwidth[k] = v;
  }

  // resctrl (spec §3.4.6): truncate to the maximum, drop what empties, merge equal sets.
  const resctrl: ResctrlGroupState[] = [];
  const groupBySet = new Map<string, ResctrlGroupState>(); // thousands of equal sets stay linear
  const withMemorytune = new Set<ResctrlGroupState>();
  const tune = (kind: ResctrlGroupState['kind'], t: { vcpus?: Field<CpuSet>; monitors: unknown[] } & ElementRef, hasAllocations: boolean): void => {
    const set = ok(t.vcpus);
    if (!set) return; // missing or unparsable list: V20
    const kept = maxVcpus > 0 ? set.truncate(maxVcpus - 1) : CpuSet.empty();
    if (!kept.equals(set)) change('RESCTRL_VCPUS_TRUNCATED', 12, `<${kind} vcpus='${t.vcpus!.raw}'> loses vCPUs ${set.difference(kept)} (not below the maximum ${maxVcpus})`, t);
    if (kept.isEmpty() || (!hasAllocations && t.monitors.length === 0)) {
      change('RESCTRL_GROUP_DROPPED', 12, `<${kind}> ${kept.isEmpty() ? 'names no existing vCPU' : 'has neither allocations nor monitors'} and is dropped`, t);
      return;
    }
    const same = groupBySet.get(kept.toString());
    if (same) {
      // Two cachetunes with one set are refused (V20); a memorytune joins whatever group has its set. Beside a
      // cachetune it is still written as its own <memorytune> (libvirt's own output has that shape); a second
      // memorytune of a group disappears into the first, which is the change worth a warning.
      if (kind === 'memorytune' && withMemorytune.has(same)) change('RESCTRL_MERGED', 12, `<memorytune vcpus='${t.vcpus!.raw}'> is merged into the <memorytune> with the same vCPUs`, t);
      if (kind === 'memorytune' && same.kind === 'cachetune' && !same.memorytune) same.memorytune = refOf(t);
      if (kind === 'memorytune') withMemorytune.add(same);
      return;
    }
    const group: ResctrlGroupState = { kind, vcpus: kept, from: refOf(t) };
    if (kind === 'memorytune') withMemorytune.add(group);
    resctrl.push(group);
    groupBySet.set(kept.toString(), group);
  };
  for (const t of ct?.cachetunes ?? []) tune('cachetune', t, t.caches.length > 0);
  for (const t of ct?.memorytunes ?? []) tune('memorytune', t, t.nodes.length > 0);

  // ---- <numatune> and the placement interplay (spec §3.5, §4)
  let memory: NumaMemoryState | undefined;
  const m0 = model.numatune?.memory;
  // libvirt 9.0 ignores a bare <memory/> (no mode, placement or nodeset).
  const mem = m0 && (m0.mode || m0.placement || m0.nodeset) ? m0 : undefined;
  if (mem) {
    const modeGiven = ok(mem.mode);
    const mode = modeGiven ?? 'strict';
    const nodeset = ok(mem.nodeset);
    const hasNodeset = mem.nodeset !== undefined;
    const memPlacement = ok(mem.placement) ?? (hasNodeset || placement === 'static' ? 'static' : 'auto');
    if (!mem.mode) change('NUMATUNE_MODE_DEFAULTED', 7, "<numatune><memory> has no mode; libvirt uses and writes mode='strict'", mem);
    if (memPlacement === 'auto') {
      if (hasNodeset) change('NUMATUNE_NODESET_IGNORED_AUTO', 4, "the nodeset is dropped because memory placement is 'auto'", mem);
      memory = { mode, placement: 'auto', implicit: false, from: refOf(mem) };
    } else if (nodeset && !nodeset.isEmpty()) {
      memory = { mode, placement: 'static', nodeset, implicit: false, from: refOf(mem) };
    }
  } else if (placement === 'auto' && !m0) {
    memory = { mode: 'strict', placement: 'auto', implicit: true };
    change('NUMATUNE_IMPLICIT_AUTO', 6, "<vcpu placement='auto'> without <numatune><memory> gets <memory mode='strict' placement='auto'/>", vcpuEl ?? model.root);
  }
  const anyPin = cpuset !== undefined || (ct?.vcpupins.some((p) => ok(p.vcpu) !== undefined && ok(p.vcpu)! < maxVcpus) ?? false) || (ct?.emulatorpins.length ?? 0) > 0 || (ct?.iothreadpins.length ?? 0) > 0;
  if (memory?.placement === 'auto' && placement === 'static' && !anyPin) {
    placement = 'auto';
    change('PLACEMENT_PROMOTED_AUTO', 5, "vCPU placement becomes 'auto' because memory placement is 'auto' and nothing is pinned", vcpuEl ?? model.numatune!.blocks[0]!);
  }
  const memnodes: MemnodeState[] = [];
  const cellCount = model.cpu?.numa?.cells.length ?? 0;
  const seenCells = new Set<number>();
  for (const m of model.numatune?.memnodes ?? []) {
    const cellid = ok(m.cellid);
    const nodeset = ok(m.nodeset);
    // V23 refusals, including any memnode beside auto memory placement (explicit or implicit).
    if (memory?.placement === 'auto' || cellid === undefined || cellid >= cellCount || seenCells.has(cellid) || !nodeset || nodeset.isEmpty() || (m.mode && m.mode.error)) continue;
    seenCells.add(cellid);
    if (!m.mode) change('NUMATUNE_MODE_DEFAULTED', 7, "<memnode> has no mode; libvirt uses and writes mode='strict'", m);
    memnodes.push({ cellid, mode: ok(m.mode) ?? 'strict', nodeset, from: refOf(m) });
  }
  memnodes.sort((a, b) => a.cellid - b.cellid);

  // ---- guest NUMA cells (spec §3.6)
  const guestCells: GuestCellState[] = [];
  const cells = model.cpu?.numa?.cells ?? [];
  for (const c of cells) {
    const id = c.id ? ok(c.id) : c.index;
    if (id === undefined) continue;
    const cpus = c.cpus ? (ok(c.cpus) ?? CpuSet.empty()) : CpuSet.empty();
    if (c.cpus && ok(c.cpus)?.isEmpty()) change('NUMA_CELL_CPULESS', 13, `guest NUMA cell ${id}'s cpus='${c.cpus.raw}' name no vCPU: the cell has no CPUs`, c);
    const memoryKiB = ok(c.memory);
    guestCells.push({ id, cpus: cpus.truncate(maxVcpus - 1), ...(memoryKiB !== undefined ? { memoryKiB: scaleToKiB(memoryKiB, c.unit?.value) } : {}), from: refOf(c) });
  }
  if (guestCells.some((c, i) => i > 0 && c.id < guestCells[i - 1]!.id)) {
    change('NUMA_CELLS_REORDERED', 13, 'guest NUMA cells are written back sorted by id', model.cpu!.numa!);
  }
  guestCells.sort((a, b) => a.id - b.id);
  if (driver === 'qemu' && guestCells.length > 0 && maxVcpus > 0) {
    const listed = new CpuBitmap(); // a chain of unions would cost cells × ranges so far
    for (const c of guestCells) listed.add(c.cpus);
    const missing = listed.missing(CpuSet.range(0, maxVcpus - 1));
    const cell0 = guestCells.find((c) => c.id === 0);
    if (!missing.isEmpty() && cell0) {
      cell0.cpus = cell0.cpus.union(missing);
      change('NUMA_CELL0_FILLED', 13, `vCPUs ${missing} are in no guest NUMA cell; QEMU adds them to cell 0`, model.cpu!.numa!);
    }
  }

  // ---- hostdevs (spec §3.7)
  const hostdevs = model.hostdevs.map((h) => {
    if (h.managed?.warning) change('HOSTDEV_MANAGED_IGNORED', 15, `managed='${h.managed.raw}' is not yes/no; libvirt ignores it and uses 'no'`, h);
    return {
      via: h.via,
      type: h.type?.value ?? 'unknown',
      managed: h.managed?.value ?? false,
      ...(h.pci?.canonical ? { pciAddress: h.pci.canonical } : {}),
      from: refOf(h),
    };
  });

  const def: DomainDefinition = {
    driver,
    maxVcpus,
    vcpus,
    individualVcpus,
    placement,
    iothreads,
    printIOThreadIds: printIOThreadIds || iothreads.some((t) => t.threadPoolMin >= 0 || t.threadPoolMax >= 0 || t.poll !== undefined),
    bandwidth,
    resctrl,
    numatune: { ...(memory ? { memory } : {}), memnodes },
    guestCells,
    hostdevs,
    changes,
  };
  if (model.type?.value !== undefined) def.domainType = model.type.value;
  if (cpuset) def.cpuset = cpuset;
  if (libvirtVersion) def.libvirtVersion = libvirtVersion;
  if (defaultIOThread) def.defaultIOThread = defaultIOThread;
  if (emulatorPin) def.emulatorPin = emulatorPin;
  if (emulatorSched) def.emulatorSched = emulatorSched;
  return def;
}

/** virDomainParseMemory: the size in bytes, then whole KiB rounded up (`1000 KB` → 977, `1025 b` → 2). */
function scaleToKiB(value: bigint, unit: string | undefined): bigint {
  const scaled = scaledBytes(value, unit);
  if ('error' in scaled) return value; // refused by V25; nothing is stored
  return (scaled.bytes + 1023n) / 1024n;
}
