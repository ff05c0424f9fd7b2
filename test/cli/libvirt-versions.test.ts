/**
 * `--libvirt VERSION` on every command whose answer depends on the libvirt
 * release (issue 19 item 6): the same domain gives different results under
 * 9.0 and 10.7 where a change of LIBVIRT_CHANGES applies, and identical
 * results otherwise; versions older than 8.0 are refused up front.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';

const work = mkdtempSync(join(tmpdir(), 'vp-libvirt-versions-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const write = (name: string, body: string): string => {
  const path = join(work, name);
  writeFileSync(path, `<domain type='kvm'><name>${name.replace('.xml', '')}</name><memory>1048576</memory>${body}<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>\n`);
  return path;
};
/** 9.0 accepts a restrictive memnode under interleave memory; 9.4 and later refuse it. */
const restrictive = write(
  'restrictive.xml',
  "<vcpu>2</vcpu><numatune><memory mode='interleave' nodeset='0'/><memnode cellid='0' mode='restrictive' nodeset='0'/></numatune><cpu><numa><cell id='0' cpus='0-1' memory='1048576'/></numa></cpu>",
);
/** 9.0 drops <poll>; 9.4 and later keep it. */
const poll = write('poll.xml', "<vcpu>2</vcpu><iothreads>1</iothreads><iothreadids><iothread id='1'><poll max='10'/></iothread></iothreadids>");
/** Nothing pinned: "all host CPUs", which excludes the isolated ones from 10.4. */
const floating = write('floating.xml', "<vcpu placement='static'>2</vcpu><iothreads>1</iothreads>");
/** Nothing version-dependent at all. */
const plain = write('plain.xml', "<vcpu placement='static' cpuset='0-3'>2</vcpu><cputune><vcpupin vcpu='0' cpuset='1'/><emulatorpin cpuset='0'/></cputune>");
/** fixtures/hosts/isolated: 16 CPUs, 2-7 and 10-15 isolated. */
const isolatedHost = `sysfs:${join(repoRoot, 'fixtures', 'hosts', 'isolated')}`;
const plainHost = `sysfs:${join(repoRoot, 'fixtures', 'hosts', 'desktop-smt')}`;

const at = (version: string, args: readonly string[]) => runCli([...args.slice(0, 1), '--libvirt', version, ...args.slice(1)]);

describe('--libvirt per command: different where a modelled change applies', () => {
  it('normalize: 9.0 drops <iothread><poll>, 10.7 keeps it', () => {
    const old = at('9.0', ['normalize', poll]);
    const now = at('10.7', ['normalize', poll]);
    expect([old.status, now.status]).toEqual([0, 0]);
    expect(old.stdout).not.toContain('<poll');
    expect(now.stdout).toContain("<poll max='10'/>");
    expect(at('9.0', ['normalize', '--diff', poll]).status).toBe(1);
    // 10.7 refuses the mixed restrictive numatune, so it has no stored form; 9.0 stores it as given.
    expect(at('9.0', ['normalize', restrictive]).status).toBe(0);
    expect(at('10.7', ['normalize', restrictive]).status).toBe(1);
  });

  it('resolve: "all host CPUs" keeps the isolated CPUs before 10.4 and leaves them out from 10.4', () => {
    const cpusOf = (version: string): string => {
      const r = at(version, ['resolve', '--host', isolatedHost, '--json', floating]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).vcpus[0].cpus as string;
    };
    expect(cpusOf('9.0')).toBe('0-15');
    expect(cpusOf('10.3')).toBe('0-15');
    expect(cpusOf('10.4')).toBe('0-1,8-9');
    expect(cpusOf('10.7')).toBe('0-1,8-9');
    // On a host without isolated CPUs the CPUs agree; only the reason names the rule of each release.
    const json = (v: string) => JSON.parse(at(v, ['resolve', '--host', plainHost, '--json', floating]).stdout) as { vcpus: { cpus: string; provenance: { because: string } }[] };
    expect(json('9.0').vcpus[0]!.cpus).toBe(json('10.7').vcpus[0]!.cpus);
    expect(json('9.0').vcpus[0]!.provenance.because).toContain('isolated ones too before libvirt 10.4');
    expect(json('10.7').vcpus[0]!.provenance.because).toContain('online minus isolated');
  });

  it('show, plan and export follow the same rule', () => {
    const show = (v: string) => at(v, ['show', '--host', isolatedHost, floating]);
    expect(show('9.0').status).toBe(0);
    expect(show('9.0').stdout).not.toBe(show('10.7').stdout);
    const plan = (v: string) => JSON.parse(at(v, ['plan', '--host', isolatedHost, '--format', 'json', floating]).stdout) as { actions: { target?: { thread?: string }; cpus?: string }[] };
    const vcpuCpus = (v: string) => plan(v).actions.filter((a) => a.target?.thread === 'vcpu').map((a) => a.cpus);
    expect(vcpuCpus('9.0')).toEqual(['0-15', '0-15']);
    expect(vcpuCpus('10.7')).toEqual(['0-1,8-9', '0-1,8-9']);
    const exported = (v: string) => at(v, ['export', '--format', 'virsh', '--host', isolatedHost, floating]);
    expect(exported('9.0').status).toBe(0);
    // virsh leaves "all CPUs" unpinned in both; qemu-pinning needs one CPU per vCPU and refuses both alike.
    expect(exported('9.0').stdout).toBe(exported('10.7').stdout);
  });

  it('check, pin and define --dry-run: 9.0 accepts the restrictive memnode under interleave, 10.7 refuses it', () => {
    expect(at('9.0', ['check', restrictive]).status).toBe(0);
    expect(at('10.7', ['check', restrictive]).status).toBe(1);
    const pinOld = at('9.0', ['pin', '--host', plainHost, restrictive]);
    expect(pinOld.status, pinOld.stderr).toBe(0);
    expect(pinOld.stdout).toContain('<vcpupin');
    const pinNew = at('10.7', ['pin', '--host', plainHost, restrictive]);
    expect(pinNew.status).toBe(1);
    expect(pinNew.stderr).toContain('PIN_INPUT_INVALID');
    const defOld = at('9.0', ['define', '--dry-run', restrictive]);
    expect(defOld.status, defOld.stderr).toBe(0);
    const defNew = at('10.7', ['define', '--dry-run', restrictive]);
    expect(defNew.status).toBe(1);
    expect(defNew.stderr).toContain('NUMATUNE_RESTRICTIVE_MIXED');
  });
});

describe('--libvirt per command: identical where no modelled change applies', () => {
  it.each([
    ['check', [plain]],
    ['normalize', [plain]],
    ['resolve', ['--host', plainHost, plain]],
    ['show', ['--host', plainHost, plain]],
    ['pin', ['--host', plainHost, plain]],
    ['plan', ['--host', plainHost, plain]],
    ['export', ['--format', 'virsh', plain]],
    ['define', ['--dry-run', '--print-xml', plain]],
  ] as const)('%s %j', (command, args) => {
    const old = at('9.0', [command, ...args]);
    const now = at('10.7', [command, ...args]);
    expect(old.status, old.stderr).toBe(0);
    expect(now.stdout).toBe(old.stdout);
    expect(now.status).toBe(old.status);
  });
});

describe('versions older than the oldest modelled (8.0)', () => {
  it.each(['check', 'normalize', 'resolve', 'show', 'pin', 'define', 'plan', 'export', 'apply', 'status'])('%s --libvirt 7.10 is a usage error naming LIBVIRT_VERSION_UNSUPPORTED', (command) => {
    const extra =
      command === 'show' || command === 'pin'
        ? ['--host', plainHost]
        : command === 'export'
          ? ['--format', 'virsh']
          : command === 'define'
            ? ['--dry-run']
            : command === 'apply'
              ? ['--pid', String(process.pid), '--dry-run']
              : command === 'status'
                ? ['--xml']
                : [];
    const r = runCli([command, '--libvirt', '7.10', ...extra, plain]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('older than the oldest libvirt virt-pin models (8.0.0)');
    expect(r.stderr).toContain('--libvirt 8.0');
  });

  it('a local libvirt older than 8.0 (virsh --version says 7.0.0) is refused the same way, naming the local libvirt', () => {
    const bin = join(work, 'old-bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, join(bin, 'node'));
    writeFileSync(join(bin, 'virsh'), '#!/bin/sh\necho 7.0.0\n');
    chmodSync(join(bin, 'virsh'), 0o755);
    const r = runCli(['normalize', plain], { env: { PATH: bin } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('the local libvirt (virsh --version) is 7.0.0');
    expect(runCli(['normalize', '--libvirt', '8.0', plain], { env: { PATH: bin } }).status).toBe(0);
  });
});

describe('the hook: libvirtVersion in its configuration', () => {
  const config = (c: object): string => {
    const p = join(work, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify(c));
    return p;
  };
  const prepare = (c: object) => runCli(['hook', 'exec', 'restrictive', 'prepare', 'begin', '-'], { input: readFileSync(restrictive, 'utf8'), env: { VIRT_PIN_CONFIG: config(c) } });

  it('judges the start as that release: with enforce, 9.0 lets the restrictive memnode under interleave start, the default (10.7) refuses it', () => {
    expect(prepare({ enforce: true, libvirtVersion: '9.0' }).status).toBe(0);
    const refused = prepare({ enforce: true });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('NUMATUNE_RESTRICTIVE_MIXED');
  });

  it('refuses a bad or unmodelled version as a configuration error, like any other bad setting', () => {
    for (const bad of ['nine', '7.0', 9]) {
      const r = prepare({ libvirtVersion: bad });
      expect(r.stderr, String(bad)).toMatch(/'libvirtVersion'/);
    }
  });
});
