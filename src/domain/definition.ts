/**
 * The definition as libvirt stores it after parse and post-parse
 * (spec §3, §4 and §7): defaults filled in, placement promoted, IOThread
 * ids auto-filled, `<vcpus>` states completed, sched groups exploded per
 * thread, out-of-range pins dropped, unlisted vCPUs absorbed into guest
 * cell 0 (QEMU). This is what libvirt formats back (normalize), what its
 * runtime rules work from (resolve), and the record of everything libvirt
 * silently changed (`changes`, which validate reports as warnings).
 *
 * `definitionOf` is total: it works on invalid input too, taking libvirt's
 * choice where libvirt has one and skipping values libvirt would refuse
 * (validate reports those); it never throws for bad values.
 */
import type { DiagnosticCode } from '../codes.js';
import type { LibvirtVersion } from './libvirt-version.js';
import type { CpuSet } from '../cpuset/index.js';
import type { ElementRef, NumaMode, Placement, Scheduler } from './types.js';

/**
 * `qemu`: the QEMU driver's rules (post-parse and validation included).
 * `generic`: what every driver checks, as libvirt's test driver does (the
 * oracle in test/oracle); like QEMU it keeps pins of offline vCPUs.
 */
export type Driver = 'qemu' | 'generic';

export interface ThreadSched {
  scheduler: Scheduler;
  /** Only for fifo/rr. */
  priority?: number;
  from: ElementRef;
}

export interface PinDef {
  cpus: CpuSet;
  from: ElementRef;
}

export interface VcpuState {
  id: number;
  online: boolean;
  hotpluggable: boolean;
  /** 0 = unset. */
  order: number;
  pin?: PinDef;
  sched?: ThreadSched;
}

export interface IOThreadDef {
  id: number;
  /** True when the id was not written but filled in by libvirt (spec §3.3). */
  autofilled: boolean;
  /** -1 = unset, as in libvirt. */
  threadPoolMin: number;
  threadPoolMax: number;
  poll?: { max?: bigint; grow?: bigint; shrink?: bigint };
  pin?: PinDef;
  sched?: ThreadSched;
  from?: ElementRef;
}

export interface NumaMemoryState {
  mode: NumaMode;
  placement: Placement;
  /** Only with static placement. */
  nodeset?: CpuSet;
  /** True when libvirt synthesised `<memory mode='strict' placement='auto'/>` (spec §4 step 2). */
  implicit: boolean;
  from?: ElementRef;
}

export interface MemnodeState {
  cellid: number;
  mode: NumaMode;
  nodeset: CpuSet;
  from: ElementRef;
}

export interface GuestCellState {
  id: number;
  /** Guest vCPU ids (after QEMU's absorption of unlisted vCPUs into cell 0). */
  cpus: CpuSet;
  /** Memory in KiB. */
  memoryKiB?: bigint;
  from: ElementRef;
}

export interface ResctrlGroupState {
  kind: 'cachetune' | 'memorytune';
  /** After truncation to the vCPU maximum. */
  vcpus: CpuSet;
  from: ElementRef;
  /** A cachetune group that a <memorytune> with the same vCPUs joined: that memorytune (one allocation, both sides). */
  memorytune?: ElementRef;
}

export interface HostdevState {
  via: 'hostdev' | 'interface';
  type: string;
  managed: boolean;
  /** Canonical `DDDD:BB:SS.F` for PCI. */
  pciAddress?: string;
  from: ElementRef;
}

/** One thing libvirt changes or drops without an error (spec §7). */
export interface DefinitionChange {
  /** Stable code, e.g. `VCPUPIN_OUT_OF_RANGE_DROPPED`, `PLACEMENT_PROMOTED_AUTO`. */
  code: DiagnosticCode;
  /** Item number in spec §7 (1–17). */
  specItem: number;
  message: string;
  from: ElementRef;
}

export interface DomainDefinition {
  driver: Driver;
  domainType?: string;
  maxVcpus: number;
  /** One entry per vCPU id 0..maxVcpus-1. */
  vcpus: VcpuState[];
  /** `<vcpus>` present: libvirt prints per-vCPU state back. */
  individualVcpus: boolean;
  /** Effective `<vcpu placement>` after the §4 promotion. */
  placement: Placement;
  /** `<vcpu cpuset>` as stored (never with auto placement). */
  cpuset?: PinDef;
  iothreads: IOThreadDef[];
  /** libvirt prints `<iothreadids>` (some id explicit or carrying pool/poll attributes). */
  printIOThreadIds: boolean;
  defaultIOThread?: { threadPoolMin: number; threadPoolMax: number };
  emulatorPin?: PinDef;
  emulatorSched?: ThreadSched;
  bandwidth: {
    shares?: bigint;
    period?: bigint;
    quota?: bigint;
    globalPeriod?: bigint;
    globalQuota?: bigint;
    emulatorPeriod?: bigint;
    emulatorQuota?: bigint;
    iothreadPeriod?: bigint;
    iothreadQuota?: bigint;
  };
  /** The libvirt modelled (DefinitionOptions.libvirtVersion); absent: the newest modelled. */
  libvirtVersion?: LibvirtVersion;
  resctrl: ResctrlGroupState[];
  numatune: { memory?: NumaMemoryState; memnodes: MemnodeState[] };
  guestCells: GuestCellState[];
  hostdevs: HostdevState[];
  changes: DefinitionChange[];
}
