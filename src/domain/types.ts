/**
 * Typed view of the affinity-relevant parts of a libvirt domain.
 *
 * `readDomain` mirrors libvirt's *parse phase* (virDomainDefParseXML and the
 * helpers named in shared/spec/libvirt-affinity-semantics.md §3): it reads
 * exactly the elements libvirt reads, with libvirt's number and list
 * grammars, but it never throws on bad values. Instead every value is a
 * `Field` that keeps the text as written, the parsed value, and — when
 * libvirt's parser would refuse the text — a `FieldError`. Deciding which
 * refusals matter (and under which driver) is the job of `validate`;
 * deciding what the values mean is the job of `resolve`.
 *
 * Nothing here holds a reference to the XML tree, so a model can be logged,
 * compared or sent to a worker; cpusets are `CpuSet` values, whose JSON form
 * is the canonical string.
 */
import type { SourceLocation } from '../errors.js';
import type { CpuSet } from '../cpuset/index.js';

export type Loc = SourceLocation;

/** Why libvirt's parser refuses a value. */
export interface FieldError {
  /**
   * Stable code. Grammar errors of lists reuse the cpuset module's codes
   * (`CPUSET_*`); scalar errors use `NOT_UNSIGNED`, `NOT_INTEGER`,
   * `OUT_OF_RANGE`, `ZERO`, `BAD_ENUM`, `TRAILING_GARBAGE`, `EMPTY`.
   */
  code: string;
  message: string;
  /** 0-based index into `raw` of the offending character, when known. */
  position?: number;
}

/** One attribute value or element text, as written and as parsed. */
export interface Field<T> {
  /** Decoded text as written (attribute value, or element text content). */
  raw: string;
  /** What libvirt's parser stores; undefined when it refuses `raw` (see `error`). */
  value: T | undefined;
  error?: FieldError;
  /**
   * Set when libvirt accepts `raw` but stores something the writer can
   * hardly have meant (e.g. `NEGATIVE_WRAPPED`: `<vcpu>-1</vcpu>` is stored
   * as 4294967295). Never set together with `error`.
   */
  warning?: FieldError;
  /** Location of the attribute (for attributes) or of the element (for text). */
  loc: Loc;
}

/**
 * A list-valued field (cpuset grammar, spec §2). `error` reports grammar
 * errors only; an empty result is kept as an empty set because whether it
 * is legal depends on the element (spec §2.2) — validate decides.
 */
export type SetField = Field<CpuSet>;

export type Placement = 'static' | 'auto';
export type NumaMode = 'strict' | 'preferred' | 'interleave' | 'restrictive';
export type Scheduler = 'batch' | 'idle' | 'fifo' | 'rr';

/** Where an element sits, for diagnostics. */
export interface ElementRef {
  loc: Loc;
  /** A readable path such as `/domain/cputune/vcpupin[3]` (1-based among same-name siblings). */
  path: string;
}

// ---------------------------------------------------------------- <vcpu>

/** `<vcpu placement cpuset current>N</vcpu>` — spec §3.1. Only the first `<vcpu>` is read. */
export interface VcpuDef extends ElementRef {
  /**
   * Text content = maximum vCPUs, read like virStrToLong_ui: leading
   * whitespace and '+' accepted, trailing whitespace refused
   * (`TRAILING_WHITESPACE`), an empty element refused (`EMPTY`), and a
   * leading '-' wrapped modulo 2^32 (`warning.code === 'NEGATIVE_WRAPPED'`).
   */
  max: Field<number>;
  current?: Field<number>;
  placement?: Field<Placement>;
  /**
   * `cpuset` attribute. Present in the model whenever written; when the
   * placement is `auto` libvirt never parses it, so `ignored` is true and
   * `value`/`error` are left unset.
   */
  cpuset?: SetField & { ignored?: boolean };
}

// ---------------------------------------------------------------- <vcpus>

export interface VcpusEntry extends ElementRef {
  id?: Field<number>;
  enabled?: Field<boolean>;
  hotpluggable?: Field<boolean>;
  order?: Field<number>;
}

/** All `<vcpus><vcpu>` children, merged across repeated `<vcpus>` blocks in document order. */
export interface VcpusDef {
  blocks: ElementRef[];
  entries: VcpusEntry[];
}

// ---------------------------------------------------------------- IOThreads

export interface IOThreadPoll extends ElementRef {
  max?: Field<bigint>;
  grow?: Field<bigint>;
  shrink?: Field<bigint>;
}

export interface IOThreadIdEntry extends ElementRef {
  id?: Field<number>;
  threadPoolMin?: Field<number>;
  threadPoolMax?: Field<number>;
  poll?: IOThreadPoll;
}

export interface IOThreadIdsDef {
  blocks: ElementRef[];
  entries: IOThreadIdEntry[];
}

export interface DefaultIOThreadDef extends ElementRef {
  threadPoolMin?: Field<number>;
  threadPoolMax?: Field<number>;
}

/** A device that names an IOThread (`<disk><driver iothread>`, `<driver><iothreads><iothread id>`, `<controller><driver iothread>`). */
export interface IOThreadRef extends ElementRef {
  device: 'disk' | 'controller' | 'other';
  /** The device's bus/model when known (iothread support depends on it), e.g. `virtio`, `virtio-scsi`. */
  bus?: string;
  id: Field<number>;
  /** Named in the device's `<driver><iothreads><iothread id>` mapping (libvirt reads it for disks from 10.0, for controllers from 11.2) rather than `<driver iothread>`. */
  mapping?: true;
}

// ---------------------------------------------------------------- <cputune>

export interface VcpuPinDef extends ElementRef {
  vcpu?: Field<number>;
  cpuset?: SetField;
}

export interface EmulatorPinDef extends ElementRef {
  cpuset?: SetField;
}

export interface IOThreadPinDef extends ElementRef {
  iothread?: Field<number>;
  cpuset?: SetField;
}

/** `<vcpusched vcpus>`, `<iothreadsched iothreads>`, `<emulatorsched>`. */
export interface SchedDef extends ElementRef {
  kind: 'vcpu' | 'iothread' | 'emulator';
  /** The `vcpus` / `iothreads` list (absent for emulatorsched). */
  ids?: SetField;
  scheduler?: Field<Scheduler>;
  /**
   * Read only for fifo/rr. For batch/idle libvirt never looks at it: it is
   * kept as written with `ignored: true` and never carries an `error`.
   */
  priority?: Field<number> & { ignored?: boolean };
}

export interface CacheAllocDef extends ElementRef {
  id?: Field<number>;
  level?: Field<number>;
  type?: Field<'both' | 'code' | 'data'>;
  size?: Field<bigint>;
  unit?: Field<string>;
}

export interface MemoryBandwidthDef extends ElementRef {
  id?: Field<number>;
  bandwidth?: Field<number>;
}

export interface ResctrlMonitorDef extends ElementRef {
  level?: Field<number>;
  vcpus?: SetField;
}

export interface CacheTuneDef extends ElementRef {
  vcpus?: SetField;
  caches: CacheAllocDef[];
  monitors: ResctrlMonitorDef[];
}

export interface MemoryTuneDef extends ElementRef {
  vcpus?: SetField;
  nodes: MemoryBandwidthDef[];
  monitors: ResctrlMonitorDef[];
}

/**
 * All `<cputune>` blocks merged (libvirt collects list children with XPath
 * over every block; scalar children come from the first occurrence).
 */
export interface CputuneDef {
  blocks: ElementRef[];
  shares?: Field<bigint>;
  period?: Field<bigint>;
  quota?: Field<bigint>;
  globalPeriod?: Field<bigint>;
  globalQuota?: Field<bigint>;
  emulatorPeriod?: Field<bigint>;
  emulatorQuota?: Field<bigint>;
  iothreadPeriod?: Field<bigint>;
  iothreadQuota?: Field<bigint>;
  vcpupins: VcpuPinDef[];
  emulatorpins: EmulatorPinDef[];
  iothreadpins: IOThreadPinDef[];
  vcpuscheds: SchedDef[];
  iothreadscheds: SchedDef[];
  emulatorscheds: SchedDef[];
  cachetunes: CacheTuneDef[];
  memorytunes: MemoryTuneDef[];
  /** Repeated scalar children that libvirt ignores (only the first is read). */
  ignoredRepeats: ElementRef[];
}

// ---------------------------------------------------------------- <numatune>

export interface NumaMemoryDef extends ElementRef {
  mode?: Field<NumaMode>;
  placement?: Field<Placement>;
  nodeset?: SetField;
}

export interface MemnodeDef extends ElementRef {
  cellid?: Field<number>;
  mode?: Field<NumaMode>;
  nodeset?: SetField;
}

export interface NumatuneDef {
  /** Every `<numatune>` element (more than one is an error, V22). */
  blocks: ElementRef[];
  /** First `<memory>` of the first `<numatune>`. */
  memory?: NumaMemoryDef;
  memnodes: MemnodeDef[];
}

// ---------------------------------------------------------------- <cpu>

export interface TopologyDef extends ElementRef {
  sockets?: Field<number>;
  dies?: Field<number>;
  clusters?: Field<number>;
  cores?: Field<number>;
  threads?: Field<number>;
}

export interface NumaCellDef extends ElementRef {
  /** 0-based position among the `<cell>` elements (libvirt's default id). */
  index: number;
  id?: Field<number>;
  /** Guest vCPU ids in this cell (an empty result makes the cell CPU-less). */
  cpus?: SetField;
  memory?: Field<bigint>;
  unit?: Field<string>;
}

export interface GuestNumaDef extends ElementRef {
  cells: NumaCellDef[];
}

export interface CpuDef extends ElementRef {
  mode?: Field<string>;
  topology?: TopologyDef;
  numa?: GuestNumaDef;
}

// ---------------------------------------------------------------- devices

export interface PciAddressDef extends ElementRef {
  domain?: Field<number>;
  bus?: Field<number>;
  slot?: Field<number>;
  function?: Field<number>;
  /** Canonical `DDDD:BB:SS.F` (lower-case hex) when all parts parsed and are in range. */
  canonical?: string;
}

export type HostdevSubsys = 'pci' | 'usb' | 'scsi' | 'scsi_host' | 'mdev';

export interface HostdevDef extends ElementRef {
  /** `hostdev` for `<hostdev>`, `interface` for `<interface type='hostdev'>` (libvirt lists both as hostdevs). */
  via: 'hostdev' | 'interface';
  mode?: Field<string>;
  type?: Field<string>;
  /** libvirt discards this attribute's parse result: a bogus value is stored as false, the complaint kept in `warning`. */
  managed?: Field<boolean>;
  /** PCI source address (type='pci'). */
  pci?: PciAddressDef;
  /** A readable identity of the source for other subsystem types, e.g. `usb 046d:c52b`, `mdev <uuid>`. */
  sourceKey?: string;
  /** `<hostdev><driver name='vfio'>` etc. */
  driver?: string;
  /** vGPU display `ramfb='on'` (mdev). */
  ramfb?: boolean;
}

// ---------------------------------------------------------------- domain

export interface DomainModel {
  /** The `<domain>` element. */
  root: ElementRef;
  /** The default namespace declared on `<domain>` (which hides every child from libvirt), when there is one. */
  rootNamespace?: string;
  /** `<domain type>`: kvm, qemu, lxc, … */
  type?: Field<string>;
  name?: Field<string>;
  /** `<os><type arch machine>`. */
  arch?: Field<string>;
  machine?: Field<string>;

  vcpu?: VcpuDef;
  /** Further `<vcpu>` elements that libvirt ignores. */
  ignoredVcpuElements: ElementRef[];
  vcpus?: VcpusDef;
  iothreads?: Field<number>;
  iothreadids?: IOThreadIdsDef;
  defaultIOThread?: DefaultIOThreadDef;
  cputune?: CputuneDef;
  numatune?: NumatuneDef;
  cpu?: CpuDef;
  hostdevs: HostdevDef[];
  iothreadRefs: IOThreadRef[];
  /** `<devices><iommu model><driver eim>` (needed by the >255 vCPU rule). */
  iommu?: { model?: string; eim?: string; loc: Loc };
}
