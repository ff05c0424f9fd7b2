/**
 * Completions and the man page (issue 18 item 5): generated from the
 * command table, so every command and option is in --help, in each
 * completion script and in virt-pin.1; bash completion is exercised in a
 * real bash; the man page renders without groff warnings.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWith } from '../support/components.js';
import { COMMANDS } from '../../src/cli/command-table.js';
import { manPage } from '../../src/cli/completions.js';
import { cliPath, runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; man?: string | string[] };
const manFile = join(repoRoot, 'man', 'virt-pin.1');

/** Complete `line` (words so far, the last one being completed) with the generated script in a real bash. */
function bashComplete(...words: string[]): string[] {
  const script = `source <(${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_virt_pin; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', cwd: repoRoot });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('completions and man page', () => {
  const scripts = { bash: runCli(['completion', 'bash']).stdout, zsh: runCli(['completion', 'zsh']).stdout, fish: runCli(['completion', 'fish']).stdout };
  const man = readFileSync(manFile, 'utf8');

  it('the man page in the repository is the one the command table gives (UPDATE_DOCS=1 rewrites it)', () => {
    const want = manPage(pkg.version);
    if (process.env.UPDATE_DOCS) writeFileSync(manFile, want);
    expect(man).toBe(want);
    expect(pkg.man === './man/virt-pin.1' || (Array.isArray(pkg.man) && pkg.man.includes('./man/virt-pin.1'))).toBe(true);
  });

  it('every command and every option appears in help, in each completion script and in the man page', () => {
    const unescape = (s: string): string => s.replace(/\\-/g, '-').replace(/\\e/g, '\\');
    for (const c of COMMANDS) {
      const help = runCli([c.name, '--help']).stdout;
      for (const [shell, text] of Object.entries(scripts)) expect(text, `${shell}: ${c.name}`).toMatch(new RegExp(`\\b${c.name}\\b`));
      expect(unescape(man)).toContain(`.SS ${c.name}`);
      for (const o of c.options) {
        expect(help, `${c.name} --${o.long} in help`).toContain(`--${o.long}`);
        for (const [shell, text] of Object.entries(scripts)) expect(text, `${shell}: ${c.name} --${o.long}`).toContain(shell === 'fish' ? `-l ${o.long}` : `--${o.long}`);
        expect(unescape(man), `man: ${c.name} --${o.long}`).toContain(`--${o.long}`);
      }
    }
  });

  it('bash completes commands, options, option values and subcommands (real bash, compgen)', () => {
    expect(bashComplete('virt-pin', '')).toEqual(expect.arrayContaining(COMMANDS.map((c) => c.name)));
    expect(bashComplete('virt-pin', 'ch')).toEqual(['check']);
    expect(bashComplete('virt-pin', 'check', '--fo')).toEqual(['--format']);
    expect(bashComplete('virt-pin', 'check', '--format', 'j')).toEqual(['json', 'junit']);
    expect(bashComplete('virt-pin', 'show', '--co')).toEqual(['--color']);
    expect(bashComplete('virt-pin', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(bashComplete('virt-pin', 'help', 'de')).toEqual(['define']);
    expect(bashComplete('virt-pin', 'check', 'fixtures/examples/gam')).toEqual(['fixtures/examples/gaming-vfio.xml']);
  });

  it('completion refuses an unknown shell with one line', () => {
    const r = runCli(['completion', 'tcsh']);
    expect(r.stderr).toBe("virt-pin completion: no completion for 'tcsh': bash, zsh or fish (see 'virt-pin completion --help')\n");
    expect(r.status).toBe(2);
  });
});

describeWith(['groff'], 'man page: groff', () => {
  it('groff -ww -man renders the man page without a warning', () => {
    const r = spawnSync('groff', ['-ww', '-z', '-man', '-Tutf8', manFile], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describeWith(['man-db'], 'man page: man', () => {
  it('man -l shows it: name, synopsis and every command section', () => {
    const r = spawnSync('man', ['-l', manFile], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80', LC_ALL: 'C.UTF-8' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/NAME\s+virt-pin - resolve, check and apply/);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^ {3}${c.name}$`, 'm'));
  });
});

/** What zsh's completion system puts on the line after TAB, run in a real interactive zsh on a pseudo-terminal (zpty). */
function zshComplete(line: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'virt-pin-zsh-'));
  try {
    writeFileSync(join(dir, '_virt-pin'), runCli(['completion', 'zsh']).stdout);
    const script = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1="%% "; fpath=(${dir} $fpath); autoload -Uz compinit; compinit -u -D; virt-pin() { :; }'
zpty -w -n z ${JSON.stringify(line)}$'\\t'
local all=""
for i in {1..25}; do if zpty -r -t z chunk; then all+=$chunk; else sleep 0.1; fi; done
print -r -- "$all"
zpty -d z`;
    const r = spawnSync('zsh', ['-f', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    // The last prompt line, without terminal control sequences.
    const last = r.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]|[\b\r]/g, '').split('\n').filter((l) => l.includes('virt-pin')).pop() ?? '';
    return last;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeWith(['zsh'], 'completion: zsh', () => {
  it('parses, and completes a command and an option in a real zsh', () => {
    const script = runCli(['completion', 'zsh']).stdout;
    expect(spawnSync('zsh', ['-n'], { input: script, encoding: 'utf8' }).status).toBe(0);
    expect(zshComplete('virt-pin chec')).toContain('virt-pin check');
    expect(zshComplete('virt-pin check --fo')).toContain('virt-pin check --format');
  });
});

describeWith(['fish'], 'completion: fish', () => {
  const complete = (line: string): string[] => {
    const r = spawnSync('fish', ['--no-config', '-c', `source (${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} completion fish | psub); complete -C${JSON.stringify(line)}`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!);
  };
  it('completes commands, options and option values in a real fish', () => {
    expect(complete('virt-pin ch')).toEqual(['check']);
    expect(complete('virt-pin check --fo')).toEqual(['--format']);
    expect(complete('virt-pin check --format j')).toEqual(['json', 'junit']);
    expect(complete('virt-pin completion ').sort()).toEqual(['bash', 'fish', 'zsh']);
  });
});
