/**
 * Pinning policies end to end: for every host fixture and policy
 * combination, the written XML resolves back to exactly the planned
 * placement, passes check with no errors and no conflict warnings, and is
 * accepted by real libvirt (virsh define --validate, test driver).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { definitionOf, readDomain } from '../../src/domain/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { planPlacement } from '../../src/policy/planner.js';
import type { PinPolicy } from '../../src/policy/types.js';
import { writePlacement } from '../../src/policy/write.js';
import { resolve } from '../../src/resolve/index.js';
import { checkDocument } from '../../src/validate/index.js';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { guestOf } from '../../src/cli/commands/pin.js';
import { repoRoot } from '../support/corpus.js';
import { requireVirsh, runVirshBatch } from '../support/oracle-virsh.js';
import { describeWith } from '../support/components.js';

const HOSTS = ['desktop-smt', 'two-socket-smt', 'amd-multi-ccx', 'vfio-desktop', 'isolated'] as const;
const guestXml = (name: string, vcpus: number, threads: number) => `<domain type='kvm'>
  <name>${name}</name>
  <memory unit='GiB'>8</memory>
  <vcpu placement='static'>${vcpus}</vcpu>
  <iothreads>1</iothreads>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <cpu mode='host-passthrough'>
    <topology sockets='1' dies='1' cores='${vcpus / threads}' threads='${threads}'/>
  </cpu>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
    </hostdev>
  </devices>
</domain>
`;

function policies(): PinPolicy[] {
  const out: PinPolicy[] = [];
  for (const vcpu of ['dedicated', 'shared'] as const)
    for (const threads of ['prefer', 'isolate'] as const)
      for (const emulator of ['housekeeping', 'isolate', 'share'] as const)
        for (const numa of ['strict', 'none'] as const)
          for (const topology of ['keep', 'match-host'] as const) {
            if (vcpu === 'shared' && threads === 'isolate') continue;
            out.push({ vcpu, threads, emulator, numa, topology });
          }
  out.push({ perCore: true }, { realtime: { scheduler: 'fifo', priority: 1 } }, { numa: 'preferred' }, { hostdev: 'ignore' }, { threads: 'require' });
  return out;
}

describeWith(['virsh'], 'pin: every host fixture × policy combination', () => {
  it('resolves back to the plan, passes check cleanly, and libvirt accepts it', () => {
    requireVirsh();
    const written: { name: string; xml: string }[] = [];
    let planned = 0;
    let refused = 0;
    for (const hostName of HOSTS) {
      const host = hostFromSysfs(join(repoRoot, 'fixtures/hosts', hostName));
      for (const [i, policy] of policies().entries()) {
        for (const [vcpus, threads] of [[4, 2], [6, 1]] as const) {
          const name = `pin-${hostName}-${i}-${vcpus}`;
          const doc = parseDocument(guestXml(name, vcpus, threads));
          // The isolated host keeps its isolated CPUs for guests only when asked.
          const p = hostName === 'isolated' ? { ...policy, cpus: '2-7,10-15' } : policy;
          let placement;
          try {
            placement = planPlacement(guestOf(doc), host, p);
          } catch (e) {
            expect((e as { code: string }).code, `${name} ${JSON.stringify(p)}`).toMatch(/^POLICY_(DOES_NOT_FIT|NO_SMT)$/);
            refused++;
            continue;
          }
          planned++;
          writePlacement(doc, placement);
          const xml = serializeDocument(doc);
          const back = parseDocument(xml);
          const model = readDomain(back);
          const r = resolve(definitionOf(model, { driver: 'qemu' }), host, { model });
          expect(r.vcpus.map((v) => v.cpus.toString()), name).toEqual(placement.vcpuPins.map((s) => s.toString()));
          expect(r.emulator.cpus.toString(), name).toBe(placement.emulator.toString());
          expect(r.iothreads.map((t) => t.cpus.toString()), name).toEqual(placement.iothreads.map((t) => t.cpus.toString()));
          const findings = checkDocument(xml, { host }).filter(
            (d) => d.severity === 'error' || d.code === 'PIN_SHARED_SINGLE_CPU' || (d.code === 'EMULATOR_ON_DEDICATED_CPU' && p.emulator !== 'share' && !p.realtime),
          );
          expect(findings, `${name}\n${xml}`).toEqual([]);
          written.push({ name, xml: xml.replace(/<hostdev[\s\S]*<\/hostdev>\n/, '') });
        }
      }
    }
    const verdicts = runVirshBatch(written, { queries: false, validate: true });
    const refusedByLibvirt = written.filter((w) => !verdicts.get(w.name)!.defined).map((w) => `${w.name}: ${verdicts.get(w.name)!.error}`);
    console.log(`pin: ${planned} placements written and verified (${refused} requests that cannot fit refused), ${written.length - refusedByLibvirt.length} accepted by virsh define --validate`);
    expect(refusedByLibvirt).toEqual([]);
    expect(planned).toBeGreaterThan(200);
  });

  it('on the vfio-desktop host the default policy reproduces the hand-written example layout', () => {
    const host = hostFromSysfs(join(repoRoot, 'fixtures/hosts/vfio-desktop'));
    const doc = parseDocument(guestXml('ex', 8, 2));
    const p = planPlacement(guestOf(doc), host, {});
    expect(p.vcpuPins.map((s) => s.toString())).toEqual(['1', '9', '2', '10', '3', '11', '4', '12']);
    expect(p.emulator.toString()).toBe('0,8');
  });
});
