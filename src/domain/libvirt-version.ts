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
  id: 'restrictive-memnode-under-other-mode' | 'shares-range' | 'iothread-poll' | 'isolated-cpus-excluded';
  /** First release with the new behaviour (older releases behave the old way). */
  since: LibvirtVersion;
  before: string;
  after: string;
  /** Where the version comes from. */
  source: string;
}

const v = (major: number, minor: number, micro = 0): LibvirtVersion => ({ major, minor, micro });

/** Every libvirt behaviour change virt-pin models, oldest first by release (docs/fidelity.md shows it as a table). */
export const LIBVIRT_CHANGES: readonly LibvirtChange[] = [
  {
    id: 'shares-range',
    since: v(9, 1),
    before: '`<shares>` other than 0 must lie in 2–262144 (refused at define: "Value of cputune \'shares\' must be in range [2, 262144]")',
    after: 'any value is accepted at define; the cgroup version decides at start (v1 2–262144, v2 1–10000)',
    source: 'libvirt commit 38af6497610075e5fe386734b87186731d4c17ac, first released in 9.1.0 (cited as "libvirt < 9.1.0 enforces [2, 262144]" by apache/cloudstack#10221); 9.0.0 behaviour measured here',
  },
  {
    id: 'iothread-poll',
    since: v(9, 4),
    before: '`<iothread><poll>` is not read and disappears on define',
    after: '`<poll max grow shrink>` is read, stored and written back',
    source: 'libvirt NEWS.rst, v9.4.0 entry; 9.0.0 dropping it measured here',
  },
  {
    id: 'isolated-cpus-excluded',
    since: v(10, 4),
    before: '"all host CPUs" (no pin, no `<vcpu cpuset>`) is every online CPU',
    after: '"all host CPUs" is the online CPUs minus the kernel-isolated ones (`/sys/devices/system/cpu/isolated`)',
    source: 'libvirt NEWS.rst, v10.4.0 entry (not measured here: the installed 9.0 predates it)',
  },
  {
    id: 'restrictive-memnode-under-other-mode',
    since: v(10, 7),
    before: "a `restrictive` `<memnode>` under a non-restrictive `<memory>` is accepted (the other direction is refused)",
    after: "refused in both directions (virDomainNumaDefValidate: \"'restrictive' mode is required in memory element when mode is 'restrictive' in memnode element\")",
    source:
      'libvirt 10.7.0 test suite (qemuxmlconfdata/numatune-memnode-restrictive-mode-err-mixed.err) refuses it; 9.0.0 accepting it measured here. The release in between that changed it was not pinned down: 9.1–10.6 are modelled the old way',
  },
];

/** Whether `version` has the new behaviour of change `id`. */
export function hasChange(version: LibvirtVersion | undefined, id: LibvirtChange['id']): boolean {
  const c = LIBVIRT_CHANGES.find((x) => x.id === id)!;
  return atLeast(version ?? NEWEST_MODELLED, c.since);
}

/** A version given as text or parsed; undefined stays undefined (the newest modelled). */
export function toLibvirtVersion(v: string | LibvirtVersion | undefined): LibvirtVersion | undefined {
  return typeof v === 'string' ? parseLibvirtVersion(v) : v;
}
