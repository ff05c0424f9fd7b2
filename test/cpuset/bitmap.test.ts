import { expect, it } from 'vitest';
import { CpuBitmap, CpuSet } from '../../src/cpuset/cpuset.js';
it('CpuBitmap (the accumulator behind the guest-NUMA, sched and cell checks) agrees with CpuSet algebra on random sets', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const fixed = [[0, 16383], [31, 32], [32, 63], [16352, 16383], [0, 0], [16383, 16383], [1000, 15000]].map(([a, b]) => CpuSet.range(a!, b!));
  const randomSet = () => {
    if (rnd(4) === 0) return fixed[rnd(fixed.length)]!;
    const r: [number, number][] = [];
    for (let k = rnd(6); k >= 0; k--) { const a = rnd(16384); r.push([a, Math.min(16383, a + rnd(rnd(2) ? 3000 : 40))]); }
    return CpuSet.fromRanges(r);
  };
  for (let t = 0; t < 300; t++) {
    const b = new CpuBitmap();
    let u = CpuSet.empty();
    for (let k = rnd(8); k >= 0; k--) {
      const s = randomSet();
      expect(b.overlap(s).toString()).toBe(u.intersect(s).toString());
      expect(b.missing(s).toString()).toBe(s.difference(u).toString());
      expect(b.overlaps(s)).toBe(u.intersects(s));
      b.add(s);
      u = u.union(s);
      expect(b.toSet().toString()).toBe(u.toString());
    }
  }
});
