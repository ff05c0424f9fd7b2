/**
 * The placement planner: given the guest's shape, the host topology and a
 * policy, decide which host CPUs every vCPU, the emulator and every
 * IOThread get, which host NUMA nodes back the memory, and (when the guest
 * spans nodes) which guest NUMA cells mirror them. Pure: no XML, no I/O.
 *
 * Choices, in order (each recorded in `explanation`):
 * 1. reserve housekeeping CPUs (default: first core of each node + siblings);
 * 2. usable = --cpus, or online − isolated − reserve;
 * 3. candidate nodes ordered by device locality, then free capacity;
 * 4. fit the guest in one node when it fits (numa strict/preferred), else
 *    spread it over as few nodes as possible;
 * 5. dedicated vCPUs take host threads core by core (SMT-aware), shared
 *    vCPUs float over the chosen CPUs;
 * 6. emulator and IOThreads share the guest's CPUs, get a core of their own,
 *    or an explicit set.
 */
import { CpuSet, tryParseCpuSet } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import type { GuestCellPlan, PinPolicy, PinPlacement, PlannerGuest, PlannerHost } from './types.js';

interface HostCore {
  node: number;
  socket: number;
  core: number;
  /** Usable threads of the core, ascending. */
  threads: number[];
  coreType?: 'performance' | 'efficiency';
  /** The L3 instance holding the core (its CPU list as key), when the host reports one. */
  l3?: { key: string; sizeKiB: number };
}

interface Defaults {
  vcpu: NonNullable<PinPolicy['vcpu']>;
  threads: NonNullable<PinPolicy['threads']>;
  emulator: NonNullable<PinPolicy['emulator']>;
  numa: NonNullable<PinPolicy['numa']>;
  hostdev: NonNullable<PinPolicy['hostdev']>;
  cache: NonNullable<PinPolicy['cache']>;
}

/** The policy fields a PinPolicy leaves out (the emulator's default depends on `vcpu`). */
export const POLICY_DEFAULTS: Readonly<Omit<Defaults, 'emulator'>> = {
  vcpu: 'dedicated',
  threads: 'prefer',
  numa: 'strict',
  hostdev: 'local',
  cache: 'prefer',
};

/**
 * Choose host CPUs for every vCPU, the emulator and IOThreads (and memory
 * nodes) under `policy`; throws a POLICY_* VirtPinError, saying what would
 * fit, when the host cannot meet it. Pure: pinDomain writes and verifies.
 */
export function planPlacement(guest: PlannerGuest, host: PlannerHost, policy: PinPolicy = {}): PinPlacement {
  const given = stripUndefined(policy);
  const vcpuMode = given.vcpu ?? POLICY_DEFAULTS.vcpu;
  const p: Defaults & PinPolicy = { ...POLICY_DEFAULTS, emulator: vcpuMode === 'dedicated' ? 'housekeeping' : 'share', ...given };
  const explanation: string[] = [];
  if (!Number.isInteger(guest.vcpus) || guest.vcpus < 1) {
    throw new VirtPinError('POLICY_NO_VCPUS', `the guest has ${guest.vcpus} vCPUs; a placement needs at least one`);
  }
  const nodeOfCpu = new Map<number, number>();
  for (const n of host.nodes) for (const c of n.cpus) nodeOfCpu.set(c, n.id);
  const nodeOf = (c: { id: number; node?: number }): number => c.node ?? nodeOfCpu.get(c.id) ?? 0;
  const hostCpuIds = CpuSet.fromIds(host.cpus.map((c) => c.id));

  // Core types: only a host with both kinds is hybrid.
  const hybrid = host.cpus.some((c) => c.coreType === 'performance') && host.cpus.some((c) => c.coreType === 'efficiency');
  const vcpuType = hybrid ? (p.coreType ?? 'performance') : 'any';
  const vcpuTypeStrict = hybrid && p.coreType !== undefined && p.coreType !== 'any';
  const housekeepingType = hybrid ? (p.housekeepingCoreType ?? 'efficiency') : 'any';
  const l3OfCpu = new Map<number, { key: string; sizeKiB: number }>();
  for (const cache of host.caches ?? []) {
    if (cache.level !== 3 || cache.type === 'instruction') continue;
    for (const id of cache.cpus.ids()) l3OfCpu.set(id, { key: cache.cpus.toString(), sizeKiB: cache.sizeKiB ?? 0 });
  }
  const l2Of = (id: number): CpuSet | undefined => host.caches?.find((c) => c.level === 2 && c.type !== 'instruction' && c.cpus.has(id))?.cpus;

  // 1. Housekeeping reserve.
  let reserved: CpuSet;
  let reserveWhy = 'first core of each NUMA node with its siblings';
  if (p.reserve !== undefined) {
    reserved = p.reserve.trim() === '' || p.reserve.trim() === 'none' ? CpuSet.empty() : policySet('reserve', p.reserve);
    reserveWhy = 'as --reserve says';
  } else if (p.cpus !== undefined) {
    reserved = CpuSet.empty();
  } else {
    const firstCore = new Map<number, CpuSet>();
    const sorted = [...host.cpus].sort((a, b) => a.id - b.id);
    // On a hybrid host housekeeping goes to the first cluster (shared L2) of the chosen core type.
    if (housekeepingType !== 'any') {
      for (const c of sorted) {
        if (!host.onlineCpus.has(c.id) || firstCore.has(nodeOf(c)) || c.coreType !== housekeepingType) continue;
        const cluster = (l2Of(c.id) ?? c.siblings.union(CpuSet.of(c.id))).intersect(host.onlineCpus);
        firstCore.set(nodeOf(c), CpuSet.fromIds(cluster.ids().filter((id) => host.cpus.find((x) => x.id === id)?.coreType === housekeepingType)));
      }
      if (firstCore.size > 0) reserveWhy = `first ${housekeepingType}-core cluster of each NUMA node: housekeeping on ${housekeepingType} cores, as on hybrid hosts by default`;
    }
    for (const c of sorted) {
      if (!host.onlineCpus.has(c.id) || firstCore.has(nodeOf(c))) continue;
      firstCore.set(nodeOf(c), c.siblings.union(CpuSet.of(c.id)).intersect(host.onlineCpus));
    }
    reserved = [...firstCore.values()].reduce((a, b) => a.union(b), CpuSet.empty());
  }

  // 2. Usable CPUs.
  const isolated = host.isolatedCpus ?? CpuSet.empty();
  let usable: CpuSet;
  if (p.cpus !== undefined) {
    const asked = policySet('cpus', p.cpus);
    const unknown = asked.difference(host.onlineCpus);
    if (!unknown.isEmpty()) {
      throw new VirtPinError('POLICY_CPUS_NOT_ONLINE', `--cpus names CPUs ${unknown} that are not online on this host (online: ${host.onlineCpus})`, {
        hint: 'pick CPUs from the online set',
      });
    }
    usable = asked.difference(reserved);
    explanation.push(`Guest CPUs come from --cpus ${asked}${reserved.isEmpty() ? '' : ` minus the reserve ${reserved}`}.`);
  } else {
    usable = host.onlineCpus.difference(isolated).difference(reserved);
    explanation.push(
      (reserved.isEmpty() ? 'No host CPUs are reserved (--reserve none); ' : `Host CPUs ${reserved} stay with the host (${reserveWhy}); `) +
        `guest CPUs come from the online CPUs ${host.onlineCpus}${isolated.isEmpty() ? '' : ` minus the isolated ${isolated}`}${reserved.isEmpty() ? '' : ' minus that reserve'}: ${usable || 'none'}.`,
    );
  }
  usable = usable.intersect(hostCpuIds);
  if (host.allowedCpus && !usable.difference(host.allowedCpus).isEmpty()) {
    explanation.push(`The cpuset cgroup allows only CPUs ${host.allowedCpus}; CPUs ${usable.difference(host.allowedCpus)} are left out.`);
    usable = usable.intersect(host.allowedCpus);
  }
  const allowedNodes = p.numa === 'none' ? undefined : host.allowedNodes;

  // Cores with their usable threads, grouped by node.
  const coreMap = new Map<string, HostCore>();
  for (const c of [...host.cpus].sort((a, b) => a.id - b.id)) {
    if (!usable.has(c.id)) continue;
    if (allowedNodes && !allowedNodes.has(nodeOf(c))) continue;
    if (vcpuTypeStrict && c.coreType !== vcpuType) continue;
    // Siblings identify a core even when the source does not number cores (−1).
    const key = c.siblings.union(CpuSet.of(c.id)).toString();
    let core = coreMap.get(key);
    if (!core) {
      const l3 = l3OfCpu.get(c.id);
      core = { node: nodeOf(c), socket: c.socket, core: c.core, threads: [], ...(c.coreType ? { coreType: c.coreType } : {}), ...(l3 ? { l3 } : {}) };
      coreMap.set(key, core);
    }
    core.threads.push(c.id);
  }
  const cores = [...coreMap.values()];
  if (allowedNodes) explanation.push(`The cpuset cgroup allows memory on nodes ${allowedNodes} only; CPUs of other nodes are left out.`);
  if (vcpuTypeStrict) explanation.push(`vCPUs use ${vcpuType} cores only (--core-type ${vcpuType}).`);
  const hostSmt = Math.max(1, ...host.cpus.map((c) => c.siblings.union(CpuSet.of(c.id)).size));

  // How many vCPU slots a core offers under the thread policy.
  const perCore = p.perCore === true;
  // Set once the nodes are chosen: a guest that declares threads=1 gets one vCPU per core while the cores suffice.
  let spreadOverCores = false;
  const slotsOf = (core: HostCore): number[] => {
    if (perCore || p.threads === 'isolate' || spreadOverCores) return core.threads.slice(0, 1);
    if (p.threads === 'require') return core.threads.length >= 2 ? core.threads : [];
    return core.threads;
  };
  if (p.vcpu === 'dedicated' && p.threads === 'require' && hostSmt < 2) {
    throw new VirtPinError('POLICY_NO_SMT', "threads 'require' needs a host with SMT siblings; this host has one thread per core", {
      hint: "use threads 'prefer' or 'isolate'",
    });
  }

  // 3. Node preference: device locality first, then free capacity.
  const deviceNodes = new Map<number, number>();
  if (p.hostdev === 'local') {
    for (const addr of guest.hostdevs) {
      const dev = host.pciDevices?.find((d) => d.address === addr);
      if (dev?.numaNode !== undefined && dev.numaNode >= 0) deviceNodes.set(dev.numaNode, (deviceNodes.get(dev.numaNode) ?? 0) + 1);
    }
  }
  const nodeIds = [...new Set(cores.map((c) => c.node))];
  const capacity = (node: number): number =>
    p.vcpu === 'dedicated' ? cores.filter((c) => c.node === node).reduce((n, c) => n + slotsOf(c).length, 0) : cores.filter((c) => c.node === node).reduce((n, c) => n + c.threads.length, 0);
  nodeIds.sort((a, b) => (deviceNodes.get(b) ?? 0) - (deviceNodes.get(a) ?? 0) || capacity(b) - capacity(a) || a - b);
  if (deviceNodes.size > 0) {
    explanation.push(`Passed-through devices sit on host node ${[...deviceNodes.keys()].join(', ')}; that node is tried first (hostdev 'local').`);
  }

  // Emulator 'isolate' takes one core of its own, counted against the guest's nodes.
  const emulatorCores = p.emulator === 'isolate' ? 1 : 0;
  // Shared vCPUs prefer as many threads as vCPUs but may overcommit when the host has fewer.
  const need = p.vcpu === 'dedicated' ? guest.vcpus : Math.max(1, Math.min(guest.vcpus, usable.size - emulatorCores));
  const fitsIn = (nodes: number[]): boolean => {
    const nodeCores = cores.filter((c) => nodes.includes(c.node));
    if (nodeCores.length < emulatorCores) return false;
    // Give the emulator the core with the fewest slots (it wastes the least).
    const spare = emulatorCores ? [...nodeCores].sort((a, b) => slotsOf(a).length - slotsOf(b).length)[0] : undefined;
    const slots = nodeCores.filter((c) => c !== spare).reduce((n, c) => n + (p.vcpu === 'dedicated' ? slotsOf(c).length : c.threads.length), 0);
    return slots >= need;
  };

  // 4. Choose nodes.
  let chosen: number[];
  if (p.numa === 'none') {
    chosen = [...nodeIds].sort((a, b) => a - b);
    if (!fitsIn(chosen)) throw doesNotFit();
  } else {
    const single = nodeIds.find((n) => fitsIn([n]));
    if (single !== undefined) {
      chosen = [single];
      explanation.push(`The guest fits in host NUMA node ${single}; all its CPUs and memory come from there.`);
    } else {
      chosen = [];
      for (const n of nodeIds) {
        chosen.push(n);
        if (fitsIn(chosen)) break;
      }
      if (!fitsIn(chosen)) throw doesNotFit();
      explanation.push(`The guest does not fit in one host NUMA node; it spans nodes ${chosen.join(', ')} with one guest NUMA cell per node.`);
    }
  }

  // 5. Emulator core (isolate) and vCPU slots, node by node in chosen order.
  const threadsPerCore = Math.max(1, guest.threadsPerCore ?? 1);
  if (p.vcpu === 'dedicated' && p.threads === 'prefer' && !perCore && threadsPerCore === 1 && guest.topologyDeclared && p.topology !== 'match-host' && hostSmt > 1) {
    const chosenCoreCount = cores.filter((c) => chosen.includes(c.node)).length - emulatorCores;
    if (chosenCoreCount >= guest.vcpus) {
      spreadOverCores = true;
      explanation.push("The guest's <topology threads='1'> promises separate cores, so each vCPU gets a host core of its own, siblings idle (--topology match-host would pair vCPUs on siblings as guest threads).");
    }
  }
  const chosenCores = p.vcpu === 'dedicated' ? orderForCaches(chosen.flatMap((n) => cores.filter((c) => c.node === n))) : chosen.flatMap((n) => cores.filter((c) => c.node === n));
  let emulatorSet = CpuSet.empty();
  let guestCores = chosenCores;
  if (p.emulator === 'isolate') {
    // On a hybrid host the housekeeping core type first (an E-core for the emulator by default).
    const typeMiss = (c: HostCore): number => (housekeepingType === 'any' || c.coreType === housekeepingType ? 0 : 1);
    const spare = [...chosenCores].sort((a, b) => typeMiss(a) - typeMiss(b) || slotsOf(a).length - slotsOf(b).length || b.threads[0]! - a.threads[0]!)[0]!;
    emulatorSet = CpuSet.fromIds(spare.threads);
    guestCores = chosenCores.filter((c) => c !== spare);
    explanation.push(`The emulator and IOThreads get host core ${spare.socket}/${spare.core} (CPUs ${emulatorSet}) to themselves (emulator 'isolate').`);
  }

  const vcpuPins: CpuSet[] = [];
  const vcpuNode: number[] = [];
  if (p.vcpu === 'dedicated') {
    const free = guestCores.map((c) => ({ core: c, slots: [...slotsOf(c)] }));
    let v = 0;
    while (v < guest.vcpus) {
      const block = Math.min(threadsPerCore, guest.vcpus - v);
      // A guest core's threads land on one host core's siblings when one has room.
      let target = p.threads === 'prefer' && block > 1 ? free.find((f) => f.slots.length >= block) : undefined;
      target ??= free.find((f) => f.slots.length > 0);
      if (!target) throw doesNotFit();
      const take = target.slots.splice(0, p.threads === 'prefer' && block > 1 && target.slots.length >= block ? block : 1);
      for (const cpu of take) {
        vcpuPins[v] = CpuSet.of(cpu);
        vcpuNode[v] = target.core.node;
        v++;
      }
    }
    const layout = perCore ? 'one vCPU per physical core (siblings left idle)' : p.threads === 'isolate' || spreadOverCores ? 'one vCPU per core, siblings left idle' : 'SMT siblings shared by consecutive vCPUs';
    explanation.push(`Each vCPU gets one host thread of its own (vcpu 'dedicated', ${layout}).`);
  } else {
    // Shared: vCPUs of a cell float over that cell's node; one node → all float together.
    const perNode = splitEvenly(guest.vcpus, chosen.length);
    let v = 0;
    const sharedSets = chosen.map((node) => CpuSet.fromIds(guestCores.filter((c) => c.node === node).flatMap((c) => c.threads)));
    // One CPU to float over is a dedicated pin in disguise; shared vCPUs share with the host anyway.
    if (sharedSets.length === 1 && sharedSets[0]!.size === 1) {
      const widened = sharedSets[0]!.union(reserved.intersect(host.onlineCpus));
      if (widened.size > 1) {
        explanation.push(`Only CPU ${sharedSets[0]} is usable; shared vCPUs float over it and the reserve ${reserved.intersect(host.onlineCpus)}, since one CPU would pin them like dedicated ones.`);
        sharedSets[0] = widened;
      }
    }
    chosen.forEach((node, i) => {
      const set = sharedSets[i]!;
      for (let k = 0; k < perNode[i]!; k++, v++) {
        vcpuPins[v] = set;
        vcpuNode[v] = node;
      }
    });
    explanation.push(`vCPUs float over the guest's CPUs (vcpu 'shared').`);
  }
  const guestSet = vcpuPins.reduce((a, b) => a.union(b), CpuSet.empty());

  // Housekeeping CPUs of the guest's own nodes, so emulator memory stays local.
  const guestNodeCpus = host.nodes.filter((n) => vcpuNode.includes(n.id)).reduce((a, n) => a.union(n.cpus), CpuSet.empty());
  // Without a reserve (--cpus given alone), housekeeping is what the guest does not use and the kernel balances.
  const pool = reserved.isEmpty() ? host.onlineCpus.difference(isolated).difference(guestSet) : reserved.intersect(host.onlineCpus);
  const local = pool.intersect(guestNodeCpus);
  const housekeeping = local.isEmpty() ? pool : local;
  if (p.emulator === 'housekeeping' && !housekeeping.isEmpty()) {
    emulatorSet = housekeeping;
    explanation.push(`The emulator and IOThreads run on the housekeeping CPUs ${emulatorSet}, away from the vCPUs (emulator 'housekeeping').`);
  } else if (p.emulator === 'share' || p.emulator === 'housekeeping') {
    emulatorSet = guestSet;
    explanation.push(
      p.emulator === 'share' ? "The emulator and IOThreads float over the guest CPUs (emulator 'share')." : 'No CPUs are reserved, so the emulator and IOThreads float over the guest CPUs.',
    );
  } else if (typeof p.emulator === 'object') {
    emulatorSet = policySet('emulator', p.emulator.cpus);
    const outside = emulatorSet.difference(host.onlineCpus);
    if (!outside.isEmpty()) throw new VirtPinError('POLICY_CPUS_NOT_ONLINE', `the emulator set names CPUs ${outside} that are not online on this host`);
    explanation.push(`The emulator and IOThreads run on CPUs ${emulatorSet}, as asked.`);
  }

  // Real-time vCPUs: the emulator must stay off their CPUs (kvm-realtime layout).
  let realtime: PinPlacement['realtime'];
  if (p.realtime) {
    const rtVcpus = p.realtime.vcpus !== undefined ? policySet('realtime vcpus', p.realtime.vcpus) : guest.vcpus > 1 ? CpuSet.range(1, guest.vcpus - 1) : CpuSet.of(0);
    const beyond = rtVcpus.difference(CpuSet.range(0, guest.vcpus - 1));
    if (!beyond.isEmpty()) throw new VirtPinError('POLICY_BAD_REALTIME', `realtime vCPUs ${beyond} do not exist (the guest has ${guest.vcpus})`);
    if (!Number.isInteger(p.realtime.priority) || p.realtime.priority < 1 || p.realtime.priority > 99) {
      throw new VirtPinError('POLICY_BAD_REALTIME', `real-time priority ${p.realtime.priority} is outside 1..99`);
    }
    realtime = { vcpus: rtVcpus, scheduler: p.realtime.scheduler, priority: p.realtime.priority };
    const rtCpus = vcpuPins.filter((_, i) => rtVcpus.has(i)).reduce((a, b) => a.union(b), CpuSet.empty());
    if (typeof p.emulator === 'string' && p.emulator !== 'isolate' && emulatorSet.intersects(rtCpus)) {
      const nonRt = vcpuPins.filter((_, i) => !rtVcpus.has(i)).reduce((a, b) => a.union(b), CpuSet.empty());
      emulatorSet = nonRt.isEmpty() ? reserved.intersect(host.onlineCpus) : nonRt;
      explanation.push(`Real-time vCPUs ${rtVcpus} run ${p.realtime.scheduler} priority ${p.realtime.priority}; the emulator moves to CPUs ${emulatorSet} so it never preempts them.`);
    }
  }
  const iothreads = guest.iothreadIds.map((id) => ({ id, cpus: emulatorSet }));

  // Memory and guest cells.
  const usedNodes = CpuSet.fromIds(vcpuNode);
  let memory: PinPlacement['memory'];
  if (p.numa !== 'none') {
    memory = { mode: p.numa === 'preferred' && usedNodes.size === 1 ? 'preferred' : 'strict', nodeset: usedNodes };
    if (p.numa === 'preferred' && usedNodes.size > 1) explanation.push("Memory is bound 'strict' per guest cell: 'preferred' takes a single node.");
  }
  const cells: GuestCellPlan[] = [];
  if (p.numa !== 'none' && usedNodes.size > 1) {
    const nodes = usedNodes.ids();
    const counts = nodes.map((n) => vcpuNode.filter((x) => x === n).length);
    const mem = guest.memoryKiB;
    let memLeft = mem ?? 0;
    nodes.forEach((n, i) => {
      const ids = vcpuNode.flatMap((x, v) => (x === n ? [v] : []));
      let memoryKiB: number | undefined;
      if (mem !== undefined) {
        memoryKiB = i === nodes.length - 1 ? memLeft : Math.floor((mem * counts[i]!) / guest.vcpus / 1024) * 1024;
        memLeft -= memoryKiB;
      }
      cells.push({ id: i, vcpus: CpuSet.fromIds(ids), hostNode: n, ...(memoryKiB !== undefined ? { memoryKiB } : {}) });
    });
  }

  let topology: PinPlacement['topology'];
  let cache: PinPlacement['cache'];
  if (p.topology === 'match-host') {
    const threads = p.vcpu === 'dedicated' && p.threads === 'prefer' && !perCore && hostSmt > 1 && guest.vcpus % hostSmt === 0 ? hostSmt : 1;
    let sockets = Math.max(1, cells.length);
    if ((guest.vcpus / threads) % sockets !== 0) sockets = 1;
    // QEMU gives each guest die its own L3: one die per host L3 group the guest uses, when they split evenly.
    const groupSizes = new Map<string, number>();
    if (p.vcpu === 'dedicated') for (const pin of vcpuPins) { const g = l3OfCpu.get(pin.min() ?? -1)?.key; if (g !== undefined) groupSizes.set(g, (groupSizes.get(g) ?? 0) + 1); }
    const perGroup = [...groupSizes.values()];
    let dies = perGroup.length > 1 && perGroup.length % sockets === 0 && perGroup.every((n) => n === perGroup[0] && n % threads === 0) && groupSizes.size * perGroup[0]! === guest.vcpus ? perGroup.length / sockets : 1;
    if ((guest.vcpus / threads / sockets) % dies !== 0) dies = 1;
    topology = { sockets, dies, cores: guest.vcpus / threads / sockets / dies, threads };
    explanation.push(
      `Guest topology: ${sockets} socket(s) × ${dies} die(s) × ${topology.cores} core(s) × ${threads} thread(s), matching the pinning` +
        `${dies > 1 ? ` (one die per host L3 group: the guest sees ${dies} L3 caches like the host)` : ''}.`,
    );
    if (l3OfCpu.size > 0) {
      cache = { level: 3, mode: 'emulate' };
      explanation.push("Guest <cache level='3' mode='emulate'/>: the guest sees an L3 shared per die, as its vCPUs share one on the host.");
    }
  }

  return {
    vcpuPolicy: p.vcpu,
    vcpuPins,
    emulator: emulatorSet,
    iothreads,
    hostNodes: usedNodes,
    ...(memory ? { memory } : {}),
    cells,
    ...(realtime ? { realtime } : {}),
    ...(topology ? { topology } : {}),
    ...(cache ? { cache } : {}),
    reserved,
    explanation,
  };

  /**
   * Dedicated vCPUs take cores in this order: the vCPU core type first (on a
   * hybrid host), then whole L3 groups — the group that holds the guest, the
   * largest cache among several; without one, the largest groups first so
   * the guest spans as few as possible.
   */
  function orderForCaches(list: HostCore[]): HostCore[] {
    const typeRank = (c: HostCore): number => (vcpuType === 'any' || c.coreType === vcpuType ? 0 : 1);
    const index = new Map(list.map((c, i) => [c, i]));
    const byType = (a: HostCore, b: HostCore): number => typeRank(a) - typeRank(b) || index.get(a)! - index.get(b)!;
    if (hybrid && vcpuType !== 'any' && !vcpuTypeStrict) {
      const preferred = list.filter((c) => typeRank(c) === 0).reduce((n, c) => n + slotsOf(c).length, 0);
      explanation.push(
        preferred >= guest.vcpus
          ? `vCPUs go to ${vcpuType} cores (hybrid host; --core-type any to mix, --core-type ${vcpuType} to insist).`
          : `Only ${preferred} ${vcpuType}-core slots are free; the other vCPUs spill to ${vcpuType === 'performance' ? 'efficiency' : 'performance'} cores.`,
      );
    }
    const groups = new Map<string, { sizeKiB: number; capacity: number; first: number }>();
    for (const c of list) {
      if (!c.l3) continue;
      const g = groups.get(c.l3.key) ?? { sizeKiB: c.l3.sizeKiB, capacity: 0, first: index.get(c)! };
      if (typeRank(c) === 0) g.capacity += slotsOf(c).length;
      groups.set(c.l3.key, g);
    }
    if (p.cache === 'ignore' || groups.size === 0) return [...list].sort(byType);
    const entries = [...groups.entries()];
    const fitting = entries.filter(([, g]) => g.capacity >= guest.vcpus).sort(([, a], [, b]) => b.sizeKiB - a.sizeKiB || a.capacity - b.capacity || a.first - b.first);
    if (fitting.length === 0 && p.cache === 'require' && groups.size > 0) {
      const best = Math.max(...entries.map(([, g]) => g.capacity));
      throw new VirtPinError('POLICY_CACHE_DOES_NOT_FIT', `${guest.vcpus} dedicated vCPUs fit in no single L3 group (the roomiest has ${best} free slots)`, {
        hint: `give the guest at most ${best} vCPUs, or use --cache prefer to let it span L3 groups`,
      });
    }
    const rest = entries.filter(([k]) => k !== fitting[0]?.[0]).sort(([, a], [, b]) => b.sizeKiB - a.sizeKiB || b.capacity - a.capacity || a.first - b.first);
    const ranked = [...(fitting[0] ? [fitting[0]] : []), ...rest].map(([k]) => k);
    const rank = new Map(ranked.map((k, i) => [k, i]));
    if (fitting[0]) {
      const sizes = new Set(entries.map(([, g]) => g.sizeKiB));
      explanation.push(
        `The guest fits in one L3 group: CPUs ${fitting[0][0]}${sizes.size > 1 ? ` (${fitting[0][1].sizeKiB} KiB, the largest L3 that holds it)` : ''}${fitting.length > 1 ? `, one of ${fitting.length} that could` : ''} (--cache ${p.cache}).`,
      );
    } else if (groups.size > 1) {
      explanation.push(`No single L3 group holds ${guest.vcpus} vCPUs; they fill whole L3 groups, largest and roomiest first (--cache ${p.cache}).`);
    }
    return [...list].sort((a, b) => typeRank(a) - typeRank(b) || (rank.get(a.l3?.key ?? '') ?? ranked.length) - (rank.get(b.l3?.key ?? '') ?? ranked.length) || index.get(a)! - index.get(b)!);
  }

  function doesNotFit(): VirtPinError {
    const allCores = cores.filter((c) => (p.numa === 'none' ? true : nodeIds.includes(c.node)));
    const dedicatedMax = allCores.reduce((n, c) => n + slotsOf(c).length, 0) - (emulatorCores ? Math.min(...allCores.map((c) => slotsOf(c).length)) : 0);
    const bestNode = Math.max(0, ...nodeIds.map((n) => capacity(n)));
    const asked = p.vcpu === 'dedicated' ? `${guest.vcpus} dedicated vCPUs` : `${guest.vcpus} shared vCPUs`;
    const candidates = CpuSet.fromIds(cores.flatMap((c) => c.threads));
    const would: string[] = [];
    if (p.vcpu === 'dedicated' && dedicatedMax > 0) would.push(`up to ${dedicatedMax} dedicated vCPUs`);
    if (p.vcpu === 'dedicated' && bestNode > 0 && nodeIds.length > 1) would.push(`${bestNode} in one NUMA node`);
    if (p.vcpu === 'dedicated') would.push(`or --vcpu shared`);
    if (perCore || p.threads === 'isolate') would.push('or SMT siblings (threads prefer) for twice the slots');
    const heldBack: string[] = [];
    if (p.cpus === undefined && !isolated.isEmpty()) heldBack.push(`isolated CPUs ${isolated}`);
    if (!reserved.isEmpty()) heldBack.push(`reserved CPUs ${reserved}`);
    if (heldBack.length) would.push(`or give the guest the ${heldBack.join(' and ')} too: --cpus SET${reserved.isEmpty() ? '' : ' (with --reserve none, or a smaller --reserve)'}`);
    if (host.allowedCpus) would.push(`(the cpuset cgroup allows only CPUs ${host.allowedCpus}${host.allowedNodes ? ` and nodes ${host.allowedNodes}` : ''})`);
    if (vcpuTypeStrict) would.push(`or --core-type any to use ${vcpuType === 'performance' ? 'efficiency' : 'performance'} cores as well`);
    return new VirtPinError(
      'POLICY_DOES_NOT_FIT',
      `${asked}${emulatorCores ? ' plus an isolated emulator core' : ''} do not fit: the usable host CPUs are ${candidates.isEmpty() ? 'none' : candidates.toString()} (${candidates.size} thread${candidates.size === 1 ? '' : 's'} on ${cores.length} core${cores.length === 1 ? '' : 's'}${vcpuTypeStrict ? `, ${vcpuType} cores only` : ''})`,
      { hint: `what would fit: ${would.join(', ')}` },
    );
  }
}

function policySet(what: string, text: string): CpuSet {
  const r = tryParseCpuSet(text);
  if (!r.ok) {
    throw new VirtPinError('POLICY_BAD_CPUSET', `${what} '${text}': ${r.message}`, { hint: "use libvirt's cpuset syntax, e.g. '2-7,10-15'" });
  }
  return r.set;
}

function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

