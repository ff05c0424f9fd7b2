// Where check's worker pool starts to pay: `check --jobs 1` against
// `check --jobs 2` over the first N files of the vendored libvirt corpus,
// interleaved, wall and CPU time (user + system of the whole process, all
// threads, reported by the child on exit as in bench/coldstart.mjs).
//
//   node bench/pool-threshold.mjs [ROUNDS] [N…]      (default 5 rounds; 50 200 400 1000 all)
//
// The break-even in wall time depends on idle cores: on a busy machine the
// pool never wins. POOL_MIN_FILES in src/cli/commands/check-pool.ts comes
// from the per-file and per-pool CPU costs this prints.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.cjs');
const [roundsArg, ...sizesArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 5);
const corpus = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile() && e.name.endsWith('.xml')) corpus.push(p);
  }
};
walk(join(root, 'fixtures', 'libvirt'));
const sizes = (sizesArg.length ? sizesArg : ['50', '200', '400', '1000', 'all']).map((s) => (s === 'all' ? corpus.length : Math.min(Number(s), corpus.length)));

const work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vp-pool-'));
const reporter = join(work, 'cpu-reporter.cjs');
writeFileSync(reporter, "process.on('exit', () => { const u = process.cpuUsage(); try { require('fs').writeSync(3, `${u.user + u.system}\\n`); } catch {} });\n");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const run = (args) => {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', reporter, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`check exited ${r.status}: ${r.stderr.slice(-400)}`);
  return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: Number(r.output[3]) / 1000, out: r.stdout };
};
try {
  console.log(`${rounds} interleaved rounds; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores; ms medians`);
  console.log('| files | --jobs 1 wall | --jobs 2 wall | --jobs 1 CPU | --jobs 2 CPU |');
  console.log('|---|---|---|---|---|');
  for (const n of sizes) {
    const dir = join(work, String(n));
    mkdirSync(dir);
    corpus.slice(0, n).forEach((f, i) => copyFileSync(f, join(dir, `${String(i).padStart(5, '0')}.xml`)));
    const t = { 1: { wall: [], cpu: [] }, 2: { wall: [], cpu: [] } };
    for (let i = 0; i < rounds; i++) {
      const outs = [];
      for (const jobs of [1, 2]) {
        const r = run(['check', '--format', 'json', '--jobs', String(jobs), dir]);
        t[jobs].wall.push(r.wall);
        t[jobs].cpu.push(r.cpu);
        outs.push(r.out);
      }
      if (outs[0] !== outs[1]) throw new Error(`${n} files: the pool's output differs from one thread's`);
    }
    const f = (x) => median(x).toFixed(0);
    console.log(`| ${n} | ${f(t[1].wall)} | ${f(t[2].wall)} | ${f(t[1].cpu)} | ${f(t[2].cpu)} |`);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

