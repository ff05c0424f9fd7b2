/**
 * An immutable set of small non-negative integers (host CPUs, vCPU ids,
 * IOThread ids, NUMA nodes), stored as sorted, disjoint, non-adjacent
 * inclusive ranges. Ranges keep `0-16383` and `0-4095,^7` cheap, and make
 * libvirt's canonical form (§2.3 of the spec) a direct read-out.
 */
import { VirtPinError } from '../errors.js';

/** Largest id libvirt accepts in any list (`VIR_DOMAIN_CPUMASK_LEN` − 1). */
export const MAX_CPUSET_ID = 16383;

/** An inclusive range `[first, last]`. */
export type CpuRange = readonly [first: number, last: number];

/**
 * A set's own ranges, not copied: for CpuBitmap in this file only, which reads
 * them for every vCPU (ranges() copies them for callers outside).
 */
let rangesOf: (set: CpuSet) => readonly CpuRange[];

/**
 * An immutable set of CPU (or NUMA node) ids 0..16383 kept as sorted
 * ranges; `toString()` is libvirt's canonical cpuset (`0-3,8`).
 */
export class CpuSet implements Iterable<number> {
  /** Sorted, disjoint, non-adjacent inclusive ranges. */
  readonly #ranges: readonly CpuRange[];
  #size = -1;
  #text: string | undefined;

  private constructor(ranges: readonly CpuRange[]) {
    this.#ranges = ranges;
  }

  static {
    rangesOf = (set) => set.#ranges;
  }

  static empty(): CpuSet {
    return EMPTY;
  }

  static of(...ids: number[]): CpuSet {
    return CpuSet.fromIds(ids);
  }

  /** `first..last` inclusive; empty when last < first. */
  static range(first: number, last: number): CpuSet {
    checkId(first);
    checkId(last);
    return last < first ? EMPTY : new CpuSet([[first, last]]);
  }

  /**
   * The set of one id. Sets are immutable, so small ones are shared: a domain
   * with thousands of single-CPU pins keeps one object per distinct CPU
   * instead of one per pin (less for the young-generation GC to copy).
   */
  static single(id: number): CpuSet {
    if (id >= 0 && id < SINGLE_CACHE_SIZE && Number.isInteger(id)) return (SINGLES[id] ??= new CpuSet([[id, id]]));
    return CpuSet.range(id, id);
  }

  static fromIds(ids: Iterable<number>): CpuSet {
    const sorted = [...ids];
    for (const id of sorted) checkId(id);
    sorted.sort((a, b) => a - b);
    return new CpuSet(mergeSorted(sorted.map((id) => [id, id] as const)));
  }

  /** From ranges already sorted, disjoint and in range (merging only adjacent ones); for CpuBitmap. */
  static fromSortedRanges(ranges: CpuRange[]): CpuSet {
    return ranges.length === 0 ? EMPTY : new CpuSet(mergeSorted(ranges));
  }

  /** From ranges in any order, possibly overlapping. */
  static fromRanges(ranges: Iterable<CpuRange>): CpuSet {
    const list: CpuRange[] = [];
    for (const [a, b] of ranges) {
      checkId(a);
      checkId(b);
      if (b >= a) list.push([a, b]);
    }
    list.sort((x, y) => x[0] - y[0]);
    return new CpuSet(mergeSorted(list));
  }

  /**
   * From a kernel hex mask as in `/proc/irq/N/smp_affinity` or
   * `Cpus_allowed` (`ff,ffffffff`; commas separate 32-bit words).
   */
  static fromMaskHex(mask: string): CpuSet {
    const hex = mask.trim().replace(/,/g, '').replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]+$/.test(hex)) {
      throw new VirtPinError('CPUSET_BAD_MASK', `'${mask}' is not a hexadecimal CPU mask`);
    }
    const ranges: CpuRange[] = [];
    let start = -1;
    let bit = 0;
    for (let i = hex.length - 1; i >= 0; i--) {
      const nibble = parseInt(hex[i]!, 16);
      for (let b = 0; b < 4; b++, bit++) {
        const set = (nibble & (1 << b)) !== 0;
        if (set && start < 0) start = bit;
        if (!set && start >= 0) {
          ranges.push([start, bit - 1]);
          start = -1;
        }
      }
    }
    if (start >= 0) ranges.push([start, bit - 1]);
    const last = ranges.at(-1);
    if (last && last[1] > MAX_CPUSET_ID) {
      throw new VirtPinError('CPUSET_ID_TOO_LARGE', `mask '${mask}' names CPU ${last[1]}, above ${MAX_CPUSET_ID}`);
    }
    return new CpuSet(ranges);
  }

  get size(): number {
    if (this.#size < 0) this.#size = this.#ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
    return this.#size;
  }

  isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  has(id: number): boolean {
    let lo = 0;
    let hi = this.#ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = this.#ranges[mid]!;
      if (id < a) hi = mid - 1;
      else if (id > b) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Smallest member, or undefined when empty. */
  min(): number | undefined {
    return this.#ranges[0]?.[0];
  }

  /** Largest member, or undefined when empty. */
  max(): number | undefined {
    return this.#ranges.at(-1)?.[1];
  }

  ranges(): CpuRange[] {
    return this.#ranges.map(([a, b]) => [a, b] as const);
  }

  ids(): number[] {
    return [...this];
  }

  *[Symbol.iterator](): Iterator<number> {
    for (const [a, b] of this.#ranges) for (let i = a; i <= b; i++) yield i;
  }

  union(other: CpuSet): CpuSet {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    // Both lists are sorted: merge them in one pass instead of sorting their concatenation.
    const a = this.#ranges;
    const b = other.#ranges;
    const all: CpuRange[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) all.push(j >= b.length || (i < a.length && a[i]![0] <= b[j]![0]) ? a[i++]! : b[j++]!);
    return new CpuSet(mergeSorted(all));
  }

  intersect(other: CpuSet): CpuSet {
    const out: CpuRange[] = [];
    const a = this.#ranges;
    const b = other.#ranges;
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const [a0, a1] = a[i]!;
      const [b0, b1] = b[j]!;
      const lo = Math.max(a0, b0);
      const hi = Math.min(a1, b1);
      if (lo <= hi) out.push([lo, hi]);
      if (a1 < b1) i++;
      else j++;
    }
    return out.length === 0 ? EMPTY : new CpuSet(out);
  }

  difference(other: CpuSet): CpuSet {
    if (other.isEmpty() || this.isEmpty()) return this;
    const out: CpuRange[] = [];
    const b = other.#ranges;
    let j = 0;
    for (const [a0, a1] of this.#ranges) {
      let start = a0;
      while (j < b.length && b[j]![1] < start) j++;
      let k = j;
      while (k < b.length && b[k]![0] <= a1) {
        const [b0, b1] = b[k]!;
        if (b0 > start) out.push([start, b0 - 1]);
        start = Math.max(start, b1 + 1);
        if (start > a1) break;
        k++;
      }
      if (start <= a1) out.push([start, a1]);
    }
    return out.length === 0 ? EMPTY : new CpuSet(out);
  }

  equals(other: CpuSet): boolean {
    if (this.#ranges.length !== other.#ranges.length) return false;
    return this.#ranges.every(([a, b], i) => other.#ranges[i]![0] === a && other.#ranges[i]![1] === b);
  }

  isSubsetOf(other: CpuSet): boolean {
    return this.difference(other).isEmpty();
  }

  intersects(other: CpuSet): boolean {
    return !this.intersect(other).isEmpty();
  }

  /** Members ≤ `last` (libvirt truncates lists to a maximum this way). */
  truncate(last: number): CpuSet {
    return last < 0 ? EMPTY : this.intersect(CpuSet.range(0, Math.min(last, MAX_CPUSET_ID)));
  }

  /** libvirt's canonical form (virBitmapFormat): `0-2,4`; the empty set prints as ''. */
  toString(): string {
    // Kept: one set is often printed once per vCPU that inherits it (JSON, plans).
    this.#text ??= this.#ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
    return this.#text;
  }

  /** The canonical string, so JSON.stringify writes `"0-3"`. */
  toJSON(): string {
    return this.toString();
  }

  /**
   * `CpuSet [0-3,8]` in console.log and util.inspect instead of an empty
   * object (the ranges live in a private field). Node finds the method
   * through this registered symbol, so the pure core needs no node:util.
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `CpuSet [${this.toString()}]`;
  }

  /** Kernel hex mask with 32-bit comma-separated words, as /proc/irq/N/smp_affinity prints it. */
  toMaskHex(): string {
    const top = this.max();
    if (top === undefined) return '0';
    const words = new Uint32Array(Math.floor(top / 32) + 1);
    for (const [a, b] of this.#ranges) {
      for (let i = a; i <= b; i++) words[i >>> 5]! |= 1 << (i & 31);
    }
    const parts: string[] = [];
    for (let w = words.length - 1; w >= 0; w--) {
      const hex = (words[w]! >>> 0).toString(16);
      parts.push(w === words.length - 1 ? hex : hex.padStart(8, '0'));
    }
    return parts.join(',');
  }
}

const EMPTY: CpuSet = CpuSet.fromRanges([]);
/** Ids below this get a shared single-id set from CpuSet.single (at most ~300 kB kept). */
const SINGLE_CACHE_SIZE = 4096;
const SINGLES: (CpuSet | undefined)[] = [];

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_CPUSET_ID) {
    throw new VirtPinError('CPUSET_ID_TOO_LARGE', `CPU id ${id} is outside 0..${MAX_CPUSET_ID}`);
  }
}

/** Merge ranges sorted by start into disjoint, non-adjacent ones. */
function mergeSorted(sorted: readonly CpuRange[]): CpuRange[] {
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

const WORDS = (MAX_CPUSET_ID + 1) / 32;

/** Shared, never written: the state of a bitmap nothing was added to. */
const EMPTY_WORDS = new Uint32Array(WORDS);
const EMPTY_SUMMARY = new Uint32Array(WORDS / 32);
const FULL_SUMMARY = new Uint32Array(WORDS / 32).fill(0xffffffff);

/** Set bits a..b (inclusive) of a bitmap stored in 32-bit words; whole words with one fill. */
function fillBits(w: Uint32Array, a: number, b: number): void {
  const wa = a >>> 5;
  const wb = b >>> 5;
  const low = (0xffffffff << (a & 31)) >>> 0;
  const high = (b & 31) === 31 ? 0xffffffff : (2 ** ((b & 31) + 1) - 1) >>> 0;
  if (wa === wb) {
    w[wa]! |= low & high;
    return;
  }
  w[wa]! |= low;
  if (wb > wa + 1) w.fill(0xffffffff, wa + 1, wb);
  w[wb]! |= high;
}

/** Lowest set bit at or above `from` within `w`'s words, or -1. */
function nextBit(w: Uint32Array, from: number): number {
  for (let word = from >>> 5; word < w.length; word++) {
    let bits = w[word]!;
    if (word === from >>> 5) bits = (bits >>> (from & 31)) << (from & 31);
    if (bits !== 0) return (word << 5) + (31 - Math.clz32(bits & -bits));
  }
  return -1;
}

/**
 * A mutable set over 0..MAX_CPUSET_ID kept as a 16,384-bit bitmap, for
 * accumulating many CpuSets (every guest NUMA cell, every sched group) in
 * time proportional to their ranges, never to their ids: a chain of
 * immutable unions costs O(ranges so far) per step, and expanding ids costs
 * 16,384 steps per `0-16383`. Two 512-bit summaries (word has any bit /
 * word is full) let searches skip 32 words at a time, so even a full-width
 * range costs a few dozen word operations.
 */
export class CpuBitmap {
  // Allocated on the first add: most documents never put anything in most bitmaps.
  #words = EMPTY_WORDS;
  #anySet = EMPTY_SUMMARY;
  #allSet = EMPTY_SUMMARY;
  /** Complement of #allSet, kept so "next word with a clear bit" is a nextBit search too. */
  #notFull = FULL_SUMMARY;

  /** Add every member of `set`. */
  add(set: CpuSet): void {
    for (const [a, b] of rangesOf(set)) this.#fill(a, b);
  }

  /** Add a..b (inclusive; both within 0..MAX_CPUSET_ID). */
  addRange(a: number, b: number): void {
    this.#fill(a, b);
  }

  /** Append to `out` the runs of a..b not yet in this bitmap, in order. */
  missingIn(a: number, b: number, out: CpuRange[]): void {
    this.#runsIn(a, b, false, out);
  }

  /** The members of `set` already in this bitmap. */
  overlap(set: CpuSet): CpuSet {
    return CpuSet.fromSortedRanges(this.#runs(set, true));
  }

  /** The members of `set` not yet in this bitmap. */
  missing(set: CpuSet): CpuSet {
    return CpuSet.fromSortedRanges(this.#runs(set, false));
  }

  /** Whether any member of `set` is in this bitmap. */
  overlaps(set: CpuSet): boolean {
    for (const [a, b] of rangesOf(set)) if (this.#next(a, b, true) !== -1) return true;
    return false;
  }

  toSet(): CpuSet {
    return this.overlap(CpuSet.range(0, MAX_CPUSET_ID));
  }

  #fill(a: number, b: number): void {
    if (this.#words === EMPTY_WORDS) {
      this.#words = new Uint32Array(WORDS);
      this.#anySet = new Uint32Array(WORDS / 32);
      this.#allSet = new Uint32Array(WORDS / 32);
      this.#notFull = new Uint32Array(WORDS / 32).fill(0xffffffff);
    }
    const w = this.#words;
    fillBits(w, a, b);
    const wa = a >>> 5;
    const wb = b >>> 5;
    fillBits(this.#anySet, wa, wb);
    for (const edge of wa === wb ? [wa] : [wa, wb]) {
      if (w[edge] === 0xffffffff) this.#markFull(edge, edge);
    }
    if (wb > wa + 1) this.#markFull(wa + 1, wb - 1);
  }

  #markFull(wa: number, wb: number): void {
    fillBits(this.#allSet, wa, wb);
    for (let k = wa >>> 5; k <= wb >>> 5; k++) this.#notFull[k] = ~this.#allSet[k]! >>> 0;
  }

  /** First id in [a, b] whose bit equals `want`, or -1; skips runs of empty (or full) words via the summaries. */
  #next(a: number, b: number, want: boolean): number {
    const w = this.#words;
    const summary = want ? this.#anySet : this.#notFull;
    let i = a;
    while (i <= b) {
      const word = i >>> 5;
      let bits = want ? w[word]! : ~w[word]! >>> 0;
      bits = (bits >>> (i & 31)) << (i & 31);
      if (bits !== 0) {
        const found = (word << 5) + (31 - Math.clz32(bits & -bits));
        return found <= b ? found : -1;
      }
      const nextWord = nextBit(summary, word + 1);
      if (nextWord === -1) return -1;
      i = nextWord << 5;
    }
    return -1;
  }

  #runs(set: CpuSet, want: boolean): CpuRange[] {
    const out: CpuRange[] = [];
    for (const [a, b] of rangesOf(set)) this.#runsIn(a, b, want, out);
    return out;
  }

  #runsIn(a: number, b: number, want: boolean, out: CpuRange[]): void {
    for (let i = this.#next(a, b, want); i !== -1; ) {
      const end = this.#next(i, b, !want);
      const last = end === -1 ? b : end - 1;
      out.push([i, last]);
      i = last + 1 > b ? -1 : this.#next(last + 1, b, want);
    }
  }
}
