/**
 * Small builders for DomainDefinition values, so unit tests state libvirt's
 * post-parse state directly (what definitionOf produces) without XML.
 */
import { CpuSet, parseCpuSet } from '../../src/cpuset/index.js';
import type { DomainDefinition, IOThreadDef, PinDef, ThreadSched, VcpuState } from '../../src/domain/definition.js';
import type { ElementRef, NumaMode, Scheduler } from '../../src/domain/types.js';
import type { HostFacts } from '../../src/resolve/types.js';

let nextLine = 10;

/** An element reference at a given line (column 5). */
export function at(path: string, line = nextLine++): ElementRef {
  return { path, loc: { line, column: 5, offset: line * 40 } };
}

export function pin(cpus: string, path: string, line?: number): PinDef {
  return { cpus: parseCpuSet(cpus), from: at(path, line) };
}

export function schedOf(scheduler: Scheduler, priority?: number, path = '/domain/cputune/vcpusched[1]'): ThreadSched {
  return { scheduler, ...(priority !== undefined ? { priority } : {}), from: at(path) };
}

export interface DefOptions {
  max?: number;
  /** Online count (vCPUs 0..current-1 online). */
  current?: number;
  placement?: 'static' | 'auto';
  cpuset?: string;
  vcpupins?: Record<number, string>;
  emulatorpin?: string;
  /** IOThread ids (explicit) in list order, optional pins. */
  iothreads?: { id: number; autofilled?: boolean; pin?: string; sched?: ThreadSched }[];
  driver?: 'qemu' | 'generic';
}

export function definition(o: DefOptions = {}, extra: Partial<DomainDefinition> = {}): DomainDefinition {
  const max = o.max ?? 2;
  const current = o.current ?? max;
  let pinIndex = 0;
  const vcpus: VcpuState[] = Array.from({ length: max }, (_, id) => {
    const pinText = o.vcpupins?.[id];
    return {
      id,
      online: id < current,
      hotpluggable: id >= current,
      order: 0,
      ...(pinText !== undefined ? { pin: pin(pinText, `/domain/cputune/vcpupin[${++pinIndex}]`) } : {}),
    };
  });
  const iothreads: IOThreadDef[] = (o.iothreads ?? []).map((t, i) => ({
    id: t.id,
    autofilled: t.autofilled ?? false,
    threadPoolMin: -1,
    threadPoolMax: -1,
    ...(t.pin !== undefined ? { pin: pin(t.pin, `/domain/cputune/iothreadpin[${i + 1}]`) } : {}),
    ...(t.sched ? { sched: t.sched } : {}),
  }));
  return {
    driver: o.driver ?? 'qemu',
    domainType: 'kvm',
    maxVcpus: max,
    vcpus,
    individualVcpus: false,
    placement: o.placement ?? 'static',
    ...(o.cpuset !== undefined ? { cpuset: pin(o.cpuset, '/domain/vcpu', 4) } : {}),
    iothreads,
    printIOThreadIds: false,
    ...(o.emulatorpin !== undefined ? { emulatorPin: pin(o.emulatorpin, '/domain/cputune/emulatorpin') } : {}),
    bandwidth: {},
    resctrl: [],
    numatune: { memnodes: [] },
    guestCells: [],
    hostdevs: [],
    changes: [],
    ...extra,
  };
}

export function numaMemory(mode: NumaMode, placement: 'static' | 'auto', nodeset?: string, implicit = false): NonNullable<DomainDefinition['numatune']['memory']> {
  return {
    mode,
    placement,
    ...(nodeset !== undefined ? { nodeset: parseCpuSet(nodeset) } : {}),
    implicit,
    ...(implicit ? {} : { from: at('/domain/numatune/memory', 20) }),
  };
}

export function cells(...cpuLists: string[]): DomainDefinition['guestCells'] {
  return cpuLists.map((c, id) => ({ id, cpus: c === '' ? CpuSet.empty() : parseCpuSet(c), from: at(`/domain/cpu/numa/cell[${id + 1}]`, 30 + id) }));
}

/** The gold oracle's host (oracles.md §4): CPUs 0-1, one NUMA node. */
export const oracleHost: HostFacts = { onlineCpus: CpuSet.range(0, 1), nodes: [{ id: 0, cpus: CpuSet.range(0, 1), memoryKiB: 24 * 1024 * 1024 }] };

/** A two-socket host: node 0 = CPUs 0-7, node 1 = CPUs 8-15, CPUs 14-15 isolated. */
export const twoNodeHost: HostFacts = {
  onlineCpus: CpuSet.range(0, 15),
  isolatedCpus: CpuSet.range(14, 15),
  nodes: [
    { id: 0, cpus: CpuSet.range(0, 7), memoryKiB: 16 * 1024 * 1024 },
    { id: 1, cpus: CpuSet.range(8, 15), memoryKiB: 16 * 1024 * 1024 },
  ],
};

/** cpus of a thread as its JSON string. */
export function str(m: CpuSet | string): string {
  return typeof m === 'string' ? m : m.toString();
}
