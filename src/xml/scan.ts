/**
 * The strict, linear, iterative scanner behind parseDocument. It builds the
 * lossless tree (every node keeps its source span) and performs every check
 * that fast-xml-parser leaves out (spec/npm-deps-eval.md §4.3): unclosed and
 * mismatched tags, duplicate attributes, `<` in attribute values, undefined
 * entities, bad character references, text or a second element outside the
 * root, unbound prefixes, a DOCTYPE, a malformed XML declaration, and the
 * size/depth/count limits — all before any structure is allocated for the
 * offending part.
 *
 * One Scanner per document; `scanDocument` runs its steps: the gate (size,
 * characters), then one markup step per construct (text, comment, CDATA,
 * processing instruction or XML declaration, end tag, start tag), then the
 * end-of-document checks.
 */
import { VirtPinError } from '../errors.js';
import type { ParseOptions, QuoteChar, XmlErrorCode } from './types.js';
import { describeChar, ILLEGAL_CHAR, isWs, NAME_CHAR, NAME_START } from './chars.js';
import { ATTR_STRIDE, DocumentImpl, ElementImpl, ScannedText, type NodeImpl, type PackedAttrs } from './tree.js';

/** parseDocument's default limits: 4 MiB of UTF-8, 128 levels deep, 1,000,000 elements. */
export const DEFAULT_LIMITS = { maxBytes: 4 * 1024 * 1024, maxDepth: 128, maxElements: 1_000_000 } as const;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** The ASCII part of NAME_CHAR, tested without a regex (names are read a character at a time). */
const isAsciiNameChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x3a) || c === 0x2d || c === 0x2e || c === 0x5f;

const isXmlChar = (cp: number): boolean =>
  cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);

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

/**
 * Slots of reuse()'s table of names and whitespace runs (a power of two). A
 * domain uses ~100 distinct element and attribute names and a few indentation
 * runs, and most documents far fewer.
 */
const REUSE_SLOTS = 128;
/** Beyond this many attributes on one element, duplicates are found with a Set rather than a scan. */
const ATTRS_SCANNED_LINEARLY = 16;

/** A limit option: a non-negative integer, or Infinity for none (NaN would silently switch the check off). */
function limitOf(name: keyof typeof DEFAULT_LIMITS, value: number | undefined): number {
  if (value === undefined) return DEFAULT_LIMITS[name];
  if (value === Infinity || (Number.isSafeInteger(value) && value >= 0)) return value;
  throw new VirtPinError('XML_BAD_LIMIT', `${name} must be a non-negative integer or Infinity, not ${String(value)}`);
}

/** Attribute-value normalization of reference-free text: line ends, then each whitespace character, become a space. */
function normalizeAttr(t: string): string {
  for (let k = 0; k < t.length; k++) {
    const c = t.charCodeAt(k);
    if (c === 0x0a || c === 0x0d || c === 0x09) return t.replace(/\r\n?/g, '\n').replace(/[\t\n]/g, ' ');
  }
  return t;
}

/**
 * Short decimal values (`vcpu='7'`, `cpuset='12'`, `iothread='3'`: ids 0..16383 without a leading zero) as one
 * shared string per number for every parse, instead of a new copy per attribute of every document. Only strings
 * are kept, at most 16,384.
 */
const SMALL_NUMBERS: string[] = [];

function smallNumber(text: string, from: number, to: number): string | undefined {
  const len = to - from;
  if (len < 1 || len > 5 || (len > 1 && text.charCodeAt(from) === 0x30)) return undefined;
  let n = 0;
  for (let k = from; k < to; k++) {
    const d = text.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  if (n > 16383) return undefined;
  return (SMALL_NUMBERS[n] ??= text.slice(from, to));
}

/** One namespace binding made by an element, undone when that element closes. */
interface Binding {
  depth: number;
  prefix: string;
  previous: string | undefined;
}

class Scanner {
  readonly text: string;
  readonly n: number;
  readonly doc: DocumentImpl;
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  i = 0;
  readonly stack: ElementImpl[] = [];
  elementCount = 0;
  root: ElementImpl | undefined;
  rootClosed = false;
  /** Prefix ('' for the default namespace) → URI ('' = none), for the bindings in scope. */
  readonly namespaces = new Map<string, string>();
  /** Bindings made by open elements, innermost last: only elements that declare one cost anything. */
  readonly bindings: Binding[] = [];
  /** The strings reuse() hands out again, one per slot of a direct-mapped table (a newer string takes its slot). */
  readonly reused: (string | undefined)[] = new Array<string | undefined>(REUSE_SLOTS).fill(undefined);
  /** attributes() collects here (ATTR_STRIDE slots per attribute), then copies out at the exact length. */
  readonly scratchAttrs: PackedAttrs = new Array<string | number>(ATTRS_SCANNED_LINEARLY * ATTR_STRIDE).fill('');
  /** Set by attributes(): the index of the start tag's `>` or `/>`, and whether it is `/>`. */
  attrsEnd = 0;
  attrsSelfClosing = false;
  readonly nextAmp: (from: number) => number;
  readonly nextLt: (from: number) => number;
  readonly nextCdataEnd: (from: number) => number;

  constructor(text: string, options: ParseOptions) {
    this.text = text;
    this.n = text.length;
    this.maxBytes = limitOf('maxBytes', options.maxBytes);
    this.maxDepth = limitOf('maxDepth', options.maxDepth);
    this.maxElements = limitOf('maxElements', options.maxElements);
    this.doc = new DocumentImpl(text, options.fileName);
    this.nextAmp = forwardFinder(text, '&');
    this.nextLt = forwardFinder(text, '<');
    this.nextCdataEnd = forwardFinder(text, ']]>');
  }

  /**
   * text[from, to) as a string, the same string object as an earlier one with these characters when that is
   * one of the last few names or whitespace runs seen: a document repeats its element names, attribute
   * names and indentation thousands of times, and each slice of fewer than 13 characters is a copy.
   */
  reuse(from: number, to: number): string {
    const len = to - from;
    if (len > 32) return this.text.slice(from, to);
    const text = this.text;
    // One probe, by length and first and last character: a scan of the eight most recent strings was a tenth
    // of attributes()' time, and the table keeps every name of a usual document at once.
    const slot = (len * 37 + text.charCodeAt(from) * 7 + text.charCodeAt(to - 1)) & (REUSE_SLOTS - 1);
    const r = this.reused[slot];
    if (r !== undefined && r.length === len && text.startsWith(r, from)) return r;
    const out = text.slice(from, to);
    this.reused[slot] = out;
    return out;
  }

  fail(code: XmlErrorCode, message: string, offset: number, hint?: string): never {
    throw new VirtPinError(code, message, { location: this.doc.locate(Math.max(0, Math.min(offset, this.n))), ...(hint ? { hint } : {}) });
  }

  /** Size and characters, before any tree is built. */
  gate(): void {
    const { text, maxBytes } = this;
    // A UTF-16 string of n units is at most 3n UTF-8 bytes: only count when it could matter.
    if (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes) {
      this.fail('XML_TOO_LARGE', `the document is larger than ${maxBytes} bytes`, 0, 'raise maxBytes if this is really a domain definition');
    }
    const bad = ILLEGAL_CHAR.exec(text);
    if (bad) {
      this.fail('XML_ILLEGAL_CHAR', `character ${describeChar(bad[0].charCodeAt(0))} is not allowed in XML`, bad.index, 'remove control characters from the file');
    }
    if (text.charCodeAt(0) === 0xfeff) {
      // A byte-order mark stays part of the prolog so it round-trips.
      this.add(new ScannedText('\uFEFF', '\uFEFF', 0));
      this.i = 1;
    }
  }

  add(node: NodeImpl): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent) {
      node.parent = parent;
      parent.kids.push(node);
    } else if (this.rootClosed) this.doc.epilogNodes.push(node);
    else this.doc.prologNodes.push(node);
  }

  /** One construct at `i`; false at the end of the text. */
  step(): boolean {
    const { text, i } = this;
    if (i >= this.n) return false;
    const lt = this.nextLt(i);
    if (lt !== i) {
      this.characterData(lt === -1 ? this.n : lt);
      return true;
    }
    // By the character after '<': a start tag, the usual markup, is told apart with one comparison, not five prefixes.
    const next = text.charCodeAt(i + 1);
    if (next === 0x2f /* / */) this.endTag();
    else if (next === 0x21 /* ! */) {
      if (text.startsWith('<!--', i)) this.comment();
      else if (text.startsWith('<![CDATA[', i)) this.cdata();
      else this.declaration();
    } else if (next === 0x3f /* ? */) this.processingInstruction();
    else this.startTag();
    return true;
  }

  characterData(textEnd: number): void {
    const { text, i } = this;
    if (this.stack.length === 0) {
      for (let j = i; j < textEnd; j++) {
        if (!isWs(text.charCodeAt(j))) this.fail('XML_MALFORMED', this.root ? 'text after the root element' : 'text before the root element', j);
      }
    } else {
      const cdataEnd = this.nextCdataEnd(i);
      if (cdataEnd !== -1 && cdataEnd < textEnd) this.fail('XML_MALFORMED', "']]>' is not allowed in text", cdataEnd, "write ']]&gt;'");
    }
    const raw = this.reuse(i, textEnd);
    const amp = this.nextAmp(i);
    // Without a reference or a '\r' the value is the raw text itself: one string, not two copies.
    const value = !this.stack.length || ((amp === -1 || amp >= textEnd) && raw.indexOf('\r') === -1) ? raw : this.decode(i, textEnd, false);
    this.add(new ScannedText(raw, value, i));
    this.i = textEnd;
  }

  comment(): void {
    const { text, i } = this;
    const end = text.indexOf('-->', i + 4);
    if (end === -1) this.fail('XML_MALFORMED', 'comment is not closed with -->', i);
    const body = text.slice(i + 4, end);
    if (body.includes('--') || body.endsWith('-')) this.fail('XML_MALFORMED', "'--' is not allowed inside a comment", i + 4 + Math.max(0, body.indexOf('--')));
    this.add({ kind: 'comment', value: body, span: { start: i, end: end + 3 }, parent: undefined });
    this.i = end + 3;
  }

  cdata(): void {
    const { text, i } = this;
    if (this.stack.length === 0) this.fail('XML_MALFORMED', 'CDATA outside the root element', i);
    const end = text.indexOf(']]>', i + 9);
    if (end === -1) this.fail('XML_MALFORMED', 'CDATA section is not closed with ]]>', i);
    this.add({ kind: 'cdata', value: text.slice(i + 9, end), span: { start: i, end: end + 3 }, parent: undefined });
    this.i = end + 3;
  }

  processingInstruction(): void {
    const { text, i } = this;
    const end = text.indexOf('?>', i + 2);
    if (end === -1) this.fail('XML_MALFORMED', 'processing instruction is not closed with ?>', i);
    const nameEnd = this.readName(i + 2);
    if (nameEnd === i + 2) this.fail('XML_BAD_NAME', 'processing instruction without a target', i + 2);
    const target = text.slice(i + 2, nameEnd);
    const data = text.slice(nameEnd, end);
    if (target.toLowerCase() === 'xml') {
      if (i !== (text.charCodeAt(0) === 0xfeff ? 1 : 0) || target !== 'xml') this.fail('XML_MALFORMED', 'the XML declaration must come first in the document', i);
      this.xmlDeclaration(nameEnd, end);
    } else if (nameEnd < end && !isWs(text.charCodeAt(nameEnd))) {
      this.fail('XML_MALFORMED', `processing instruction target '${target}' must be followed by whitespace`, nameEnd);
    }
    this.add({ kind: 'pi', target, data, span: { start: i, end: end + 2 }, parent: undefined });
    this.i = end + 2;
  }

  /**
   * `<?xml version='1.x' encoding='…' standalone='yes|no'?>` exactly as
   * libxml2 reads it: version first and required, then the optional two in
   * that order, whitespace between, matching quotes, nothing else; a version
   * other than 1.x is refused, and an encoding other than UTF-8.
   */
  xmlDeclaration(from: number, end: number): void {
    const { text } = this;
    let j = from;
    const pseudoAttr = (name: string, required: boolean): { value: string; at: number } | undefined => {
      const wsStart = j;
      while (j < end && isWs(text.charCodeAt(j))) j++;
      if (!text.startsWith(name, j)) {
        if (required) this.fail('XML_MALFORMED', `the XML declaration must start with ${name}='1.0'`, j, "write <?xml version='1.0'?>");
        j = wsStart;
        return undefined;
      }
      if (j === wsStart) this.fail('XML_MALFORMED', `whitespace is needed before '${name}' in the XML declaration`, j);
      const at = j;
      j += name.length;
      while (j < end && isWs(text.charCodeAt(j))) j++;
      if (text[j] !== '=') this.fail('XML_MALFORMED', `'${name}' in the XML declaration has no value`, at);
      j++;
      while (j < end && isWs(text.charCodeAt(j))) j++;
      const quote = text[j];
      if (quote !== "'" && quote !== '"') this.fail('XML_MALFORMED', `the value of '${name}' in the XML declaration must be quoted`, j);
      const close = text.indexOf(quote!, j + 1);
      if (close === -1 || close > end) this.fail('XML_MALFORMED', `the value of '${name}' in the XML declaration is not closed with ${quote}`, j);
      const value = text.slice(j + 1, close);
      j = close + 1;
      return { value, at };
    };
    const version = pseudoAttr('version', true)!;
    if (!/^[0-9]+\.[0-9]+$/.test(version.value)) this.fail('XML_MALFORMED', `version='${version.value}' is not an XML version number`, version.at, "write version='1.0'");
    if (!version.value.startsWith('1.')) this.fail('XML_MALFORMED', `XML version '${version.value}' is not supported`, version.at, "write version='1.0'");
    const encoding = pseudoAttr('encoding', false);
    if (encoding) {
      if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(encoding.value)) this.fail('XML_MALFORMED', `encoding='${encoding.value}' is not an encoding name`, encoding.at);
      if (!/^utf-?8$/i.test(encoding.value)) {
        this.fail('XML_BAD_ENCODING', `encoding '${encoding.value}' is not supported: domain XML is read as UTF-8`, encoding.at, "convert the file to UTF-8 and declare encoding='UTF-8'");
      }
    }
    const standalone = pseudoAttr('standalone', false);
    if (standalone && standalone.value !== 'yes' && standalone.value !== 'no') this.fail('XML_MALFORMED', "standalone must be 'yes' or 'no'", standalone.at);
    while (j < end && isWs(text.charCodeAt(j))) j++;
    if (j !== end) this.fail('XML_MALFORMED', `unexpected '${text.slice(j, Math.min(end, j + 20))}' in the XML declaration: only version, encoding and standalone, in that order`, j);
  }

  /** `<!` that is neither a comment nor CDATA: a DOCTYPE (refused with its own code) or nothing XML allows here. */
  declaration(): void {
    const { text, i } = this;
    if (text.slice(i + 2, i + 9).toUpperCase() === 'DOCTYPE') {
      this.fail('XML_DOCTYPE', 'a DOCTYPE is not allowed: libvirt domain XML has none, and it is how entity-expansion and external-entity (XXE) attacks start', i, 'delete the <!DOCTYPE …> declaration');
    }
    this.fail('XML_MALFORMED', `unsupported markup '${text.slice(i, i + 10)}'`, i);
  }

  endTag(): void {
    const { text, i, n } = this;
    const nameEnd = this.readName(i + 2);
    const name = text.slice(i + 2, nameEnd);
    let j = nameEnd;
    while (j < n && isWs(text.charCodeAt(j))) j++;
    if (text[j] !== '>') this.fail('XML_MALFORMED', `end tag '</${name}' is not closed with '>'`, j);
    const open = this.stack.pop();
    if (!open) this.fail('XML_MALFORMED', `end tag </${name}> without a start tag`, i);
    if (open.name !== name) {
      const at = open.location ?? this.doc.locate(open.tagStart);
      this.fail('XML_MISMATCHED_TAG', `</${name}> closes <${open.name}>, opened at line ${at.line} column ${at.column}`, i, `close <${open.name}> before </${name}>`);
    }
    this.closeScope();
    open.spanEnd = j + 1;
    if (this.stack.length === 0) this.rootClosed = true;
    this.i = j + 1;
  }

  startTag(): void {
    const { text, i } = this;
    const nameEnd = this.readName(i + 1);
    if (nameEnd === i + 1) this.fail('XML_MALFORMED', "'<' must start a tag; write &lt; for a literal '<'", i, "write '&lt;'");
    const name = this.reuse(i + 1, nameEnd);
    this.checkQName(name, i + 1);
    if (this.stack.length === 0 && this.root) this.fail('XML_MULTIPLE_ROOTS', `a second root element <${name}>: a document has exactly one`, i);
    if (this.stack.length >= this.maxDepth) this.fail('XML_TOO_DEEP', `elements are nested deeper than ${this.maxDepth} levels`, i);
    if (++this.elementCount > this.maxElements) this.fail('XML_TOO_MANY_ELEMENTS', `the document has more than ${this.maxElements} elements`, i);

    const attrs = this.attributes(name, nameEnd);
    const j = this.attrsEnd;
    const selfClosing = this.attrsSelfClosing;
    const tagEnd = selfClosing ? j + 2 : j + 1;
    const el = ElementImpl.scanned(this.doc, name, attrs, selfClosing);
    el.tagStart = i;
    el.tagEnd = tagEnd;
    this.namespaceOf(el, attrs, i);

    if (this.stack.length === 0) {
      this.root = el;
      this.doc.rootElement = el;
    } else {
      this.add(el);
    }
    if (selfClosing) {
      this.closeScope();
      el.spanEnd = tagEnd;
      if (this.stack.length === 0) this.rootClosed = true;
    } else {
      this.stack.push(el);
    }
    this.i = tagEnd;
  }

  /**
   * The attributes of the start tag whose name ends at `from`, packed (name, value, offset of the name) in an
   * array of their exact length, or undefined when there are none (a pushed-to array reserves 16 slots); the
   * index of its `>` or `/>` is left in attrsEnd, and which of the two in attrsSelfClosing.
   */
  attributes(name: string, from: number): PackedAttrs | undefined {
    const { text, n } = this;
    // Filled by index, never truncated: setting length to 0 would give up the scratch array's own store.
    const attrs = this.scratchAttrs;
    let count = 0;
    let attrNames: Set<string> | undefined;
    let j = from;
    for (;;) {
      const wsStart = j;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (j >= n) this.fail('XML_UNCLOSED', `start tag <${name}> is not closed`, from - name.length - 1);
      const c = text[j];
      if (c === '>' || c === '/') {
        if (c === '/' && text[j + 1] !== '>') this.fail('XML_MALFORMED', `'/' in <${name}> must be followed by '>'`, j);
        this.attrsEnd = j;
        this.attrsSelfClosing = c === '/';
        // Array literals for the common small counts: allocated inline, where slice() is a builtin call per
        // element (most elements have 0-2 attributes). The scratch slots keep their strings until overwritten:
        // they are names and values of this document, which the tree keeps anyway.
        if (count === 0) return undefined;
        if (count === 1) return [attrs[0]!, attrs[1]!, attrs[2]!];
        if (count === 2) return [attrs[0]!, attrs[1]!, attrs[2]!, attrs[3]!, attrs[4]!, attrs[5]!];
        return attrs.slice(0, count * ATTR_STRIDE);
      }
      if (j === wsStart) this.fail('XML_BAD_ATTRIBUTE', `attributes of <${name}> must be separated by whitespace`, j);
      const aStart = j;
      const aNameEnd = this.readName(j);
      if (aNameEnd === j) this.fail('XML_BAD_ATTRIBUTE', `unexpected '${c}' in <${name}>`, j);
      const aName = this.reuse(j, aNameEnd);
      this.checkQName(aName, j);
      j = aNameEnd;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (text[j] !== '=') this.fail('XML_BAD_ATTRIBUTE', `attribute '${aName}' has no value`, aStart, `write ${aName}='…'`);
      j++;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      const quote = text[j];
      if (quote !== "'" && quote !== '"') this.fail('XML_BAD_ATTRIBUTE', `the value of '${aName}' must be quoted`, j, `write ${aName}='…'`);
      const vStart = j + 1;
      const vEnd = text.indexOf(quote, vStart);
      if (vEnd === -1) this.fail('XML_UNCLOSED', `the value of '${aName}' is not closed`, j);
      const ltAt = this.nextLt(vStart);
      if (ltAt !== -1 && ltAt < vEnd) this.fail('XML_BAD_ATTRIBUTE', `'<' is not allowed in the value of '${aName}'`, ltAt, "write '&lt;'");
      if (count === ATTRS_SCANNED_LINEARLY) {
        attrNames = new Set();
        for (let k = 0; k < count * ATTR_STRIDE; k += ATTR_STRIDE) attrNames.add(attrs[k] as string);
      }
      if (attrNames ? attrNames.has(aName) : hasName(attrs, count, aName)) this.fail('XML_DUPLICATE_ATTRIBUTE', `attribute '${aName}' appears twice in <${name}>`, aStart, 'keep one of them');
      // Attribute-value normalization: references decoded, each whitespace char → space.
      const amp = this.nextAmp(vStart);
      const value = amp === -1 || amp >= vEnd ? normalizeAttr(smallNumber(text, vStart, vEnd) ?? text.slice(vStart, vEnd)) : this.decode(vStart, vEnd, true);
      attrNames?.add(aName);
      const k = count++ * ATTR_STRIDE;
      attrs[k] = aName;
      attrs[k + 1] = value;
      attrs[k + 2] = aStart;
      j = vEnd + 1;
    }
  }

  /**
   * Namespaces: bind what `el` declares (undone when it closes), check every
   * prefix it uses, and record the namespace of its own name. Elements that
   * declare nothing allocate nothing.
   */
  namespaceOf(el: ElementImpl, attrs: PackedAttrs | undefined, at: number): void {
    const depth = this.stack.length;
    // One pass over the attributes for declarations; prefixed attributes (rare) are checked after it, once this
    // element's own declarations are in scope.
    let prefixedAttr = false;
    const slots = attrs?.length ?? 0;
    for (let k = 0; k < slots; k += ATTR_STRIDE) {
      const aName = attrs![k] as string;
      const colon = aName.indexOf(':');
      let prefix: string;
      if (colon === -1) {
        if (aName !== 'xmlns') continue;
        prefix = '';
      } else if (colon === 5 && aName.startsWith('xmlns')) {
        prefix = aName.slice(6);
        if (attrs![k + 1] === '') this.fail('XML_UNBOUND_PREFIX', `prefix '${prefix}' cannot be bound to an empty namespace`, attrs![k + 2] as number);
      } else {
        prefixedAttr = true;
        continue;
      }
      this.bindings.push({ depth, prefix, previous: this.namespaces.get(prefix) });
      this.namespaces.set(prefix, attrs![k + 1] as string);
    }
    const elPrefix = el.prefix;
    if (elPrefix !== undefined && !this.bound(elPrefix)) {
      this.fail('XML_UNBOUND_PREFIX', `prefix '${elPrefix}' of <${el.name}> is not bound to a namespace`, at + 1, `add xmlns:${elPrefix}='…' to this element or an ancestor`);
    }
    if (prefixedAttr) {
      for (let k = 0; k < slots; k += ATTR_STRIDE) {
        const aName = attrs![k] as string;
        const colon = aName.indexOf(':');
        if (colon === -1) continue;
        const ap = aName.slice(0, colon);
        if (ap !== 'xmlns' && !this.bound(ap)) this.fail('XML_UNBOUND_PREFIX', `prefix '${ap}' of attribute '${aName}' is not bound to a namespace`, attrs![k + 2] as number);
      }
    }
    // No binding in scope (most documents declare none): no lookup.
    const uri = elPrefix === 'xml' ? 'http://www.w3.org/XML/1998/namespace' : this.namespaces.size === 0 ? undefined : this.namespaces.get(elPrefix ?? '');
    el.scannedNamespace = uri === '' ? undefined : uri;
  }

  bound(prefix: string): boolean {
    if (prefix === 'xml' || prefix === 'xmlns') return true;
    const uri = this.namespaces.get(prefix);
    return uri !== undefined && uri !== '';
  }

  /** Undo the bindings of the element at the current depth (called after it left the stack). */
  closeScope(): void {
    const depth = this.stack.length;
    const b = this.bindings;
    while (b.length > 0 && b[b.length - 1]!.depth === depth) {
      const { prefix, previous } = b.pop()!;
      if (previous === undefined) this.namespaces.delete(prefix);
      else this.namespaces.set(prefix, previous);
    }
  }

  readName(from: number): number {
    const { text, n } = this;
    if (from >= n) return from;
    const c = text.charCodeAt(from);
    // ASCII letters and '_' / ':' without a regex; anything else through NAME_START.
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || (c >= 0x80 && NAME_START.test(text[from]!)))) return from;
    let j = from + 1;
    // NAME_CHAR's ASCII members are exactly isAsciiNameChar's: the regex is for characters from U+0080 only (it
    // ran once per name on the character that ends it, a ' ' or '=' or '>', for a tenth of the parse).
    for (; j < n; j++) {
      const d = text.charCodeAt(j);
      if (!isAsciiNameChar(d) && (d < 0x80 || !NAME_CHAR.test(text[j]!))) break;
    }
    return j;
  }

  checkQName(name: string, at: number): void {
    const colon = name.indexOf(':');
    if (colon === -1) return;
    if (colon === 0 || colon === name.length - 1 || name.indexOf(':', colon + 1) !== -1) this.fail('XML_BAD_NAME', `'${name}' is not a valid qualified name`, at);
  }

  /**
   * Text of [a, b) without references: line ends become \n and, in
   * attribute values, literal whitespace becomes a space (attribute-value
   * normalization). Most values have none of these, and are sliced as is.
   */
  plain(a: number, b: number, attribute: boolean): string {
    const t = this.text.slice(a, b);
    if (attribute) return normalizeAttr(t);
    return t.indexOf('\r') === -1 ? t : t.replace(/\r\n?/g, '\n');
  }

  /** Decode references in [from, to) of the text; errors at their offset. */
  decode(from: number, to: number, attribute: boolean): string {
    let amp = this.nextAmp(from);
    if (amp === -1 || amp >= to) return this.plain(from, to, attribute);
    let out = '';
    let last = from;
    while (amp !== -1 && amp < to) {
      const { ch, end } = this.reference(amp, to);
      out += this.plain(last, amp, attribute) + ch;
      last = end;
      amp = this.nextAmp(last);
    }
    return out + this.plain(last, to, attribute);
  }

  /** The reference starting with '&' at `amp` (before `to`): its character and the index after its ';'. */
  reference(amp: number, to: number): { ch: string; end: number } {
    const { text } = this;
    const noRef = (): never => this.fail('XML_UNDEFINED_ENTITY', "'&' starts no reference; write &amp; for a literal ampersand", amp, "write '&amp;'");
    if (text.charCodeAt(amp + 1) === 0x23 /* # */) {
      // Any number of leading zeros is allowed (libxml2 accepts &#x0000000041;); the value is capped while reading.
      const hex = text.charCodeAt(amp + 2) === 0x78 /* x */;
      let j = amp + (hex ? 3 : 2);
      const digitsStart = j;
      let cp = 0;
      for (; j < to; j++) {
        const c = text.charCodeAt(j);
        const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : hex && c >= 0x61 && c <= 0x66 ? c - 0x57 : hex && c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
        if (d === -1) break;
        cp = Math.min(cp * (hex ? 16 : 10) + d, 0x110000);
      }
      const shown = text.slice(amp, Math.min(j + 1, amp + 24));
      if (j === digitsStart || text.charCodeAt(j) !== 0x3b /* ; */ || j >= to) this.fail('XML_BAD_CHAR_REF', `'${shown}' is not a character reference`, amp);
      if (!isXmlChar(cp)) this.fail('XML_BAD_CHAR_REF', `'${shown}' refers to a character XML does not allow`, amp);
      return { ch: String.fromCodePoint(cp), end: j + 1 };
    }
    const nameEnd = this.readName(amp + 1);
    if (nameEnd === amp + 1 || nameEnd >= to || text.charCodeAt(nameEnd) !== 0x3b) noRef();
    const ref = text.slice(amp + 1, nameEnd);
    const v = PREDEFINED[ref];
    if (v === undefined) this.fail('XML_UNDEFINED_ENTITY', `entity '&${ref};' is not defined (only &lt; &gt; &amp; &apos; &quot; exist without a DTD)`, amp, 'write the character itself or a numeric reference');
    return { ch: v, end: nameEnd + 1 };
  }

  /** After the last construct: nothing left open, and a root was seen. */
  finish(): DocumentImpl {
    if (this.stack.length > 0) {
      const open = this.stack[this.stack.length - 1]!;
      this.fail('XML_UNCLOSED', `<${open.name}> is never closed`, open.startTag.start, `add </${open.name}>`);
    }
    if (!this.root) this.fail('XML_NO_ROOT', 'the document has no root element', 0);
    return this.doc;
  }
}

export function scanDocument(text: string, options: ParseOptions = {}): DocumentImpl {
  const scanner = new Scanner(text, options);
  scanner.gate();
  while (scanner.step());
  return scanner.finish();
}

/** Whether one of the first `count` attributes is named `name`. */
function hasName(attrs: PackedAttrs, count: number, name: string): boolean {
  for (let k = 0; k < count * ATTR_STRIDE; k += ATTR_STRIDE) if (attrs[k] === name) return true;
  return false;
}
