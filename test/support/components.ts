/**
 * Suites that need a system component (virsh, libvirtd, QEMU, Chromium,
 * root, a writable /proc/irq, …) declare it here instead of failing on their
 * own:
 *
 *   describeWith(['qemu', 'root'], 'threads of a real QEMU', () => { … });
 *
 * - component present: the suite runs as written;
 * - missing with CI=true: the suite is one failing test naming what is
 *   missing and how to get it (.ci/run installs everything: CI skips nothing);
 * - missing outside CI: the suite is reported as skipped (never passed), and
 *   test/support/skip-reporter.ts prints one line per skipped suite at the
 *   end of the run with the missing component and its install command.
 *
 * Detection looks at PATH for programs, so a PATH without a program is
 * enough to see the skip/fail paths.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

export type Component =
  | 'virsh'
  | 'libvirtd'
  | 'qemu'
  | 'root'
  | 'chromium'
  | 'writable-proc-irq'
  | 'cpuset-cgroup'
  | 'numad'
  | 'xmllint'
  | 'hwloc'
  | 'util-linux'
  | 'setpriv'
  | 'groff'
  | 'man-db'
  | 'zsh'
  | 'fish'
  | 'journald'
  | 'promtool';

interface ComponentInfo {
  /** What it is, for the message. */
  what: string;
  /** How to get it on Debian (what .ci/run does). */
  install: string;
  present: () => boolean;
}

const APT = 'apt-get install -y --no-install-recommends';

/** The first executable called `name` on PATH (plus `extra` directories), or undefined. */
export function findProgram(name: string, extra: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extra];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) {
        accessSync(p, constants.X_OK);
        return p;
      }
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Some IRQ's smp_affinity_list can be written (root, and /proc not mounted read-only as in most containers). */
function procIrqWritable(): boolean {
  if (!isRoot() || !existsSync('/proc/irq')) return false;
  try {
    return readdirSync('/proc/irq').some((n) => /^\d+$/.test(n) && writable(`/proc/irq/${n}/smp_affinity_list`));
  } catch {
    return false;
  }
}

/** A cpuset controller on a cgroup hierarchy that root may write (v1 cpuset mount or v2 with cpuset enabled). */
function cpusetCgroup(): boolean {
  if (!isRoot()) return false;
  if (existsSync('/sys/fs/cgroup/cpuset/cpuset.cpus')) return writable('/sys/fs/cgroup/cpuset');
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      if (readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpuset')) return writable(root);
    } catch {
      /* no v2 hierarchy here */
    }
  }
  return false;
}

/** libvirtd lives in sbin, which is not on an ordinary user's PATH on Debian. */
const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

const COMPONENTS: Record<Component, ComponentInfo> = {
  virsh: { what: 'virsh (libvirt client)', install: `${APT} libvirt-clients`, present: () => findProgram('virsh') !== undefined },
  libvirtd: {
    what: 'libvirtd with the QEMU driver',
    install: `${APT} libvirt-daemon libvirt-daemon-driver-qemu`,
    present: () => findProgram('libvirtd', SBIN) !== undefined,
  },
  qemu: { what: 'qemu-system-x86_64', install: `${APT} qemu-system-x86`, present: () => findProgram('qemu-system-x86_64') !== undefined },
  root: { what: 'root privileges', install: 'run the tests as root (CI does: sudo npm test)', present: isRoot },
  chromium: {
    what: 'Chromium (headless screenshots)',
    install: `${APT} chromium`,
    present: () => findProgram('chromium') !== undefined || findProgram('chromium-browser') !== undefined,
  },
  'writable-proc-irq': {
    what: 'a writable /proc/irq/*/smp_affinity_list',
    install: 'run as root on a machine or VM whose /proc is writable (not an unprivileged container)',
    present: procIrqWritable,
  },
  'cpuset-cgroup': {
    what: 'a writable cpuset cgroup controller',
    install: 'run as root on a machine or VM with the cpuset controller (cgroup v1 cpuset mount or v2 cgroup.controllers listing cpuset)',
    present: cpusetCgroup,
  },
  numad: { what: 'numad', install: `${APT} numad`, present: () => findProgram('numad', SBIN) !== undefined },
  xmllint: { what: 'xmllint', install: `${APT} libxml2-utils`, present: () => findProgram('xmllint') !== undefined },
  hwloc: { what: 'hwloc (lstopo)', install: `${APT} hwloc`, present: () => findProgram('lstopo') !== undefined || findProgram('lstopo-no-graphics') !== undefined },
  promtool: { what: 'promtool (Prometheus metrics checker)', install: `${APT} prometheus`, present: () => findProgram('promtool') !== undefined },
  'util-linux': {
    what: 'taskset and chrt',
    install: `${APT} util-linux`,
    present: () => findProgram('taskset') !== undefined && findProgram('chrt') !== undefined,
  },
  setpriv: { what: 'setpriv (run a command as another user)', install: `${APT} util-linux`, present: () => findProgram('setpriv') !== undefined },
  groff: { what: 'groff (man page rendering)', install: `${APT} groff-base`, present: () => findProgram('groff') !== undefined },
  'man-db': { what: 'man (man -l)', install: `${APT} man-db`, present: () => findProgram('man') !== undefined },
  zsh: { what: 'zsh (completion tests)', install: `${APT} zsh`, present: () => findProgram('zsh') !== undefined },
  fish: { what: 'fish (completion tests)', install: `${APT} fish`, present: () => findProgram('fish') !== undefined },
  journald: {
    what: "systemd-journald and journalctl (the host's journal on /dev/log, or none there so a test can start its own as root)",
    install: `${APT} systemd`,
    present: () =>
      findProgram('journalctl') !== undefined &&
      (existsSync('/dev/log') ? existsSync('/run/systemd/journal/socket') : isRoot() && ['/lib/systemd/systemd-journald', '/usr/lib/systemd/systemd-journald'].some((p) => existsSync(p))),
  },
};

export interface MissingComponent {
  component: Component;
  what: string;
  install: string;
}

export interface Requirement {
  available: boolean;
  missing: MissingComponent[];
  /** One line: what is missing and how to get it; '' when available. */
  reason: string;
}

const cache = new Map<Component, boolean>();

/** Whether every component is present; for those that are not, what they are and how to get them. */
export function requireComponents(needs: readonly Component[]): Requirement {
  const missing: MissingComponent[] = [];
  for (const component of needs) {
    let present = cache.get(component);
    if (present === undefined) {
      present = COMPONENTS[component].present();
      cache.set(component, present);
    }
    if (!present) missing.push({ component, what: COMPONENTS[component].what, install: COMPONENTS[component].install });
  }
  const reason = missing.map((m) => `needs ${m.what} [${m.component}]: ${m.install}`).join('; ');
  return { available: missing.length === 0, missing, reason };
}

/** True when missing components must fail the run (CI=true, as .ci/run sets it). */
export const inCi = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');

declare module 'vitest' {
  interface TaskMeta {
    /** On a suite skipped for missing components: what is missing (read by test/support/skip-reporter.ts). */
    virtPinMissing?: MissingComponent[];
  }
}

/**
 * describe(name, fn) when every component is present. Otherwise: with CI=true
 * a suite whose one test fails naming what is missing; outside CI the suite
 * skipped, carrying the reason for the end-of-run summary.
 */
export function describeWith(needs: readonly Component[], name: string, fn: () => void): void {
  const req = requireComponents(needs);
  if (req.available) {
    describe(name, fn);
  } else if (inCi()) {
    describe(name, () => {
      it(`system components present (${needs.join(', ')})`, () => {
        throw new Error(`CI=true and this suite ${req.reason}. .ci/run installs every component; CI must skip nothing.`);
      });
    });
  } else {
    describe(name, { skip: true, meta: { virtPinMissing: req.missing } }, fn);
  }
}
