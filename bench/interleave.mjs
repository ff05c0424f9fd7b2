// Interleaved measurement: candidates and their baseline run in turn, round
// after round, in one process, so that load from other work on the machine
// falls on all of them alike. Each sample records wall and CPU time
// (process.cpuUsage: user + system of this process, which is what a
// single-threaded pass costs whatever else the machine does).

/** Median and range of a list of numbers. */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], n: s.length };
}

function sample(fn) {
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - w0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/**
 * Run `fns` (name → function) interleaved for `rounds` rounds after one
 * warm-up round. Before each sample a young-generation GC (with --expose-gc)
 * clears what the previous candidate left in the nursery, so that its
 * garbage is not collected on the next one's clock.
 *
 * Not a full GC by default. In a full collection requested by a test
 * (plain `gc()`), V8 does not keep hidden classes that no live object uses
 * (its incremental marker's map retaining is off for those, and
 * --retain-maps-for-n-gc does not change it). Every class a pass created dies
 * with its objects, and with them the type feedback and the optimized code of
 * each function that saw them (--trace-deopt: "weak objects", then
 * "insufficient type feedback"), so each sample after one re-warms the JIT.
 * Measured: the lossless parse of the corpus took 195 ms of CPU that way
 * against 60 ms warm, fast-xml-parser's bare parse 388 against 264. A caller
 * parsing steadily is never in that state: over 30 passes with V8's own full
 * collections, --trace-deopt marked no code. `{ fullGc: true }` measures it
 * anyway, for a row of its own.
 */
export function interleave(fns, rounds, { fullGc = false } = {}) {
  const names = Object.keys(fns);
  const out = Object.fromEntries(names.map((k) => [k, { wall: [], cpu: [] }]));
  const collect = globalThis.gc ? (fullGc ? () => globalThis.gc() : () => globalThis.gc({ type: 'minor' })) : () => {};
  for (let r = -1; r < rounds; r++) {
    // Rotate the order each round: no candidate always runs right after another's garbage.
    const order = names.map((_, i) => names[(i + Math.max(0, r)) % names.length]);
    for (const k of order) {
      collect();
      const s = sample(fns[k]);
      if (r >= 0) {
        out[k].wall.push(s.wall);
        out[k].cpu.push(s.cpu);
      }
    }
  }
  return Object.fromEntries(names.map((k) => [k, { wall: stats(out[k].wall), cpu: stats(out[k].cpu), samples: out[k] }]));
}

/**
 * Per-round ratios of `a` to `b` (CPU time), and a verdict against `target`
 * (ratio ≤ target) that does not flip on noise: 'met' when at least 3/4 of
 * the rounds meet it, 'not met' when at most 1/4 do, else 'undecided' with
 * the spread. The caller may add rounds and ask again.
 */
export function verdict(a, b, target, key = 'cpu') {
  const ratios = a.samples[key].map((x, i) => x / b.samples[key][i]);
  const r = stats(ratios);
  const meeting = ratios.filter((x) => x <= target).length / ratios.length;
  const state = meeting >= 0.75 ? 'met' : meeting <= 0.25 ? 'not met' : 'undecided';
  return { state, ratio: r, meeting };
}

/**
 * Appends the samples of `more` (a later interleave() result, or any object of
 * such entries) to `into` and recomputes their stats: more rounds for a
 * verdict still undecided. Entries without samples are left alone.
 */
export function addRounds(into, more) {
  for (const k of Object.keys(into)) {
    if (!into[k]?.samples || !more[k]?.samples) continue;
    for (const key of ['wall', 'cpu']) {
      into[k].samples[key].push(...more[k].samples[key]);
      into[k][key] = stats(into[k].samples[key]);
    }
  }
  if (typeof into.rounds === 'number' && typeof more.rounds === 'number') into.rounds += more.rounds;
  return into;
}
