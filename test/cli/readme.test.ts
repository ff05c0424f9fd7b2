/**
 * README's output blocks are real: every fenced block that starts with
 * `$ virt-pin …` is run (from the repository root, on the bundled
 * fixtures) and must print exactly what the block shows after the command
 * line (stdout, then stderr); the quick-start block is `npm start`'s
 * command. A change in output fails here until README is updated.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/corpus.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
/** The contents of the fenced blocks without a language tag (the output blocks). */
function outputBlocks(text: string): string[] {
  const out: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of text.split('\n')) {
    const fence = /^```(\S*)$/.exec(line);
    if (fence && !open) open = { lang: fence[1]!, lines: [] };
    else if (fence && open) {
      if (open.lang === '') out.push(open.lines.map((l) => l + '\n').join(''));
      open = undefined;
    } else open?.lines.push(line);
  }
  return out;
}
const blocks = outputBlocks(readme);

/** `$ virt-pin ARGS   # comment` → ARGS as argv (single quotes group words). */
function argvOf(line: string): string[] {
  const cmd = line.replace(/^\$ virt-pin /, '').replace(/\s+#.*$/, '');
  return [...cmd.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('README output blocks', () => {
  const commandBlocks = blocks.filter((b) => b.startsWith('$ virt-pin '));

  it('has command blocks to check (the test would pass vacuously otherwise)', () => {
    expect(commandBlocks.length).toBeGreaterThanOrEqual(2);
  });

  for (const block of commandBlocks) {
    const [first, ...rest] = block.split('\n');
    it(first!, () => {
      const r = runCli(argvOf(first!));
      expect(r.stdout + r.stderr).toBe(rest.join('\n'));
    });
  }

  it('the quick-start pin map is what `npm start` prints', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const cmd = /node dist\/cli\.js (.*)$/.exec(pkg.scripts.start)![1]!;
    const shown = blocks.find((b) => b.includes(' on vfio-desktop (sysfs)'));
    expect(shown).toBeDefined();
    const r = runCli(cmd.split(/\s+/));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(shown);
  });
});
