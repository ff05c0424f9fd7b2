/**
 * Issue 14's CLI items, one test each, through the real CLI (dist/cli.js):
 * generated shell scripts, input errors, directory walks, define's
 * read-back, terminal escapes, pid parsing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderPlanShell, planDocument } from '../../src/plan/index.js';
import { cliPath, runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';
import { describeWith } from '../support/components.js';
import { domain, Scratch } from './support.js';

const scratch = new Scratch();
afterAll(() => scratch.remove());

const CRASH = /internal error|\n\s+at |TypeError|RangeError|SyntaxError/;

/** One clean message on stderr, exit 2: what the README promises for input and environment errors. */
function expectCleanExit2(r: { status: number; stdout: string; stderr: string }, mentions: RegExp): void {
  expect(r.stderr, r.stderr).not.toMatch(CRASH);
  expect(r.stderr).toMatch(mentions);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.status).toBe(2);
}

/** Another user's view of the files: as root, through setpriv; otherwise chmod already denies us. */
const needsForOtherUser = process.getuid?.() === 0 ? (['setpriv'] as const) : ([] as const);

describe('issue 14, CLI items', () => {
  it('item 2: plan --format sh quotes or escapes every interpolated value; a newline in <name> cannot start a command', () => {
    const dir = join(scratch.dir, 'item2');
    mkdirSync(dir);
    const pwned = join(dir, 'PWNED');
    const xml = domain("  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n    <emulatorpin cpuset='0'/>\n  </cputune>", '1').replace(
      '<name>hostile</name>',
      `<name>vm&#10;touch ${pwned}&#10;#'$(id)\`id\`</name>`,
    );
    const file = scratch.file(xml);
    const r = runCli(['plan', '--format', 'sh', file]);
    expect(r.status, r.stderr).toBe(0);
    // The header comment is one line, with the newlines shown as \x0a.
    expect(r.stdout.split('\n')[1]).toMatch(/^# virt-pin runtime plan for vm\\x0atouch .*\\x0a#'\$\(id\)`id`; review/);
    expect(r.stdout).not.toMatch(/^touch /m);
    // Run the script for a pid that does not exist: set -e stops it at the first cat; the header ran first.
    spawnSync('sh', ['-c', `${r.stdout}`, 'plan.sh', '999999999'], { cwd: dir, encoding: 'utf8' });
    expect(existsSync(pwned)).toBe(false);

    // Thread names from /proc (binding) are confined to the comment, too.
    const p = planDocument(domain("  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n  </cputune>"));
    const vcpu0 = p.actions.find((a) => a.kind === 'thread-affinity' && a.target.thread === 'vcpu')!;
    const sh = renderPlanShell(p, { pid: 4242, threads: [{ tid: 4250, comm: 'CPU 0/KVM\ntouch /tmp/x\u001b[2J', actionId: vcpu0.id }], irqs: [] });
    expect(sh).toContain('taskset -pc 1 4250 >/dev/null  # vCPU 0: CPU 0/KVM\\x0atouch /tmp/x\\x1b[2J');
    expect(sh).not.toMatch(/^touch /m);

    // libvirt refuses a newline in <name> ('invalid char in name'): check says so.
    const c = runCli(['check', '--format', 'json', file]);
    expect(c.status).toBe(1);
    expect(JSON.parse(c.stdout)[0].diagnostics).toEqual([expect.objectContaining({ code: 'DOMAIN_NAME_INVALID', severity: 'error', line: 2 })]);
  });

  describe('item 12: input errors exit 2 with one message, never 70 with a stack trace', () => {
    const xml = join(repoRoot, 'fixtures/examples/gaming-vfio.xml');

    it('check --host sysfs:/nonexistent', () => {
      expectCleanExit2(runCli(['check', '--host', 'sysfs:/nonexistent', xml]), /^virt-pin check: cannot use --host sysfs:\/nonexistent: error HOST_SYSFS_ROOT /);
    });

    it('check --host sysfs:/tmp (not a sysfs tree)', () => {
      const empty = join(scratch.dir, 'not-sysfs');
      mkdirSync(empty);
      expectCleanExit2(runCli(['check', '--host', `sysfs:${empty}`, xml]), /error HOST_SYSFS_MISSING .*is not a sysfs tree/);
    });

    it('show --host caps-with-doctype.xml', () => {
      const caps = scratch.file('<?xml version="1.0"?>\n<!DOCTYPE capabilities>\n<capabilities/>\n', 'caps-with-doctype.xml');
      expectCleanExit2(runCli(['show', '--host', caps, xml]), /^virt-pin show: cannot use --host .*caps-with-doctype.xml: error HOST_CAPS_XML .*DOCTYPE/);
    });

    describeWith(needsForOtherUser, 'as another user', () => {
    it('check DIR with an unreadable subdirectory', () => {
      const dir = join(scratch.dir, 'item12-dir');
      mkdirSync(join(dir, 'locked'), { recursive: true });
      writeFileSync(join(dir, 'a.xml'), readFileSync(xml));
      chmodSync(scratch.dir, 0o755);
      chmodSync(dir, 0o755);
      chmodSync(join(dir, 'locked'), 0o000);
      // root reads any directory: run as nobody to make it unreadable.
      const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
      const r = spawnSync(asUser[0] ?? process.execPath, [...asUser.slice(1), ...(asUser.length ? [process.execPath] : []), cliPath, 'check', dir], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
      expect(r.stderr).not.toMatch(CRASH);
      // Since issue 18 item 1 the directory is an error entry of the batch (stdout) and a.xml is still checked.
      expect(r.stdout).toMatch(/locked: error INPUT_UNREADABLE cannot read .*locked: EACCES/);
      expect(r.stderr).toMatch(/^1 file checked, 1 unreadable: /m);
      expect(r.status).toBe(2);
    });
    });

    it("apply bad.json --pid 1 where the file is '{bad'", () => {
      const bad = scratch.file('{bad\n', 'bad.json');
      expectCleanExit2(runCli(['apply', bad, '--pid', '1', '--dry-run']), /^virt-pin apply: .*bad.json is not valid JSON: /);
    });
  });

  it('item 13: check DIR follows symlinked .xml files (once each), and a directory link back up the tree is no loop', () => {
    const dir = join(scratch.dir, 'item13');
    mkdirSync(join(dir, 'real'), { recursive: true });
    mkdirSync(join(dir, 'links'));
    const outside = scratch.file(domain('', '2'), 'outside.xml');
    writeFileSync(join(dir, 'real', 'vm.xml'), domain(''));
    symlinkSync(outside, join(dir, 'links', 'outside.xml'));
    symlinkSync('../real/vm.xml', join(dir, 'links', 'vm.xml'));
    symlinkSync('..', join(dir, 'links', 'loop'));
    const r = runCli(['check', '--format', 'json', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { file: string }[]).map((f) => f.file).sort()).toEqual([join(dir, 'links', 'outside.xml'), join(dir, 'real', 'vm.xml')]);
  });

  describeWith(['virsh'], 'item 14: define separates virsh output without in-band markers', () => {
    it('a <description> line equal to the old marker does not cut --show-libvirt short', () => {
      const xml = `<domain type='test'>\n  <name>marker</name>\n  <description>before\n@@virt-pin-define@@\nerror: @@virt-pin-define@@\nafter</description>\n  <memory>1024</memory>\n  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n  </cputune>\n  <os><type>hvm</type></os>\n</domain>\n`;
      const r = runCli(['define', '--connect', 'test:///default', '--show-libvirt', scratch.file(xml)]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('before\n@@virt-pin-define@@\nerror: @@virt-pin-define@@\nafter</description>');
      expect(r.stdout.trimEnd().endsWith('</domain>')).toBe(true);
      expect(r.stdout).toContain("<vcpupin vcpu='0' cpuset='1'/>");
    });

    it('an unparseable read-back is an error, not "stored exactly as predicted"', () => {
      // A virsh whose dumpxml prints something that is not XML: real libvirt cannot be made to do that.
      const bin = join(scratch.dir, 'fake-virsh');
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'virsh'),
        '#!/bin/sh\ncase "$*" in\n  "help define") echo "  --validate" ;;\n  *" uri") echo "qemu:///fake" ;;\n  *" define "*) exit 0 ;;\n  *"dumpxml"*) echo "<domain><name>x</name" ;;\nesac\n',
        { mode: 0o755 },
      );
      const r = runCli(['define', '--connect', 'qemu:///fake', scratch.file(domain(''))], { env: { PATH: `${bin}:${process.env.PATH}` } });
      expect(r.stderr).toContain('error DEFINE_READ_BACK_INVALID');
      expect(r.stderr).not.toMatch(/exactly as/);
      expect(r.status).toBe(1);
    });
  });

  it('item 15: ESC, CR and C1 characters from the file reach the terminal only as escapes', () => {
    const hostile = '\u001b]0;PWNED\u0007\u001b[2J\r\u009b31m';
    const file = scratch.file(domain(`  <cputune>\n    <vcpupin vcpu='0' cpuset='${hostile}'/>\n  </cputune>`));
    const r = runCli(['check', file]);
    expect(r.status).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('\\x1b]0;PWNED\\x07\\x1b[2J\\x0d\\x9b31m');
    // The caret still points under the attribute value in the escaped source line.
    const lines = r.stdout.split('\n');
    const src = lines.findIndex((l) => l.includes("cpuset='\\x1b"));
    const caret = lines[src + 1]!.indexOf('^') - lines[src + 1]!.indexOf('|');
    expect(lines[src]!.slice(lines[src]!.indexOf('|') + caret)).toMatch(/^cpuset=|^'|^\\x1b/);
    // resolve and plan print the domain name; a C1 CSI in it is escaped there too.
    const named = scratch.file(domain('').replace('<name>hostile</name>', '<name>vm\u009b2J</name>'));
    for (const cmd of ['resolve', 'plan']) {
      const o = runCli([cmd, named]);
      expect(o.stdout).toContain('vm\\x9b2J');
      expect(o.stdout).not.toContain('\u009b');
    }
  });

  it('item 22: --pid takes decimal digits only', () => {
    const plan = scratch.file(domain(''));
    for (const pid of ['0x10', '1e3', ' 5', '1.0', '+7', '0', '99999999999', '4194305']) {
      const r = runCli(['apply', plan, '--pid', pid, '--dry-run']);
      expect(r.stderr, pid).toMatch(/--pid takes a process id in decimal digits/);
      expect(r.status, pid).toBe(2);
    }
  });
});
