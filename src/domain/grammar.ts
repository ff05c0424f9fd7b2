/**
 * libvirt's scalar grammars, one function per C helper the parser uses
 * (spec §3). Each returns a Field: the text as written, the value libvirt
 * stores, or the reason libvirt refuses it.
 */
import { tryParseCpuSet, type CpuSet } from '../cpuset/index.js';
import { SourceLines } from '../xml/tree.js';
import type { Field, FieldError, Loc, SetField } from './types.js';

const UINT_MAX = 4294967295;
const INT_MAX = 2147483647;
const U64_MAX = 18446744073709551615n;
const I64_MAX = 9223372036854775807n;

/**
 * A field libvirt accepts: a class instance, not a literal (one or two per <vcpupin>; see Position in
 * src/xml/tree.ts). The domain reader makes an attribute's field locate itself on demand (locateLater): it keeps
 * the attribute's source index and the document's line table instead of a location object, since only a
 * diagnostic ever asks where an accepted value was written, and a 4,096-vCPU document has 8,192 of them per read.
 * `loc` is then an accessor: JSON.stringify sees it through toJSON; a spread or structuredClone of the field
 * does not copy it.
 */
export class ValueField<T> implements Field<T> {
  raw: string;
  value: T | undefined;
  /** The location, or the line table to find it in at #offset. One slot for both: a field per attribute of every read. */
  #where: Loc | SourceLines;
  #offset = -1;

  constructor(raw: string, value: T | undefined, loc: Loc) {
    this.raw = raw;
    this.value = value;
    this.#where = loc;
  }

  get loc(): Loc {
    const w = this.#where;
    return w instanceof SourceLines ? w.locate(this.#offset) : w;
  }
  set loc(loc: Loc) {
    this.#where = loc;
  }

  /** Answer `loc` from `lines` at source index `offset` from now on. */
  locateLater(lines: SourceLines, offset: number): void {
    this.#where = lines;
    this.#offset = offset;
  }

  toJSON(): { raw: string; value: T | undefined; loc: Loc } {
    return { raw: this.raw, value: this.value, loc: this.loc };
  }
}

function field<T>(raw: string, loc: Loc, value: T | undefined, error?: FieldError): Field<T> {
  return error ? { raw, value: undefined, error, loc } : new ValueField(raw, value, loc);
}

const err = (code: string, message: string, position?: number): FieldError => ({ code, message, ...(position !== undefined ? { position } : {}) });

/** C isspace(): what strtoul skips before the number. */
const LEADING_SPACE = /^[ \t\n\v\f\r]*/;

/** Index of the first character after `[space][+|-]digits`, or -1 when no digit follows. */
function numberEnd(raw: string, signs: string): number {
  let i = LEADING_SPACE.exec(raw)![0].length;
  if (i < raw.length && signs.includes(raw[i]!)) i++;
  const start = i;
  while (i < raw.length && raw.charCodeAt(i) >= 48 && raw.charCodeAt(i) <= 57) i++;
  return i === start ? -1 : i;
}

/** Why a decimal unsigned text fails, in strtoul order: nothing numeric, a sign, then junk after the digits. */
export function unsignedError(raw: string, allowMinus: boolean): FieldError | undefined {
  if (raw.trim() === '') return err('EMPTY', `'${raw}' is empty; a number is required`, 0);
  const end = numberEnd(raw, '+-');
  if (end < 0) return err('NOT_UNSIGNED', `'${raw}' is not an unsigned number`, LEADING_SPACE.exec(raw)![0].length);
  if (!allowMinus && raw.trimStart().startsWith('-')) return err('NOT_UNSIGNED', `'${raw}' is negative; an unsigned number is required`, raw.indexOf('-'));
  if (end < raw.length) {
    const code = /^\s+$/.test(raw.slice(end)) ? 'TRAILING_WHITESPACE' : 'TRAILING_GARBAGE';
    return err(code, code === 'TRAILING_WHITESPACE' ? `'${raw.replace(/\n/g, '\\n')}' ends in whitespace, which libvirt refuses here` : `'${raw}' has text after the number`, end);
  }
  return undefined;
}

/** The value of 1–9 decimal digits with no leading zero (or '0'), else undefined. */
export function plainDecimal(raw: string): number | undefined {
  const n = raw.length;
  if (n === 0 || n > 9 || (n > 1 && raw.charCodeAt(0) === 48)) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = raw.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return v;
}

/**
 * virStrToLong_uip (base 10), the grammar of virXMLPropUInt and
 * virXPathUInt: strtoul's leading whitespace and '+' are accepted, a '-'
 * anywhere is refused, nothing may follow the digits (not even whitespace).
 */
export function unsignedInt(raw: string, loc: Loc, max = UINT_MAX): Field<number> {
  // Plain digits without a leading zero, at most 9 of them (below 2^32): the common case, without the regular expressions below.
  const plain = plainDecimal(raw);
  if (plain !== undefined && plain <= max) return new ValueField(raw, plain, loc);
  const e = unsignedError(raw, false);
  if (e) return field<number>(raw, loc, undefined, e);
  const digits = raw.trimStart().replace(/^\+/, '').replace(/^0+(?=\d)/, '');
  if (digits.length > 10 || Number(digits) > max) return field<number>(raw, loc, undefined, err('OUT_OF_RANGE', `${digits} is larger than ${max}`));
  return field(raw, loc, Number(digits));
}

/**
 * virStrToLong_ui with no end pointer, which is how virDomainVcpuParse reads
 * the `<vcpu>` text (spec §3.1): like `unsignedInt` except that a leading
 * '-' is accepted and wraps modulo 2^32 (`-1` is 4294967295) as long as the
 * magnitude fits 32 bits. libvirt stores the wrapped value without a word;
 * the Field keeps it and says so in `warning`.
 */
export function wrappingUnsignedInt(raw: string, loc: Loc): Field<number> {
  const e = unsignedError(raw, true);
  if (e) return field<number>(raw, loc, undefined, e);
  const t = raw.trimStart();
  const negative = t.startsWith('-');
  const digits = t.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '');
  if (digits.length > 10 || Number(digits) > UINT_MAX) return field<number>(raw, loc, undefined, err('OUT_OF_RANGE', `${digits} does not fit 32 bits`));
  const magnitude = Number(digits);
  if (!negative || magnitude === 0) return field(raw, loc, magnitude);
  const wrapped = UINT_MAX + 1 - magnitude;
  return { raw, value: wrapped, loc, warning: err('NEGATIVE_WRAPPED', `'${raw.trim()}' is negative; libvirt wraps it to ${wrapped}`, raw.indexOf('-')) };
}

/** A C int (virStrToLong_i), any sign. */
export function signedInt(raw: string, loc: Loc): Field<number> {
  const e = unsignedError(raw, true);
  if (e) return field<number>(raw, loc, undefined, e.code === 'NOT_UNSIGNED' ? { ...e, code: 'NOT_INTEGER', message: `'${raw}' is not an integer` } : e);
  const v = BigInt(raw.trim());
  if (v > BigInt(INT_MAX) || v < -BigInt(INT_MAX) - 1n) return field<number>(raw, loc, undefined, err('OUT_OF_RANGE', `${raw.trim()} does not fit a C int`));
  return field(raw, loc, Number(v));
}

/** Unsigned 64-bit element text (virStrToLong_ullp: shares, periods, poll values): no '-'. */
export function unsigned64(raw: string, loc: Loc): Field<bigint> {
  const e = unsignedError(raw, false);
  if (e) return field<bigint>(raw, loc, undefined, e);
  const v = BigInt(raw.trim());
  if (v > U64_MAX) return field<bigint>(raw, loc, undefined, err('OUT_OF_RANGE', `${raw.trim()} does not fit 64 bits`));
  return field(raw, loc, v);
}

/** Signed 64-bit element text (virStrToLong_ll: quotas). */
export function signed64(raw: string, loc: Loc): Field<bigint> {
  const e = unsignedError(raw, true);
  if (e) return field<bigint>(raw, loc, undefined, e.code === 'NOT_UNSIGNED' ? { ...e, code: 'NOT_INTEGER', message: `'${raw}' is not a 64-bit integer` } : e);
  const v = BigInt(raw.trim());
  if (v > I64_MAX || v < -I64_MAX - 1n) return field<bigint>(raw, loc, undefined, err('OUT_OF_RANGE', `${raw.trim()} does not fit 64 bits`));
  return field(raw, loc, v);
}

/** C strtoul with base 0: `0x` hex, a leading `0` octal, else decimal (PCI address parts). */
export function autoBaseUnsigned(raw: string, loc: Loc): Field<number> {
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(raw);
  if (!m) return field<number>(raw, loc, undefined, err(raw.trim() === '' ? 'EMPTY' : 'NOT_UNSIGNED', `'${raw}' is not a number (decimal, 0x… hex or 0… octal)`));
  const t = m[1]!;
  const v = /^0[xX]/.test(t) ? parseInt(t.slice(2), 16) : t.length > 1 && t.startsWith('0') ? parseInt(t, 8) : Number(t);
  if (!Number.isSafeInteger(v) || v > UINT_MAX) return field<number>(raw, loc, undefined, err('OUT_OF_RANGE', `${t} is larger than ${UINT_MAX}`));
  return field(raw, loc, v);
}

export function enumOf<T extends string>(raw: string, loc: Loc, values: readonly T[]): Field<T> {
  if ((values as readonly string[]).includes(raw)) return field(raw, loc, raw as T);
  return field<T>(raw, loc, undefined, err('BAD_ENUM', `'${raw}' is not one of ${values.join(', ')}`));
}

/** virTristateBool: exactly `yes` or `no`. */
export function yesNo(raw: string, loc: Loc): Field<boolean> {
  if (raw === 'yes') return field(raw, loc, true);
  if (raw === 'no') return field(raw, loc, false);
  return field<boolean>(raw, loc, undefined, err('BAD_ENUM', `'${raw}' is not yes or no`));
}

/** A cpuset-grammar list (virBitmapParse); an empty result is kept (whether it is legal depends on the element). */
export function cpuList(raw: string, loc: Loc): SetField {
  const r = tryParseCpuSet(raw);
  if (r.ok) return field(raw, loc, r.set);
  return field<CpuSet>(raw, loc, undefined, err(r.code, r.message, r.position));
}

export function plainString(raw: string, loc: Loc): Field<string> {
  return field(raw, loc, raw);
}

/**
 * A `<cache size unit>` pair in bytes, as virScaleInteger reads it with a
 * KiB default: `b`/`byte`/`bytes` are 1; `k m g t p e` alone or with `iB`
 * are powers of 1024, with a single `B` powers of 1000 (letters in any
 * case). Above 2^64-1 libvirt refuses with "numerical overflow".
 */
export function scaledBytes(size: bigint, unit: string | undefined): { bytes: bigint } | { error: string } {
  const u = unit ?? '';
  let scale: bigint;
  if (u === '') scale = 1024n;
  else if (/^(b|bytes?)$/i.test(u)) scale = 1n;
  else {
    const m = /^([kmgtpe])(ib|b)?$/i.exec(u);
    if (!m) return { error: `unknown suffix '${u}'` };
    const base = m[2] && m[2].length === 1 ? 1000n : 1024n;
    scale = base ** BigInt('kmgtpe'.indexOf(m[1]!.toLowerCase()) + 1);
  }
  const bytes = size * scale;
  if (bytes > U64_MAX) return { error: `numerical overflow: value too large: ${size}${u}` };
  return { bytes };
}

/** virFormatIntPretty: the largest binary unit that divides the byte count evenly (0 stays bytes). */
export function prettyBytes(bytes: bigint): { size: bigint; unit: string } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let size = bytes;
  let i = 0;
  while (i < units.length - 1 && size !== 0n && size % 1024n === 0n) {
    size /= 1024n;
    i++;
  }
  return { size, unit: units[i]! };
}
