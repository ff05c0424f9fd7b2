// npm run fuzz [-- --cases N] [--seed S] [--jobs J] [--case I]
//
// Corpus-mutation fuzzing of the built library (dist/index.js) with the
// engine in bench/fuzz-core.mjs. Cases run in J child processes (one per
// core by default). Processes rather than worker threads because the time
// budget is checked against each process's own CPU clock
// (process.cpuUsage), which other load on the machine does not inflate,
// and because a case that exhausts the heap then kills one child, which is
// reported with its case, instead of the whole run.
//
// Exit status 0 when no case violated a property, 1 otherwise (each
// failing case is printed with its seed and index and written to /tmp),
// 2 for a usage error.
import { fork } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KNOWN_ISSUES, REPO_ROOT, caseBytes, loadHosts, loadSeeds, makeCase, mergeTally, newTally, runCase, runRange } from './fuzz-core.mjs';

const USAGE = `usage: node bench/fuzz.mjs [--cases N] [--seed S] [--jobs J] [--case I]
  --cases N   how many cases (default 1000000)
  --seed S    run seed, decimal or 0x hex (default: random, printed)
  --jobs J    child processes (default: one per core)
  --case I    run only case I of seed S and show it in detail
environment: VIRT_PIN_FUZZ_LIBRARY=path/to/index.js fuzzes another build
`;
const CHILD_HEAP_MB = 1536;
const MAX_FAILURES_SHOWN = 20;
const PROGRESS_EVERY = 250;

/** CPU milliseconds of this process: the time budget's clock. */
const cpuClock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The built library; VIRT_PIN_FUZZ_LIBRARY names another build of it (a path to its index.js). */
const loadLibrary = () => import(pathToFileURL(process.env.VIRT_PIN_FUZZ_LIBRARY ?? join(REPO_ROOT, 'dist', 'index.js')).href);

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { cases: { type: 'string' }, seed: { type: 'string' }, jobs: { type: 'string' }, case: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const integer = (name, text, min) => {
    const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d[\d_]*$/.test(text) ? Number(text.replace(/_/g, '')) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} takes an integer ≥ ${min}, not '${text}'`);
    return n;
  };
  return {
    help: values.help === true,
    cases: values.cases === undefined ? 1_000_000 : integer('cases', values.cases, 1),
    seed: values.seed === undefined ? randomInt(2 ** 31) : integer('seed', values.seed, 0) >>> 0,
    seedGiven: values.seed !== undefined,
    jobs: values.jobs === undefined ? availableParallelism() : integer('jobs', values.jobs, 1),
    single: values.case === undefined ? undefined : integer('case', values.case, 0),
  };
}

// ---------------------------------------------------------------- child

/** A child: runs cases from, from+step, … < to and reports its tally; writes the index it is on to `currentFile` so a crash can be pinned to a case. */
async function child({ seed, from, to, step, currentFile }) {
  const lib = await loadLibrary();
  const seeds = loadSeeds();
  const hosts = loadHosts(lib);
  const fd = openSync(currentFile, 'w');
  const slot = Buffer.alloc(16);
  let sinceReport = 0;
  const tally = runRange(lib, hosts, seeds, seed, {
    from,
    to,
    step,
    timing: true,
    clock: cpuClock,
    onCase(index) {
      slot.fill(0x20).write(String(index));
      writeSync(fd, slot, 0, slot.length, 0);
      if (++sinceReport === PROGRESS_EVERY) {
        process.send({ progress: sinceReport });
        sinceReport = 0;
      }
    },
  });
  closeSync(fd);
  process.send({ progress: sinceReport, tally }, () => process.exit(0));
}

// ---------------------------------------------------------------- parent

function runChildren(options) {
  const { seed, cases, jobs } = options;
  const count = Math.min(jobs, cases);
  const total = newTally();
  const crashes = [];
  let done = 0;
  const progress = process.stderr.isTTY;
  const started = performance.now();
  const showProgress = () => {
    const rate = done / ((performance.now() - started) / 1000);
    process.stderr.write(`\r${((100 * done) / cases).toFixed(1).padStart(5)}%  ${done}/${cases} cases  ${rate.toFixed(0)}/s  `);
  };
  const timer = progress ? setInterval(showProgress, 500) : undefined;

  const runs = Array.from({ length: count }, (_, k) => {
    const currentFile = `/tmp/virt-pin-fuzz-${seed}-child${k}.current`;
    return new Promise((resolve) => {
      const proc = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: [`--max-old-space-size=${CHILD_HEAP_MB}`], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      proc.on('message', (m) => {
        done += m.progress ?? 0;
        if (m.tally) mergeTally(total, m.tally);
      });
      proc.on('exit', (code, signal) => {
        if (code !== 0) {
          let index = NaN;
          try {
            index = Number(readFileSync(currentFile, 'utf8').trim());
          } catch {
            // the child died before its first case
          }
          // V8's own verdict (FATAL ERROR: … heap out of memory) says more than the native stack after it.
          const lines = stderr.trim().split('\n');
          const verdict = lines.filter((l) => /FATAL ERROR|Error|error:/.test(l)).slice(0, 3);
          crashes.push({ index, how: signal ?? `exit status ${code}`, stderr: (verdict.length ? verdict : lines.slice(-6)).join('\n') });
        }
        rmSync(currentFile, { force: true });
        resolve();
      });
      proc.send({ seed, from: k, to: cases, step: count, currentFile });
    });
  });
  return Promise.all(runs).then(() => {
    if (timer) clearInterval(timer);
    if (progress) process.stderr.write('\r\u001b[K');
    return { total, crashes, seconds: (performance.now() - started) / 1000, processes: count };
  });
}

function writeCase(seeds, seed, index) {
  const file = `/tmp/virt-pin-fuzz-${seed}-${index}.xml`;
  writeFileSync(file, caseBytes(makeCase(seeds, seed, index)));
  return file;
}

function report({ total, crashes, seconds, processes }, seed) {
  const out = [];
  out.push(`${total.cases} cases in ${seconds.toFixed(1)} s: ${(total.cases / seconds).toFixed(0)} cases/s on ${processes} process${processes === 1 ? '' : 'es'}`);
  out.push('outcomes (accepted, or the code that refused the input):');
  for (const [outcome, n] of Object.entries(total.outcomes).sort((a, b) => b[1] - a[1])) {
    out.push(`  ${((100 * n) / total.cases).toFixed(2).padStart(6)}%  ${String(n).padStart(8)}  ${outcome}`);
  }
  const known = Object.entries(total.known);
  if (known.length) {
    out.push('known issues (not counted as failures; see KNOWN_ISSUES in bench/fuzz-core.mjs):');
    for (const [id, n] of known) {
      const k = KNOWN_ISSUES.find((x) => x.id === id);
      out.push(`  ${String(n).padStart(8)}  ${id} — ${k.where}: ${k.summary}`);
    }
  }
  out.push(`slowest case: #${total.slowest.index}, ${total.slowest.ms.toFixed(1)} ms CPU`);
  out.push(`failing cases: ${total.failures.length}${crashes.length ? `, crashed processes: ${crashes.length}` : ''}`);
  process.stdout.write(out.join('\n') + '\n');
}

function reportFailures({ total, crashes }, seed) {
  if (total.failures.length === 0 && crashes.length === 0) return;
  const seeds = loadSeeds();
  const failures = [...total.failures].sort((a, b) => a.index - b.index);
  for (const f of failures.slice(0, MAX_FAILURES_SHOWN)) {
    process.stdout.write(`\nFAIL seed ${seed} case ${f.index} (${f.mutations.join(' + ') || 'no mutation'} of ${f.seedName})\n`);
    for (const v of f.violations) process.stdout.write(`  ${v.property} [${v.stage}] ${v.detail.split('\n').slice(0, 8).join('\n    ')}\n`);
    process.stdout.write(`  input: ${writeCase(seeds, seed, f.index)}\n  reproduce: node bench/fuzz.mjs --seed ${seed} --case ${f.index}\n`);
  }
  if (failures.length > MAX_FAILURES_SHOWN) process.stdout.write(`\n… and ${failures.length - MAX_FAILURES_SHOWN} more failing cases\n`);
  for (const c of crashes) {
    process.stdout.write(`\nCRASH seed ${seed} case ${c.index}: the process died (${c.how})\n  ${c.stderr.split('\n').join('\n  ')}\n`);
    if (Number.isInteger(c.index)) process.stdout.write(`  input: ${writeCase(seeds, seed, c.index)}\n  reproduce: node bench/fuzz.mjs --seed ${seed} --case ${c.index}\n`);
  }
}

/** --case I: one case, in this process, in detail. */
async function runSingle(seed, index) {
  const lib = await loadLibrary();
  const seeds = loadSeeds();
  const fuzzCase = makeCase(seeds, seed, index);
  const result = runCase(lib, loadHosts(lib), fuzzCase, { timing: true, clock: cpuClock });
  const file = writeCase(seeds, seed, index);
  process.stdout.write(
    [
      `seed ${seed} case ${index}: ${fuzzCase.mutations.join(' + ') || 'no mutation'} of ${fuzzCase.seedName} (host #${fuzzCase.host}, driver ${fuzzCase.driver})`,
      `input: ${file} (${caseBytes(fuzzCase).length} bytes)`,
      `outcome: ${result.outcome}, ${result.elapsedMs.toFixed(1)} ms CPU`,
      ...result.knownViolations.map((v) => `known: ${v.property} [${v.stage}] ${v.detail}`),
      ...result.violations.map((v) => `VIOLATION ${v.property} [${v.stage}] ${v.detail}`),
      '',
    ].join('\n'),
  );
  return result.violations.length ? 1 : 0;
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.single !== undefined) {
    if (!options.seedGiven) {
      process.stderr.write(`--case needs the --seed of the run it came from\n\n${USAGE}`);
      return 2;
    }
    return runSingle(options.seed, options.single);
  }
  process.stdout.write(`virt-pin fuzz: seed ${options.seed}, ${options.cases} cases (reproduce with --seed ${options.seed})\n`);
  const run = await runChildren(options);
  report(run, options.seed);
  reportFailures(run, options.seed);
  return run.total.failures.length || run.crashes.length || run.total.cases !== options.cases ? 1 : 0;
}

if (process.argv[2] === '--child') {
  process.once('message', (m) => {
    child(m).catch((e) => {
      process.stderr.write(`${e.stack ?? e}\n`);
      process.exit(3);
    });
  });
} else {
  process.exitCode = await main();
}
