/** `virt-pin check --libvirt VERSION` and its default, the local libvirt (issue 19 item 6). */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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
    const cache = join(work, 'real-cache');
    const env = { XDG_CACHE_HOME: cache };
    expect(runCli(['check', file], { env }).status).toBe(refuses ? 1 : 0);
    // Remembered for the virsh on PATH (docs/cold-start.md), and the same verdict from the cache.
    const onPath = spawnSync('sh', ['-c', 'command -v virsh'], { encoding: 'utf8' }).stdout.trim();
    const entry = JSON.parse(readFileSync(join(cache, 'virt-pin', 'libvirt-version.json'), 'utf8')).entries.virsh;
    expect(entry).toMatchObject({ path: realpathSync(onPath), version: `${local.major}.${local.minor}.${local.micro}` });
    expect(runCli(['check', file], { env }).status).toBe(refuses ? 1 : 0);
  });
});

describe('check without --libvirt: the remembered local version (docs/cold-start.md)', () => {
  /** A PATH whose only virsh is a script that counts its runs and prints VERSION. */
  const fake = (label: string, version: string) => {
    const dir = join(work, label);
    mkdirSync(join(dir, 'bin'), { recursive: true });
    const calls = join(dir, 'calls');
    const virsh = join(dir, 'bin', 'virsh');
    const write = (v: string) => writeFileSync(virsh, `#!/bin/sh\necho run >> '${calls}'\necho ${v}\n`, { mode: 0o755 });
    write(version);
    const cacheFile = join(dir, 'cache', 'virt-pin', 'libvirt-version.json');
    return {
      virsh,
      write,
      cacheFile,
      env: { PATH: join(dir, 'bin'), XDG_CACHE_HOME: join(dir, 'cache') },
      calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0),
      /** A well-formed cache that names this very virsh but claims another version. */
      claim: (v: string) => {
        const st = statSync(virsh, { bigint: true });
        const entry = { path: realpathSync(virsh), dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), version: v };
        return JSON.stringify({ kind: 'virt-pin-libvirt-version', schemaVersion: 1, entries: { virsh: entry } });
      },
    };
  };
  // 9.0 accepts the file (status 0), 10.7 refuses it (status 1): the status says which version was used.

  it('the second run starts no process; the answer is kept in a 0600 file of this user', () => {
    const f = fake('remembered', '9.0.0');
    expect(runCli(['check', file], { env: f.env }).status).toBe(0);
    expect(f.calls()).toBe(1);
    expect(runCli(['check', file], { env: f.env }).status).toBe(0);
    expect(runCli(['check', file], { env: f.env }).status).toBe(0);
    expect(f.calls()).toBe(1);
    const st = lstatSync(f.cacheFile);
    expect([st.isFile(), st.mode & 0o777, st.uid]).toEqual([true, 0o600, process.getuid!()]);
    expect(statSync(join(f.cacheFile, '..')).mode & 0o777).toBe(0o700);
    // The same answer as a cache written by hand: the claim format the tests below forge is the real one.
    expect(JSON.parse(readFileSync(f.cacheFile, 'utf8'))).toEqual(JSON.parse(f.claim('9.0.0')));
  });

  it('a changed virsh is asked again: new content, and a same-size change with the old mtime put back (ctime)', () => {
    const f = fake('changed', '9.0.0');
    expect(runCli(['check', file], { env: f.env }).status).toBe(0);
    f.write('10.7.0');
    expect(runCli(['check', file], { env: f.env }).status).toBe(1);
    expect(f.calls()).toBe(2);
    expect(runCli(['check', file], { env: f.env }).status).toBe(1);
    expect(f.calls()).toBe(2);
    const before = statSync(f.virsh);
    f.write('10.8.0');
    utimesSync(f.virsh, before.atime, before.mtime);
    expect(statSync(f.virsh).size).toBe(before.size);
    expect(runCli(['check', file], { env: f.env }).status).toBe(1);
    expect(f.calls()).toBe(3);
    expect(JSON.parse(readFileSync(f.cacheFile, 'utf8')).entries.virsh.version).toBe('10.8.0');
  });

  const hostile: [string, (f: ReturnType<typeof fake>) => void][] = [
    ['a symlink to a well-formed claim', (f) => {
      const elsewhere = join(f.cacheFile, '..', '..', 'elsewhere.json');
      writeFileSync(elsewhere, f.claim('10.7.0'), { mode: 0o600 });
      symlinkSync(elsewhere, f.cacheFile);
    }],
    ['a group-writable claim', (f) => {
      writeFileSync(f.cacheFile, f.claim('10.7.0'));
      chmodSync(f.cacheFile, 0o620);
    }],
    ['a claim in a directory others can write', (f) => {
      writeFileSync(f.cacheFile, f.claim('10.7.0'), { mode: 0o600 });
      chmodSync(join(f.cacheFile, '..'), 0o777);
    }],
    ['garbage', (f) => writeFileSync(f.cacheFile, '{"kind": "virt-pin-libvirt-version", \u0000 not json', { mode: 0o600 })],
    ['a claim of a version the option refuses', (f) => writeFileSync(f.cacheFile, f.claim('10.7.0').replace('"10.7.0"', '"10.7.0; rm -rf /"'), { mode: 0o600 })],
    ['a claim larger than a cache can be', (f) => writeFileSync(f.cacheFile, f.claim('10.7.0') + ' '.repeat(8192), { mode: 0o600 })],
    ['a FIFO (must not block)', (f) => spawnSync('mkfifo', [f.cacheFile])],
  ];
  for (const [what, plant] of hostile) {
    it(`ignores ${what}: asks virsh again and replaces it with a file of its own`, () => {
      const f = fake(`hostile-${hostile.findIndex(([w]) => w === what)}`, '9.0.0');
      mkdirSync(join(f.cacheFile, '..'), { recursive: true, mode: 0o700 });
      plant(f);
      const r = runCli(['check', file], { env: f.env });
      expect([r.status, r.stderr]).toEqual([0, '1 file checked: 0 errors, 0 warnings, 0 info\n']);
      expect(f.calls()).toBe(1);
      if (what.startsWith('a claim in a directory')) {
        // Nothing is written there either: every run asks.
        expect(runCli(['check', file], { env: f.env }).status).toBe(0);
        expect(f.calls()).toBe(2);
        return;
      }
      const st = lstatSync(f.cacheFile);
      expect([st.isFile(), st.mode & 0o777]).toEqual([true, 0o600]);
      expect(JSON.parse(readFileSync(f.cacheFile, 'utf8'))).toEqual(JSON.parse(f.claim('9.0.0')));
      if (what.startsWith('a symlink')) expect(JSON.parse(readFileSync(join(f.cacheFile, '..', '..', 'elsewhere.json'), 'utf8')).entries.virsh.version).toBe('10.7.0');
    });
  }

  it('never fatal: no HOME and no XDG_CACHE_HOME, a relative XDG_CACHE_HOME, or a cache path that cannot be a directory', () => {
    const f = fake('nowhere', '9.0.0');
    for (const env of [{ HOME: '', XDG_CACHE_HOME: '' }, { HOME: '', XDG_CACHE_HOME: 'relative/cache' }, { XDG_CACHE_HOME: '/dev/null/cache' }]) {
      const r = runCli(['check', file], { env: { ...f.env, ...env }, cwd: work });
      expect([r.status, r.stderr]).toEqual([0, '1 file checked: 0 errors, 0 warnings, 0 info\n']);
    }
    expect(f.calls()).toBe(3);
    expect(existsSync(join(work, 'relative'))).toBe(false);
    // A HOME that does not exist is not created (service accounts have HOME=/nonexistent), nor an XDG_CACHE_HOME
    // whose parent does not exist.
    for (const env of [{ HOME: join(work, 'no-such-home'), XDG_CACHE_HOME: '' }, { XDG_CACHE_HOME: join(work, 'no-such-dir', 'cache') }]) {
      expect(runCli(['check', file], { env: { ...f.env, ...env } }).status).toBe(0);
    }
    expect(f.calls()).toBe(5);
    expect([existsSync(join(work, 'no-such-home')), existsSync(join(work, 'no-such-dir'))]).toEqual([false, false]);
  });
});

describeWith(['root'], 'check without --libvirt: a cache owned by another user', () => {
  it('is ignored and replaced', () => {
    const dir = join(work, 'foreign');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    const calls = join(dir, 'calls');
    writeFileSync(join(dir, 'bin', 'virsh'), `#!/bin/sh\necho run >> '${calls}'\necho 9.0.0\n`, { mode: 0o755 });
    const env = { PATH: join(dir, 'bin'), XDG_CACHE_HOME: join(dir, 'cache') };
    expect(runCli(['check', file], { env }).status).toBe(0);
    const cacheFile = join(dir, 'cache', 'virt-pin', 'libvirt-version.json');
    // The same (true) content, but nobody's file: the owner alone makes it untrusted.
    writeFileSync(cacheFile, readFileSync(cacheFile, 'utf8').replace('"9.0.0"', '"10.7.0"'));
    chownSync(cacheFile, 65534, 65534);
    expect(runCli(['check', file], { env }).status).toBe(0);
    expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(statSync(cacheFile).uid).toBe(0);
  });
});
