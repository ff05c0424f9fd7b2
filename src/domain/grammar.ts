/**
 * libvirt's scalar grammars, one function per C helper the parser uses
 * (spec §3). Each returns a Field: the text as written, the value libvirt
 * stores, or the reason libvirt refuses it.
 */
import { tryParseCpuSet, type CpuSet } from '../cpuset/index.js';
import type { Field, FieldError, Loc, SetField } from './types.js';

const UINT_MAX = 4294967295;
const INT_MAX = 2147483647;
const U64_MAX = 18446744073709551615n;
const I64_MAX = 9223372036854775807n;

function field<T>(raw: string, loc: Loc, value: T | undefined, error?: FieldError): Field<T> {
  return error ? { raw, value: undefined, error, loc } : { raw, value, loc };
}

const err = (code: string, message: string, position?: number): FieldError => ({ code, message, ...(position !== undefined ? { position } : {}) });

/**
 * virStrToLong_uip / virStrToLong_ui (base 10): strtoul semantics — leading
 * whitespace and a '+' are accepted, nothing may follow the digits; `uip`
 * refuses a '-'.
 */
export function unsignedInt(raw: string, loc: Loc, max = UINT_MAX): Field<number> {
  const m = /^[ \t\n\v\f\r]*\+?(\d+)$/.exec(raw);
  if (!m) {
    if (/^[ \t\n\v\f\r]*-/.test(raw)) return field<number>(raw, loc, undefined, err('NOT_UNSIGNED', `'${raw}' is negative; an unsigned number is required`));
    if (/^[ \t\n\v\f\r]*\+?\d+/.test(raw)) return field<number>(raw, loc, undefined, err('TRAILING_GARBAGE', `'${raw}' has text after the number`, raw.search(/\d[^\d]*$/) + 1));
    return field<number>(raw, loc, undefined, err(raw.trim() === '' ? 'EMPTY' : 'NOT_UNSIGNED', `'${raw}' is not an unsigned number`));
  }
  const digits = m[1]!.replace(/^0+(?=\d)/, '');
  if (digits.length > 10 || Number(digits) > max) return field<number>(raw, loc, undefined, err('OUT_OF_RANGE', `${m[1]} is larger than ${max}`));
  return field(raw, loc, Number(digits));
}

/** Element text read with virXPathULong/UInt: leading whitespace tolerated, trailing (e.g. a newline before the end tag) refused. */
export function elementUnsigned(raw: string, loc: Loc, max = UINT_MAX): Field<number> {
  const f = unsignedInt(raw, loc, max);
  if (f.error?.code === 'TRAILING_GARBAGE' && /^\s*\+?\d+\s+$/.test(raw)) {
    return field<number>(raw, loc, undefined, err('TRAILING_WHITESPACE', `'${raw.replace(/\n/g, '\\n')}' ends in whitespace, which libvirt refuses here`));
  }
  return f;
}

/** A C int (virStrToLong_i), any sign. */
export function signedInt(raw: string, loc: Loc): Field<number> {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(raw);
  if (!m) return field<number>(raw, loc, undefined, err(raw.trim() === '' ? 'EMPTY' : 'NOT_INTEGER', `'${raw}' is not an integer`));
  const v = Number(m[2]!.length > 12 ? '99999999999999' : m[2]) * (m[1] === '-' ? -1 : 1);
  if (v > INT_MAX || v < -INT_MAX - 1) return field<number>(raw, loc, undefined, err('OUT_OF_RANGE', `${raw.trim()} does not fit a C int`));
  return field(raw, loc, v);
}

/** Unsigned 64-bit element text (shares, periods, poll values). */
export function unsigned64(raw: string, loc: Loc): Field<bigint> {
  const m = /^[ \t\n\v\f\r]*\+?(\d+)$/.exec(raw);
  if (!m) return field<bigint>(raw, loc, undefined, err(/^\s*-/.test(raw) ? 'NOT_UNSIGNED' : 'NOT_INTEGER', `'${raw}' is not an unsigned 64-bit number`));
  const v = BigInt(m[1]!);
  if (v > U64_MAX) return field<bigint>(raw, loc, undefined, err('OUT_OF_RANGE', `${m[1]} does not fit 64 bits`));
  return field(raw, loc, v);
}

/** Signed 64-bit element text (quotas). */
export function signed64(raw: string, loc: Loc): Field<bigint> {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(raw);
  if (!m) return field<bigint>(raw, loc, undefined, err('NOT_INTEGER', `'${raw}' is not a 64-bit integer`));
  const v = BigInt(m[1]!);
  if (v > I64_MAX || v < -I64_MAX - 1n) return field<bigint>(raw, loc, undefined, err('OUT_OF_RANGE', `${m[1]} does not fit 64 bits`));
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
