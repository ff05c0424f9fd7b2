/**
 * libvirt versions virt-pin can model. virt-pin follows libvirt 10.7's rules
 * by default; the differences to older (or newer) releases that matter for
 * affinity are listed in LIBVIRT_CHANGES, each with the first release that
 * behaves the new way and where that is known from. docs/fidelity.md shows
 * the same table (test/validate/libvirt-version.test.ts keeps it true).
 */
import { VirtPinError } from '../errors.js';

export interface LibvirtVersion {
  major: number;
  minor: number;
  micro: number;
}

/** The newest libvirt whose rules virt-pin models (its corpus: libvirt v10.7.0 tests/). */
export const NEWEST_MODELLED: LibvirtVersion = { major: 10, minor: 7, micro: 0 };

/**
 * `'9.0'`, `'9.0.0'`, `'10.7.0'`, also what `virsh version`/`libvirtd --version`
 * print around it (`libvirtd (libvirt) 9.0.0`). Bad text is LIBVIRT_VERSION_INVALID.
 */
export function parseLibvirtVersion(text: string): LibvirtVersion {
  const m = /(?:^|\s)v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?(?:\s|$)/.exec(text.trim());
  if (!m) {
    throw new VirtPinError('LIBVIRT_VERSION_INVALID', `'${text}' is not a libvirt version (expected MAJOR.MINOR or MAJOR.MINOR.MICRO, e.g. 9.0 or 10.7.0)`, {
      hint: 'give the version `virsh version` reports for the library or the running hypervisor',
    });
  }
  return { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? 0) };
}

/** `MAJOR.MINOR.MICRO`, as libvirt prints its own version. */
export function formatLibvirtVersion(v: LibvirtVersion): string {
  return `${v.major}.${v.minor}.${v.micro}`;
}

/** a ≥ b */
export function atLeast(a: LibvirtVersion, b: LibvirtVersion): boolean {
  return a.major !== b.major ? a.major > b.major : a.minor !== b.minor ? a.minor > b.minor : a.micro >= b.micro;
}

export interface LibvirtChange {
  id:
    | 'iothread-thread-pool'
    | 'shares-range'
    | 'iothread-poll'
    | 'restrictive-memnode-under-other-mode'
    | 'disk-iothread-mapping'
    | 'topology-clusters'
    | 'isolated-cpus-excluded'
    | 'iommu-eim-added'
    | 'controller-iothread-mapping';
  /** First release with the new behaviour (older releases behave the old way). */
  since: LibvirtVersion;
  before: string;
  after: string;
  /** Where the version comes from: libvirt's NEWS.rst, docs or a commit, and what was measured here. */
  source: string;
}

const v = (major: number, minor: number, micro = 0): LibvirtVersion => ({ major, minor, micro });

/**
 * The oldest libvirt modelled. Older releases are refused (LIBVIRT_VERSION_UNSUPPORTED):
 * their rules differ in more ways than LIBVIRT_CHANGES lists (e.g. no
 * `restrictive` mode before 7.3), so judging them by 8.0 would be a guess.
 */
export const OLDEST_MODELLED: LibvirtVersion = { major: 8, minor: 0, micro: 0 };

/**
 * The newest libvirt release whose NEWS was read for LIBVIRT_CHANGES. A newer
 * version is judged like it (every listed change applied).
 */
export const NEWEST_RELEASE_READ: LibvirtVersion = { major: 12, minor: 5, micro: 0 };

/** Every libvirt behaviour change virt-pin models, oldest first by release (docs/fidelity.md shows it as a table). */
export const LIBVIRT_CHANGES: readonly LibvirtChange[] = [
  {
    id: 'iothread-thread-pool',
    since: v(8, 5),
    before: '`thread_pool_min`/`thread_pool_max` on `<iothread>` and `<defaultiothread>` are not read: not checked, and they disappear on define (with `<defaultiothread>`)',
    after: 'read, checked (negative, max 0, min > max refused) and written back',
    source: 'libvirt NEWS.rst v8.5.0 (2022-07-01), New features: "Introduce thread_pool_min and thread_pool_max attributes to IOThread" (with `<defaultiothread>`); docs/formatdomain.rst: ":since:`Since 8.5.0`" for both. Not measured here (the installed 9.0 has it)',
  },
  {
    id: 'shares-range',
    since: v(9, 1),
    before: '`<shares>` other than 0 must lie in 2–262144 (refused at define: "Value of cputune \'shares\' must be in range [2, 262144]")',
    after: 'any value is accepted at define; the cgroup version decides at start (v1 2–262144, v2 1–10000)',
    source:
      'libvirt commit 38af6497610075e5fe386734b87186731d4c17ac (it drops the range check from the domain validation; its subject could not be read here), first released in 9.1.0 as apache/cloudstack#10221 states ("This range enforcement was removed in Libvirt 9.1.0"); the installed 9.0.0 still carries the message (in libvirt.so.0) and refuses 1 and 300000, measured here',
  },
  {
    id: 'iothread-poll',
    since: v(9, 4),
    before: '`<iothread><poll>` is not read and disappears on define',
    after: '`<poll max grow shrink>` is read, stored and written back',
    source: 'libvirt docs/formatdomain.rst, `<iothread>`: ":since:`Since 9.4.0` an optional sub-element `poll`" (NEWS.rst v9.4.0 does not list it); 9.0.0 dropping it measured here',
  },
  {
    id: 'restrictive-memnode-under-other-mode',
    since: v(9, 4),
    before: 'a `restrictive` `<memnode>` under a non-restrictive `<memory>` is accepted (the other direction is refused)',
    after: "refused in both directions (virDomainNumaDefValidate: \"'restrictive' mode is required in memory element when mode is 'restrictive' in memnode element\")",
    source:
      'libvirt NEWS.rst v9.4.0 (2023-06-01), Bug fixes: "numa: Deny other memory modes than `restrictive` if a memnode is `restrictive`"; the installed 9.0.0 lacks that message (libvirt.so.0 has only the other direction) and accepts it, measured here; the 10.7.0 test suite refuses it (qemuxmlconfdata/numatune-memnode-restrictive-mode-err-mixed)',
  },
  {
    id: 'disk-iothread-mapping',
    since: v(10, 0),
    before: '(QEMU) a disk\'s `<driver><iothreads><iothread id>` mapping is not read, so the IOThreads it names are not checked',
    after: '(QEMU) every IOThread the mapping names must exist, and only virtio disks take one',
    source: 'libvirt NEWS.rst v10.0.0 (2024-01-15), New features: "qemu: Add support for mapping iothreads to virtqueues of `virtio-blk` devices" (the `<iothreads>` subelement of the disk `<driver>`); the installed 9.0.0 dropping the mapping on define (test:///default dumpxml) is measured here',
  },
  {
    id: 'topology-clusters',
    since: v(10, 1),
    before: '`<cpu><topology clusters>` is not read: it disappears on define, any value is accepted, and (QEMU) sockets×dies×cores×threads alone must equal the vCPU count',
    after: '`clusters` is read and counts: (QEMU) sockets×dies×clusters×cores×threads must equal the vCPU count',
    source:
      'libvirt NEWS.rst v10.1.0 (2024-03-01), New features: "qemu: Support clusters in CPU topology"; measured here on the installed 9.0.0: test:///default drops `clusters=\'2\'` (and `clusters=\'x\'`) on define, and qemu:///system refuses sockets=1 dies=1 clusters=2 cores=2 threads=1 for 4 vCPUs ("CPU topology doesn\'t match maximum vcpu count") but accepts cores=4',
  },
  {
    id: 'isolated-cpus-excluded',
    since: v(10, 4),
    before: '"all host CPUs" (no pin, no `<vcpu cpuset>`) is every online CPU',
    after: '"all host CPUs" is the online CPUs minus the kernel-isolated ones (`/sys/devices/system/cpu/isolated`)',
    source: 'libvirt NEWS.rst v10.4.0 (2024-06-03), Bug fixes: "qemu: Don\'t set affinity for isolcpus unless explicitly requested" (not measured here: the installed 9.0 predates it)',
  },
  {
    id: 'iommu-eim-added',
    since: v(10, 10),
    before: '(QEMU) more than 255 vCPUs on x86 need a q35 machine and an `<iommu>` with `eim=\'on\'`, else refused ("more than 255 vCPUs require extended interrupt mode enabled on the iommu device")',
    after:
      '(QEMU) on q35, define adds `<iommu model=\'intel\'>` with intremap and eim on when there is none, and turns eim on in an intel IOMMU that leaves it out; still refused: non-q35 machines, `eim=\'off\'`, other IOMMU models (assumes a QEMU with intel-iommu eim, as every supported one has)',
    source:
      'libvirt NEWS.rst v10.10.0 (2024-12-02), Improvements: "qemu: Automatically add IOMMU when needed" (qemuDomainDefAddDefaultDevices, qemuDomainIOMMUDefPostParse); the 10.7.0 test suite refuses it (qemuValidateDomainDefCpu); the installed 9.0.0 (qemu:///system) refusing 288 vCPUs on q35 without an IOMMU is measured here',
  },
  {
    id: 'controller-iothread-mapping',
    since: v(11, 2),
    before: '(QEMU) a controller\'s `<driver><iothreads><iothread id>` mapping is not read, so the IOThreads it names are not checked',
    after: '(QEMU) every IOThread the mapping names must exist, and only virtio-scsi controllers take one (as for `<driver iothread>`)',
    source:
      'libvirt NEWS.rst v11.2.0 (2025-04-01), New features: "qemu: Add support for multiple iothreads for `virtio-scsi` controller … similarly to the `virtio-blk` device". The installed 9.0.0 drops it (measured); the checks from 11.2 are modelled on the disk mapping\'s, not measured',
  },
];

/** Whether `version` has the new behaviour of change `id`. */
export function hasChange(version: LibvirtVersion | undefined, id: LibvirtChange['id']): boolean {
  const c = LIBVIRT_CHANGES.find((x) => x.id === id)!;
  return atLeast(version ?? NEWEST_MODELLED, c.since);
}

/**
 * A version given as text or parsed; undefined stays undefined (the newest
 * modelled). One older than OLDEST_MODELLED is LIBVIRT_VERSION_UNSUPPORTED.
 */
export function toLibvirtVersion(v: string | LibvirtVersion | undefined): LibvirtVersion | undefined {
  const version = typeof v === 'string' ? parseLibvirtVersion(v) : v;
  if (version && !atLeast(version, OLDEST_MODELLED)) {
    throw new VirtPinError('LIBVIRT_VERSION_UNSUPPORTED', `libvirt ${formatLibvirtVersion(version)} is older than the oldest libvirt virt-pin models (${formatLibvirtVersion(OLDEST_MODELLED)})`, {
      hint: `its rules differ from ${formatLibvirtVersion(OLDEST_MODELLED)}'s in ways virt-pin does not know; to judge by the oldest modelled rules anyway, give --libvirt ${OLDEST_MODELLED.major}.${OLDEST_MODELLED.minor} (libvirtVersion: '${OLDEST_MODELLED.major}.${OLDEST_MODELLED.minor}')`,
    });
  }
  return version;
}
