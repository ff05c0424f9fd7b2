/**
 * `check` over a batch as a CI job sees it (issue 18 item 1): a copy of a
 * stock /etc/libvirt tree, non-domain XML beside the domains, autostart
 * links, a broken domain and an unreadable file among good ones.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validate as validateDiagnostics } from '../../src/generated/diagnostics.validate.js';
import { cliPath, runCli } from '../support/cli.js';
import { describeWith } from '../support/components.js';

const root = mkdtempSync(join(tmpdir(), 'virt-pin-etc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dom = (name: string, pin = '1'): string =>
  `<domain type='kvm'>\n  <name>${name}</name>\n  <memory unit='KiB'>1048576</memory>\n  <vcpu placement='static'>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='${pin}'/>\n  </cputune>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n</domain>\n`;

/** The layout libvirt installs: qemu/ with domains, autostart links and networks/ inside; storage/ and nwfilter/ beside. */
function etcLibvirt(dir: string): string {
  const w = (path: string, text: string): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  w('qemu/web.xml', dom('web'));
  w('qemu/db.xml', dom('db', '0'));
  mkdirSync(join(dir, 'qemu/autostart'));
  symlinkSync('../web.xml', join(dir, 'qemu/autostart/web.xml'));
  w(
    'qemu/networks/default.xml',
    "<network>\n  <name>default</name>\n  <uuid>0d8d4f4e-6a2b-4a51-9a4e-1c6b0a2f2f10</uuid>\n  <forward mode='nat'/>\n  <bridge name='virbr0' stp='on' delay='0'/>\n  <ip address='192.168.122.1' netmask='255.255.255.0'>\n    <dhcp>\n      <range start='192.168.122.2' end='192.168.122.254'/>\n    </dhcp>\n  </ip>\n</network>\n",
  );
  mkdirSync(join(dir, 'qemu/networks/autostart'));
  symlinkSync('../default.xml', join(dir, 'qemu/networks/autostart/default.xml'));
  w('storage/default.xml', "<pool type='dir'>\n  <name>default</name>\n  <target>\n    <path>/var/lib/libvirt/images</path>\n  </target>\n</pool>\n");
  w('nwfilter/clean-traffic.xml', "<filter name='clean-traffic' chain='root'>\n  <filterref filter='no-mac-spoofing'/>\n</filter>\n");
  w('qemu.conf', '# not XML\n');
  return dir;
}

type Entry = { file: string; diagnostics: { code: string; severity: string }[]; skipped?: string; error?: { code: string; message: string } };

describe('check over a copy of /etc/libvirt (issue 18 item 1)', () => {
  const etc = etcLibvirt(join(root, 'etc'));

  it('check qemu/ exits 0: domains checked once each, networks/ skipped with an info line each', () => {
    const r = runCli(['check', join(etc, 'qemu')]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${join(etc, 'qemu/networks/default.xml')}: info: skipped, not a domain: the root element is <network>, not <domain> (--all-xml checks it)`);
    expect(r.stderr).toMatch(/^2 files checked, 1 skipped: 0 errors, 0 warnings, 0 info$/m);
    expect(r.status).toBe(0);
  });

  it('check of the whole tree exits 0, and --all-xml makes the other XML errors', () => {
    const r = runCli(['check', '--format', 'json', etc]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Entry[];
    expect(validateDiagnostics(out)).toBe(true);
    expect(out.filter((e) => e.skipped).map((e) => e.file.slice(etc.length + 1)).sort()).toEqual(['nwfilter/clean-traffic.xml', 'qemu/networks/default.xml', 'storage/default.xml']);
    expect(out.filter((e) => !e.skipped).map((e) => e.file.slice(etc.length + 1))).toEqual(['qemu/db.xml', 'qemu/web.xml']);
    const all = runCli(['check', '--all-xml', '--format', 'json', etc]);
    expect(all.status).toBe(1);
    expect((JSON.parse(all.stdout) as Entry[]).filter((e) => e.diagnostics.some((d) => d.code === 'DOMAIN_NOT_A_DOMAIN'))).toHaveLength(3);
  });

  describe('the directory walk (src/cli/io.ts xmlFilesIn)', () => {
    const tree = join(root, 'walk');
    const w = (path: string, text: string): void => {
      mkdirSync(join(tree, path, '..'), { recursive: true });
      writeFileSync(join(tree, path), text);
    };
    w('b/vm.xml', dom('vm'));
    w('b/sub/deep.xml', dom('deep'));
    w('outside/other.xml', dom('other'));
    // A link that sorts before its file, a link back up the tree, a link to a file outside the walked tree, a hard link.
    symlinkSync('vm.xml', join(tree, 'b/a-link.xml'));
    symlinkSync('..', join(tree, 'b/sub/up'));
    symlinkSync('../outside/other.xml', join(tree, 'b/z-other.xml'));
    linkSync(join(tree, 'b/vm.xml'), join(tree, 'b/vm-hard.xml'));
    const files = (args: string[], cwd?: string): string[] => {
      const r = runCli(['check', '--format', 'json', ...args], cwd ? { cwd } : {});
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Entry[]).map((e) => e.file);
    };

    it('a file reached directly and through a link is checked once, under its own name and place; a loop is entered once; hard links are two names', () => {
      const b = join(tree, 'b');
      expect(files([b])).toEqual([`${b}/sub/deep.xml`, `${b}/vm-hard.xml`, `${b}/vm.xml`, `${b}/z-other.xml`]);
    });

    it('paths are spelled as the argument was, normalized: a trailing slash, ./ and . give no doubled or leading separators', () => {
      expect(files(['b/'], tree)).toEqual(['b/sub/deep.xml', 'b/vm-hard.xml', 'b/vm.xml', 'b/z-other.xml']);
      expect(files(['./b'], tree)).toEqual(['b/sub/deep.xml', 'b/vm-hard.xml', 'b/vm.xml', 'b/z-other.xml']);
      // From inside the tree, the file outside is reached twice (directly, and through the link): once, under its own name.
      expect(files(['.'], tree)).toEqual(['b/sub/deep.xml', 'b/vm-hard.xml', 'b/vm.xml', 'outside/other.xml']);
    });
  });

  it('a non-domain file named on the command line is always checked', () => {
    const r = runCli(['check', join(etc, 'storage/default.xml')]);
    expect(r.stdout).toMatch(/error DOMAIN_NOT_A_DOMAIN/);
    expect(r.status).toBe(1);
  });

  describe('one broken domain and one unreadable file: both reported, everything else too, in every format, exit 2', () => {
    const broken = etcLibvirt(join(root, 'broken'));
    writeFileSync(join(broken, 'qemu/bad.xml'), dom('bad', '3-1'));
    const missing = join(broken, 'qemu/missing.xml');
    symlinkSync('nowhere.xml', join(broken, 'qemu/dangling.xml'));
    const args = [join(broken, 'qemu'), missing];

    it('json: an error entry per unreadable path, diagnostics for the rest', () => {
      const r = runCli(['check', '--format', 'json', ...args]);
      expect(r.status).toBe(2);
      const out = JSON.parse(r.stdout) as Entry[];
      expect(validateDiagnostics(out)).toBe(true);
      const byName = new Map(out.map((e) => [e.file.slice(broken.length + 1), e]));
      expect(byName.get('qemu/bad.xml')!.diagnostics.some((d) => d.severity === 'error')).toBe(true);
      expect(byName.get('qemu/web.xml')!.diagnostics).toEqual([]);
      expect(byName.get('qemu/db.xml')!.diagnostics).toEqual([]);
      expect(byName.get('qemu/dangling.xml')!.error).toEqual({ code: 'INPUT_UNREADABLE', message: expect.stringContaining('ENOENT') });
      expect(byName.get('qemu/missing.xml')!.error).toEqual({ code: 'INPUT_UNREADABLE', message: expect.stringContaining('ENOENT') });
    });

    it('human: the broken domain with its position, the unreadable files without a fake one', () => {
      const r = runCli(['check', ...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/qemu\/bad\.xml:6:\d+: error VCPUPIN_INVALID/);
      expect(r.stdout).toContain(`${missing}: error INPUT_UNREADABLE cannot read ${missing}: ENOENT`);
      expect(r.stderr).toMatch(/^3 files checked, 1 skipped, 2 unreadable: 1 error, 0 warnings, 0 info$/m);
    });

    it('github: an ::error line for each unreadable file next to the findings', () => {
      const r = runCli(['check', '--format', 'github', ...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/^::error file=.*missing\.xml,title=virt-pin INPUT_UNREADABLE::cannot read/m);
      expect(r.stdout).toMatch(/^::error file=.*bad\.xml,line=6,/m);
    });

    it('sarif: toolExecutionNotifications for the unreadable files, results for the rest, exitCode 2', () => {
      const r = runCli(['check', '--format', 'sarif', ...args]);
      expect(r.status).toBe(2);
      const run = (JSON.parse(r.stdout) as { runs: { invocations: { exitCode: number; executionSuccessful: boolean; toolExecutionNotifications: { level: string; message: { text: string } }[] }[]; results: { ruleId: string }[] }[] }).runs[0]!;
      expect(run.invocations[0]!.exitCode).toBe(2);
      expect(run.invocations[0]!.executionSuccessful).toBe(false);
      expect(run.invocations[0]!.toolExecutionNotifications.filter((n) => n.level === 'error').map((n) => n.message.text)).toEqual([
        expect.stringContaining('dangling.xml'),
        expect.stringContaining('missing.xml'),
      ]);
      expect(run.results.map((x) => x.ruleId)).toContain('VCPUPIN_INVALID');
    });

    // As root the file is read as another user through setpriv; skipped with the reason (failed with CI=true) without it.
    describeWith(process.getuid?.() === 0 ? ['setpriv'] : [], 'as another user', () => {
    it('an unreadable file (permission denied) as another user: reported, the rest checked, with and without workers', () => {
      const dir = join(root, 'perm');
      mkdirSync(dir);
      for (let i = 0; i < 30; i++) writeFileSync(join(dir, `vm${String(i).padStart(2, '0')}.xml`), dom(`vm${i}`));
      writeFileSync(join(dir, 'secret.xml'), dom('secret'));
      chmodSync(join(dir, 'secret.xml'), 0o000);
      chmodSync(root, 0o755);
      chmodSync(dir, 0o755);
      const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath] : [process.execPath];
      for (const jobs of ['1', '2']) {
        const r = spawnSync(asUser[0]!, [...asUser.slice(1), cliPath, 'check', '--jobs', jobs, '--format', 'json', dir], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
        expect(r.status, r.stderr).toBe(2);
        const out = JSON.parse(r.stdout) as Entry[];
        expect(out).toHaveLength(31);
        expect(out.find((e) => e.file.endsWith('secret.xml'))!.error!.message).toContain('EACCES');
        expect(out.filter((e) => !e.error && e.diagnostics.length === 0)).toHaveLength(30);
      }
    });
    });
  });

  it('no file at all is exit 2, unless --allow-empty', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const r = runCli(['check', empty]);
    expect(r.stderr).toContain(`virt-pin check: no domain XML found in ${empty}; --allow-empty accepts that`);
    expect(r.status).toBe(2);
    const onlyNetworks = runCli(['check', join(etc, 'qemu/networks')]);
    expect(onlyNetworks.stderr).toMatch(/no domain XML found .*\(1 other XML file skipped\)/);
    expect(onlyNetworks.status).toBe(2);
    const allowed = runCli(['check', '--allow-empty', '--format', 'json', empty]);
    expect(allowed.stdout).toBe('[]\n');
    expect(allowed.status).toBe(0);
  });
});
