/**
 * `pin --others`: guests placed one after another on the VFIO desktop host
 * fixture never share a dedicated CPU, each is accepted by libvirt (`virsh
 * -c test:///default define --validate`, no daemon), and the guest that no
 * longer fits gets an error naming the domains that hold the CPUs.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostFromCapabilities } from '../../src/host/index.js';
import { dedicatedCpus, hostDomainFromText } from '../../src/hostview/index.js';
import { repoRoot } from '../support/corpus.js';
import { runCli } from '../support/cli.js';
import { describeWith } from '../support/components.js';

const caps = join(repoRoot, 'fixtures/hosts/vfio-desktop.caps.xml');
const host = hostFromCapabilities(readFileSync(caps, 'utf8'), { fileName: caps });
const guest = (name: string, vcpus: number) => `<domain type='kvm'>
  <name>${name}</name>
  <memory unit='GiB'>2</memory>
  <vcpu placement='static'>${vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
  </os>
</domain>
`;

describeWith(['virsh'], 'virt-pin pin --others with libvirt judging the result', () => {
  it('places three guests around each other, each accepted by libvirt; the fourth does not fit and the error names the holders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vp-others-'));
    const placed = join(dir, 'placed');
    mkdirSync(placed);
    try {
      const seen = new Map<number, string>();
      for (const name of ['g1', 'g2', 'g3']) {
        const src = join(dir, `${name}.src`);
        writeFileSync(src, guest(name, 4));
        const out = join(placed, `${name}.xml`);
        const r = runCli(['pin', '--host', caps, '--vcpu', 'dedicated', '--others', placed, '-o', out, src]);
        expect(r.status, r.stderr).toBe(0);
        if (name !== 'g1') expect(r.stderr).toMatch(/avoiding CPUs \S+, dedicated to g1 \(/);
        const d = hostDomainFromText(readFileSync(out, 'utf8'), { fileName: out, host });
        const cpus = [...dedicatedCpus(d).keys()];
        expect(cpus).toHaveLength(4);
        for (const c of cpus) {
          expect(seen.get(c), `CPU ${c} of ${name}`).toBeUndefined();
          seen.set(c, name);
        }
        const def = spawnSync('virsh', ['-c', 'test:///default', 'define', '--validate', out], { encoding: 'utf8', timeout: 60_000 });
        expect(def.status, def.stderr).toBe(0);
      }
      // check over the three agrees: no cross-domain dedicated sharing.
      expect(runCli(['check', '--host', caps, placed]).stdout).not.toContain('CROSS_DEDICATED_SHARED');
      const src = join(dir, 'g4.src');
      writeFileSync(src, guest('g4', 4));
      const r = runCli(['pin', '--host', caps, '--vcpu', 'dedicated', '--others', placed, src]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/POLICY_DOES_NOT_FIT .*dedicated to other domains: g1 \([^)]+\), g2 \([^)]+\), g3 \([^)]+\)/);
      // Re-pinning a placed guest does not avoid its own CPUs.
      const again = runCli(['pin', '--host', caps, '--vcpu', 'dedicated', '--others', placed, join(placed, 'g3.xml')]);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).not.toContain('g3 (');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('virt-pin pin --others', () => {
  it('refuses an --others source that is not domain XML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vp-others-'));
    try {
      writeFileSync(join(dir, 'bad.xml'), '<domain');
      writeFileSync(join(dir, 'g.xml'), guest('g', 2));
      const r = runCli(['pin', '--host', caps, '--others', join(dir, 'bad.xml'), join(dir, 'g.xml')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('not domain XML');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
