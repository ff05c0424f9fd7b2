/**
 * The strict, linear, iterative scanner behind parseDocument. It builds the
 * lossless tree (every node keeps its source span) and performs every check
 * that fast-xml-parser leaves out (spec/npm-deps-eval.md §4.3): unclosed and
 * mismatched tags, duplicate attributes, `<` in attribute values, undefined
 * entities, bad character references, text or a second element outside the
 * root, unbound prefixes, and the size/depth/count limits — all before any
 * structure is allocated for the offending part.
 */
import { VirtPinError } from '../errors.js';
import type { ParseOptions, QuoteChar, XmlErrorCode } from './types.js';
import { DocumentImpl, ElementImpl, type AttrRecord, type NodeImpl } from './tree.js';

/** parseDocument's default limits: 4 MiB of UTF-8, 128 levels deep, 1,000,000 elements. */
export const DEFAULT_LIMITS = { maxBytes: 4 * 1024 * 1024, maxDepth: 128, maxElements: 1_000_000 } as const;

// XML 1.0 Char production, minus what libvirt (libxml2) rejects too.
const ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NAME_START = /[A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDBFF]/;
const NAME_CHAR = /[-.0-9\u00B7\u0300-\u036F\u203F-\u2040A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDFFF]/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** The ASCII part of NAME_CHAR, tested without a regex (names are read a character at a time). */
const isAsciiNameChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x3a) || c === 0x2d || c === 0x2e || c === 0x5f;

const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * `text.indexOf(needle, from)` for positions that only move forward. A plain
 * indexOf per attribute or text node runs to the end of the text whenever the
 * needle is absent, which made a document without '&' quadratic; this one
 * reuses its last hit while the scan has not passed it.
 */
function forwardFinder(text: string, needle: string): (from: number) => number {
  let searchedFrom = Infinity;
  let hit = -1;
  return (from) => {
    if (from < searchedFrom || (hit !== -1 && hit < from)) {
      hit = text.indexOf(needle, from);
      searchedFrom = from;
    }
    return hit;
  };
}

/** Beyond this many attributes on one element, duplicates are found with a Set rather than a scan. */
const ATTRS_SCANNED_LINEARLY = 16;

/** A limit option: a non-negative integer, or Infinity for none (NaN would silently switch the check off). */
function limitOf(name: keyof typeof DEFAULT_LIMITS, value: number | undefined): number {
  if (value === undefined) return DEFAULT_LIMITS[name];
  if (value === Infinity || (Number.isSafeInteger(value) && value >= 0)) return value;
  throw new VirtPinError('XML_BAD_LIMIT', `${name} must be a non-negative integer or Infinity, not ${String(value)}`);
}

export function scanDocument(text: string, options: ParseOptions = {}): DocumentImpl {
  const maxBytes = limitOf('maxBytes', options.maxBytes);
  const maxDepth = limitOf('maxDepth', options.maxDepth);
  const maxElements = limitOf('maxElements', options.maxElements);
  const doc = new DocumentImpl(text, options.fileName);
  const nextAmp = forwardFinder(text, '&');
  const nextLt = forwardFinder(text, '<');
  const nextCdataEnd = forwardFinder(text, ']]>');
  const fail = (code: XmlErrorCode, message: string, offset: number, hint?: string): never => {
    throw new VirtPinError(code, message, { location: doc.locate(Math.max(0, Math.min(offset, text.length))), ...(hint ? { hint } : {}) });
  };

  // ---- gate: size, characters, DOCTYPE (before any tree is built)
  // A UTF-16 string of n units is at most 3n UTF-8 bytes: only count when it could matter.
  if (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes) {
    fail('XML_TOO_LARGE', `the document is larger than ${maxBytes} bytes`, 0, 'raise maxBytes if this is really a domain definition');
  }
  const bad = ILLEGAL_CHAR.exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0);
    fail('XML_ILLEGAL_CHAR', `character U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, bad.index, 'remove control characters from the file');
  }
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    fail('XML_DOCTYPE', 'a DOCTYPE is not allowed: libvirt domain XML has none, and it is how entity-expansion and external-entity (XXE) attacks start', doctype.index, 'delete the <!DOCTYPE …> declaration');
  }

  const n = text.length;
  let i = 0;
  const stack: ElementImpl[] = [];
  /** Namespace bindings per open element (prefix → uri), innermost last. */
  const scopes: Map<string, string>[] = [];
  let elementCount = 0;
  let root: ElementImpl | undefined;
  let rootClosed = false;

  const bound = (prefix: string): boolean => {
    if (prefix === 'xml' || prefix === 'xmlns') return true;
    for (let k = scopes.length - 1; k >= 0; k--) if (scopes[k]!.has(prefix)) return true;
    return false;
  };
  const add = (node: NodeImpl): void => {
    const parent = stack.at(-1);
    if (parent) {
      node.parent = parent;
      parent.kids.push(node);
    } else if (rootClosed) doc.epilogNodes.push(node);
    else doc.prologNodes.push(node);
  };

  if (text.charCodeAt(0) === 0xfeff) {
    // A byte-order mark stays part of the prolog so it round-trips.
    add(DocumentImpl.textNode('\uFEFF', '\uFEFF', { start: 0, end: 1 }));
    i = 1;
  }

  const readName = (from: number): number => {
    if (from >= n || !NAME_START.test(text[from]!)) return from;
    let j = from + 1;
    while (j < n && isAsciiNameChar(text.charCodeAt(j))) j++;
    while (j < n && NAME_CHAR.test(text[j]!)) j++;
    return j;
  };
  const checkQName = (name: string, at: number): void => {
    const colon = name.indexOf(':');
    if (colon === -1) return;
    if (colon === 0 || colon === name.length - 1 || name.indexOf(':', colon + 1) !== -1) fail('XML_BAD_NAME', `'${name}' is not a valid qualified name`, at);
  };
  /** Decode references in [from, to) of text; errors at their offset. */
  const decode = (from: number, to: number, attribute = false): string => {
    // Line ends become \n; in attribute values literal whitespace becomes a
    // space (attribute-value normalization) but references like &#10; stay.
    const plain = (a: number, b: number): string => {
      const t = text.slice(a, b).replace(/\r\n?/g, '\n');
      return attribute ? t.replace(/[\t\n]/g, ' ') : t;
    };
    let out = '';
    let last = from;
    let amp = nextAmp(from);
    while (amp !== -1 && amp < to) {
      const semi = text.indexOf(';', amp);
      if (semi === -1 || semi > to || semi - amp > 12) fail('XML_UNDEFINED_ENTITY', "'&' starts no reference; write &amp; for a literal ampersand", amp, "write '&amp;'");
      const ref = text.slice(amp + 1, semi);
      let ch: string;
      if (ref.startsWith('#')) {
        const hex = ref.startsWith('#x');
        const digits = ref.slice(hex ? 2 : 1);
        if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) fail('XML_BAD_CHAR_REF', `'&${ref};' is not a character reference`, amp);
        const cp = parseInt(digits, hex ? 16 : 10);
        const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
        if (!ok) fail('XML_BAD_CHAR_REF', `'&${ref};' refers to a character XML does not allow`, amp);
        ch = String.fromCodePoint(cp);
      } else {
        const v = PREDEFINED[ref];
        if (v === undefined) fail('XML_UNDEFINED_ENTITY', `entity '&${ref};' is not defined (only &lt; &gt; &amp; &apos; &quot; exist without a DTD)`, amp, 'write the character itself or a numeric reference');
        ch = v!;
      }
      out += plain(last, amp) + ch;
      last = semi + 1;
      amp = nextAmp(last);
    }
    return out + plain(last, to);
  };

  while (i < n) {
    const lt = nextLt(i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      // Character data.
      if (stack.length === 0) {
        for (let j = i; j < textEnd; j++) {
          if (!isWs(text.charCodeAt(j))) fail('XML_MALFORMED', root ? 'text after the root element' : 'text before the root element', j);
        }
      } else {
        const cdataEnd = nextCdataEnd(i);
        if (cdataEnd !== -1 && cdataEnd < textEnd) fail('XML_MALFORMED', "']]>' is not allowed in text", cdataEnd, "write ']]&gt;'");
      }
      const raw = text.slice(i, textEnd);
      add(DocumentImpl.textNode(raw, stack.length ? decode(i, textEnd) : raw, { start: i, end: textEnd }));
      i = textEnd;
      continue;
    }
    // i === lt
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) fail('XML_MALFORMED', 'comment is not closed with -->', i);
      const body = text.slice(i + 4, end);
      if (body.includes('--') || body.endsWith('-')) fail('XML_MALFORMED', "'--' is not allowed inside a comment", i + 4 + Math.max(0, body.indexOf('--')));
      add({ kind: 'comment', value: body, span: { start: i, end: end + 3 }, parent: undefined });
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('XML_MALFORMED', 'CDATA outside the root element', i);
      const end = text.indexOf(']]>', i + 9);
      if (end === -1) fail('XML_MALFORMED', 'CDATA section is not closed with ]]>', i);
      add({ kind: 'cdata', value: text.slice(i + 9, end), span: { start: i, end: end + 3 }, parent: undefined });
      i = end + 3;
      continue;
    }
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end === -1) fail('XML_MALFORMED', 'processing instruction is not closed with ?>', i);
      const nameEnd = readName(i + 2);
      if (nameEnd === i + 2) fail('XML_BAD_NAME', 'processing instruction without a target', i + 2);
      const target = text.slice(i + 2, nameEnd);
      const data = text.slice(nameEnd, end);
      if (target.toLowerCase() === 'xml') {
        if (i !== (text.charCodeAt(0) === 0xfeff ? 1 : 0) || target !== 'xml') fail('XML_MALFORMED', 'the XML declaration must come first in the document', i);
        const enc = /\bencoding\s*=\s*(['"])([^'"]*)\1/.exec(data);
        if (enc && !/^utf-?8$/i.test(enc[2]!)) {
          fail('XML_BAD_ENCODING', `encoding '${enc[2]}' is not supported: domain XML is read as UTF-8`, i + 2 + target.length + enc.index, "convert the file to UTF-8 and declare encoding='UTF-8'");
        }
      }
      add({ kind: 'pi', target, data, span: { start: i, end: end + 2 }, parent: undefined });
      i = end + 2;
      continue;
    }
    if (text.startsWith('<!', i)) fail('XML_MALFORMED', `unsupported markup '${text.slice(i, i + 10)}'`, i);
    if (text.startsWith('</', i)) {
      const nameEnd = readName(i + 2);
      const name = text.slice(i + 2, nameEnd);
      let j = nameEnd;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (text[j] !== '>') fail('XML_MALFORMED', `end tag '</${name}' is not closed with '>'`, j);
      const open = stack.pop();
      if (!open) fail('XML_MALFORMED', `end tag </${name}> without a start tag`, i);
      if (open!.name !== name) {
        fail('XML_MISMATCHED_TAG', `</${name}> closes <${open!.name}>, opened at line ${open!.location!.line} column ${open!.location!.column}`, i, `close <${open!.name}> before </${name}>`);
      }
      scopes.pop();
      open!.endTag = { start: i, end: j + 1 };
      open!.span = { start: open!.startTag.start, end: j + 1 };
      if (stack.length === 0) rootClosed = true;
      i = j + 1;
      continue;
    }
    // Start tag.
    const nameEnd = readName(i + 1);
    if (nameEnd === i + 1) fail('XML_MALFORMED', "'<' must start a tag; write &lt; for a literal '<'", i, "write '&lt;'");
    const name = text.slice(i + 1, nameEnd);
    checkQName(name, i + 1);
    if (stack.length === 0 && root) fail('XML_MULTIPLE_ROOTS', `a second root element <${name}>: a document has exactly one`, i);
    if (stack.length >= maxDepth) fail('XML_TOO_DEEP', `elements are nested deeper than ${maxDepth} levels`, i);
    if (++elementCount > maxElements) fail('XML_TOO_MANY_ELEMENTS', `the document has more than ${maxElements} elements`, i);

    const attrs: AttrRecord[] = [];
    let attrNames: Set<string> | undefined;
    let j = nameEnd;
    let selfClosing = false;
    for (;;) {
      const wsStart = j;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (j >= n) fail('XML_UNCLOSED', `start tag <${name}> is not closed`, i);
      const c = text[j];
      if (c === '>') break;
      if (c === '/') {
        if (text[j + 1] !== '>') fail('XML_MALFORMED', `'/' in <${name}> must be followed by '>'`, j);
        selfClosing = true;
        break;
      }
      if (j === wsStart) fail('XML_BAD_ATTRIBUTE', `attributes of <${name}> must be separated by whitespace`, j);
      const aStart = j;
      const aNameEnd = readName(j);
      if (aNameEnd === j) fail('XML_BAD_ATTRIBUTE', `unexpected '${c}' in <${name}>`, j);
      const aName = text.slice(j, aNameEnd);
      checkQName(aName, j);
      j = aNameEnd;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (text[j] !== '=') fail('XML_BAD_ATTRIBUTE', `attribute '${aName}' has no value`, aStart, `write ${aName}='…'`);
      j++;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      const quote = text[j];
      if (quote !== "'" && quote !== '"') fail('XML_BAD_ATTRIBUTE', `the value of '${aName}' must be quoted`, j, `write ${aName}='…'`);
      const vStart = j + 1;
      const vEnd = text.indexOf(quote!, vStart);
      if (vEnd === -1) fail('XML_UNCLOSED', `the value of '${aName}' is not closed`, j);
      const ltAt = nextLt(vStart);
      if (ltAt !== -1 && ltAt < vEnd) fail('XML_BAD_ATTRIBUTE', `'<' is not allowed in the value of '${aName}'`, ltAt, "write '&lt;'");
      if (attrs.length === ATTRS_SCANNED_LINEARLY) attrNames = new Set(attrs.map((a) => a.name));
      if (attrNames ? attrNames.has(aName) : attrs.some((a) => a.name === aName)) fail('XML_DUPLICATE_ATTRIBUTE', `attribute '${aName}' appears twice in <${name}>`, aStart, 'keep one of them');
      // Attribute-value normalization: references decoded, each whitespace char → space.
      const value = decode(vStart, vEnd, true);
      attrNames?.add(aName);
      attrs.push({ name: aName, value, raw: text.slice(vStart, vEnd), quote: quote as QuoteChar, span: { start: aStart, end: vEnd + 1 }, lead: text.slice(wsStart, aStart) });
      j = vEnd + 1;
    }
    const tagEnd = selfClosing ? j + 2 : j + 1;
    const el = new ElementImpl(doc, name, attrs, selfClosing);
    el.startTag = { start: i, end: tagEnd };
    el.tail = text.slice(attrs.length ? attrs.at(-1)!.span!.end : nameEnd, j);
    el.location = doc.locate(i);

    // Namespaces: bindings declared here, then every prefix used here must be bound.
    const scope = new Map<string, string>();
    for (const a of attrs) {
      if (a.name === 'xmlns') scope.set('', a.value);
      else if (a.name.startsWith('xmlns:')) {
        if (a.value === '') fail('XML_UNBOUND_PREFIX', `prefix '${a.name.slice(6)}' cannot be bound to an empty namespace`, a.span!.start);
        scope.set(a.name.slice(6), a.value);
      }
    }
    scopes.push(scope);
    const prefixOf = (q: string): string | undefined => (q.includes(':') ? q.slice(0, q.indexOf(':')) : undefined);
    const ep = prefixOf(name);
    if (ep !== undefined && !bound(ep)) fail('XML_UNBOUND_PREFIX', `prefix '${ep}' of <${name}> is not bound to a namespace`, i + 1, `add xmlns:${ep}='…' to this element or an ancestor`);
    for (const a of attrs) {
      const ap = prefixOf(a.name);
      if (ap !== undefined && ap !== 'xmlns' && !bound(ap)) fail('XML_UNBOUND_PREFIX', `prefix '${ap}' of attribute '${a.name}' is not bound to a namespace`, a.span!.start);
    }

    if (stack.length === 0) {
      root = el;
      doc.rootElement = el;
    } else {
      add(el);
    }
    if (selfClosing) {
      scopes.pop();
      el.span = { start: i, end: tagEnd };
      if (stack.length === 0) rootClosed = true;
    } else {
      stack.push(el);
    }
    i = tagEnd;
  }

  if (stack.length > 0) {
    const open = stack.at(-1)!;
    fail('XML_UNCLOSED', `<${open.name}> is never closed`, open.startTag.start, `add </${open.name}>`);
  }
  if (!root) fail('XML_NO_ROOT', 'the document has no root element', 0);
  return doc;
}
