/**
 * readDomain: the parse phase. Reads exactly the elements libvirt reads for
 * affinity, with libvirt's grammars (grammar.ts), never throwing for bad
 * values: every value is a Field that keeps text, value and error.
 */
import { VirtPinError } from '../errors.js';
import type { XmlDocument, XmlElement } from '../xml/index.js';
import { ElementImpl } from '../xml/tree.js';
import {
  autoBaseUnsigned,
  cpuList,
  enumOf,
  plainString,
  signed64,
  signedInt,
  unsigned64,
  unsignedInt,
  ValueField,
  wrappingUnsignedInt,
  yesNo,
} from './grammar.js';
import type {
  CacheTuneDef,
  CpuDef,
  CputuneDef,
  DomainModel,
  ElementRef,
  Field,
  HostdevDef,
  IOThreadPinDef,
  IOThreadRef,
  Loc,
  MemoryTuneDef,
  NumaMode,
  Placement,
  ResctrlMonitorDef,
  SchedDef,
  Scheduler,
  SetField,
  VcpuPinDef,
} from './types.js';

const PLACEMENTS: readonly Placement[] = ['static', 'auto'];
const NUMA_MODES: readonly NumaMode[] = ['strict', 'preferred', 'interleave', 'restrictive'];
const SCHEDULERS: readonly Scheduler[] = ['batch', 'idle', 'fifo', 'rr'];

/** `/domain/cputune/vcpupin[3]`: 1-based index among same-name siblings. */
export function elementPath(e: XmlElement): string {
  return new PathCache().path(e);
}

/**
 * Element paths for one read: each parent's children are indexed once (so
 * 1,000 <vcpupin>s cost linear time) and each parent's own path is built
 * once. The cache lives as long as the read; a module-level WeakMap keyed by
 * every parent of every document read made the GC scan an ever-growing
 * ephemeron table (a third of a corpus pass was GC).
 */
class PathCache {
  readonly #paths = new Map<XmlElement, string>();
  /**
   * Per parent: how many element children have each name. Each child's 1-based position among its same-name
   * siblings is written on the child itself (ElementImpl.siblingPosition) when the parent is indexed: a Map
   * from 4,096 <vcpupin>s to their positions cost more memory than the pins' own paths.
   */
  readonly #counts = new Map<XmlElement, Map<string, number>>();
  /** Per parent and child name: `/domain/cputune/vcpupin[`, the prefix of the indexed paths (indexedPath). */
  readonly #prefixes = new Map<XmlElement, Map<string, string>>();

  path(e: XmlElement): string {
    const parent = e.parent;
    if (!parent) return `/${e.name}`;
    const count = this.#count(parent).get(e.name) ?? 1;
    return count > 1 ? indexedPath(this.#prefix(parent, e.name), positionOf(e)) : `${this.#parentPath(parent)}/${e.name}`;
  }

  #prefix(parent: XmlElement, name: string): string {
    let byName = this.#prefixes.get(parent);
    if (!byName) this.#prefixes.set(parent, (byName = new Map()));
    let prefix = byName.get(name);
    if (prefix === undefined) byName.set(name, (prefix = [this.#parentPath(parent), '/', name, '['].join('')));
    return prefix;
  }

  /** Only parents' paths are kept: each is the prefix of many; a leaf's path is asked for once or twice. */
  #parentPath(e: XmlElement): string {
    const known = this.#paths.get(e);
    if (known !== undefined) return known;
    const out = this.path(e);
    this.#paths.set(e, out);
    return out;
  }

  #count(parent: XmlElement): Map<string, number> {
    let count = this.#counts.get(parent);
    if (!count) {
      count = new Map<string, number>();
      for (const k of parent.children) {
        if (k.kind !== 'element') continue;
        const n = (count.get(k.name) ?? 0) + 1;
        count.set(k.name, n);
        // Rewritten on every read that indexes this parent, so an edit since an earlier read cannot leave a stale one.
        if (k instanceof ElementImpl) k.siblingPosition = n;
      }
      this.#counts.set(parent, count);
    }
    return count;
  }
}

/**
 * `prefix` + position + `]`, the same string object for the same path in every read: `/domain/cputune/vcpupin[7]`
 * of each of thousands of pins was a new string per read (and a temporary array to join it flat), made again by
 * every check and resolve of the domain. Only strings are kept (no element, no document), at most
 * INDEXED_PATH_LIMIT of them under at most INDEXED_PREFIX_LIMIT prefixes of at most MAX_INDEXED_PREFIX_LENGTH
 * characters; past either count the cache starts over.
 */
const INDEXED_PATHS = new Map<string, string[]>();
const INDEXED_PREFIX_LIMIT = 64;
const INDEXED_PATH_LIMIT = 1 << 15;
let indexedPathCount = 0;

function indexedPath(prefix: string, position: number): string {
  // A hostile document's kilobyte-long names are not kept past its read.
  if (prefix.length > MAX_INDEXED_PREFIX_LENGTH) return [prefix, position, ']'].join('');
  let list = INDEXED_PATHS.get(prefix);
  if (!list) {
    if (INDEXED_PATHS.size >= INDEXED_PREFIX_LIMIT) {
      INDEXED_PATHS.clear();
      indexedPathCount = 0;
    }
    INDEXED_PATHS.set(prefix, (list = []));
  }
  const known = list[position];
  if (known !== undefined) return known;
  // join() builds one flat string; a template of this shape keeps a tree of concatenation nodes alive with the model.
  const path = [prefix, position, ']'].join('');
  if (position <= MAX_INDEXED_POSITION) {
    if (indexedPathCount >= INDEXED_PATH_LIMIT) {
      INDEXED_PATHS.clear();
      indexedPathCount = 0;
      INDEXED_PATHS.set(prefix, (list = []));
    }
    list[position] = path;
    indexedPathCount++;
  }
  return path;
}

const MAX_INDEXED_PREFIX_LENGTH = 256;

/** Positions past this (more same-name siblings than a domain has vCPUs) are built each time, not cached. */
const MAX_INDEXED_POSITION = 16384;

/** A child's position among its same-name siblings; its parent was indexed (PathCache.#count) in this read. */
function positionOf(e: XmlElement): number {
  if (e instanceof ElementImpl) return e.siblingPosition;
  // Not the library's own tree (a caller's XmlElement): count the earlier same-name siblings.
  let n = 1;
  for (const k of e.parent!.children) {
    if (k === e) break;
    if (k.kind === 'element' && k.name === e.name) n++;
  }
  return n;
}

/**
 * libvirt reads a domain with prefix-less XPath, which matches only elements
 * in no namespace: `<vcpu xmlns='urn:x'>` is not its <vcpu>, and a default
 * namespace on <domain> hides every child (libvirt then refuses the domain
 * for its missing <name>).
 */
function children(e: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const k of e.elements(name)) if (k.namespaceURI() === undefined) out.push(k);
  return out;
}

function child(e: XmlElement, name: string): XmlElement | undefined {
  for (const k of e.elements(name)) if (k.namespaceURI() === undefined) return k;
  return undefined;
}

function locOf(e: XmlElement): Loc {
  return e.location ?? { line: 1, column: 1, offset: 0 };
}

/** The path cache of the read in progress (readDomain is synchronous and not re-entrant). */
let paths = new PathCache();

function ref(e: XmlElement): ElementRef {
  return { loc: locOf(e), path: paths.path(e) };
}

/**
 * An attribute's field. An accepted value (a ValueField) locates its attribute only when asked, from the
 * document's line table (the table, not the tree: the model outlives the tree); the element's location stands in
 * while it is parsed. A refused or warned-about value, which a diagnostic will point at, is located now.
 */
function attrField<T>(e: XmlElement, name: string, parse: (raw: string, loc: Loc) => Field<T>): Field<T> | undefined {
  if (!(e instanceof ElementImpl)) {
    // A caller's own XmlElement: located now.
    const a = e.attribute(name);
    return a === undefined ? undefined : parse(a.value, e.attrLocation(name) ?? locOf(e));
  }
  // By index: no attribute records are built for a read.
  const k = e.attrIndex(name);
  if (k === -1) return undefined;
  const f = parse(e.attrValueAt(k), locOf(e));
  const start = e.attrStartAt(k);
  // An attribute an edit wrote has no place in the source: it keeps the element's location.
  if (start < 0) return f;
  if (f instanceof ValueField) f.locateLater(e.docImpl.lines, start);
  else f.loc = e.docImpl.locate(start);
  return f;
}

/** XPath string-value of an element: all descendant text and CDATA, in document order (comments excluded). */
function stringValue(e: XmlElement): string {
  let out = '';
  for (const c of e.children) {
    if (c.kind === 'text' || c.kind === 'cdata') out += c.value;
    else if (c.kind === 'element') out += stringValue(c);
  }
  return out;
}

/** Element text, treating an empty element as absent (libvirt's XPath string() helpers do). */
function textField<T>(e: XmlElement | undefined, parse: (raw: string, loc: Loc) => Field<T>): Field<T> | undefined {
  if (!e) return undefined;
  const raw = stringValue(e);
  if (raw === '') return undefined;
  return parse(raw, locOf(e));
}

/**
 * Read a domain document as libvirt's parser does: every affinity-related
 * element and attribute with its location and, where libvirt would refuse
 * the value, the reason. Never throws for bad values (validation reports
 * them); accepts `<domstatus>`-wrapped status XML too.
 */
export function readDomain(doc: XmlDocument): DomainModel {
  paths = new PathCache();
  try {
    return readRoot(doc);
  } finally {
    paths = EMPTY_PATHS;
  }
}

const EMPTY_PATHS = new PathCache();

function readRoot(doc: XmlDocument): DomainModel {
  // Status XML (libvirt's /run/libvirt/qemu/NAME.xml, and what some hook
  // operations receive) wraps the definition in <domstatus>.
  // The root is matched by local name whatever its namespace, as libvirt does.
  const root = doc.root.localName === 'domstatus' ? (child(doc.root, 'domain') ?? doc.root) : doc.root;
  if (root.localName !== 'domain') {
    throw new VirtPinError('DOMAIN_NOT_A_DOMAIN', `the root element is <${root.name}>, not <domain>`, {
      ...(root.location ? { location: root.location } : {}),
      hint: 'pass a libvirt domain definition (virsh dumpxml NAME)',
    });
  }
  const model: DomainModel = { root: ref(root), ignoredVcpuElements: [], hostdevs: [], iothreadRefs: [] };
  const rootNamespace = root.namespaceURI();
  if (rootNamespace !== undefined) model.rootNamespace = rootNamespace;
  const type = attrField(root, 'type', plainString);
  if (type) model.type = type;
  const name = textField(child(root, 'name'), plainString);
  if (name) model.name = name;
  const os = child(root, 'os');
  const osType = os && child(os, 'type');
  if (osType) {
    const arch = attrField(osType, 'arch', plainString);
    if (arch) model.arch = arch;
    const machine = attrField(osType, 'machine', plainString);
    if (machine) model.machine = machine;
  }

  // <vcpu>: only the first is read.
  const vcpuEls = children(root, 'vcpu');
  const vcpuEl = vcpuEls[0];
  for (const extra of vcpuEls.slice(1)) model.ignoredVcpuElements.push(ref(extra));
  if (vcpuEl) {
    // virXMLNodeContentString: all descendant text; an empty element gives "" which libvirt refuses.
    // A literal, not a spread of ref(): V8 clones a spread source through a slow path, once per document read.
    model.vcpu = { loc: locOf(vcpuEl), path: paths.path(vcpuEl), max: wrappingUnsignedInt(stringValue(vcpuEl), locOf(vcpuEl)) };
    const current = attrField(vcpuEl, 'current', unsignedInt);
    if (current) model.vcpu.current = current;
    const placement = attrField(vcpuEl, 'placement', (r, l) => enumOf(r, l, PLACEMENTS));
    if (placement) model.vcpu.placement = placement;
    const cpusetRaw = vcpuEl.attr('cpuset');
    if (cpusetRaw !== undefined) {
      const loc = vcpuEl.attrLocation('cpuset') ?? locOf(vcpuEl);
      // With placement='auto' libvirt never parses the cpuset (spec §3.1).
      model.vcpu.cpuset = placement?.value === 'auto' ? { raw: cpusetRaw, value: undefined, loc, ignored: true } : cpuList(cpusetRaw, loc);
    }
  }

  // <vcpus>: children of every block, merged.
  const vcpusBlocks = children(root, 'vcpus');
  if (vcpusBlocks.length) {
    model.vcpus = {
      blocks: vcpusBlocks.map(ref),
      entries: vcpusBlocks.flatMap((b) =>
        children(b, 'vcpu').map((v) => {
          const entry: NonNullable<DomainModel['vcpus']>['entries'][number] = ref(v);
          const id = attrField(v, 'id', unsignedInt);
          if (id) entry.id = id;
          const enabled = attrField(v, 'enabled', yesNo);
          if (enabled) entry.enabled = enabled;
          const hot = attrField(v, 'hotpluggable', yesNo);
          if (hot) entry.hotpluggable = hot;
          const order = attrField(v, 'order', unsignedInt);
          if (order) entry.order = order;
          return entry;
        }),
      ),
    };
  }

  // IOThreads.
  // string(./iothreads[1]) through virStrToLong_uip; an empty element reads as absent (0).
  const iothreadsEl = child(root, 'iothreads');
  if (iothreadsEl) {
    const raw = stringValue(iothreadsEl);
    model.iothreads = raw === '' ? { raw: '', value: 0, loc: locOf(iothreadsEl) } : unsignedInt(raw, locOf(iothreadsEl));
  }
  const idBlocks = children(root, 'iothreadids');
  if (idBlocks.length) {
    model.iothreadids = {
      blocks: idBlocks.map(ref),
      entries: idBlocks.flatMap((b) =>
        children(b, 'iothread').map((t) => {
          const entry: NonNullable<DomainModel['iothreadids']>['entries'][number] = ref(t);
          const id = attrField(t, 'id', unsignedInt);
          if (id) entry.id = id;
          const min = attrField(t, 'thread_pool_min', signedInt);
          if (min) entry.threadPoolMin = min;
          const max = attrField(t, 'thread_pool_max', signedInt);
          if (max) entry.threadPoolMax = max;
          const poll = child(t, 'poll');
          if (poll) {
            entry.poll = ref(poll);
            for (const k of ['max', 'grow', 'shrink'] as const) {
              const f = attrField(poll, k, unsigned64);
              if (f) entry.poll[k] = f;
            }
          }
          return entry;
        }),
      ),
    };
  }
  const defIo = child(root, 'defaultiothread');
  if (defIo) {
    model.defaultIOThread = ref(defIo);
    const min = attrField(defIo, 'thread_pool_min', signedInt);
    if (min) model.defaultIOThread.threadPoolMin = min;
    const max = attrField(defIo, 'thread_pool_max', signedInt);
    if (max) model.defaultIOThread.threadPoolMax = max;
  }

  const cputuneBlocks = children(root, 'cputune');
  if (cputuneBlocks.length) model.cputune = readCputune(cputuneBlocks);

  const numatuneBlocks = children(root, 'numatune');
  if (numatuneBlocks.length) {
    const first = numatuneBlocks[0]!;
    const memory = child(first, 'memory');
    model.numatune = { blocks: numatuneBlocks.map(ref), memnodes: [] };
    if (memory) {
      model.numatune.memory = ref(memory);
      const mode = attrField(memory, 'mode', (r, l) => enumOf(r, l, NUMA_MODES));
      if (mode) model.numatune.memory.mode = mode;
      const placement = attrField(memory, 'placement', (r, l) => enumOf(r, l, PLACEMENTS));
      if (placement) model.numatune.memory.placement = placement;
      const nodeset = attrField(memory, 'nodeset', cpuList);
      if (nodeset) model.numatune.memory.nodeset = nodeset;
    }
    for (const m of children(first, 'memnode')) {
      const mn: NonNullable<DomainModel['numatune']>['memnodes'][number] = ref(m);
      const cellid = attrField(m, 'cellid', unsignedInt);
      if (cellid) mn.cellid = cellid;
      const mode = attrField(m, 'mode', (r, l) => enumOf(r, l, NUMA_MODES));
      if (mode) mn.mode = mode;
      const nodeset = attrField(m, 'nodeset', cpuList);
      if (nodeset) mn.nodeset = nodeset;
      model.numatune.memnodes.push(mn);
    }
  }

  const cpuEl = child(root, 'cpu');
  if (cpuEl) model.cpu = readCpu(cpuEl);

  const devices = child(root, 'devices');
  if (devices) {
    for (const h of children(devices, 'hostdev')) model.hostdevs.push(readHostdev(h, 'hostdev'));
    for (const i of children(devices, 'interface')) if (i.attr('type') === 'hostdev') model.hostdevs.push(readHostdev(i, 'interface'));
    for (const disk of children(devices, 'disk')) {
      const bus = child(disk, 'target')?.attr('bus');
      const driver = child(disk, 'driver');
      if (!driver) continue;
      const id = attrField(driver, 'iothread', unsignedInt);
      if (id) model.iothreadRefs.push({ loc: locOf(driver), path: paths.path(driver), device: 'disk', ...(bus ? { bus } : {}), id });
      for (const block of children(driver, 'iothreads')) {
        for (const t of children(block, 'iothread')) {
          const tid = attrField(t, 'id', unsignedInt);
          if (tid) model.iothreadRefs.push({ loc: locOf(t), path: paths.path(t), device: 'disk', ...(bus ? { bus } : {}), id: tid, mapping: true });
        }
      }
    }
    for (const c of children(devices, 'controller')) {
      const driver = child(c, 'driver');
      const id = driver ? attrField(driver, 'iothread', unsignedInt) : undefined;
      const model_ = c.attr('model');
      if (driver && id) model.iothreadRefs.push({ loc: locOf(driver), path: paths.path(driver), device: 'controller', ...(model_ ? { bus: model_ } : {}), id } satisfies IOThreadRef);
      for (const block of driver ? children(driver, 'iothreads') : []) {
        for (const t of children(block, 'iothread')) {
          const tid = attrField(t, 'id', unsignedInt);
          if (tid) model.iothreadRefs.push({ loc: locOf(t), path: paths.path(t), device: 'controller', ...(model_ ? { bus: model_ } : {}), id: tid, mapping: true });
        }
      }
    }
    const iommu = child(devices, 'iommu');
    if (iommu) {
      const modelAttr = iommu.attr('model');
      const eim = child(iommu, 'driver')?.attr('eim');
      model.iommu = { ...(modelAttr ? { model: modelAttr } : {}), ...(eim ? { eim } : {}), loc: locOf(iommu) };
    }
  }
  return model;
}

const SCALARS = [
  ['shares', 'shares', unsigned64],
  ['period', 'period', unsigned64],
  ['quota', 'quota', signed64],
  ['global_period', 'globalPeriod', unsigned64],
  ['global_quota', 'globalQuota', signed64],
  ['emulator_period', 'emulatorPeriod', unsigned64],
  ['emulator_quota', 'emulatorQuota', signed64],
  ['iothread_period', 'iothreadPeriod', unsigned64],
  ['iothread_quota', 'iothreadQuota', signed64],
] as const;

// A <vcpupin> or <iothreadpin> with both attributes (the usual case, one per vCPU): a class instance, not an
// object literal, so that V8 never pretenures it (see PinnedVcpu in src/resolve/resolve.ts).
class VcpuPin implements VcpuPinDef {
  constructor(
    public loc: Loc,
    public path: string,
    public vcpu: Field<number>,
    public cpuset: SetField,
  ) {}
}

class IOThreadPin implements IOThreadPinDef {
  constructor(
    public loc: Loc,
    public path: string,
    public iothread: Field<number>,
    public cpuset: SetField,
  ) {}
}

function readCputune(blocks: XmlElement[]): CputuneDef {
  // Children of every block by name, in document order: one pass instead of one scan per element name (17 of them).
  const byName = new Map<string, XmlElement[]>();
  for (const b of blocks) {
    for (const k of b.elements()) {
      if (k.namespaceURI() !== undefined) continue;
      const list = byName.get(k.name);
      if (list) list.push(k);
      else byName.set(k.name, [k]);
    }
  }
  const all = (name: string): XmlElement[] => byName.get(name) ?? [];
  const def: CputuneDef = {
    blocks: blocks.map(ref),
    vcpupins: [],
    emulatorpins: [],
    iothreadpins: [],
    vcpuscheds: [],
    iothreadscheds: [],
    emulatorscheds: [],
    cachetunes: [],
    memorytunes: [],
    ignoredRepeats: [],
  };
  for (const [el, key, parse] of SCALARS) {
    const found = all(el);
    const first = found[0];
    for (const extra of found.slice(1)) def.ignoredRepeats.push(ref(extra));
    const f = textField(first, parse as (raw: string, loc: Loc) => Field<bigint>);
    if (f) def[key] = f;
  }
  // Pins with both attributes (the usual case) are built in one constructor call (VcpuPin, IOThreadPin); the key
  // order is the same either way. The element is located first: document.locate walks forward (src/xml/tree.ts),
  // and attrField gives each accepted attribute the element's (cached) location until its own is asked for.
  for (const p of all('vcpupin')) {
    const loc = locOf(p);
    const vcpu = attrField(p, 'vcpu', unsignedInt);
    const cpuset = attrField(p, 'cpuset', cpuList);
    if (vcpu && cpuset) {
      def.vcpupins.push(new VcpuPin(loc, paths.path(p), vcpu, cpuset));
      continue;
    }
    const pin: CputuneDef['vcpupins'][number] = ref(p);
    if (vcpu) pin.vcpu = vcpu;
    if (cpuset) pin.cpuset = cpuset;
    def.vcpupins.push(pin);
  }
  for (const p of all('emulatorpin')) {
    const pin: CputuneDef['emulatorpins'][number] = ref(p);
    const cpuset = attrField(p, 'cpuset', cpuList);
    if (cpuset) pin.cpuset = cpuset;
    def.emulatorpins.push(pin);
  }
  for (const p of all('iothreadpin')) {
    const loc = locOf(p);
    const id = attrField(p, 'iothread', unsignedInt);
    const cpuset = attrField(p, 'cpuset', cpuList);
    if (id && cpuset) {
      def.iothreadpins.push(new IOThreadPin(loc, paths.path(p), id, cpuset));
      continue;
    }
    const pin: CputuneDef['iothreadpins'][number] = ref(p);
    if (id) pin.iothread = id;
    if (cpuset) pin.cpuset = cpuset;
    def.iothreadpins.push(pin);
  }
  const sched = (e: XmlElement, kind: SchedDef['kind'], listAttr?: string): SchedDef => {
    const s: SchedDef = { loc: locOf(e), path: paths.path(e), kind };
    if (listAttr) {
      const ids = attrField(e, listAttr, cpuList);
      if (ids) s.ids = ids;
    }
    const scheduler = attrField(e, 'scheduler', (r, l) => enumOf(r, l, SCHEDULERS));
    if (scheduler) s.scheduler = scheduler;
    const priority = attrField(e, 'priority', signedInt);
    if (priority) {
      const realtime = scheduler?.value === 'fifo' || scheduler?.value === 'rr';
      // For batch/idle (or an unknown scheduler) libvirt never reads priority.
      s.priority = realtime ? priority : { raw: priority.raw, value: priority.value, loc: priority.loc, ignored: true };
    }
    return s;
  };
  def.vcpuscheds = all('vcpusched').map((e) => sched(e, 'vcpu', 'vcpus'));
  def.iothreadscheds = all('iothreadsched').map((e) => sched(e, 'iothread', 'iothreads'));
  def.emulatorscheds = all('emulatorsched').map((e) => sched(e, 'emulator'));
  const monitors = (e: XmlElement): ResctrlMonitorDef[] =>
    children(e, 'monitor').map((m) => {
      const mon: ResctrlMonitorDef = ref(m);
      const level = attrField(m, 'level', unsignedInt);
      if (level) mon.level = level;
      const vcpus = attrField(m, 'vcpus', cpuList);
      if (vcpus) mon.vcpus = vcpus;
      return mon;
    });
  def.cachetunes = all('cachetune').map((e) => {
    const t: CacheTuneDef = { loc: locOf(e), path: paths.path(e), caches: [], monitors: monitors(e) };
    const vcpus = attrField(e, 'vcpus', cpuList);
    if (vcpus) t.vcpus = vcpus;
    t.caches = children(e, 'cache').map((c) => {
      const cache: CacheTuneDef['caches'][number] = ref(c);
      const id = attrField(c, 'id', unsignedInt);
      if (id) cache.id = id;
      const level = attrField(c, 'level', unsignedInt);
      if (level) cache.level = level;
      const type = attrField(c, 'type', (r, l) => enumOf(r, l, ['both', 'code', 'data'] as const));
      if (type) cache.type = type;
      const size = attrField(c, 'size', unsigned64);
      if (size) cache.size = size;
      const unit = attrField(c, 'unit', plainString);
      if (unit) cache.unit = unit;
      return cache;
    });
    return t;
  });
  def.memorytunes = all('memorytune').map((e) => {
    const t: MemoryTuneDef = { loc: locOf(e), path: paths.path(e), nodes: [], monitors: monitors(e) };
    const vcpus = attrField(e, 'vcpus', cpuList);
    if (vcpus) t.vcpus = vcpus;
    t.nodes = children(e, 'node').map((n) => {
      const node: MemoryTuneDef['nodes'][number] = ref(n);
      const id = attrField(n, 'id', unsignedInt);
      if (id) node.id = id;
      const bw = attrField(n, 'bandwidth', unsignedInt);
      if (bw) node.bandwidth = bw;
      return node;
    });
    return t;
  });
  return def;
}

function readCpu(cpuEl: XmlElement): CpuDef {
  const cpu: CpuDef = ref(cpuEl);
  const mode = attrField(cpuEl, 'mode', plainString);
  if (mode) cpu.mode = mode;
  const topo = child(cpuEl, 'topology');
  if (topo) {
    cpu.topology = ref(topo);
    for (const k of ['sockets', 'dies', 'clusters', 'cores', 'threads'] as const) {
      const f = attrField(topo, k, unsignedInt);
      if (f) cpu.topology[k] = f;
    }
  }
  const numa = child(cpuEl, 'numa');
  if (numa) {
    cpu.numa = {
      loc: locOf(numa),
      path: paths.path(numa),
      cells: children(numa, 'cell').map((c, index) => {
        const cell: NonNullable<CpuDef['numa']>['cells'][number] = { loc: locOf(c), path: paths.path(c), index };
        const id = attrField(c, 'id', unsignedInt);
        if (id) cell.id = id;
        const cpus = attrField(c, 'cpus', cpuList);
        if (cpus) cell.cpus = cpus;
        const memory = attrField(c, 'memory', unsigned64);
        if (memory) cell.memory = memory;
        const unit = attrField(c, 'unit', plainString);
        if (unit) cell.unit = unit;
        return cell;
      }),
    };
  }
  return cpu;
}

function readHostdev(h: XmlElement, via: HostdevDef['via']): HostdevDef {
  const def: HostdevDef = { loc: locOf(h), path: paths.path(h), via };
  const mode = attrField(h, 'mode', plainString);
  if (mode) def.mode = mode;
  const type = via === 'interface' ? { raw: 'pci', value: 'pci', loc: locOf(h) } : attrField(h, 'type', plainString);
  if (type) def.type = type;
  const managed = attrField(h, 'managed', yesNo);
  // libvirt discards this attribute's parse result: a bogus value means 'no' (spec §3.7, §7 item 15).
  if (managed) def.managed = managed.error ? { raw: managed.raw, value: false, warning: managed.error, loc: managed.loc } : managed;
  const driver = child(h, 'driver')?.attr('name');
  if (driver) def.driver = driver;
  if (h.attr('ramfb') === 'on' || child(h, 'source')?.attr('ramfb') === 'on') def.ramfb = true;
  const source = child(h, 'source');
  const addr = source && child(source, 'address');
  if (type?.value === 'pci' && addr) {
    const pci: NonNullable<HostdevDef['pci']> = ref(addr);
    for (const k of ['domain', 'bus', 'slot', 'function'] as const) {
      const f = attrField(addr, k, autoBaseUnsigned);
      if (f) pci[k] = f;
    }
    const d = pci.domain?.value ?? 0;
    const b = pci.bus?.value;
    const s = pci.slot?.value;
    const fn = pci.function?.value;
    if (b !== undefined && s !== undefined && fn !== undefined && d <= 0xffff && b <= 0xff && s <= 0x1f && fn <= 7 && !pci.domain?.error) {
      pci.canonical = formatPciAddress(d, b, s, fn);
    }
    def.pci = pci;
  } else if (type?.value && type.value !== 'pci') {
    // Identity of a non-PCI source: every attribute under <source>, in order
    // (USB vendor/product or bus/device, SCSI adapter/address, mdev uuid).
    const src = child(h, 'source');
    const parts: string[] = [];
    const walk = (e: XmlElement): void => {
      for (const a of e.attributes) parts.push(`${e.name}.${a.name}=${a.value}`);
      for (const c of e.elements()) if (c.namespaceURI() === undefined) walk(c);
    };
    if (src) walk(src);
    if (parts.length) def.sourceKey = `${type.value} ${parts.join(' ')}`;
  }
  return def;
}

/** `DDDD:BB:SS.F` in lower-case hex, as sysfs names PCI devices. */
export function formatPciAddress(domain: number, bus: number, slot: number, fn: number): string {
  const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');
  return `${hex(domain, 4)}:${hex(bus, 2)}:${hex(slot, 2)}.${fn.toString(16)}`;
}
