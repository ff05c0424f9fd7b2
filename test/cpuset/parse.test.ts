import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CpuSet, CpuSetError, MAX_CPUSET_ID, parseCpuSet, parseKernelCpuList, tryParseCpuSet } from '../../src/cpuset/index.js';

const canon = (s: string): string => parseCpuSet(s).toString();

describe('libvirt cpuset grammar (spec §2.1)', () => {
  it.each([
    ['0', '0'],
    ['0-3', '0-3'],
    ['0,1', '0-1'],
    ['0-5,^3', '0-2,4-5'],
    ['^3,0-5', '0-5'],
    ['1,2,', '1-2'],
    ['1,2, ', '1-2'],
    [' \t0 - 3 ,\n5', '0-3,5'],
    ['2-+5', '2-5'],
    ['0--0', '0'],
    ['3-3', '3'],
    ['007', '7'],
    ['0-16383', '0-16383'],
    ['^0', ''],
    ['0,^0', ''],
    ['8-11,0-3,4-7', '0-11'],
    ['0-7,^2,^3,^9', '0-1,4-7'],
  ])('%j → %j', (input, expected) => {
    expect(canon(input)).toBe(expected);
  });

  it.each([
    ['', 'CPUSET_EMPTY', 0],
    ['   ', 'CPUSET_EMPTY', 0],
    [',1', 'CPUSET_SYNTAX', 0],
    ['1,,2', 'CPUSET_SYNTAX', 2],
    ['1 2', 'CPUSET_SYNTAX', 2],
    ['0-3 ^2', 'CPUSET_SYNTAX', 4],
    ['^ 3', 'CPUSET_SYNTAX', 1],
    ['^2-3', 'CPUSET_EXCLUDE_RANGE', 2],
    ['3-1', 'CPUSET_RANGE_REVERSED', 2],
    ['3--1', 'CPUSET_RANGE_REVERSED', 2],
    ['1-', 'CPUSET_SYNTAX', 2],
    ['16384', 'CPUSET_ID_TOO_LARGE', 0],
    ['0-16384', 'CPUSET_ID_TOO_LARGE', 2],
    ['0-4294967295', 'CPUSET_ID_TOO_LARGE', 2],
    ['^16384', 'CPUSET_ID_TOO_LARGE', 1],
    ['-1', 'CPUSET_SYNTAX', 0],
    ['+1', 'CPUSET_SYNTAX', 0],
    ['0x3', 'CPUSET_SYNTAX', 1],
    ['a', 'CPUSET_SYNTAX', 0],
  ])('%j is refused with %s at %i', (input, code, position) => {
    const r = tryParseCpuSet(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.position).toBe(position);
      expect(r.message.length).toBeGreaterThan(5);
    }
  });

  it('throws a typed CpuSetError with code, position and hint', () => {
    try {
      parseCpuSet('0-3,x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CpuSetError);
      const err = e as CpuSetError;
      expect(err.code).toBe('CPUSET_SYNTAX');
      expect(err.position).toBe(4);
      expect(err.hint).toMatch(/N-M/);
    }
  });

  it('refuses a 100,000-digit number quickly without building a huge set', () => {
    const r = tryParseCpuSet('1'.repeat(100_000));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('CPUSET_ID_TOO_LARGE');
  });

  it('canonical output parses back to the same set (property)', () => {
    const item = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map((n) => `${n}`),
      fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 })).map(([a, d]) => `${a}-${a + d}`),
      fc.integer({ min: 0, max: 300 }).map((n) => `^${n}`),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), (items) => {
        const set = parseCpuSet(items.join(','));
        // reference semantics: apply items left to right on a boolean array
        const ref = new Set<number>();
        for (const it of items) {
          if (it.startsWith('^')) ref.delete(Number(it.slice(1)));
          else {
            const [a, b] = it.split('-').map(Number);
            for (let i = a!; i <= (b ?? a!); i++) ref.add(i);
          }
        }
        expect(set.ids()).toEqual([...ref].sort((x, y) => x - y));
        if (!set.isEmpty()) expect(parseCpuSet(set.toString()).equals(set)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('kernel cpulist format', () => {
  it('parses sysfs lists including the empty line', () => {
    expect(parseKernelCpuList('0-3,8-11\n').toString()).toBe('0-3,8-11');
    expect(parseKernelCpuList('\n').isEmpty()).toBe(true);
    expect(parseKernelCpuList('').isEmpty()).toBe(true);
    expect(parseKernelCpuList('5').ids()).toEqual([5]);
  });
  it('refuses what the kernel never prints', () => {
    expect(() => parseKernelCpuList('0-3 ')).toThrow(CpuSetError);
    expect(() => parseKernelCpuList('^1')).toThrow(/kernel cpulist/);
    expect(() => parseKernelCpuList('0-99999999')).toThrow(/above/);
    expect(() => parseKernelCpuList('3-1')).toThrow(/ends before/);
  });
  it(`keeps ids up to ${MAX_CPUSET_ID}`, () => {
    expect(parseKernelCpuList(`0-${MAX_CPUSET_ID}`).size).toBe(MAX_CPUSET_ID + 1);
  });
});
