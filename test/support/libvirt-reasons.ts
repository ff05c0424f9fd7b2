/**
 * libvirt's error messages (as `virsh define` prints them, libvirt 9.0 and
 * 10.7) → the diagnostic code(s) that state the same reason. The oracle
 * uses it to ask whether virt-pin's first error (firstError, libvirt's
 * order) is the one libvirt reported. Messages libvirt uses for several
 * elements (a bitmap that does not parse, a unit it does not know, a cputune
 * value) name the offending value or element; for those `mentions` says
 * what virt-pin's message must contain too, so the element is pinned down.
 */
import type { DiagnosticCode } from '../../src/codes.js';
import { firstError, type Diagnostic } from '../../src/validate/index.js';

export interface LibvirtReason {
  pattern: RegExp;
  codes: readonly DiagnosticCode[];
  /** From the pattern's match: text virt-pin's message must contain as well. */
  mentions?: (match: RegExpExecArray) => string;
}

/** The value libvirt quotes (first group), quoted as virt-pin quotes it. */
const quotedValue = (m: RegExpExecArray): string => `'${m[1]}'`;

export const LIBVIRT_REASONS: readonly LibvirtReason[] = [
  { pattern: /missing name information/, codes: ['DOMAIN_NAME_MISSING'] },
  { pattern: /maximum vcpus count must be an integer/, codes: ['VCPU_COUNT_INVALID'] },
  { pattern: /Invalid value for attribute '(current|placement)' in element 'vcpu'/, codes: ['VCPU_ATTRIBUTE_INVALID'] },
  {
    pattern: /Failed to parse bitmap '([^']*)'/,
    codes: ['VCPU_CPUSET_INVALID', 'VCPUPIN_INVALID', 'EMULATORPIN_INVALID', 'IOTHREADPIN_INVALID', 'SCHED_INVALID', 'RESCTRL_INVALID', 'RESCTRL_MONITOR_INVALID', 'GUEST_NUMA_INVALID', 'NUMATUNE_INVALID', 'MEMNODE_INVALID'],
    mentions: quotedValue,
  },
  { pattern: /Invalid value of 'cpuset'/, codes: ['VCPU_CPUSET_INVALID', 'VCPUPIN_INVALID', 'EMULATORPIN_INVALID', 'IOTHREADPIN_INVALID'] },
  { pattern: /Invalid value of 'nodeset'/, codes: ['NUMATUNE_INVALID', 'MEMNODE_INVALID'] },
  { pattern: /maximum vCPU count must not be less than current vCPU count/, codes: ['VCPU_CURRENT_ABOVE_MAXIMUM'] },
  { pattern: /vcpu id '\d+' is out of range of maximum vcpu count/, codes: ['VCPUS_ENTRY_INVALID'] },
  { pattern: /vcpu '\d+' is both offline and not hotpluggable/, codes: ['VCPU_OFFLINE_NOT_HOTPLUGGABLE'] },
  { pattern: /invalid iothreads count/, codes: ['IOTHREADS_COUNT_INVALID'] },
  { pattern: /duplicate iothread id '\d+' found/, codes: ['IOTHREAD_ID_INVALID'] },
  { pattern: /thread_pool_min must be smaller or equal to thread_pool_max|thread_pool_max must be/, codes: ['IOTHREAD_POOL_INVALID'] },
  { pattern: /can't parse cputune ([\w ]+) value/, codes: ['CPUTUNE_VALUE_INVALID'], mentions: (m) => `<${m[1]!.replace(/ /g, '_')}>` },
  { pattern: /Value of cputune '(\w+)' must be in range/, codes: ['CPUTUNE_VALUE_OUT_OF_RANGE'], mentions: (m) => `<${m[1]}>` },
  { pattern: /duplicate vcpupin for vcpu '\d+'/, codes: ['VCPUPIN_INVALID'] },
  { pattern: /only one emulatorpin is supported/, codes: ['EMULATORPIN_INVALID'] },
  // iothreadpin and iothreadsched share this message.
  { pattern: /Cannot find 'iothread' : \d+/, codes: ['IOTHREADPIN_INVALID', 'SCHED_INVALID'] },
  { pattern: /Invalid value for attribute 'scheduler' in element '\w+': '([^']*)'/, codes: ['SCHED_INVALID'], mentions: quotedValue },
  { pattern: /'(vcpusched|iothreadsched)' attributes '\w+' must not overlap|only one emulatorsched is supported|vCPU '\d+' is not present in domain definition/, codes: ['SCHED_INVALID'] },
  { pattern: /unknown suffix '([^']*)'/, codes: ['RESCTRL_INVALID', 'GUEST_NUMA_MEMORY_INVALID'], mentions: quotedValue },
  { pattern: /Colliding cache allocations|Overlapping vcpus in resctrls|Identical vcpus in cachetunes found/, codes: ['RESCTRL_INVALID'] },
  { pattern: /Memory Bandwidth value exceeding 100|Missing required attribute '(id|bandwidth)' in element 'node'|Memory Bandwidth already defined for node/, codes: ['MEMORYTUNE_NODE_INVALID'] },
  {
    pattern: /Missing required attribute 'level' in element 'monitor'|Invalid monitor cache level|Monitor vcpus conflicts with allocation|vcpus is empty|Identical vcpus found in same type monitors|vcpus overlaps in resctrl groups/,
    codes: ['RESCTRL_MONITOR_INVALID'],
  },
  { pattern: /missing element or attribute '\.\/@memory'/, codes: ['GUEST_NUMA_MEMORY_INVALID'] },
  { pattern: /Exactly one 'cell' element per guest NUMA cell allowed|Duplicate NUMA cell info|NUMA cells \d+ and \d+ have overlapping vCPU ids|Number of CPUs in <numa> exceeds/, codes: ['GUEST_NUMA_INVALID'] },
  // Also what refuses <vcpu>0</vcpu>.
  { pattern: /CPU IDs in <numa> exceed the <vcpu> count/, codes: ['GUEST_NUMA_INVALID', 'VCPU_COUNT_INVALID'] },
  { pattern: /Unsupported NUMA memory (tuning|placement) mode|nodeset for NUMA memory tuning must be set|only one numatune is supported/, codes: ['NUMATUNE_INVALID'] },
  {
    pattern: /Argument 'cellid' in memnode element must correspond|Multiple memnode elements with cellid|Element 'memnode' is invalid without any guest NUMA cells|Per-node binding is not compatible/,
    codes: ['MEMNODE_INVALID'],
  },
  { pattern: /'restrictive' mode is required in/, codes: ['NUMATUNE_RESTRICTIVE_MIXED'] },
  { pattern: /name .* cannot contain '\/'|invalid char in name/, codes: ['DOMAIN_NAME_INVALID'] },
  { pattern: /Invalid PCI address|Hostdev already exists in the domain configuration|Only one vgpu device can have 'ramfb' enabled/, codes: ['HOSTDEV_INVALID'] },
  { pattern: /cpu topology results in more than/, codes: ['TOPOLOGY_OVERFLOW'] },
  // The QEMU driver's own (libvirtd).
  { pattern: /vcpu 0 can't be (offline|hotpluggable)|vcpu0 can't have 'order'|all vcpus must have either set or unset order|vcpu order|hotpluggable vcpus/i, codes: ['QEMU_VCPUS_LAYOUT'] },
  { pattern: /CPU topology doesn't match maximum vcpu count|Maximum CPUs greater than|hotplug granularity/, codes: ['QEMU_VCPU_TOPOLOGY'] },
  { pattern: /cachetune is only supported for KVM domains/, codes: ['QEMU_RESCTRL_NEEDS_KVM'] },
  { pattern: /(Disk|controller) iothread '\d+' not defined in iothreadid/i, codes: ['QEMU_IOTHREAD_REFERENCE'] },
];

/** The table row for libvirt's message, or undefined when no row knows it. */
export function reasonOf(message: string): LibvirtReason | undefined {
  return LIBVIRT_REASONS.find((r) => r.pattern.test(message));
}

/**
 * Does a virt-pin error state libvirt's reason? Its code is one the row
 * allows and, for a row with `mentions`, its message contains that text.
 */
export function statesReason(reason: LibvirtReason, libvirtMessage: string, code: DiagnosticCode, message: string): boolean {
  if (!reason.codes.includes(code)) return false;
  if (!reason.mentions) return true;
  return message.includes(reason.mentions(reason.pattern.exec(libvirtMessage)!));
}

/**
 * Compare virt-pin's errors (document order, numbered) with what libvirt did:
 * `why` says how virt-pin's first error misses libvirt's reason (undefined:
 * it states it); `positionFirstDiffers` whether the first error *by
 * position* would have missed it (the measure of what the order is for).
 */
export function judgeFirstError(errors: readonly Diagnostic[], libvirt: { defined: boolean; error?: string }): { why?: string; positionFirstDiffers: boolean } {
  if (libvirt.defined) return { why: 'libvirt accepts it', positionFirstDiffers: false };
  const message = libvirt.error ?? '';
  const reason = reasonOf(message);
  if (!reason) return { why: `libvirt's reason is not in the reason table: ${message}`, positionFirstDiffers: false };
  const first = firstError(errors);
  const byPosition = errors.find((d) => d.severity === 'error');
  const positionFirstDiffers = byPosition !== undefined && !statesReason(reason, message, byPosition.code, byPosition.message);
  if (!first) return { why: `virt-pin finds no error; libvirt: ${message}`, positionFirstDiffers };
  if (!statesReason(reason, message, first.code, first.message)) return { why: `virt-pin's first error is ${first.code} (${first.message}); libvirt: ${message} (${reason.codes.join('/')})`, positionFirstDiffers };
  return { positionFirstDiffers };
}
