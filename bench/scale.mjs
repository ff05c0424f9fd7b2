// Scale: N vCPUs with a <vcpupin> each and N/16 IOThreads with an
// <iothreadpin> each, checked (checkDocument) and checked + resolved
// (checkDocument then resolveDocument, each parsing) against a 512-CPU host,
// in one process. Every size runs in every round (rotating order) for the
// table; the 4096/1024 factor is taken per round from rounds of those two
// sizes only (with the parse alone and fast-xml-parser beside them), so that
// the samples of a pair shared the machine's load and no 16,384-vCPU heap's
// collection lands on them. A sample repeats the call until ~8,000 vCPUs were
// processed (one call from 4,096 vCPUs up) and reports CPU and wall time
// per call. No GC is forced between samples: a forced full collection
// drops the hidden classes no live object uses, and with them the type
// feedback of the code that saw them (bench/interleave.mjs), so the next
// sample runs half-cold (a 1-vCPU check took 0.88 ms of CPU after one
// against 0.31 ms without, and 0.68 against 0.23 with --single-threaded-gc,
// so it is not the helper threads' sweeping); the collections the work
// itself causes are part of its time. Used by
// bench/run.mjs; `node --expose-gc bench/scale.mjs [ROUNDS]` prints the
// rows alone.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { stats, verdict } from './interleave.mjs';

export const SCALE_SIZES = [256, 1024, 4096, 16384];
/** Issue 15: 4096 vCPUs take at most 4.2× the time of 1024, and check takes at most 12 µs per vCPU. */
export const SCALE_FACTOR_TARGET = 4.2;
export const CHECK_US_TARGET = 12;

export function syntheticDomain(n) {
  const pins = Array.from({ length: n }, (_, i) => `    <vcpupin vcpu='${i}' cpuset='${i % 512}'/>`).join('\n');
  const io = Math.max(1, n / 16);
  const iopins = Array.from({ length: io }, (_, i) => `    <iothreadpin iothread='${i + 1}' cpuset='${i % 512}'/>`).join('\n');
  return `<domain type='kvm'>\n  <name>big</name>\n  <memory>1048576</memory>\n  <vcpu placement='static'>${n}</vcpu>\n  <iothreads>${io}</iothreads>\n  <cputune>\n${pins}\n${iopins}\n  </cputune>\n</domain>\n`;
}

/** A list of samples all equal to `x`: the baseline of a per-round verdict against a fixed budget. */
const constant = (x, n) => ({ samples: { cpu: Array(n).fill(x), wall: Array(n).fill(x) } });

/**
 * Returns { rounds, sizes: [{ n, check, both, grownMb, retainedMb, findings, outputKb }], factor: { check, both }, floor, perVcpu }:
 * check/both are { wall, cpu, gc, samples } per call (ms; gc: main-thread GC pauses); factor.* are per-round
 * verdicts of 4096 against 1024 (target SCALE_FACTOR_TARGET); floor.check / floor.parse / floor.fxp are check,
 * the lossless parse alone and the bare fast-xml-parser parse ({ at1024, at4096, factor, factorWall }), timed
 * in interleaved rounds of their own over the 1,024- and 4,096-vCPU documents only; perVcpu is
 * the verdict of check at 4096 against CHECK_US_TARGET µs per vCPU.
 */
export async function scaleRows(lib, { rounds = 9, sizes = SCALE_SIZES } = {}) {
  const host = { onlineCpus: lib.CpuSet.range(0, 511), nodes: [{ id: 0, cpus: lib.CpuSet.range(0, 255) }, { id: 1, cpus: lib.CpuSet.range(256, 511) }] };
  const xml = Object.fromEntries(sizes.map((n) => [n, syntheticDomain(n)]));
  const fns = {};
  for (const n of sizes) {
    fns[`check${n}`] = () => lib.checkDocument(xml[n], { host });
    fns[`both${n}`] = () => {
      lib.checkDocument(xml[n], { host });
      lib.resolveDocument(xml[n], { host });
    };
  }
  // The 4,096/1,024 factor is taken in rounds of these two sizes only: in rounds that also run 16,384 vCPUs, the
  // small samples pay for V8's concurrent marking of that heap (a 1,024-vCPU parse measured 2.5–3 ms instead of
  // ~0.8). Its floor is timed in the same rounds: the lossless parse alone (the first step of check, which no
  // later step can make cheaper) and the bare fast-xml-parser parse of the same two documents.
  const floorFns = {};
  if (sizes.includes(1024) && sizes.includes(4096)) {
    for (const n of [1024, 4096]) {
      floorFns[`check${n}`] = fns[`check${n}`];
      floorFns[`both${n}`] = fns[`both${n}`];
      floorFns[`parse${n}`] = () => lib.parseDocument(xml[n]);
      floorFns[`fxp${n}`] = () => new XMLParser({ ignoreAttributes: false }).parse(xml[n]);
    }
  }
  const reps = (n, vcpus = 8192) => Math.max(1, Math.round(vcpus / n));
  /**
   * A factor-round sample covers 131,072 vCPUs (32 calls at 4,096, ~0.2 s), so that the collections a sample
   * causes average out: with 8,192 per sample the per-round factor spread 2.1–7.2 on a quiet machine, even for
   * fast-xml-parser's linear parse; with 131,072, 3.2–4.7.
   */
  const FACTOR_SAMPLE_VCPUS = 131072;
  // Main-thread GC pauses (perf_hooks 'gc' entries, delivered after the synchronous rounds), attributed to the sample they fell in.
  const pauses = [];
  const observer = new PerformanceObserver((list) => pauses.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  const windows = [];
  const floorWindows = [];
  const sample = (n, fn, name, measured, vcpus) => {
    const k = reps(n, vcpus);
    const c0 = process.cpuUsage();
    const p0 = performance.now();
    for (let i = 0; i < k; i++) fn();
    const p1 = performance.now();
    const c = process.cpuUsage(c0);
    if (measured) (measured === 'floor' ? floorWindows : windows).push({ name, from: p0, to: p1, k });
    return { wall: (p1 - p0) / k, cpu: (c.user + c.system) / 1000 / k };
  };
  /** Main-thread GC pause time per call of each window (ms), by candidate name. */
  const pausesPerCall = (list, keys) => {
    const out = Object.fromEntries(keys.map((k) => [k, []]));
    for (const w of list) out[w.name].push(pauses.filter((p) => p.startTime >= w.from && p.startTime < w.to).reduce((a, p) => a + p.duration, 0) / w.k);
    return out;
  };
  const names = Object.keys(fns);
  const got = Object.fromEntries(names.map((k) => [k, { wall: [], cpu: [] }]));
  // Two warm-up rounds, then `rounds` measured ones.
  for (let r = -2; r < rounds; r++) {
    for (const k of names.map((_, i) => names[(i + Math.max(0, r)) % names.length])) {
      const x = sample(Number(/\d+$/.exec(k)[0]), fns[k], k, r >= 0);
      if (r >= 0) {
        got[k].wall.push(x.wall);
        got[k].cpu.push(x.cpu);
      }
    }
  }
  const floorNames = Object.keys(floorFns);
  const floorGot = Object.fromEntries(floorNames.map((k) => [k, { wall: [], cpu: [] }]));
  const floorRounds = (from, to) => {
    for (let r = from; r < to; r++) {
      for (const k of floorNames.map((_, i) => floorNames[(i + Math.max(0, r)) % floorNames.length])) {
        const x = sample(Number(/\d+$/.exec(k)[0]), floorFns[k], k, r >= 0 && 'floor', FACTOR_SAMPLE_VCPUS);
        if (r >= 0) {
          floorGot[k].wall.push(x.wall);
          floorGot[k].cpu.push(x.cpu);
        }
      }
    }
  };
  const floorRunsNow = () => Object.fromEntries(floorNames.map((k) => [k, { wall: stats(floorGot[k].wall), cpu: stats(floorGot[k].cpu), samples: floorGot[k] }]));
  floorRounds(-2, rounds);
  // A factor still undecided: more rounds (up to 3× in all), as the other rows do, then report the spread.
  for (let more = 1; more < 3 && floorNames.length; more++) {
    const f = floorRunsNow();
    if (verdict(f.check4096, f.check1024, SCALE_FACTOR_TARGET).state !== 'undecided' && verdict(f.both4096, f.both1024, SCALE_FACTOR_TARGET).state !== 'undecided') break;
    floorRounds(more * rounds, (more + 1) * rounds);
  }
  // The 'gc' entries of the last samples arrive after the synchronous rounds.
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  const floorRuns = floorRunsNow();
  const floorGc = pausesPerCall(floorWindows, floorNames);
  for (const k of floorNames) floorRuns[k].gc = stats(floorGc[k]);
  const gcMs = pausesPerCall(windows, names);
  const runs = Object.fromEntries(names.map((k) => [k, { wall: stats(got[k].wall), cpu: stats(got[k].cpu), gc: stats(gcMs[k]), samples: got[k] }]));
  // Heap: what one check + resolve leaves allocated before a collection (its garbage) and after one (what it keeps).
  const heap = (n) => {
    globalThis.gc?.();
    const h0 = process.memoryUsage().heapUsed;
    const kept = [lib.checkDocument(xml[n], { host }), lib.resolveDocument(xml[n], { host })];
    const grown = process.memoryUsage().heapUsed - h0;
    globalThis.gc?.();
    const retained = process.memoryUsage().heapUsed - h0;
    kept.length = 0;
    return { grownMb: grown / 1e6, retainedMb: retained / 1e6 };
  };
  // What check returns: from 1,024 vCPUs up, one PIN_SHARED_SINGLE_CPU per shared host CPU (512) and one EMULATOR_ON_DEDICATED_CPU per IOThread.
  const output = (n) => {
    const found = lib.checkDocument(xml[n], { host });
    return { findings: found.length, outputKb: JSON.stringify(found).length / 1024 };
  };
  const out = { rounds, sizes: sizes.map((n) => ({ n, check: runs[`check${n}`], both: runs[`both${n}`], ...heap(n), ...output(n) })) };
  if (sizes.includes(1024) && sizes.includes(4096)) {
    out.factor = {
      check: verdict(floorRuns.check4096, floorRuns.check1024, SCALE_FACTOR_TARGET),
      both: verdict(floorRuns.both4096, floorRuns.both1024, SCALE_FACTOR_TARGET),
      rounds: floorRuns.check1024.samples.cpu.length,
    };
    out.floor = {
      // Wall too: CPU time is the whole process's, so a short sample also pays for GC helper threads still busy with the previous one's garbage.
      ...Object.fromEntries(
        ['check', 'both', 'parse', 'fxp'].map((b) => {
          const [x, y] = [floorRuns[`${b}1024`], floorRuns[`${b}4096`]];
          // Wall time less main-thread GC pauses, medians: what the factor is with the collector's share taken out.
          const withoutGc = (z) => z.wall.median - z.gc.median;
          return [b, { at1024: x, at4096: y, factor: verdict(y, x, SCALE_FACTOR_TARGET), factorWall: verdict(y, x, SCALE_FACTOR_TARGET, 'wall'), factorWithoutGc: withoutGc(y) / withoutGc(x), gcShare: { at1024: x.gc.median / x.wall.median, at4096: y.gc.median / y.wall.median } }];
        }),
      ),
    };
    out.perVcpu = {
      at4096: verdict(runs.check4096, constant((4096 * CHECK_US_TARGET) / 1000, rounds), 1),
      at1024: verdict(runs.check1024, constant((1024 * CHECK_US_TARGET) / 1000, rounds), 1),
    };
  }
  return out;
}

export { stats };

/**
 * The factors alone, in a child Node started with `nodeFlags` (bench/run.mjs: with a larger young generation,
 * to show how much of the factor is the garbage collector's): { check, both } per-round verdicts.
 */
export function scaleFactorsWith(nodeFlags, rounds = 7) {
  const r = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags, fileURLToPath(import.meta.url), '--factors-json', String(rounds)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/scale.mjs --factors-json with ${nodeFlags.join(' ')}: exit ${r.status}: ${r.stderr.slice(-400)}`);
  return JSON.parse(r.stdout);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === '--factors-json') {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href);
  const r = await scaleRows(lib, { rounds: Number(process.argv[3] ?? 7), sizes: [1024, 4096] });
  process.stdout.write(JSON.stringify({ check: r.factor.check, both: r.factor.both, rounds: r.factor.rounds }));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href);
  const r = await scaleRows(lib, { rounds: Number(process.argv[2] ?? 9) });
  const f = (s) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  for (const s of r.sizes) {
    console.log(`${String(s.n).padStart(5)}: check CPU ${f(s.check.cpu)} ms = ${((s.check.cpu.median / s.n) * 1000).toFixed(1)} µs/vCPU (GC pauses ${s.check.gc.median.toFixed(1)} ms = ${((100 * s.check.gc.median) / s.check.wall.median).toFixed(0)} % of wall); check+resolve CPU ${f(s.both.cpu)} ms = ${((s.both.cpu.median / s.n) * 1000).toFixed(1)} µs/vCPU; heap +${s.grownMb.toFixed(1)} MB (kept ${s.retainedMb.toFixed(1)})`);
  }
  const v = (x) => `${x.state} (per-round ${x.ratio.min.toFixed(2)}–${x.ratio.max.toFixed(2)}, median ${x.ratio.median.toFixed(2)})`;
  console.log(`4096/1024 check: ${v(r.factor.check)}; check+resolve: ${v(r.factor.both)}; check ≤ ${CHECK_US_TARGET} µs/vCPU at 4096: ${v(r.perVcpu.at4096)}; at 1024: ${v(r.perVcpu.at1024)}`);
  const fl = r.floor;
  const g = (x) => `CPU ${f(x.at1024.cpu)} → ${f(x.at4096.cpu)} ms, factor ${v(x.factor)}; wall ${f(x.at1024.wall)} → ${f(x.at4096.wall)} ms, factor ${v(x.factorWall)}; GC pauses ${Math.round(100 * x.gcShare.at1024)} → ${Math.round(100 * x.gcShare.at4096)} % of wall, factor without them ${x.factorWithoutGc.toFixed(2)}`;
  console.log(`floor, 4096/1024 in rounds of their own (1,024 and 4,096 only): check ${g(fl.check)}; check+resolve ${g(fl.both)}; lossless parse alone ${g(fl.parse)}; bare fast-xml-parser ${g(fl.fxp)}`);
  const o = (n) => r.sizes.find((x) => x.n === n);
  console.log(`check's output: ${o(1024).findings} findings (${o(1024).outputKb.toFixed(0)} KB JSON) at 1024, ${o(4096).findings} (${o(4096).outputKb.toFixed(0)} KB) at 4096: ${(o(4096).findings / o(1024).findings).toFixed(2)}× the findings for 4× the vCPUs`);
}
