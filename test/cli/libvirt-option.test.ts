/** `virt-pin check --libvirt VERSION` and its default, the local libvirt (issue 19 item 6). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atLeast, parseLibvirtVersion } from '../../src/domain/index.js';
import { runCli } from '../support/cli.js';
import { describeWith } from '../support/components.js';

const work = mkdtempSync(join(tmpdir(), 'vp-libvirt-option-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// 9.0 accepts a restrictive memnode under interleave memory; 9.4 and later refuse it (LIBVIRT_CHANGES).
const file = join(work, 'vm.xml');
writeFileSync(
  file,
  `<domain type='kvm'><name>vm</name><memory>1048576</memory><vcpu>2</vcpu>
  <numatune><memory mode='interleave' nodeset='0'/><memnode cellid='0' mode='restrictive' nodeset='0'/></numatune>
  <cpu><numa><cell id='0' cpus='0-1' memory='1048576'/></numa></cpu><os><type>hvm</type></os></domain>
`,
);
/** A PATH with node only: no virsh, no libvirtd. */
const bare = (): string => {
  const bin = join(work, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
  } catch {
    /* already there */
  }
  return bin;
};

describe('check --libvirt', () => {
  it('judges as the named release: 9.0 accepts, 10.7 refuses; a bad version is a usage error', () => {
    expect(runCli(['check', '--libvirt', '9.0', file]).status).toBe(0);
    const r = runCli(['check', '--libvirt', '10.7.0', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('NUMATUNE_RESTRICTIVE_MIXED');
    const bad = runCli(['check', '--libvirt', 'nine', file]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--libvirt: 'nine' is not a libvirt version");
  });

  it('without --libvirt and without a local libvirt: the newest modelled (10.7) rules', () => {
    expect(runCli(['check', file], { env: { PATH: bare() } }).status).toBe(1);
  });
});

describeWith(['virsh'], 'check without --libvirt on a machine with libvirt', () => {
  it("follows the local libvirt's version (virsh --version)", () => {
    const local = parseLibvirtVersion(spawnSync('virsh', ['--version'], { encoding: 'utf8' }).stdout.trim());
    const refuses = atLeast(local, { major: 9, minor: 4, micro: 0 }); // restrictive-memnode-under-other-mode
    expect(runCli(['check', file]).status).toBe(refuses ? 1 : 0);
  });
});
