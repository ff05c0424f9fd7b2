/**
 * The planner on real-machine captures (fixtures/hwloc): for each capture
 * and several guest shapes, `pin` must keep dedicated vCPUs off the cores
 * of the emulator and IOThreads and off each other's cores when asked to,
 * never spill over L3 groups while one free L3 group could hold the guest,
 * put vCPUs on performance cores of a hybrid host by default, resolve back
 * to exactly the plan, and be accepted by `virsh define --validate`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuSet } from '../../src/cpuset/index.js';
import { definitionOf, readDomain } from '../../src/domain/index.js';
import { hostFromSysfs, type HostTopology } from '../../src/host/index.js';
import type { PinPlacement, PinPolicy } from '../../src/policy/types.js';
import { pinDomain } from '../../src/policy/pin.js';
import { resolve } from '../../src/resolve/index.js';
import { checkDocument } from '../../src/validate/index.js';
import { parseDocument } from '../../src/xml/index.js';
import { CAPTURES, captureRoot, removeCaptures } from '../host/hwloc-captures.js';
import { describeWith } from '../support/components.js';
import { requireVirsh, runVirshBatch } from '../support/oracle-virsh.js';

afterAll(removeCaptures);

const pinDomainText = (text: string, fileName: string, host: HostTopology, policy: PinPolicy) => {
  const r = pinDomain(text, host, policy, { fileName });
  return { out: r.text, placement: r.placement };
};

const guestXml = (name: string, vcpus: number, threads: number): string => `<domain type='kvm'>
  <name>${name}</name>
  <memory unit='GiB'>4</memory>
  <vcpu placement='static'>${vcpus}</vcpu>
  <iothreads>1</iothreads>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <cpu mode='host-passthrough'>
    <topology sockets='1' dies='1' cores='${vcpus / threads}' threads='${threads}'/>
  </cpu>
</domain>
`;

const SHAPES: ReadonlyArray<[number, number]> = [
  [2, 1],
  [4, 2],
  [6, 1],
  [8, 2],
  [12, 1],
];
const POLICIES: ReadonlyArray<PinPolicy> = [{}, { threads: 'isolate' }, { topology: 'match-host' }, { emulator: 'isolate' }, { threads: 'isolate', topology: 'match-host' }];

/** The host-topology lints must stay silent on what pin writes (dedicated vCPUs, no isolated CPUs involved). */
const TOPOLOGY_LINTS = ['GUEST_SMT_MISMATCH', 'VCPU_ON_HOUSEKEEPING_SIBLING', 'GUEST_SPANS_L3_GROUPS', 'GUEST_SPANS_CORE_TYPES', 'VCPU_ISOLATED_WITHOUT_RT', 'RT_VCPU_NOT_ISOLATED', 'CPU_OVERCOMMIT'];

const union = (sets: readonly CpuSet[]): CpuSet => sets.reduce((a, b) => a.union(b), CpuSet.empty());
const l3Groups = (host: HostTopology): CpuSet[] => host.caches.filter((c) => c.level === 3 && c.type !== 'instruction').map((c) => c.cpus);

/** What every plan must satisfy on this host, judged from the host model and the plan alone. */
function propertyViolations(host: HostTopology, p: PinPlacement, policy: PinPolicy, vcpus: number): string[] {
  const out: string[] = [];
  const siblingsOf = (cpu: number): CpuSet => host.cpus.find((c) => c.id === cpu)?.siblings ?? CpuSet.of(cpu);
  const pinned = p.vcpuPins.map((s) => s.min()!);
  if (new Set(pinned).size !== pinned.length) out.push('two dedicated vCPUs share a host thread');
  const housekeeping = union([p.emulator, ...p.iothreads.map((t) => t.cpus)]);
  for (const [v, cpu] of pinned.entries()) {
    if (p.vcpuPins[v]!.size !== 1) out.push(`vCPU ${v} is not pinned to one CPU`);
    if (siblingsOf(cpu).intersects(housekeeping)) out.push(`vCPU ${v} on CPU ${cpu} shares a core with the emulator/IOThreads (${housekeeping})`);
  }
  if (policy.threads === 'isolate') {
    const cores = pinned.map((c) => siblingsOf(c).toString());
    if (new Set(cores).size !== cores.length) out.push("threads 'isolate' but two vCPUs share a core");
  }
  // No L3 spill while one group had room: room = usable threads of the guest's nodes (performance cores on a hybrid host).
  const groups = l3Groups(host);
  const usedGroups = groups.filter((g) => pinned.some((c) => g.has(c)));
  if (usedGroups.length > 1) {
    const nodeCpus = union(host.nodes.filter((n) => p.hostNodes.has(n.id)).map((n) => n.cpus));
    const hybrid = host.coreTypeSource !== undefined;
    const usable = host.onlineCpus
      .difference(host.isolatedCpus)
      .difference(p.reserved)
      .difference(policy.emulator === 'isolate' ? p.emulator : CpuSet.empty())
      .intersect(host.allowedCpus ?? host.onlineCpus)
      .intersect(nodeCpus)
      .ids()
      .filter((id) => !hybrid || host.cpus.find((c) => c.id === id)?.coreType === 'performance');
    const perCoreOnly = policy.threads === 'isolate';
    for (const g of groups) {
      const ids = usable.filter((id) => g.has(id));
      const room = perCoreOnly ? new Set(ids.map((id) => siblingsOf(id).toString())).size : ids.length;
      if (room >= vcpus) out.push(`the guest spans ${usedGroups.length} L3 groups though L3 group ${g} had room for ${room} vCPUs`);
    }
  }
  if (host.coreTypeSource !== undefined && policy.coreType === undefined) {
    const pThreads = host.cpus.filter((c) => c.coreType === 'performance' && c.online);
    const pCores = policy.threads === 'isolate' ? new Set(pThreads.map((c) => c.siblings.toString())).size : pThreads.length;
    const onE = pinned.filter((c) => host.cpus.find((x) => x.id === c)?.coreType === 'efficiency');
    // Performance threads minus none reserved by default (housekeeping goes to efficiency cores).
    if (vcpus <= pCores && onE.length > 0) out.push(`vCPUs on efficiency cores ${onE.join(',')} though ${pCores} performance threads exist`);
  }
  return out;
}

describeWith(['virsh'], 'pin on real-machine captures, judged by libvirt', () => {
  it('keeps the placement properties, resolves back to the plan, and libvirt accepts every result', () => {
    requireVirsh();
    const written: { name: string; xml: string }[] = [];
    const violations: string[] = [];
    let planned = 0;
    const refusals = new Map<string, number>();
    for (const capture of CAPTURES) {
      const host = hostFromSysfs(captureRoot(capture.name));
      for (const [pi, policy] of POLICIES.entries()) {
        for (const [vcpus, threads] of SHAPES) {
          const name = `cap-${written.length}-${vcpus}`;
          let result;
          try {
            result = pinDomainText(guestXml(name, vcpus, threads), `${name}.xml`, host, policy);
          } catch (e) {
            const code = (e as { code?: string }).code ?? String(e);
            // Small and cgroup-limited captures cannot hold the larger guests; anything else is a failure.
            expect(code, `${capture.name} ${vcpus} vCPUs policy ${pi}: ${(e as Error).message}`).toBe('POLICY_DOES_NOT_FIT');
            refusals.set(capture.name, (refusals.get(capture.name) ?? 0) + 1);
            continue;
          }
          planned++;
          for (const v of propertyViolations(host, result.placement, policy, vcpus)) violations.push(`${capture.name} ${vcpus} vCPUs ${JSON.stringify(policy)}: ${v}`);
          const model = readDomain(parseDocument(result.out));
          const r = resolve(definitionOf(model, { driver: 'qemu' }), host, { model });
          expect(r.vcpus.map((v) => v.cpus.toString())).toEqual(result.placement.vcpuPins.map((s) => s.toString()));
          // With --topology keep the guest's declared threads may be impossible to honour (threads='2' under
          // --threads isolate, or more threads='1' vCPUs than free cores): GUEST_SMT_MISMATCH is then the point.
          const expectSmtLint = policy.topology !== 'match-host';
          const lints = checkDocument(result.out, { host }).filter((d) => TOPOLOGY_LINTS.includes(d.code) && !(expectSmtLint && d.code === 'GUEST_SMT_MISMATCH'));
          for (const d of lints) violations.push(`${capture.name} ${vcpus} vCPUs ${JSON.stringify(policy)}: pin's own output gets ${d.code}: ${d.message}`);
          written.push({ name, xml: result.out });
        }
      }
    }
    expect(violations).toEqual([]);
    const verdicts = runVirshBatch(written, { queries: false, validate: true });
    const refusedByLibvirt = written.filter((w) => !verdicts.get(w.name)!.defined).map((w) => `${w.name}: ${verdicts.get(w.name)!.error}`);
    console.log(`pin on ${CAPTURES.length} captures: ${planned} placements, ${written.length - refusedByLibvirt.length} accepted by virsh define --validate; refused as too big: ${JSON.stringify(Object.fromEntries(refusals))}`);
    expect(refusedByLibvirt).toEqual([]);
    expect(planned).toBeGreaterThan(100);
  });

});

describe('pin on real-machine captures', () => {
  it('hybrid capture: vCPUs on performance cores, emulator and IOThreads on an efficiency-core cluster, by default', () => {
    const host = hostFromSysfs(captureRoot('20em64t-hybrid-1p6c2t+2ca4co1t'));
    const { placement } = pinDomainText(guestXml('h', 8, 2), 'h.xml', host, {});
    expect(placement.vcpuPins.map((s) => s.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(placement.emulator.toString()).toBe('12-15');
    // Asked otherwise: vCPUs on efficiency cores, housekeeping on a performance core.
    const e = pinDomainText(guestXml('h', 4, 1), 'h.xml', host, { coreType: 'efficiency', housekeepingCoreType: 'performance' }).placement;
    expect(union(e.vcpuPins).toString()).toBe('12-15');
    expect(e.emulator.toString()).toBe('0-1');
    // --core-type performance insists: 14 vCPUs do not fit on 12 performance threads.
    let hint = '';
    try {
      pinDomainText(guestXml('h', 14, 1), 'h.xml', host, { coreType: 'performance', reserve: 'none' });
    } catch (err) {
      hint = (err as { hint?: string }).hint ?? '';
    }
    expect(hint).toMatch(/--core-type any/);
    // Without insisting, they spill to efficiency cores.
    const spill = pinDomainText(guestXml('h', 14, 2), 'h.xml', host, { reserve: 'none' }).placement;
    expect(union(spill.vcpuPins).toString()).toBe('0-13');
    // A guest that declares threads='1' gets a core per vCPU while cores suffice: 6 performance, then efficiency cores.
    const spread = pinDomainText(guestXml('h', 14, 1), 'h.xml', host, { reserve: 'none' }).placement;
    expect(union(spread.vcpuPins).toString()).toBe('0,2,4,6,8,10,12-19');
  });

  it('multi-L3 capture: one L3 group per guest while one holds it; --cache require refuses otherwise', () => {
    const host = hostFromSysfs(captureRoot('48amd64-4pa2n6c-sparse'));
    // 6 cores per L3 (and per node), the first reserved on each node: 5 free per group.
    const five = pinDomainText(guestXml('a', 5, 1), 'a.xml', host, {}).placement;
    const groups = l3Groups(host).filter((g) => five.vcpuPins.some((s) => g.has(s.min()!)));
    expect(groups).toHaveLength(1);
    expect(() => pinDomainText(guestXml('a', 6, 1), 'a.xml', host, { cache: 'require', numa: 'none' })).toThrow(/no single L3 group/);
  });
});
