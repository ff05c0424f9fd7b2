/**
 * The order in which libvirt finds refusals, so that virt-pin can say which
 * of several errors libvirt reports: libvirt stops at its first error, and
 * it does not walk the document top to bottom. Its parser reads the domain
 * in a fixed order of elements (every <cachetune> before any <memorytune>,
 * <cpu><numa> after all of <cputune>), then the post-parse callbacks run,
 * then the validators, and a few checks only happen when the domain is
 * defined. Read from libvirt 10.7's virDomainDefParseXML and the functions
 * it calls, virDomainDefPostParse, virDomainDefValidate and
 * qemuValidateDomainDef; measured against libvirt 9.0's test driver by
 * test/oracle/test-driver.test.ts. docs/validation.md explains it with an
 * example.
 *
 * One table, LIBVIRT_ORDER: the stages in libvirt's order, each with the
 * diagnostic codes it can refuse for, in the order libvirt checks them
 * inside that stage. A code's default stage is the first stage that lists
 * it in `codes`; a rule names a later stage when one of its findings
 * belongs there (e.g. a vCPU count of 0 is refused only by the NUMA check
 * after all of <cputune>), or an earlier one that lists the code in `named`
 * (libvirt 9.0 checked 'restrictive' memnodes while parsing them, 10.7 when
 * validating; the move is taken to come with the change that made the check
 * two-way, LIBVIRT_CHANGES restrictive-memnode-under-other-mode, 9.4).
 * Stages that libvirt runs element by element (`walk: 'element'`) finish one
 * element before the next: their findings sort by the element they belong
 * to (the rule gives it as the anchor), then by code. Where libvirt has an
 * order of its own inside a stage or element (<period> before <quota>, a
 * sched element's list before its scheduler), the rule gives the `step`.
 * Ties keep document order, as libvirt walks each element list in document
 * order.
 */
import type { DiagnosticCode } from '../codes.js';
import type { Loc } from '../domain/index.js';

export interface LibvirtStage {
  /** Stable id, used by rules that name a stage explicitly. */
  id: string;
  /** Where libvirt makes these checks (function names of libvirt 10.7). */
  where: string;
  /** The codes refused at this stage, in the order libvirt checks them. A code's default stage is the first that lists it. */
  codes: readonly DiagnosticCode[];
  /** Codes that land here only when the rule names this stage, although a later stage is their default. */
  named?: readonly DiagnosticCode[];
  /** 'element': libvirt finishes each element (cachetune, NUMA cell) before the next one. */
  walk?: 'element';
  /** Inside an element: 'position' when libvirt checks attribute by attribute rather than code by code. */
  within?: 'position';
}

/** libvirt's order of checks, from the first to the last (docs/validation.md, "Which error libvirt reports"). */
export const LIBVIRT_ORDER = [
  { id: 'parse-name', where: 'virDomainDefParseIDs', codes: ['DOMAIN_NAME_MISSING'] },
  {
    id: 'parse-vcpu',
    where: 'virDomainVcpuParse (count, current, placement, cpuset, then <vcpus>, then current against the maximum)',
    codes: ['VCPU_COUNT_INVALID', 'VCPU_ATTRIBUTE_INVALID', 'VCPU_CPUSET_INVALID', 'VCPUS_ENTRY_INVALID', 'VCPU_CURRENT_ABOVE_MAXIMUM'],
  },
  { id: 'parse-iothreads', where: 'virDomainDefParseIOThreads', codes: ['IOTHREADS_COUNT_INVALID', 'IOTHREAD_ID_INVALID'] },
  { id: 'parse-cputune-values', where: 'virDomainDefTunablesParse (shares, period, quota…)', codes: ['CPUTUNE_VALUE_INVALID'] },
  { id: 'parse-vcpupin', where: 'virDomainVcpuPinDefParseXML', codes: ['VCPUPIN_INVALID'] },
  { id: 'parse-emulatorpin', where: 'virDomainEmulatorPinDefParseXML', codes: ['EMULATORPIN_INVALID'] },
  { id: 'parse-iothreadpin', where: 'virDomainIOThreadPinDefParseXML', codes: ['IOTHREADPIN_INVALID'] },
  { id: 'parse-vcpusched', where: 'virDomainVcpuThreadSchedParse, per <vcpusched>: vcpus, scheduler and priority, then each vCPU', codes: ['SCHED_INVALID'], walk: 'element' },
  { id: 'parse-iothreadsched', where: 'virDomainIOThreadSchedParse, per <iothreadsched>: iothreads, scheduler and priority, then each IOThread', codes: ['SCHED_INVALID'], walk: 'element' },
  { id: 'parse-emulatorsched', where: 'virDomainEmulatorSchedParse: one <emulatorsched>, then its scheduler', codes: ['SCHED_INVALID'], walk: 'element' },
  {
    id: 'parse-cachetune',
    where: 'virDomainCachetuneDefParse, per <cachetune>: vcpus and groups, then <cache>s, then <monitor>s',
    codes: ['RESCTRL_INVALID', 'RESCTRL_MONITOR_INVALID'],
    walk: 'element',
  },
  {
    id: 'parse-memorytune',
    where: 'virDomainMemorytuneDefParse, per <memorytune>: vcpus and groups, then <node>s, then <monitor>s',
    codes: ['RESCTRL_INVALID', 'MEMORYTUNE_NODE_INVALID', 'RESCTRL_MONITOR_INVALID'],
    walk: 'element',
  },
  {
    id: 'parse-numa-cells',
    where: 'virDomainNumaDefParseXML, per <cell>: id, cpus, overlap, then memory',
    codes: ['GUEST_NUMA_INVALID', 'GUEST_NUMA_MEMORY_INVALID'],
    walk: 'element',
  },
  {
    id: 'parse-numa-vcpus',
    where: 'virDomainDefParseXML after the cells: vCPUs in <numa> against the <vcpu> count (also what refuses <vcpu>0</vcpu>)',
    codes: ['GUEST_NUMA_INVALID', 'VCPU_COUNT_INVALID'],
  },
  { id: 'parse-numatune', where: 'virDomainNumatuneParseXML: one <numatune>, its <memory>', codes: ['NUMATUNE_INVALID'] },
  {
    id: 'parse-memnodes',
    where: "virDomainNumatuneNodeParseXML, per <memnode>: cellid, mode (before 9.4 also 'restrictive' against <memory>), nodeset",
    codes: ['MEMNODE_INVALID'],
    named: ['NUMATUNE_RESTRICTIVE_MIXED'],
    walk: 'element',
    within: 'position',
  },
  { id: 'parse-hostdev', where: 'virDomainHostdevDefParseXML (PCI address)', codes: ['HOSTDEV_INVALID'] },
  { id: 'postparse-qemu', where: "the QEMU driver's post-parse callback (qemuDomainDefVcpusPostParse)", codes: ['QEMU_VCPUS_LAYOUT'] },
  { id: 'postparse', where: 'virDomainDefPostParseCommon (virDomainVcpuDefPostParse)', codes: ['VCPU_OFFLINE_NOT_HOTPLUGGABLE'] },
  { id: 'postparse-features', where: "virDomainDefPostParseCheckFeatures (a '/' in the name)", codes: ['DOMAIN_NAME_INVALID'] },
  { id: 'validate-qemu', where: 'qemuValidateDomainDef (vCPU topology, then resctrl on KVM only)', codes: ['QEMU_VCPU_TOPOLOGY', 'QEMU_RESCTRL_NEEDS_KVM'] },
  { id: 'validate-qemu-devices', where: "the QEMU driver's device validation (disk and controller IOThreads)", codes: ['QEMU_IOTHREAD_REFERENCE'] },
  {
    id: 'validate',
    where: 'virDomainDefValidateInternal: hostdevs, topology, cputune ranges, NUMA modes, IOThread pools',
    codes: ['HOSTDEV_INVALID', 'TOPOLOGY_OVERFLOW', 'CPUTUNE_VALUE_OUT_OF_RANGE', 'NUMATUNE_RESTRICTIVE_MIXED', 'IOTHREAD_POOL_INVALID'],
  },
  { id: 'define', where: "the driver's define (virXMLCheckIllegalChars: a newline in the name)", codes: ['DOMAIN_NAME_INVALID'] },
  { id: 'start', where: "the driver's start, after define (cgroup writes refused, host NUMA nodes missing; host-aware, --host)", codes: ['HOST_CPU_NOT_ONLINE', 'HOST_NODE_MISSING'] },
  { id: 'virt-pin', where: "virt-pin's own bounds, which libvirt does not have", codes: ['THREAD_COUNT_LIMIT'] },
] as const satisfies readonly LibvirtStage[];

export type LibvirtStageId = (typeof LIBVIRT_ORDER)[number]['id'];

/** Where a finding sits in libvirt's order: the stage (default: the code's first) and, for element walks, its element. */
export interface OrderHint {
  stage?: LibvirtStageId;
  anchor?: Loc;
  /** Inside a stage and code, libvirt's own order where it is not the document's (e.g. <period> before <quota>); default 0. */
  step?: number;
}

const STAGE_INDEX = new Map<string, number>(LIBVIRT_ORDER.map((s, i) => [s.id, i]));
const FIRST_STAGE = new Map<string, number>();
LIBVIRT_ORDER.forEach((s, i) => {
  for (const c of s.codes) if (!FIRST_STAGE.has(c)) FIRST_STAGE.set(c, i);
});

/** A sort key: stage, element (element walks), code within the stage, step, then position (or step, position, then code). Unknown codes come first (an unreadable document). */
export type OrderKey = readonly [number, number, number, number, number, number, number];

export function orderKey(code: DiagnosticCode, at: { line: number; column: number }, hint: OrderHint = {}): OrderKey {
  const index = hint.stage !== undefined ? STAGE_INDEX.get(hint.stage)! : FIRST_STAGE.get(code);
  if (index === undefined) return [-1, 0, 0, 0, 0, at.line, at.column];
  const stage: LibvirtStage = LIBVIRT_ORDER[index]!;
  const sub = Math.max(0, [...stage.codes, ...(stage.named ?? [])].indexOf(code));
  const anchor = stage.walk === 'element' ? (hint.anchor ?? at) : undefined;
  const step = hint.step ?? 0;
  if (stage.within === 'position') return [index, anchor?.line ?? 0, anchor?.column ?? 0, step, at.line, at.column, sub];
  return [index, anchor?.line ?? 0, anchor?.column ?? 0, sub, step, at.line, at.column];
}

export function compareKeys(a: OrderKey, b: OrderKey): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
