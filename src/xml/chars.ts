/**
 * What XML 1.0 allows in names and text, shared by the scanner (reading)
 * and the editing API (writing), so an edit never writes what the parser
 * would then refuse.
 */

// XML 1.0 Char production, minus what libvirt (libxml2) rejects too.
export const ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const NAME_START = /[A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDBFF]/;
export const NAME_CHAR = /[-.0-9\u00B7\u0300-\u036F\u203F-\u2040A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDFFF]/;

const QNAME_PART = new RegExp(`^${NAME_START.source.replace(':', '')}${NAME_CHAR.source.replace(':', '')}*$`);

/** A qualified name the scanner reads back: `local` or `prefix:local`, each an XML name without ':', no lone surrogates. */
export function isQName(name: string): boolean {
  if (ILLEGAL_CHAR.test(name)) return false;
  const parts = name.split(':');
  return parts.length <= 2 && parts.every((p) => QNAME_PART.test(p));
}

/** The first character XML 1.0 does not allow in `value` (index and code point), or undefined. */
export function illegalChar(value: string): { index: number; code: number } | undefined {
  const m = ILLEGAL_CHAR.exec(value);
  return m ? { index: m.index, code: m[0].charCodeAt(0) } : undefined;
}

/** XML's white space (S production): space, tab, LF, CR. */
export const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

export const describeChar = (code: number): string => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
