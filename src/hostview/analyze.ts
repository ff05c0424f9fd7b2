/**
 * Cross-domain findings: what several domains on one host do to each other
 * (docs/host-view.md). A domain alone never gets one. Pure.
 */
import { CpuSet } from '../cpuset/index.js';
import type { ResolvedThread, ResolvedVcpu } from '../resolve/index.js';
import { CROSS_CODES, type CrossDomainOptions, type CrossFinding, type HostDomain, type RelatedSite, type Site } from './types.js';

const where = (s: Site): string => `${s.file}:${s.line}:${s.column}`;
const plural = (n: number, one: string, many = `${one}s`): string => (n === 1 ? one : many);

function threadSite(d: HostDomain, t: ResolvedThread): Site {
  const e = t.provenance.element;
  return e ? { domain: d.name, file: d.file, path: e.path, line: Math.max(1, e.line), column: Math.max(1, e.column) } : d.site;
}

function related(s: Site, message: string): RelatedSite {
  return { ...s, message };
}

/** Concrete CPUs a thread may use, or undefined while symbolic. */
function cpusOf(d: HostDomain, t: ResolvedThread): CpuSet | undefined {
  if (t.cpus === 'numad') return undefined;
  if (t.cpus === 'all') return d.resolved.allCpus === 'all' ? undefined : d.resolved.allCpus;
  return t.cpus;
}

/** vCPUs pinned alone to one host CPU by `<vcpupin>`: the CPU is theirs. */
export function dedicatedCpus(d: HostDomain): Map<number, ResolvedVcpu> {
  const out = new Map<number, ResolvedVcpu>();
  for (const v of d.resolved.vcpus) {
    if (v.source !== 'vcpupin' || typeof v.cpus === 'string' || v.cpus.size !== 1) continue;
    const cpu = v.cpus.min()!;
    if (!out.has(cpu)) out.set(cpu, v);
  }
  return out;
}

/**
 * What several domains on one host do to each other: shared dedicated
 * CPUs, vCPUs on another's emulator or IOThread CPUs, IRQs on another's
 * dedicated CPUs, CPU overcommit (info) and node memory. Fewer than two
 * domains give none.
 */
export function crossDomainFindings(domains: readonly HostDomain[], options: CrossDomainOptions = {}): CrossFinding[] {
  if (domains.length < 2) return [];
  const out: CrossFinding[] = [];
  const dedicated = domains.map(dedicatedCpus);

  // 1. Two domains' dedicated vCPUs on one host CPU.
  for (let b = 1; b < domains.length; b++) {
    for (let a = 0; a < b; a++) {
      for (const [cpu, vb] of dedicated[b]!) {
        const va = dedicated[a]!.get(cpu);
        if (!va) continue;
        const A = domains[a]!;
        const B = domains[b]!;
        const atA = threadSite(A, va);
        out.push({
          code: CROSS_CODES.dedicatedShared,
          severity: 'warning',
          message: `vCPU ${vb.id} of '${B.name}' and vCPU ${va.id} of '${A.name}' are both pinned alone to CPU ${cpu} (${where(atA)}): two "dedicated" vCPUs take turns on one core`,
          hint: `move one of them (virt-pin pin --others places a domain around the CPUs other domains hold)`,
          at: threadSite(B, vb),
          related: [related(atA, `vCPU ${va.id} of '${A.name}' is pinned here to CPU ${cpu}`)],
          domains: [B.name, A.name],
          cpus: String(cpu),
        });
      }
    }
  }

  // 2. A domain's pinned vCPUs on the CPUs another domain pins its emulator or IOThreads to.
  for (let a = 0; a < domains.length; a++) {
    const A = domains[a]!;
    const vcpus = A.resolved.vcpus
      .filter((v) => v.source === 'vcpupin' || v.source === 'vcpu-cpuset')
      .map((v) => ({ v, cpus: cpusOf(A, v) }))
      .filter((x): x is { v: ResolvedVcpu; cpus: CpuSet } => x.cpus !== undefined);
    if (!vcpus.length) continue;
    for (let b = 0; b < domains.length; b++) {
      if (b === a) continue;
      const B = domains[b]!;
      const housekeeping: { name: string; t: ResolvedThread }[] = [];
      if (B.resolved.emulator.source === 'emulatorpin') housekeeping.push({ name: 'emulator', t: B.resolved.emulator });
      for (const io of B.resolved.iothreads) if (io.source === 'iothreadpin') housekeeping.push({ name: `IOThread ${io.id}`, t: io });
      for (const { name, t } of housekeeping) {
        const mask = cpusOf(B, t);
        if (!mask) continue;
        const hit = vcpus.filter((x) => x.cpus.intersects(mask));
        if (!hit.length) continue;
        const cpus = hit.reduce((acc, x) => acc.union(x.cpus.intersect(mask)), CpuSet.empty());
        const ids = CpuSet.fromIds(hit.map((x) => x.v.id)).toString();
        const atB = threadSite(B, t);
        out.push({
          code: CROSS_CODES.vcpuOnHousekeeping,
          severity: 'warning',
          message: `${plural(hit.length, 'vCPU')} ${ids} of '${A.name}' may run on CPU${cpus.size === 1 ? '' : 's'} ${cpus}, which '${B.name}' pins its ${name} to (${where(atB)})`,
          hint: `keep housekeeping CPUs (emulator, IOThreads) out of every domain's vCPU pins`,
          at: threadSite(A, hit[0]!.v),
          related: [related(atB, `'${B.name}' pins its ${name} here`)],
          domains: [A.name, B.name],
          cpus: cpus.toString(),
        });
      }
    }
  }

  // 3. One domain's device interrupts on another's dedicated CPUs.
  for (let a = 0; a < domains.length; a++) {
    const A = domains[a]!;
    for (const irq of A.irqs) {
      for (let b = 0; b < domains.length; b++) {
        if (b === a) continue;
        const B = domains[b]!;
        const hits = irq.cpus.ids().filter((c) => dedicated[b]!.has(c));
        if (!hits.length) continue;
        const first = dedicated[b]!.get(hits[0]!)!;
        const atB = threadSite(B, first);
        const vcpuIds = CpuSet.fromIds(hits.map((c) => dedicated[b]!.get(c)!.id)).toString();
        out.push({
          code: CROSS_CODES.irqOnDedicated,
          severity: 'warning',
          message: `the IRQ policy of '${A.name}' sends the interrupts of ${irq.device} to CPU${hits.length === 1 ? '' : 's'} ${CpuSet.fromIds(hits)}, where '${B.name}' has dedicated ${plural(hits.length, 'vCPU')} ${vcpuIds} (${where(atB)})`,
          hint: `give the device an affinity on housekeeping CPUs in <vp:irq hostdev='${irq.device}' affinity='…'/>`,
          at: irq.site,
          related: [related(atB, `vCPU ${first.id} of '${B.name}' is pinned here`)],
          domains: [A.name, B.name],
          cpus: CpuSet.fromIds(hits).toString(),
        });
      }
    }
  }

  out.push(...cpuOvercommit(domains, options.overcommitThreshold ?? 1));
  out.push(...memoryOvercommit(domains, options));
  return out;
}

/**
 * vCPUs per host CPU, counting a vCPU that floats over N CPUs as 1/N on
 * each: the load the CPU carries if every vCPU is busy. Reported (info)
 * where it exceeds the threshold and more than one domain contributes.
 */
function cpuOvercommit(domains: readonly HostDomain[], threshold: number): CrossFinding[] {
  interface Share { load: number; vcpus: number; threads: number }
  const perCpu = new Map<number, Map<number, Share>>();
  domains.forEach((d, i) => {
    const add = (t: ResolvedThread, vcpu: boolean): void => {
      const cpus = cpusOf(d, t);
      if (!cpus || cpus.isEmpty()) return;
      for (const c of cpus) {
        let m = perCpu.get(c);
        if (!m) perCpu.set(c, (m = new Map()));
        let s = m.get(i);
        if (!s) m.set(i, (s = { load: 0, vcpus: 0, threads: 0 }));
        s.threads++;
        if (vcpu) {
          s.vcpus++;
          s.load += 1 / cpus.size;
        }
      }
    };
    for (const v of d.resolved.vcpus) if (v.online) add(v, true);
    add(d.resolved.emulator, false);
    for (const io of d.resolved.iothreads) add(io, false);
  });
  // CPUs with the same contributing domains and the same rounded load form one finding.
  const groups = new Map<string, { cpus: number[]; load: number; threads: number; vcpus: number; who: number[] }>();
  for (const [cpu, m] of [...perCpu].sort((x, y) => x[0] - y[0])) {
    const who = [...m.keys()].filter((i) => m.get(i)!.vcpus > 0).sort((x, y) => x - y);
    if (who.length < 2) continue;
    const load = [...m.values()].reduce((acc, s) => acc + s.load, 0);
    if (load <= threshold + 1e-9) continue;
    const threads = [...m.values()].reduce((acc, s) => acc + s.threads, 0);
    const vcpus = [...m.values()].reduce((acc, s) => acc + s.vcpus, 0);
    const key = `${who.join(',')}|${load.toFixed(2)}|${threads}|${vcpus}`;
    const g = groups.get(key);
    if (g) g.cpus.push(cpu);
    else groups.set(key, { cpus: [cpu], load, threads, vcpus, who });
  }
  const out: CrossFinding[] = [];
  for (const g of groups.values()) {
    const cpus = CpuSet.fromIds(g.cpus);
    const ds = g.who.map((i) => domains[i]!);
    // The first vCPU of the domain that may run on these CPUs.
    const vcpuSite = (d: HostDomain): Site => {
      const v = d.resolved.vcpus.find((x) => x.online && cpusOf(d, x)?.intersects(cpus));
      return v ? threadSite(d, v) : d.site;
    };
    out.push({
      code: CROSS_CODES.cpuOvercommit,
      severity: 'info',
      message: `CPU${cpus.size === 1 ? '' : 's'} ${cpus}: ${g.load.toFixed(2)} vCPUs per CPU (threshold ${threshold}) from ${ds.map((d) => `'${d.name}'`).join(', ')}; ${g.vcpus} vCPU ${plural(g.vcpus, 'thread')} and ${g.threads - g.vcpus} other ${plural(g.threads - g.vcpus, 'thread')} may run on ${cpus.size === 1 ? 'it' : 'each'}`,
      hint: 'fine for best-effort guests; latency-sensitive ones want CPUs of their own',
      at: vcpuSite(ds[0]!),
      related: ds.slice(1).map((d) => related(vcpuSite(d), `'${d.name}' may run vCPUs there`)),
      domains: ds.map((d) => d.name),
      cpus: cpus.toString(),
    });
  }
  return out;
}

/**
 * Memory bound to host nodes: for every node set some binding names, the
 * bindings that must fit inside it (their nodes ⊆ the set) against what
 * the set has, separately for normal pages and for each hugepage size.
 */
function memoryOvercommit(domains: readonly HostDomain[], options: CrossDomainOptions): CrossFinding[] {
  const facts = options.memory;
  if (!facts) return [];
  const bindings = domains.flatMap((d, i) => d.memory.map((m) => ({ ...m, owner: i })));
  if (new Set(bindings.map((b) => b.owner)).size < 2) return [];
  const kinds = [...new Set(bindings.map((b) => b.hugepageKiB))];
  const out: CrossFinding[] = [];
  const seen = new Set<string>();
  for (const kind of kinds) {
    const ofKind = bindings.filter((b) => b.hugepageKiB === kind);
    const sets = [...new Map(ofKind.map((b) => [b.nodes.toString(), b.nodes])).values()].sort((x, y) => x.size - y.size || x.min()! - y.min()!);
    for (const nodes of sets) {
      const inside = ofKind.filter((b) => b.nodes.isSubsetOf(nodes));
      if (new Set(inside.map((b) => b.owner)).size < 2) continue;
      const capacity = capacityKiB(facts, nodes, kind);
      if (capacity === undefined) continue;
      const demand = inside.reduce((acc, b) => acc + b.kib, 0);
      if (demand <= capacity) continue;
      // A smaller set already over capacity explains a larger one; report the smallest.
      const key = `${kind}|${inside.map((b) => `${b.owner}:${b.site.line}`).join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const last = inside[inside.length - 1]!;
      const what = kind === undefined ? 'memory' : `${sizeText(kind)} hugepages`;
      out.push({
        code: kind === undefined ? CROSS_CODES.nodeMemory : CROSS_CODES.nodeHugepages,
        severity: 'warning',
        message: `host node${nodes.size === 1 ? '' : 's'} ${nodes}: ${sizeText(demand)} of ${what} bound there (${inside
          .map((b) => `'${domains[b.owner]!.name}' ${sizeText(b.kib)}`)
          .join(', ')}) but ${nodes.size === 1 ? 'it has' : 'they have'} ${sizeText(capacity)}`,
        hint: kind === undefined ? 'spread the domains over more nodes, or use mode=preferred' : `reserve more ${sizeText(kind)} pages on the node (nodeN/hugepages/hugepages-${kind}kB/nr_hugepages)`,
        at: last.site,
        related: inside.filter((b) => b !== last).map((b) => related(b.site, `'${domains[b.owner]!.name}' binds ${sizeText(b.kib)} here`)),
        domains: [...new Set([last, ...inside].map((b) => domains[b.owner]!.name))],
        nodes: nodes.toString(),
      });
    }
  }
  return out;
}

function capacityKiB(facts: NonNullable<CrossDomainOptions['memory']>, nodes: CpuSet, page: number | undefined): number | undefined {
  let total = 0;
  for (const id of nodes) {
    const n = facts.nodes.find((x) => x.id === id);
    if (!n) return undefined;
    const pool = (n.hugepages ?? []).reduce((acc, h) => acc + h.sizeKiB * h.count, 0);
    if (page === undefined) {
      if (n.memoryKiB === undefined) return undefined;
      total += Math.max(0, n.memoryKiB - pool);
    } else total += (n.hugepages ?? []).filter((h) => h.sizeKiB === page).reduce((acc, h) => acc + h.sizeKiB * h.count, 0);
  }
  return total;
}

function sizeText(kib: number): string {
  if (kib >= 1024 * 1024 && kib % (1024 * 1024) === 0) return `${kib / (1024 * 1024)} GiB`;
  if (kib >= 1024 * 1024) return `${(kib / (1024 * 1024)).toFixed(1)} GiB`;
  if (kib >= 1024 && kib % 1024 === 0) return `${kib / 1024} MiB`;
  return `${kib} KiB`;
}
