/**
 * libvirt's list grammar (virBitmapParseInternal, spec §2.1) and the
 * kernel's cpulist format (sysfs). Both parsers are linear, allocate only
 * the resulting ranges, and refuse ids above MAX_CPUSET_ID before building
 * anything, so `0-4294967295` costs nothing.
 */
import { VirtPinError } from '../errors.js';
import type { ErrorCode } from '../codes.js';
import { CpuBitmap, CpuSet, MAX_CPUSET_ID, type CpuRange } from './cpuset.js';

/** Why a cpuset was refused (the `CPUSET_` codes of src/codes.ts, but for CPUSET_BAD_MASK, which only CpuSet.fromMaskHex throws). */
export type CpuSetErrorCode = Exclude<Extract<ErrorCode, `CPUSET_${string}`>, 'CPUSET_BAD_MASK'>;

/** Why a list was refused; `position` is the 0-based index of the offending character in the input. */
export interface CpuSetParseError {
  code: CpuSetErrorCode;
  message: string;
  position: number;
}

export type CpuSetParseResult = { ok: true; set: CpuSet } | ({ ok: false } & CpuSetParseError);

/** The error thrown by `parseCpuSet`; `position` indexes the input string. */
export class CpuSetError extends VirtPinError {
  readonly position: number;
  constructor(error: CpuSetParseError) {
    super(error.code, error.message, { hint: hintFor(error.code) });
    this.name = 'CpuSetError';
    this.position = error.position;
  }
}

/** Parse a libvirt cpuset/nodeset/id list exactly as libvirt does; throws CpuSetError. */
export function parseCpuSet(text: string): CpuSet {
  const r = tryParseCpuSet(text);
  if (!r.ok) throw new CpuSetError(r);
  return r.set;
}

// g_ascii_isspace: space, \t, \n, \v, \f, \r
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Like parseCpuSet but returns the error instead of throwing. */
export function tryParseCpuSet(text: string): CpuSetParseResult {
  const n = text.length;
  // One plain id (`vcpupin cpuset='7'`): the common case, without the item list below.
  if (n > 0 && n <= 5 && (n === 1 || text.charCodeAt(0) !== 48)) {
    let id = 0;
    let k = 0;
    for (; k < n; k++) {
      const d = text.charCodeAt(k) - 48;
      if (d < 0 || d > 9) break;
      id = id * 10 + d;
    }
    if (k === n && id <= MAX_CPUSET_ID) return { ok: true, set: CpuSet.single(id) };
  }
  return parseItemList(text);
}

/**
 * The general syntax. Apart from tryParseCpuSet because its closures make V8
 * allocate a context on every call, which the one-id fast path should not pay.
 */
function parseItemList(text: string): CpuSetParseResult {
  const n = text.length;
  let i = 0;
  const fail = (code: CpuSetErrorCode, message: string, position: number): CpuSetParseResult => ({
    ok: false,
    code,
    message,
    position: Math.min(position, n),
  });
  const skipSpace = (): void => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  /** Reads DIGITS at i; returns the value (Infinity once it exceeds what any check needs). */
  const readDigits = (): number => {
    let v = 0;
    while (i < n && isDigit(text.charCodeAt(i))) {
      v = v > MAX_CPUSET_ID ? v : v * 10 + (text.charCodeAt(i) - 48);
      i++;
    }
    return v;
  };

  skipSpace();
  if (i === n) return fail('CPUSET_EMPTY', 'the list is empty', 0);

  // Items are collected (ranges, and excluded ids as numbers) and applied
  // once the whole list is known to be valid: see setOfItems.
  const items: (CpuRange | number)[] = [];

  while (i < n) {
    const start = i;
    const c = text.charCodeAt(i);
    if (c === 94 /* ^ */) {
      i++;
      if (i >= n || !isDigit(text.charCodeAt(i))) {
        return fail('CPUSET_SYNTAX', `'^' must be followed directly by a CPU number`, i);
      }
      const id = readDigits();
      if (id > MAX_CPUSET_ID) return fail('CPUSET_ID_TOO_LARGE', `excluded id ${text.slice(start + 1, i)} is above ${MAX_CPUSET_ID}`, start + 1);
      skipSpace();
      if (i < n && text.charCodeAt(i) === 45 /* - */) {
        return fail('CPUSET_EXCLUDE_RANGE', `an exclusion takes a single id; '^${id}-…' excludes a range, which libvirt refuses`, i);
      }
      items.push(id);
    } else if (isDigit(c)) {
      const first = readDigits();
      if (first > MAX_CPUSET_ID) return fail('CPUSET_ID_TOO_LARGE', `id ${text.slice(start, i)} is above ${MAX_CPUSET_ID}`, start);
      skipSpace();
      let last = first;
      if (i < n && text.charCodeAt(i) === 45 /* - */) {
        i++;
        skipSpace();
        // The upper bound goes through strtoll: an optional sign is accepted.
        let negative = false;
        const signAt = i;
        if (i < n && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) {
          negative = text.charCodeAt(i) === 45;
          i++;
        }
        const upperAt = i;
        if (i >= n || !isDigit(text.charCodeAt(i))) {
          return fail('CPUSET_SYNTAX', `range '${text.slice(start, i).trim()}' has no upper bound`, i);
        }
        const upper = readDigits();
        const value = negative ? -upper : upper;
        if (value > MAX_CPUSET_ID) return fail('CPUSET_ID_TOO_LARGE', `id ${text.slice(upperAt, i)} is above ${MAX_CPUSET_ID}`, upperAt);
        if (value < first) {
          return fail('CPUSET_RANGE_REVERSED', `range '${text.slice(start, i).replace(/\s+/g, '')}' ends before it starts`, signAt);
        }
        last = value === 0 ? 0 : value; // "0--0" is {0}, not {-0}
        skipSpace();
      }
      items.push([first, last]);
    } else {
      return fail('CPUSET_SYNTAX', `unexpected '${text[i]}': each item is N, N-M or ^N`, i);
    }

    if (i === n) break;
    if (text.charCodeAt(i) !== 44 /* , */) {
      return fail('CPUSET_SYNTAX', `unexpected '${text[i]}' after an item: separate items with ','`, i);
    }
    i++;
    skipSpace(); // a trailing comma (optionally followed by spaces) is accepted
  }
  return { ok: true, set: setOfItems(items) };
}

/**
 * The set a list describes. Items apply left to right, so the last item that
 * names an id decides whether it is in. Walking the items backwards and
 * skipping ids already decided (`next[id]`: the smallest undecided id ≥ id,
 * path-compressed) visits every id once, so a list stays linear in its
 * length: rebuilding the set at each '^' made `0-16383,^1,^3,^5,…`
 * quadratic (a 4 MiB document could hold ~700,000 exclusions).
 */
function setOfItems(items: readonly (CpuRange | number)[]): CpuSet {
  if (!items.some((it) => typeof it === 'number')) return CpuSet.fromRanges(items as CpuRange[]);
  // The last item naming an id decides it (libvirt sets and clears bits in
  // order). Walking the items backwards, a range adds only the ids no later
  // item decided; a bitmap of decided ids keeps this proportional to the
  // ranges, never to their width (0-16383,^7 costs a few word operations).
  const decided = new CpuBitmap();
  const ranges: CpuRange[] = [];
  for (let k = items.length - 1; k >= 0; k--) {
    const it = items[k]!;
    if (typeof it === 'number') {
      decided.addRange(it, it);
      continue;
    }
    decided.missingIn(it[0], it[1], ranges);
    decided.addRange(it[0], it[1]);
  }
  return CpuSet.fromRanges(ranges);
}

/**
 * The kernel's cpulist format as sysfs and procfs print it (`0-3,8-11\n`,
 * or an empty line for an empty set). Stricter than libvirt's grammar:
 * no spaces, signs or exclusions.
 */
export function parseKernelCpuList(text: string): CpuSet {
  const body = text.replace(/\n$/, '');
  if (body === '') return CpuSet.empty();
  const ranges: CpuRange[] = [];
  let pos = 0;
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new CpuSetError({ code: 'CPUSET_SYNTAX', message: `'${part}' is not a kernel cpulist item in '${body}'`, position: pos });
    const a = m[1]!.length > 6 ? Infinity : Number(m[1]);
    const b = m[2] === undefined ? a : m[2].length > 6 ? Infinity : Number(m[2]);
    if (a > MAX_CPUSET_ID || b > MAX_CPUSET_ID) {
      throw new CpuSetError({ code: 'CPUSET_ID_TOO_LARGE', message: `'${part}' names a CPU above ${MAX_CPUSET_ID}`, position: pos });
    }
    if (b < a) throw new CpuSetError({ code: 'CPUSET_RANGE_REVERSED', message: `range '${part}' ends before it starts`, position: pos });
    ranges.push([a, b]);
    pos += part.length + 1;
  }
  return CpuSet.fromRanges(ranges);
}

function hintFor(code: CpuSetErrorCode): string {
  switch (code) {
    case 'CPUSET_EMPTY':
      return "write at least one CPU, e.g. '0-3'";
    case 'CPUSET_SYNTAX':
      return "use comma-separated items N, N-M or ^N, e.g. '0-7,^3'";
    case 'CPUSET_RANGE_REVERSED':
      return "write the smaller number first, e.g. '1-3'";
    case 'CPUSET_ID_TOO_LARGE':
      return `libvirt accepts ids 0..${MAX_CPUSET_ID}`;
    case 'CPUSET_EXCLUDE_RANGE':
      return "exclude ids one at a time: '0-7,^2,^3'";
  }
}
