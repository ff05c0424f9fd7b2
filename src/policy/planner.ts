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
}

interface Defaults {
  vcpu: NonNullable<PinPolicy['vcpu']>;
  threads: NonNullable<PinPolicy['threads']>;
  emulator: NonNullable<PinPolicy['emulator']>;
  numa: NonNullable<PinPolicy['numa']>;
  hostdev: NonNullable<PinPolicy['hostdev']>;
}

/** The policy fields a PinPolicy leaves out (the emulator's default depends on `vcpu`). */
export const POLICY_DEFAULTS: Readonly<Omit<Defaults, 'emulator'>> = {
  vcpu: 'dedicated',
  threads: 'prefer',
  numa: 'strict',
  hostdev: 'local',
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

  // 1. Housekeeping reserve.
  let reserved: CpuSet;
  if (p.reserve !== undefined) {
    reserved = policySet('reserve', p.reserve);
  } else if (p.cpus !== undefined) {
    reserved = CpuSet.empty();
  } else {
    const firstCore = new Map<number, CpuSet>();
    for (const c of [...host.cpus].sort((a, b) => a.id - b.id)) {
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
      `Host CPUs ${reserved} stay with the host (first core of each NUMA node with its siblings${p.reserve !== undefined ? ', as --reserve says' : ''}); ` +
        `guest CPUs come from the online CPUs ${host.onlineCpus}${isolated.isEmpty() ? '' : ` minus the isolated ${isolated}`} minus that reserve: ${usable || 'none'}.`,
    );
  }
  usable = usable.intersect(hostCpuIds);

  // Cores with their usable threads, grouped by node.
  const coreMap = new Map<string, HostCore>();
  for (const c of [...host.cpus].sort((a, b) => a.id - b.id)) {
    if (!usable.has(c.id)) continue;
    // Siblings identify a core even when the source does not number cores (−1).
    const key = c.siblings.union(CpuSet.of(c.id)).toString();
    let core = coreMap.get(key);
    if (!core) coreMap.set(key, (core = { node: nodeOf(c), socket: c.socket, core: c.core, threads: [] }));
    core.threads.push(c.id);
  }
  const cores = [...coreMap.values()];
  const hostSmt = Math.max(1, ...host.cpus.map((c) => c.siblings.union(CpuSet.of(c.id)).size));

  // How many vCPU slots a core offers under the thread policy.
  const perCore = p.perCore === true;
  const slotsOf = (core: HostCore): number[] => {
    if (perCore || p.threads === 'isolate') return core.threads.slice(0, 1);
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
  const chosenCores = chosen.flatMap((n) => cores.filter((c) => c.node === n));
  let emulatorSet = CpuSet.empty();
  let guestCores = chosenCores;
  if (p.emulator === 'isolate') {
    const spare = [...chosenCores].sort((a, b) => slotsOf(a).length - slotsOf(b).length || b.threads[0]! - a.threads[0]!)[0]!;
    emulatorSet = CpuSet.fromIds(spare.threads);
    guestCores = chosenCores.filter((c) => c !== spare);
    explanation.push(`The emulator and IOThreads get host core ${spare.socket}/${spare.core} (CPUs ${emulatorSet}) to themselves (emulator 'isolate').`);
  }

  const vcpuPins: CpuSet[] = [];
  const vcpuNode: number[] = [];
  const threadsPerCore = Math.max(1, guest.threadsPerCore ?? 1);
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
    const layout = perCore ? 'one vCPU per physical core (siblings left idle)' : p.threads === 'isolate' ? 'one vCPU per core, siblings left idle' : 'SMT siblings shared by consecutive vCPUs';
    explanation.push(`Each vCPU gets one host thread of its own (vcpu 'dedicated', ${layout}).`);
  } else {
    // Shared: vCPUs of a cell float over that cell's node; one node → all float together.
    const perNode = splitEvenly(guest.vcpus, chosen.length);
    let v = 0;
    chosen.forEach((node, i) => {
      const set = CpuSet.fromIds(guestCores.filter((c) => c.node === node).flatMap((c) => c.threads));
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
  if (p.topology === 'match-host') {
    const threads = p.vcpu === 'dedicated' && p.threads === 'prefer' && !perCore && hostSmt > 1 && guest.vcpus % hostSmt === 0 ? hostSmt : 1;
    let sockets = Math.max(1, cells.length);
    if ((guest.vcpus / threads) % sockets !== 0) sockets = 1;
    topology = { sockets, dies: 1, cores: guest.vcpus / threads / sockets, threads };
    explanation.push(`Guest topology: ${sockets} socket(s) × ${topology.cores} core(s) × ${threads} thread(s), matching the pinning.`);
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
    reserved,
    explanation,
  };

  function doesNotFit(): VirtPinError {
    const allCores = cores.filter((c) => (p.numa === 'none' ? true : nodeIds.includes(c.node)));
    const dedicatedMax = allCores.reduce((n, c) => n + slotsOf(c).length, 0) - (emulatorCores ? Math.min(...allCores.map((c) => slotsOf(c).length)) : 0);
    const bestNode = Math.max(0, ...nodeIds.map((n) => capacity(n)));
    const asked = p.vcpu === 'dedicated' ? `${guest.vcpus} dedicated vCPUs` : `${guest.vcpus} shared vCPUs`;
    const would: string[] = [];
    if (p.vcpu === 'dedicated' && dedicatedMax > 0) would.push(`up to ${dedicatedMax} dedicated vCPUs`);
    if (p.vcpu === 'dedicated' && bestNode > 0 && nodeIds.length > 1) would.push(`${bestNode} in one NUMA node`);
    if (p.vcpu === 'dedicated') would.push(`or --vcpu shared`);
    if (perCore || p.threads === 'isolate') would.push('or SMT siblings (threads prefer) for twice the slots');
    return new VirtPinError(
      'POLICY_DOES_NOT_FIT',
      `${asked}${emulatorCores ? ' plus an isolated emulator core' : ''} do not fit: the usable host CPUs are ${usable.isEmpty() ? 'none' : usable.toString()} (${usable.size} thread${usable.size === 1 ? '' : 's'} on ${cores.length} core${cores.length === 1 ? '' : 's'})`,
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

