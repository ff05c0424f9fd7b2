/**
 * The host topology the topology lints read, when the caller passed a full
 * host model (virt-pin's `HostTopology` is structurally a superset of
 * `HostFacts`): per-CPU SMT siblings and core type, and the L3 groups.
 * Pure; absent facts make the lints stay silent rather than guess.
 */
import { CpuSet } from '../cpuset/index.js';
import type { HostFacts, ResolvedModel } from '../resolve/index.js';
import type { RuleContext } from './types.js';

interface TopologyFacts {
  cpus?: ReadonlyArray<{ id: number; siblings: CpuSet; coreType?: 'performance' | 'efficiency'; online?: boolean }>;
  caches?: ReadonlyArray<{ level: number; type: string; sizeKiB?: number; cpus: CpuSet }>;
}

export interface HostTopologyView {
  /** The first core of each NUMA node (virt-pin pin's default housekeeping reserve), for "could it fit" estimates. */
  firstCoreOfEachNode: CpuSet;
  /** The CPU's core (its siblings, itself included); undefined for a CPU the host does not list. */
  coreOf(cpu: number): CpuSet | undefined;
  coreTypeOf(cpu: number): 'performance' | 'efficiency' | undefined;
  /** L3 groups (unified or data), each once. */
  l3Groups: CpuSet[];
  hybrid: boolean;
  /** Online, non-isolated CPUs of each core type. */
  typeCpus: Record<'performance' | 'efficiency', CpuSet>;
}

export function hostTopologyOf(host: HostFacts | undefined): HostTopologyView | undefined {
  const facts = host as (HostFacts & TopologyFacts) | undefined;
  if (!facts?.cpus?.length) return undefined;
  const byId = new Map(facts.cpus.map((c) => [c.id, c]));
  const usable = facts.onlineCpus.difference(facts.isolatedCpus ?? CpuSet.empty());
  const typeCpus = {
    performance: CpuSet.fromIds(facts.cpus.filter((c) => c.coreType === 'performance' && usable.has(c.id)).map((c) => c.id)),
    efficiency: CpuSet.fromIds(facts.cpus.filter((c) => c.coreType === 'efficiency' && usable.has(c.id)).map((c) => c.id)),
  };
  const seen = new Set<string>();
  const l3Groups: CpuSet[] = [];
  for (const c of facts.caches ?? []) {
    if (c.level !== 3 || c.type === 'instruction' || seen.has(c.cpus.toString())) continue;
    seen.add(c.cpus.toString());
    l3Groups.push(c.cpus);
  }
  let firstCoreOfEachNode = CpuSet.empty();
  for (const node of facts.nodes ?? []) {
    const first = node.cpus.min();
    if (first !== undefined) firstCoreOfEachNode = firstCoreOfEachNode.union(byId.get(first)?.siblings ?? CpuSet.of(first)).union(CpuSet.of(first));
  }
  return {
    firstCoreOfEachNode,
    coreOf: (cpu) => {
      const c = byId.get(cpu);
      return c ? c.siblings.union(CpuSet.of(cpu)) : undefined;
    },
    coreTypeOf: (cpu) => byId.get(cpu)?.coreType,
    l3Groups,
    hybrid: !typeCpus.performance.isEmpty() && !typeCpus.efficiency.isEmpty(),
    typeCpus,
  };
}

/** vCPUs pinned (by `<vcpupin>`) to exactly one host CPU: id → CPU. */
export function dedicatedVcpus(r: ResolvedModel): Map<number, number> {
  const out = new Map<number, number>();
  for (const v of r.vcpus) if (typeof v.cpus !== 'string' && v.cpus.size === 1 && v.source === 'vcpupin') out.set(v.id, v.cpus.min()!);
  return out;
}

/** Where to report about vCPU `id`: its `<vcpupin>`, else `<vcpu>`, else the root. */
export function vcpuLocation(ctx: RuleContext, id: number): Parameters<RuleContext['report']>[0] {
  return ctx.definition.vcpus[id]?.pin?.from ?? ctx.model.vcpu ?? ctx.model.root;
}

/**
 * How many of `vcpus` dedicated vCPUs `cpus` could hold in the guest's own
 * style: one per core when none of its vCPUs share a core (it avoids
 * siblings on purpose), else one per thread.
 */
export function capacityFor(topo: HostTopologyView, cpus: CpuSet, pinnedCpus: readonly number[]): number {
  const cores = pinnedCpus.map((c) => topo.coreOf(c)?.toString() ?? String(c));
  const onePerCore = new Set(cores).size === cores.length && pinnedCpus.some((c) => (topo.coreOf(c)?.size ?? 1) > 1);
  if (!onePerCore) return cpus.size;
  return new Set(cpus.ids().map((c) => topo.coreOf(c)?.toString() ?? String(c))).size;
}

/** Host CPUs the guest's emulator and IOThreads are pinned to (empty when they float). */
export function housekeepingCpus(r: ResolvedModel): CpuSet {
  let out = CpuSet.empty();
  for (const t of [r.emulator, ...r.iothreads]) if (typeof t.cpus !== 'string' && (t.source === 'emulatorpin' || t.source === 'iothreadpin')) out = out.union(t.cpus);
  return out;
}
