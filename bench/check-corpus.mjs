// `virt-pin check` over the vendored corpus as a user runs it (the bin,
// `--format json DIR`), against one `xmllint --noout --relaxng domain.rng`
// process over the same files (issue 15's table), interleaved: one round
// runs every candidate once, in rotating order, so load from other work
// falls on all of them alike.
//
// Candidates besides the two the target compares:
// - `check --jobs 1`: one thread, no worker pool;
// - the floor of a one-process check: `node -e 0` (starting Node), and a
//   Node program that imports the library bundle and calls checkDocument on
//   every file once (no directory walk, no output, no CLI) — what any JS
//   checker of these files pays at least in a fresh process (cold JIT).
//
// CPU time is that of the child processes, taken with getrusage(RUSAGE_CHILDREN)
// around each spawnSync (so xmllint, a C program, is measured the same way
// as Node), wall time as the caller sees it.
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childrenCpu } from './apply-cli.mjs';
import { stats, verdict } from './interleave.mjs';

/** Issue 15: the CLI over the corpus takes at most the time of one xmllint over it. */
export const CHECK_CORPUS_TARGET = 1.0;

/**
 * { runs: name → {wall, cpu, samples}, verdicts: {cpu, wall} of `check` against xmllint }
 * or undefined when xmllint or the schema is missing.
 */
export function checkCorpusRows({ cli, indexJs, dir, files, rng, rounds = 7 }) {
  const cpu = childrenCpu();
  const work = mkdtempSync(join(tmpdir(), 'vp-bench-corpus-'));
  try {
    const list = join(work, 'files.json');
    writeFileSync(list, JSON.stringify(files));
    const floorScript = join(work, 'floor.mjs');
    writeFileSync(
      floorScript,
      `import { readFileSync } from 'node:fs';\nconst lib = await import(${JSON.stringify(indexJs)});\nfor (const f of JSON.parse(readFileSync(${JSON.stringify(list)}, 'utf8'))) lib.checkDocument(readFileSync(f, 'utf8'));\n`,
    );
    const node = process.execPath;
    const candidates = {
      check: [node, [cli, 'check', '--format', 'json', dir], [0, 1]],
      jobs1: [node, [cli, 'check', '--format', 'json', '--jobs', '1', dir], [0, 1]],
      xmllint: ['xmllint', ['--noout', '--relaxng', rng, ...files], [0, 3, 4]], // 3/4: some files are invalid
      library: [node, [floorScript], [0]],
      node: [node, ['-e', '0'], [0]],
    };
    const names = Object.keys(candidates);
    const out = Object.fromEntries(names.map((k) => [k, { wall: [], cpu: [] }]));
    const roundsOf = (from, to) => {
      for (let r = from; r < to; r++) {
        const order = names.map((_, i) => names[(i + Math.max(0, r)) % names.length]);
        for (const k of order) {
          const [cmd, args, ok] = candidates[k];
          const c0 = cpu();
          const w0 = process.hrtime.bigint();
          const res = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
          const wall = Number(process.hrtime.bigint() - w0) / 1e6;
          const used = cpu() - c0;
          if (res.error) throw res.error;
          if (!ok.includes(res.status)) throw new Error(`${k}: ${cmd} ${args.slice(0, 3).join(' ')} … exited ${res.status ?? res.signal}: ${String(res.stderr).slice(-400)}`);
          if (r >= 0) {
            out[k].wall.push(wall);
            out[k].cpu.push(used);
          }
        }
      }
    };
    const runsNow = () => Object.fromEntries(names.map((k) => [k, { wall: stats(out[k].wall), cpu: stats(out[k].cpu), samples: out[k] }]));
    roundsOf(-1, rounds);
    // Undecided on wall time (the target's measure): more rounds, up to 3x in all, as the other rows do; then the spread is reported.
    let done = rounds;
    for (let more = 1; more < 3; more++) {
      const now = runsNow();
      if (verdict(now.check, now.xmllint, CHECK_CORPUS_TARGET, 'wall').state !== 'undecided' && verdict(now.library, now.xmllint, CHECK_CORPUS_TARGET, 'wall').state !== 'undecided') break;
      roundsOf(done, done + rounds);
      done += rounds;
    }
    const runs = runsNow();
    return {
      rounds: done,
      runs,
      verdicts: { cpu: verdict(runs.check, runs.xmllint, CHECK_CORPUS_TARGET, 'cpu'), wall: verdict(runs.check, runs.xmllint, CHECK_CORPUS_TARGET, 'wall') },
      floor: { cpu: verdict(runs.library, runs.xmllint, CHECK_CORPUS_TARGET, 'cpu'), wall: verdict(runs.library, runs.xmllint, CHECK_CORPUS_TARGET, 'wall') },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
