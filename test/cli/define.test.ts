/**
 * virt-pin define against the real virsh and libvirt's test driver
 * (test:///default: real parser, real --validate, state gone when virsh
 * exits). Gated on virsh by test/support/components.ts (skipped with the
 * reason outside CI, failed in CI).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';
import { requireVirsh } from '../support/oracle-virsh.js';
import { describeWith, requireComponents } from '../support/components.js';

const TEST_URI = 'test:///default';
const example = join(repoRoot, 'fixtures/examples/gaming-vfio.xml');
const sysfsHost = (name: string): string => `sysfs:${join(repoRoot, 'fixtures/hosts', name)}`;
const tmp = mkdtempSync(join(tmpdir(), 'virt-pin-define-test-'));

/** A small domain; `tune` goes inside <cputune>. */
function domain(name: string, tune: string): string {
  return `<domain type='kvm'>
  <name>${name}</name>
  <memory>1048576</memory>
  <vcpu>2</vcpu>
  <cputune>
${tune}
  </cputune>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
`;
}

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

/** Lines a unified diff adds or removes (not its ---/+++ header). */
const changedLines = (diff: string): string[] => diff.split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));

let validateSupported = false;

beforeAll(() => {
  if (!requireComponents(['virsh']).available) return;
  requireVirsh();
  validateSupported = spawnSync('virsh', ['help', 'define'], { encoding: 'utf8' }).stdout.includes('--validate');
});

describeWith(['virsh'], 'virt-pin define: clean domains reach libvirt', () => {
  it('defines a clean file; libvirt stores the pins and virt-pin predicted them', () => {
    const r = runCli(['define', '--connect', TEST_URI, '--show-libvirt', example]);
    expect(r.stderr).toContain(`defined 'win11-gaming' on ${TEST_URI}`);
    expect(r.stderr).toContain(`define FILE${validateSupported ? ' --validate' : ''})`);
    expect(r.stderr).toContain("libvirt stored the affinity exactly as 'virt-pin normalize' predicts");
    expect(r.status).toBe(0);
    // stdout is libvirt's dumpxml, not our input: libvirt rewrites <memory unit='GiB'>16 as KiB.
    expect(r.stdout).toContain("<memory unit='KiB'>16777216</memory>");
    expect(r.stdout).toContain("<vcpupin vcpu='7' cpuset='12'/>");
    expect(r.stdout).toContain("<iothreadpin iothread='1' cpuset='0,8'/>");
  });

  it('passes --validate: a schema error virt-pin does not judge is refused by libvirt, and only with --validate', () => {
    expect(validateSupported).toBe(true); // libvirt 9.0 here; the fallback without --validate is for old virsh
    const path = file('schema.xml', domain('schema-bad', "    <vcpupin vcpu='0' cpuset='1'/>\n    <bogus/>"));
    const r = runCli(['define', '--connect', TEST_URI, path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error DEFINE_LIBVIRT_REFUSED libvirt refused .*schema\.xml/);
    expect(r.stderr).toContain('failed to validate against schema');
    // the same XML without --validate is accepted: the refusal above came from --validate
    expect(spawnSync('virsh', ['-c', TEST_URI, 'define', path], { encoding: 'utf8' }).status).toBe(0);
  });

  it('reads the domain from stdin (-) and works at both ends of a pipeline', () => {
    const pinned = runCli(['define', '--pin', '--host', sysfsHost('desktop-smt'), '--dry-run', '--print-xml', '-'], { input: readFileSync(example) });
    expect(pinned.status).toBe(0);
    expect(pinned.stdout).toMatch(/^<!--[^]*<\/domain>\n$/);
    const r = runCli(['define', '--connect', TEST_URI, '--show-libvirt', '-'], { input: pinned.stdout });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("defined 'win11-gaming'");
    expect(r.stdout).toContain("<emulatorpin cpuset='0-1'/>");
  });

  it('removes the temporary copy it hands to virsh', () => {
    const own = mkdtempSync(join(tmpdir(), 'virt-pin-define-tmpdir-'));
    expect(runCli(['define', '--connect', TEST_URI, example], { env: { TMPDIR: own } }).status).toBe(0);
    expect(readdirSync(own)).toEqual([]);
  });
});

describeWith(['virsh'], 'virt-pin define: the gate', () => {
  const duplicate = (): string => file('dup.xml', domain('dup-pin', "    <vcpupin vcpu='0' cpuset='1'/>\n    <vcpupin vcpu='0' cpuset='2'/>"));

  it('refuses a domain with a V16 error before virsh runs', () => {
    const path = duplicate();
    const r = runCli(['define', '--connect', TEST_URI, path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${path}:7:5: error VCPUPIN_INVALID vCPU 0 is pinned twice (first at line 6)`);
    expect(r.stderr).toContain('not defined: 1 error (--force defines anyway)');
    expect(r.stderr).not.toContain('DEFINE_LIBVIRT_REFUSED');
    // With several errors, the refusal names the one libvirt would report (it stops at its first).
    const two = file('two.xml', domain('two-errors', "    <memorytune vcpus='0'><node id='0' bandwidth='120'/></memorytune>\n    <vcpupin vcpu='0' cpuset='3-1'/>"));
    const both = runCli(['define', '--connect', TEST_URI, two]);
    expect(both.status).toBe(1);
    expect(both.stderr).toContain('not defined: 2 errors; libvirt would report VCPUPIN_INVALID first (--force defines anyway)');
    expect(both.stderr.indexOf('error VCPUPIN_INVALID')).toBeLessThan(both.stderr.indexOf('error MEMORYTUNE_NODE_INVALID'));
    // no virsh on PATH changes nothing: virsh was never needed
    const empty = mkdtempSync(join(tmpdir(), 'virt-pin-no-virsh-'));
    const without = runCli(['define', '--connect', TEST_URI, path], { env: { PATH: empty } });
    expect(without.status).toBe(1);
    expect(without.stderr).toContain('error VCPUPIN_INVALID');
  });

  it('with --force hands it to libvirt, which refuses it too; its message is shown verbatim', () => {
    const r = runCli(['define', '--force', '--connect', TEST_URI, duplicate()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('defining despite 1 error (--force)');
    expect(r.stderr).toContain('error DEFINE_LIBVIRT_REFUSED');
    expect(r.stderr).toMatch(/^error: Failed to define domain from \S+domain\.xml\nerror: internal error: duplicate vcpupin for vcpu '0'\n$/m);
    expect(r.stderr).not.toContain('@@virt-pin-define@@');
  });

  it('defines past warnings, shows them, and stops at them with --strict', () => {
    const path = file('warn.xml', domain('warn-pin', "    <vcpupin vcpu='0' cpuset='1'/>\n    <vcpupin vcpu='4' cpuset='3'/>"));
    const r = runCli(['define', '--connect', TEST_URI, '--show-libvirt', path]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`${path}:7:5: warning VCPUPIN_OUT_OF_RANGE_DROPPED`);
    // libvirt dropped the pin, as virt-pin normalize predicted
    expect(r.stdout).not.toContain("vcpu='4'");
    expect(r.stderr).toContain('exactly as');
    const strict = runCli(['define', '--strict', '--connect', TEST_URI, path]);
    expect(strict.status).toBe(1);
    // test:///default's capabilities are the host now, so a host lint may add to the drop warning.
    expect(strict.stderr).toMatch(/not defined: \d+ warnings? \(--force defines anyway\)/);
    expect(strict.stderr).toContain('warning VCPUPIN_OUT_OF_RANGE_DROPPED');
  });
});

describeWith(['virsh'], 'virt-pin define --pin', () => {
  for (const host of ['desktop-smt', 'vfio-desktop', 'two-socket-smt', 'amd-multi-ccx']) {
    it(`pins ${host}: the diff touches only the affinity elements, and libvirt stores the new pins`, () => {
      const r = runCli(['define', '--pin', '--host', sysfsHost(host), '--connect', TEST_URI, '--show-libvirt', example]);
      expect(r.status).toBe(0);
      const diffStart = r.stderr.indexOf(`--- ${example}\n+++ ${example} (pinned)\n@@ `);
      expect(diffStart).toBeGreaterThanOrEqual(0);
      const changed = changedLines(r.stderr.slice(diffStart));
      expect(changed.length).toBeGreaterThan(0);
      const outside = changed.filter((l) => !/^[-+]\s*(<vcpupin |<emulatorpin |<iothreadpin |<\/?numatune>|<memory mode=|<memnode |<vcpusched )/.test(l));
      expect(outside).toEqual([]);
      for (const added of changed.filter((l) => l.startsWith('+')).map((l) => l.slice(1).trim())) expect(r.stdout).toContain(added);
      expect(r.stderr).toContain('exactly as');
    });
  }

  it('--print-xml writes exactly what virt-pin pin writes, defined or dry run', () => {
    const host = sysfsHost('desktop-smt');
    const pin = runCli(['pin', '--host', host, '--emulator', 'isolate', example]);
    expect(pin.status).toBe(0);
    const defined = runCli(['define', '--pin', '--host', host, '--emulator', 'isolate', '--connect', TEST_URI, '--print-xml', example]);
    expect(defined.status).toBe(0);
    expect(defined.stdout).toBe(pin.stdout);
    const dry = runCli(['define', '--pin', '--host', host, '--emulator', 'isolate', '--dry-run', '--print-xml', example], { env: { PATH: mkdtempSync(join(tmpdir(), 'virt-pin-no-virsh-')) } });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toBe(pin.stdout);
    expect(dry.stderr).toContain('dry run: would define');
  });

  it('does not pin a domain with errors, even with --force; host findings wait for the pinned result', () => {
    const bad = runCli(['define', '--pin', '--force', '--host', sysfsHost('desktop-smt'), '--dry-run', file('dup2.xml', domain('dup2', "    <vcpupin vcpu='1' cpuset='1'/>\n    <vcpupin vcpu='1' cpuset='2'/>"))]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('error VCPUPIN_INVALID');
    expect(bad.stderr).toContain('cannot pin a domain with errors');
    // CPUs 9-12 are not online on a 2-CPU host, but pinning replaces those pins: no HOST_CPU_NOT_ONLINE for the input
    const small = runCli(['define', '--pin', '--host', sysfsHost('this-vm'), '--dry-run', example]);
    expect(small.stderr).not.toContain('HOST_CPU_NOT_ONLINE');
    expect(small.stderr).toContain('POLICY_DOES_NOT_FIT');
    expect(small.status).toBe(1);
  });
});

describeWith(['virsh'], 'virt-pin define: environment and usage', () => {
  it('without virsh on PATH: exit 2, DEFINE_NO_VIRSH, and how to install it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'virt-pin-no-virsh-'));
    const r = runCli(['define', '--connect', TEST_URI, example], { env: { PATH: empty } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error DEFINE_NO_VIRSH');
    expect(r.stderr).toContain('apt-get install libvirt-clients');
  });

  it('a connection virsh cannot open: exit 2, DEFINE_CONNECT_FAILED with virsh’s reason', () => {
    const r = runCli(['define', '--connect', 'nosuchdriver:///x', example]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error DEFINE_CONNECT_FAILED virsh cannot connect to nosuchdriver:///x');
    // One line, virsh's reasons once each, without its 'error: ' prefixes.
    expect(r.stderr).toContain(': failed to connect to the hypervisor');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.match(/failed to connect to the hypervisor/g)).toHaveLength(1);
  });

  it('takes $LIBVIRT_DEFAULT_URI when --connect is absent, as virsh does', () => {
    const r = runCli(['define', example], { env: { LIBVIRT_DEFAULT_URI: TEST_URI } });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`on ${TEST_URI}`);
  });

  it('refuses contradictory or incomplete requests with exit 2', () => {
    const usage = (args: string[]): string => {
      const r = runCli(['define', ...args]);
      expect(r.status).toBe(2);
      return r.stderr;
    };
    expect(usage(['--vcpu', 'shared', example])).toContain('--vcpu: pinning flags need --pin');
    expect(usage(['--pin', '--dry-run', example])).toContain('--pin with --dry-run needs --host');
    expect(usage(['--dry-run', '--show-libvirt', example])).toContain('--dry-run does not run libvirt');
    expect(usage(['--print-xml', '--show-libvirt', example])).toContain('choose one');
    expect(usage(['--pin', '--host', sysfsHost('desktop-smt'), '--vcpu', 'sometimes', example])).toContain('--vcpu takes dedicated, shared');
    expect(usage([])).toBe("virt-pin define: name one domain XML file (or - for standard input) (see 'virt-pin define --help')\n");
  });
});

describeWith(['virsh'], 'virt-pin define: the host of the connection (issue 18 item 6)', () => {
  it('without --host, a local connection gives the host facts: a pin to a CPU the host lacks stops the define', () => {
    // libvirt's test driver emulates a host with CPUs 0-15 (virsh -c test:///default capabilities); CPU 20 is not there.
    const path = file('cpu20.xml', domain('cpu20', "    <vcpupin vcpu='0' cpuset='20'/>"));
    const r = runCli(['define', '--connect', TEST_URI, path]);
    expect(r.stderr).toContain(`host facts from ${TEST_URI} (virsh capabilities; --host overrides)`);
    expect(r.stderr).toMatch(/error HOST_CPU_NOT_ONLINE .*20/);
    expect(r.stderr).toContain('not defined: 1 error');
    expect(r.stderr).not.toContain("defined 'cpu20'");
    expect(r.status).toBe(1);
    // --host overrides: a host that has CPU 20 lets it through.
    const withHost = runCli(['define', '--connect', TEST_URI, '--host', sysfsHost('two-socket-smt'), path]);
    expect(withHost.stderr).not.toContain('HOST_CPU_NOT_ONLINE');
  });

  it('--pin without --host pins for the connection\'s host', () => {
    const r = runCli(['define', '--pin', '--connect', TEST_URI, '--print-xml', example]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`host facts from ${TEST_URI}`);
    const cpus = [...r.stdout.matchAll(/<vcpupin vcpu='\d+' cpuset='([\d,-]+)'/g)].flatMap((m) => m[1]!.split(/[,-]/).map(Number));
    expect(cpus.length).toBeGreaterThan(0);
    expect(Math.max(...cpus)).toBeLessThanOrEqual(15);
  });

  it('a connection that fails is one line, before anything is checked against a host', () => {
    const r = runCli(['define', '--connect', 'qemu+unix:///system?socket=/nonexistent/sock', example]);
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^virt-pin define: error DEFINE_CONNECT_FAILED virsh cannot connect to qemu\+unix:\/\/\/system\?socket=\/nonexistent\/sock: /);
    expect(r.stderr).not.toContain('@@');
  });
});
