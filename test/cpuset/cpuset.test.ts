import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CpuSet, MAX_CPUSET_ID } from '../../src/cpuset/index.js';

const fromBits = (bits: readonly boolean[]): CpuSet => CpuSet.fromIds(bits.flatMap((b, i) => (b ? [i] : [])));
const bitsArb = fc.array(fc.boolean(), { maxLength: 80 });

describe('CpuSet algebra', () => {
  it('builds from ids, ranges and ranges out of order', () => {
    expect(CpuSet.of(3, 1, 2, 7).toString()).toBe('1-3,7');
    expect(CpuSet.range(4, 2).isEmpty()).toBe(true);
    expect(CpuSet.fromRanges([[8, 11], [0, 3], [4, 5]]).toString()).toBe('0-5,8-11');
    expect(CpuSet.of(1, 2).size).toBe(2);
    expect(CpuSet.of(5, 9).min()).toBe(5);
    expect(CpuSet.of(5, 9).max()).toBe(9);
    expect(CpuSet.empty().min()).toBeUndefined();
  });

  it('refuses ids outside 0..16383', () => {
    expect(() => CpuSet.of(-1)).toThrow(/outside/);
    expect(() => CpuSet.of(MAX_CPUSET_ID + 1)).toThrow(/outside/);
    expect(() => CpuSet.of(1.5)).toThrow(/outside/);
  });

  it('union, intersect, difference agree with plain sets (property)', () => {
    fc.assert(
      fc.property(bitsArb, bitsArb, (a, b) => {
        const A = fromBits(a);
        const B = fromBits(b);
        const sa = new Set(A.ids());
        const sb = new Set(B.ids());
        const sorted = (s: Iterable<number>) => [...s].sort((x, y) => x - y);
        expect(A.union(B).ids()).toEqual(sorted(new Set([...sa, ...sb])));
        expect(A.intersect(B).ids()).toEqual(sorted([...sa].filter((x) => sb.has(x))));
        expect(A.difference(B).ids()).toEqual(sorted([...sa].filter((x) => !sb.has(x))));
        expect(A.isSubsetOf(B)).toBe([...sa].every((x) => sb.has(x)));
        expect(A.equals(B)).toBe(A.toString() === B.toString());
        for (let i = 0; i < 82; i++) expect(A.has(i)).toBe(sa.has(i));
        expect(A.size).toBe(sa.size);
      }),
      { numRuns: 400 },
    );
  });

  it('round-trips through kernel hex masks', () => {
    expect(CpuSet.of(0, 1, 2, 3).toMaskHex()).toBe('f');
    expect(CpuSet.range(0, 39).toMaskHex()).toBe('ff,ffffffff');
    expect(CpuSet.of(32).toMaskHex()).toBe('1,00000000');
    expect(CpuSet.fromMaskHex('ff,ffffffff').toString()).toBe('0-39');
    expect(CpuSet.fromMaskHex('00000000,00000f00\n').toString()).toBe('8-11');
    expect(CpuSet.empty().toMaskHex()).toBe('0');
    expect(() => CpuSet.fromMaskHex('xyz')).toThrow(/hexadecimal/);
    fc.assert(
      fc.property(bitsArb, (a) => {
        const A = fromBits(a);
        expect(CpuSet.fromMaskHex(A.toMaskHex()).equals(A)).toBe(true);
      }),
    );
  });

  it('serializes to the canonical string in JSON and truncates to a maximum', () => {
    expect(JSON.stringify({ cpus: CpuSet.of(0, 1, 4) })).toBe('{"cpus":"0-1,4"}');
    expect(CpuSet.range(0, 15).truncate(7).toString()).toBe('0-7');
    expect(CpuSet.range(0, 15).truncate(-1).isEmpty()).toBe(true);
  });

  it('handles the whole id space as one range cheaply', () => {
    const all = CpuSet.range(0, MAX_CPUSET_ID);
    expect(all.size).toBe(16384);
    expect(all.difference(CpuSet.of(7)).toString()).toBe('0-6,8-16383');
  });
});
