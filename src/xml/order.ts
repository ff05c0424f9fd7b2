/**
 * Where libvirt's formatter (virDomainDefFormatInternal and friends) puts
 * children, so inserted elements land where `virsh dumpxml` would print
 * them. Only parents whose order matters to virt-pin's edits are listed;
 * elsewhere new children are appended.
 */
export const LIBVIRT_CHILD_ORDER: Readonly<Record<string, readonly string[]>> = {
  domain: [
    'name', 'uuid', 'genid', 'title', 'description', 'metadata', 'maxMemory', 'memory', 'currentMemory',
    'blkiotune', 'memtune', 'memoryBacking', 'vcpu', 'vcpus', 'iothreads', 'iothreadids', 'defaultiothread',
    'cputune', 'numatune', 'resource', 'throttlegroups', 'sysinfo', 'bootloader', 'bootloader_args', 'os', 'idmap',
    'features', 'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'on_lockfailure', 'pm', 'perf', 'devices',
    'seclabel', 'keywrap', 'launchSecurity',
  ],
  cputune: [
    'shares', 'period', 'quota', 'global_period', 'global_quota', 'emulator_period', 'emulator_quota',
    'iothread_period', 'iothread_quota', 'vcpupin', 'emulatorpin', 'iothreadpin', 'emulatorsched', 'vcpusched',
    'iothreadsched', 'cachetune', 'memorytune',
  ],
  numatune: ['memory', 'memnode'],
  cpu: ['model', 'vendor', 'topology', 'cache', 'maxphysaddr', 'feature', 'numa'],
  iothreadids: ['iothread'],
};

const RANKS = new Map(Object.entries(LIBVIRT_CHILD_ORDER).map(([p, list]) => [p, new Map(list.map((c, i) => [c, i]))]));

/** Position of `child` among `parent`'s children in libvirt's order, or undefined when unknown. */
export function childRank(parent: string, child: string): number | undefined {
  return RANKS.get(parent)?.get(child);
}
