/**
 * One CLI grammar (issue 18 item 4): every command's help has the same
 * sections and comes from the command table, which is also what the
 * parsers accept; mistakes get one clean line with a suggestion; colour is
 * --color auto|always|never and NO_COLOR everywhere there is colour.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, parseOptionsOf, renderHelp } from '../../src/cli/command-table.js';
import * as check from '../../src/cli/commands/check.js';
import * as define from '../../src/cli/commands/define.js';
import * as exportCmd from '../../src/cli/commands/export.js';
import * as importCmd from '../../src/cli/commands/import.js';
import * as normalize from '../../src/cli/commands/normalize.js';
import * as pin from '../../src/cli/commands/pin.js';
import * as plan from '../../src/cli/commands/plan.js';
import * as resolve from '../../src/cli/commands/resolve.js';
import * as show from '../../src/cli/commands/show.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';

const vm = join(repoRoot, 'fixtures/examples/gaming-vfio.xml');
const HOST = 'sysfs:fixtures/hosts/vfio-desktop';
const ESC = '\u001b[';

describe('help', () => {
  it('every command has usage, description, options, examples and exit status, in that order', () => {
    for (const c of COMMANDS) {
      const r = runCli([c.name, '--help']);
      expect(r.status, c.name).toBe(0);
      expect(r.stdout).toBe(renderHelp(c));
      const at = ['usage: virt-pin ', '\n\n', '\noptions:\n', '\nexamples:\n', '\nexit status:\n'].map((s) => r.stdout.indexOf(s));
      expect(at.every((x) => x >= 0), `${c.name}: ${at}`).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
    }
  });

  it('`virt-pin help CMD` prints the command help; a mistyped one gets a suggestion', () => {
    expect(runCli(['help', 'check']).stdout).toBe(runCli(['check', '--help']).stdout);
    const r = runCli(['help', 'chekc']);
    expect(r.stderr).toBe("virt-pin: unknown command 'chekc'; did you mean 'check'? (virt-pin --help lists the commands)\n");
    expect(r.status).toBe(2);
  });

  it('the parsers take exactly the options the table (and so --help) lists', () => {
    const modules = { check, resolve, show, pin, define, export: exportCmd, import: importCmd, plan, normalize };
    for (const [name, mod] of Object.entries(modules)) expect(JSON.parse(JSON.stringify(mod.OPTIONS)), name).toEqual(parseOptionsOf(name));
    // apply, restore and hook parse their own options: every option the table lists must be known to them.
    for (const name of ['apply', 'restore', 'hook']) {
      for (const o of COMMANDS.find((c) => c.name === name)!.options.filter((x) => x.long !== 'help')) {
        const args = name === 'hook' ? ['hook', 'install', `--${o.long}`] : [name, `--${o.long}`];
        const r = runCli(args);
        expect(r.stderr, `${name} --${o.long}`).not.toMatch(/unknown option/);
      }
    }
  });
});

describe('usage errors: one line, exit 2, with a suggestion when one is close', () => {
  const oneLine = (args: string[], expected: string): void => {
    const r = runCli(args);
    expect(r.stderr).toBe(`${expected}\n`);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  };
  it('unknown command', () => oneLine(['chek', vm], "virt-pin: unknown command 'chek'; did you mean 'check'? (virt-pin --help lists the commands)"));
  it('unknown option', () => oneLine(['check', '--fomrat', 'json', vm], "virt-pin check: unknown option '--fomrat'; did you mean '--format'? (see 'virt-pin check --help')"));
  it('unknown option, nothing close', () => oneLine(['resolve', '--zzzzzz', vm], "virt-pin resolve: unknown option '--zzzzzz' (see 'virt-pin resolve --help')"));
  it('option missing its value', () => oneLine(['check', vm, '--format'], "virt-pin check: option '--format' needs a value (see 'virt-pin check --help')"));
  it('value given to a flag', () => oneLine(['check', '--strict=yes', vm], "virt-pin check: option '--strict' takes no value (see 'virt-pin check --help')"));
  it('a mistyped option value', () => oneLine(['check', '--format', 'jsno', vm], "virt-pin check: unknown --format 'jsno'; did you mean 'json'? (see 'virt-pin check --help')"));
  it('a mistyped --color value', () => oneLine(['resolve', '--color', 'alwyas', vm], "virt-pin resolve: --color takes auto, always or never, not 'alwyas'; did you mean 'always'? (see 'virt-pin resolve --help')"));
  it('an option of another command (apply parses its own)', () => oneLine(['apply', '--pdi', '1', vm], "virt-pin apply: unknown option '--pdi'; did you mean '--pid'? (see 'virt-pin apply --help')"));
});

describe('--color auto|always|never and NO_COLOR on every command with colour', () => {
  const cases: [string, string[]][] = [
    ['check', ['check', '-', '--quiet']],
    ['resolve', ['resolve', vm]],
    ['show', ['show', '--host', HOST, vm]],
    ['plan', ['plan', '--host', HOST, vm]],
    ['pin', ['pin', '--host', HOST, '--dry-run', vm]],
    ['normalize', ['normalize', '--diff', '-']],
    ['define', ['define', '--dry-run', '-']],
  ];
  const bad = "<domain type='kvm'>\n  <name>c</name>\n  <memory>1048576</memory>\n  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3-1'/>\n  </cputune>\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n</domain>\n";
  const changes = "<domain type='kvm'>\n  <name>c</name>\n  <memory>1048576</memory>\n  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='1,2,3'/>\n  </cputune>\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n</domain>\n";
  for (const [name, args] of cases) {
    const input = name === 'normalize' ? changes : bad;
    it(name, () => {
      const always = runCli([...args, '--color', 'always'], { input, env: { NO_COLOR: '' } });
      expect(always.stdout + always.stderr, name).toContain(ESC);
      const never = runCli([...args, '--color', 'never'], { input, env: { NO_COLOR: '' } });
      expect(never.stdout + never.stderr).not.toContain(ESC);
      // auto: not a terminal here, and NO_COLOR set: no colour.
      const auto = runCli(args, { input, env: { NO_COLOR: '1' } });
      expect(auto.stdout + auto.stderr).not.toContain(ESC);
      const wrong = runCli([...args, '--color', 'sometimes'], { input });
      expect(wrong.stderr).toMatch(/--color takes auto, always or never, not 'sometimes'/);
      expect(wrong.status).toBe(2);
    });
  }
});

describe('messages', () => {
  it('a finding without a source position prints without a fake :1:1', () => {
    const r = runCli(['pin', '--host', HOST, '--cpus', '0', vm]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/gaming-vfio\.xml: error POLICY_DOES_NOT_FIT /);
    expect(r.stderr).not.toMatch(/:1:1:/);
  });

  it('singular and plural: "1 thread on 1 core"', () => {
    const r = runCli(['pin', '--host', HOST, '--cpus', '0', vm]);
    expect(r.stderr).toContain('(1 thread on 1 core)');
  });
});
