/**
 * The document tree: nodes that remember their source spans, edits that
 * mark what they touch, and a printer that copies every untouched span
 * verbatim and regenerates only edited start tags and child lists
 * (recast's "reprint only what changed").
 */
import type { SourceLocation } from '../errors.js';
import { VirtPinError } from '../errors.js';
import type {
  ElementSpec,
  InsertPosition,
  QuoteChar,
  Span,
  XmlAttribute,
  XmlCData,
  XmlComment,
  XmlDocument,
  XmlElement,
  XmlNode,
  XmlProcessingInstruction,
  XmlStyle,
  XmlText,
} from './types.js';
import { childRank } from './order.js';
import { attrsOf, checkSpec } from './build.js';
import { describeChar, illegalChar, isQName, isWs } from './chars.js';

export interface AttrRecord extends XmlAttribute {
  /** Whitespace written before the attribute (reused when the tag is reprinted). */
  readonly lead: string;
}

/**
 * An attribute as scanned: its span is kept as two numbers and made into a
 * Span object only when asked for (printing an edited tag, a location), which
 * saves an object per attribute on every parse.
 */
export class ScannedAttr implements AttrRecord {
  constructor(
    readonly name: string,
    readonly value: string,
    readonly raw: string,
    readonly quote: QuoteChar,
    readonly lead: string,
    readonly start: number,
    readonly end: number,
  ) {}

  get span(): Span {
    return { start: this.start, end: this.end };
  }
}

/**
 * A scanned element's attributes as the scanner leaves them: name, value and the source offset of the name,
 * ATTR_STRIDE slots per attribute in one array. The records (ScannedAttr) are built from these and the source
 * only when something asks for attribute objects (`attributes`, `attribute()`, an edit, printing an edited
 * tag). A read asks for values and offsets only, so a parse keeps one small array per element instead of an
 * array and an object per attribute: for a large <cputune>, a quarter of the tree that every young-generation
 * collection during the read has to copy.
 */
export type PackedAttrs = (string | number)[];
export const ATTR_STRIDE = 3;

/** Where the opening quote of the scanned attribute whose name starts at `start` is (past `=` and white space). */
function openingQuoteAt(src: string, name: string, start: number): number {
  let j = start + name.length;
  while (src[j] !== "'" && src[j] !== '"') j++;
  return j;
}

/** The scanned attribute whose name starts at `start`: raw value, quote, end and leading white space from the source. */
function scannedAttr(src: string, name: string, value: string, start: number): ScannedAttr {
  const q = openingQuoteAt(src, name, start);
  const quote = src[q] as QuoteChar;
  const end = src.indexOf(quote, q + 1) + 1;
  // The scanner refuses attributes that no white space separates, so the run before the name is all of its lead.
  let k = start;
  while (k > 0 && isWs(src.charCodeAt(k - 1))) k--;
  return new ScannedAttr(name, value, src.slice(q + 1, end - 1), quote, src.slice(k, start), start, end);
}

/**
 * A text node as scanned: like ScannedAttr, its span is two numbers, made
 * into an object only when printing asks (every indentation run of a
 * document is one of these).
 */
export class ScannedText {
  // On the prototype (below the class), as ElementImpl's: one field fewer per text node of every parse.
  declare readonly kind: 'text';
  parent: ElementImpl | undefined = undefined;
  constructor(
    readonly raw: string,
    readonly value: string,
    readonly start: number,
  ) {}

  /** raw is the source text itself, so it ends where its length says (a field fewer per text node of every parse). */
  get end(): number {
    return this.start + this.raw.length;
  }
  get span(): Span {
    return { start: this.start, end: this.end };
  }
}
Object.defineProperty(ScannedText.prototype, 'kind', { value: 'text' });

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type TextImpl = (Mutable<XmlText> & { parent: ElementImpl | undefined }) | ScannedText;
export type LeafImpl = (Mutable<XmlComment> | Mutable<XmlCData> | Mutable<XmlProcessingInstruction>) & { parent: ElementImpl | undefined };
export type NodeImpl = ElementImpl | TextImpl | LeafImpl;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
/** The start tag of an element not read from source; shared (spans are replaced, never mutated). */
const NO_START_TAG: Span = Object.freeze({ start: -1, end: -1 });

/**
 * What locate() returns: a class instance rather than an object literal, because the domain reader locates
 * every element it reads (one per <vcpupin>), and V8 pretenures a literal's allocation site for good once a
 * collection finds most of its objects alive (see PinnedVcpu in src/resolve/resolve.ts).
 */
class Position implements SourceLocation {
  constructor(
    public line: number,
    public column: number,
    public offset: number,
  ) {}
}

/**
 * Line and column of any index of a text, by binary search in a table of line starts built on first use. It
 * holds the text and that table and nothing of the tree, so a model that outlives its document can keep one to
 * locate its fields when asked (see ValueField in src/domain/grammar.ts).
 */
export class SourceLines {
  readonly source: string;
  #starts: number[] | undefined;
  #hasCr: boolean | undefined;

  constructor(source: string) {
    this.source = source;
  }

  get hasCr(): boolean {
    return (this.#hasCr ??= this.source.indexOf('\r') !== -1);
  }

  locate(offset: number): SourceLocation {
    const starts = (this.#starts ??= lineStartsOf(this.source, this.hasCr));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return new Position(lo + 1, offset - starts[lo]! + 1, offset);
  }
}

export class DocumentImpl implements XmlDocument {
  readonly source: string;
  readonly fileName: string | undefined;
  rootElement!: ElementImpl;
  prologNodes: NodeImpl[] = [];
  epilogNodes: NodeImpl[] = [];
  modifiedFlag = false;
  /** The line table, for lookups behind locate()'s cursor and for locations asked for after the read. */
  readonly lines: SourceLines;
  /** locate()'s cursor: the last index it answered for, that index's line and where that line starts. */
  #cursorOffset = 0;
  #cursorLine = 1;
  #cursorLineStart = 0;
  #style: XmlStyle | undefined;

  constructor(source: string, fileName: string | undefined) {
    this.source = source;
    this.fileName = fileName;
    this.lines = new SourceLines(source);
  }

  static textNode(raw: string, value: string, span: Span | undefined): TextImpl {
    return { kind: 'text', raw, value, span, parent: undefined };
  }

  get root(): XmlElement {
    return this.rootElement;
  }
  get prolog(): readonly XmlNode[] {
    return this.prologNodes as XmlNode[];
  }
  get epilog(): readonly XmlNode[] {
    return this.epilogNodes as XmlNode[];
  }
  get modified(): boolean {
    return this.modifiedFlag;
  }

  get style(): XmlStyle {
    if (!this.#style) this.#style = detectStyle(this);
    return this.#style;
  }

  /**
   * Line and column of a source index. Readers ask in document order (the
   * domain reader locates every element it reads), so a cursor walks forward
   * from the last answer, counting line ends with indexOf: a monotone series
   * of lookups costs one pass over the text and allocates nothing. A lookup
   * behind the cursor, or any lookup in a text with a carriage return, goes
   * to the line table (SourceLines), built on first need.
   */
  locate(offset: number): SourceLocation {
    const s = this.source;
    if (!this.lines.hasCr && offset >= this.#cursorOffset) {
      let line = this.#cursorLine;
      let lineStart = this.#cursorLineStart;
      for (let k = s.indexOf('\n', this.#cursorOffset); k !== -1 && k < offset; k = s.indexOf('\n', k + 1)) {
        line++;
        lineStart = k + 1;
      }
      this.#cursorOffset = offset;
      this.#cursorLine = line;
      this.#cursorLineStart = lineStart;
      return new Position(line, offset - lineStart + 1, offset);
    }
    return this.lines.locate(offset);
  }

  byteOffset(offset: number): number {
    return Buffer.byteLength(this.source.slice(0, offset), 'utf8');
  }
}

/** Where each line starts; a line ends at \n, \r\n or a lone \r (XML reads all three as one line end). */
function lineStartsOf(s: string, hasCr: boolean): number[] {
  const starts = [0];
  if (!hasCr) {
    for (let k = s.indexOf('\n'); k !== -1; k = s.indexOf('\n', k + 1)) starts.push(k + 1);
    return starts;
  }
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x0a || (c === 0x0d && s.charCodeAt(k + 1) !== 0x0a)) starts.push(k + 1);
  }
  return starts;
}

function detectStyle(doc: DocumentImpl): XmlStyle {
  const s = doc.source;
  const crlf = s.indexOf('\r\n');
  const lf = s.indexOf('\n');
  const newline = crlf !== -1 && crlf + 1 === lf ? '\r\n' : '\n';
  // Quote: what most attributes use (libvirt writes ').
  let single = 0;
  let double = 0;
  // Iterative: with maxDepth Infinity a document may nest 1e5 deep.
  const todo: ElementImpl[] = [doc.rootElement];
  for (let e = todo.pop(); e; e = todo.pop()) {
    for (let k = 0, n = e.attrCount; k < n; k++) e.attrQuoteAt(k) === "'" ? single++ : double++;
    for (const k of e.kids) if (k.kind === 'element') todo.push(k);
  }
  const quote: QuoteChar = double > single ? '"' : "'";
  // Indent unit: the indentation of the root's first child element.
  let indentUnit = '  ';
  const first = doc.rootElement.kids.find((k): k is ElementImpl => k.kind === 'element');
  if (first?.span) {
    const ind = indentBefore(s, first.span.start);
    if (ind !== undefined && ind.length > 0) indentUnit = ind;
  }
  return { quote, newline, indentUnit };
}

/** The spaces/tabs between the previous newline and `offset`, or undefined when other text sits there. */
function indentBefore(s: string, offset: number): string | undefined {
  let k = offset;
  while (k > 0 && (s[k - 1] === ' ' || s[k - 1] === '\t')) k--;
  if (k === 0 || s[k - 1] === '\n') return s.slice(k, offset);
  return undefined;
}

const SELF_CLOSING = 8;
/** The attributes are still PackedAttrs. */
const PACKED = 16;
/** The child list of every scanned `<x/>`: never written to (see ElementImpl.scanned). */
const NO_KIDS: NodeImpl[] = [];
/** The packed list of every scanned element without attributes: never written to (records replace it first). */
const NO_ATTRS: PackedAttrs = [''];
NO_ATTRS.length = 0; // made from a string literal so that it has the elements kind of every other packed list
const NEW_ELEMENT_INDENT = new WeakMap<ElementImpl, string>();

export class ElementImpl implements XmlElement {
  // kind is on the prototype (below the class): one field fewer per element of every parse.
  declare readonly kind: 'element';
  readonly name: string;
  parent: ElementImpl | undefined;
  /** PackedAttrs while the PACKED bit of #edits is set, records after that. */
  #attrList: PackedAttrs | AttrRecord[];
  kids: NodeImpl[];
  // Source offsets as numbers, not span objects (one to three fewer objects per element of every parse);
  // -1 when absent. The span is [tagStart, spanEnd), the start tag [tagStart, tagEnd), the end tag [endStart, spanEnd);
  // endStart and the start tag's tail are found from the source when printing asks.
  tagStart = -1;
  tagEnd = -1;
  spanEnd = -1;
  #location: SourceLocation | undefined;
  readonly docImpl: DocumentImpl;
  /**
   * tagDirty, kidsDirty, dirty and selfClosingFlag as bits of one field (four fields per element of every parse
   * otherwise; the first three are set only by edits).
   */
  #edits = 0;
  /** Namespace URI of the name as the scanner resolved it; null when not scanned (new elements). */
  scannedNamespace: string | undefined | null = null;
  /** 1-based position among same-name siblings, written by the domain reader's path index when it indexes the parent. */
  siblingPosition = 0;

  /** `attrs` is packed only when `scanned` builds the element (and sets the PACKED bit). */
  constructor(doc: DocumentImpl, name: string, attrs: AttrRecord[] | PackedAttrs, selfClosing: boolean, kids: NodeImpl[] = []) {
    this.docImpl = doc;
    this.kids = kids;
    this.name = name;
    this.#attrList = attrs;
    if (selfClosing) this.#edits = SELF_CLOSING;
  }

  /**
   * An element as the scanner read it, with its attributes packed (an empty list when there are none). A `<x/>`
   * shares one empty child list: every edit that gives an element without children its first child assigns it
   * a new list (setText, insert), and nothing else writes to an empty one. The shared list is a plain `[]`, not
   * a frozen one: a frozen array has another elements kind, which made every loop over `kids` polymorphic and
   * the corpus one pass ~15 % slower.
   */
  static scanned(doc: DocumentImpl, name: string, packed: PackedAttrs | undefined, selfClosing: boolean): ElementImpl {
    const e = new ElementImpl(doc, name, packed ?? NO_ATTRS, selfClosing, selfClosing ? NO_KIDS : []);
    e.#edits |= PACKED;
    return e;
  }

  /** Where the end tag starts: `</`, then the name, then white space up to the `>` at spanEnd - 1; -1 without one. */
  get endStart(): number {
    if (this.spanEnd <= this.tagEnd) return -1;
    const src = this.docImpl.source;
    let k = this.spanEnd - 1;
    while (isWs(src.charCodeAt(k - 1))) k--;
    return k - this.name.length - 2;
  }

  /** The white space between the last attribute (or the name) and `>` or `/>` of a scanned start tag. */
  get tail(): string {
    if (this.tagStart < 0) return '';
    const src = this.docImpl.source;
    // `/>` or `>`: nothing else in a start tag puts '/' right before its end.
    const end = src.charCodeAt(this.tagEnd - 2) === 0x2f ? this.tagEnd - 2 : this.tagEnd - 1;
    let k = end;
    while (isWs(src.charCodeAt(k - 1))) k--;
    return src.slice(k, end);
  }

  /** The attribute records, built from the packed list on first use; edits change this array. */
  get attrs(): AttrRecord[] {
    if ((this.#edits & PACKED) === 0) return this.#attrList as AttrRecord[];
    const packed = this.#attrList as PackedAttrs;
    const src = this.docImpl.source;
    const out: AttrRecord[] = [];
    for (let k = 0; k < packed.length; k += ATTR_STRIDE) out.push(scannedAttr(src, packed[k] as string, packed[k + 1] as string, packed[k + 2] as number));
    this.#attrList = out;
    this.#edits &= ~PACKED;
    return out;
  }

  get attrCount(): number {
    return (this.#edits & PACKED) === 0 ? this.#attrList.length : this.#attrList.length / ATTR_STRIDE;
  }

  /** The index of attribute `name` (for attrValueAt, attrStartAt), or -1; builds no records. */
  attrIndex(name: string): number {
    const list = this.#attrList;
    if ((this.#edits & PACKED) !== 0) {
      for (let k = 0; k < list.length; k += ATTR_STRIDE) if (list[k] === name) return k / ATTR_STRIDE;
      return -1;
    }
    for (let k = 0; k < list.length; k++) if ((list[k] as AttrRecord).name === name) return k;
    return -1;
  }
  attrValueAt(index: number): string {
    return (this.#edits & PACKED) !== 0 ? (this.#attrList[index * ATTR_STRIDE + 1] as string) : (this.#attrList[index] as AttrRecord).value;
  }
  /** Source offset of the index-th attribute's name; -1 when an edit wrote it. */
  attrStartAt(index: number): number {
    if ((this.#edits & PACKED) !== 0) return this.#attrList[index * ATTR_STRIDE + 2] as number;
    const a = this.#attrList[index];
    return a instanceof ScannedAttr ? a.start : -1;
  }
  attrQuoteAt(index: number): QuoteChar {
    if ((this.#edits & PACKED) === 0) return (this.#attrList[index] as AttrRecord).quote;
    const k = index * ATTR_STRIDE;
    const src = this.docImpl.source;
    return src[openingQuoteAt(src, this.#attrList[k] as string, this.#attrList[k + 2] as number)] as QuoteChar;
  }

  /** Written `<x/>` (or, for a new element, to be printed so while it has no children). */
  get selfClosingFlag(): boolean {
    return (this.#edits & SELF_CLOSING) !== 0;
  }
  set selfClosingFlag(v: boolean) {
    this.#edits = v ? this.#edits | SELF_CLOSING : this.#edits & ~SELF_CLOSING;
  }

  /** Indentation for a new element (no span); kept beside the element, since only edits set it. */
  get indent(): string | undefined {
    return NEW_ELEMENT_INDENT.get(this);
  }
  set indent(v: string | undefined) {
    if (v === undefined) NEW_ELEMENT_INDENT.delete(this);
    else NEW_ELEMENT_INDENT.set(this, v);
  }

  /** From the name each time (two fields per element of every parse otherwise; unprefixed names allocate nothing). */
  get prefix(): string | undefined {
    const colon = this.name.indexOf(':');
    return colon === -1 ? undefined : this.name.slice(0, colon);
  }
  get localName(): string {
    const colon = this.name.indexOf(':');
    return colon === -1 ? this.name : this.name.slice(colon + 1);
  }

  /** The start tag must be reprinted. */
  get tagDirty(): boolean {
    return (this.#edits & 1) !== 0;
  }
  set tagDirty(v: boolean) {
    this.#edits = v ? this.#edits | 1 : this.#edits & ~1;
  }
  /** The child list must be reprinted (children themselves may still be verbatim). */
  get kidsDirty(): boolean {
    return (this.#edits & 2) !== 0;
  }
  set kidsDirty(v: boolean) {
    this.#edits = v ? this.#edits | 2 : this.#edits & ~2;
  }
  /** Something in this subtree changed. */
  get dirty(): boolean {
    return (this.#edits & 4) !== 0;
  }
  set dirty(v: boolean) {
    this.#edits = v ? this.#edits | 4 : this.#edits & ~4;
  }

  /** Computed on first use: most elements of a document are never reported on. */
  get location(): SourceLocation | undefined {
    if (this.#location === undefined && this.tagStart >= 0) this.#location = this.docImpl.locate(this.tagStart);
    return this.#location;
  }

  /** Source span of the whole element (undefined for new elements). */
  get span(): Span | undefined {
    return this.tagStart < 0 ? undefined : { start: this.tagStart, end: this.spanEnd };
  }
  get startTag(): Span {
    return this.tagStart < 0 ? NO_START_TAG : { start: this.tagStart, end: this.tagEnd };
  }
  get endTag(): Span | undefined {
    return this.endStart < 0 ? undefined : { start: this.endStart, end: this.spanEnd };
  }

  get document(): XmlDocument {
    return this.docImpl;
  }
  get attributes(): readonly XmlAttribute[] {
    return this.attrs;
  }
  get children(): readonly XmlNode[] {
    return this.kids as XmlNode[];
  }
  get selfClosing(): boolean {
    return this.selfClosingFlag;
  }

  attr(name: string): string | undefined {
    const k = this.attrIndex(name);
    return k === -1 ? undefined : this.attrValueAt(k);
  }
  attribute(name: string): XmlAttribute | undefined {
    const k = this.attrIndex(name);
    return k === -1 ? undefined : this.attrs[k];
  }

  attrLocation(name: string): SourceLocation | undefined {
    const k = this.attrIndex(name);
    // Where a scanned attribute starts, without building its record; an edited one has no place in the source.
    const start = k === -1 ? -1 : this.attrStartAt(k);
    return start >= 0 ? this.docImpl.locate(start) : this.location;
  }
  elements(name?: string): XmlElement[] {
    const out: ElementImpl[] = [];
    for (const k of this.kids) if (k.kind === 'element' && (name === undefined || k.name === name)) out.push(k);
    return out;
  }
  element(name: string): XmlElement | undefined {
    for (const k of this.kids) if (k.kind === 'element' && k.name === name) return k;
    return undefined;
  }
  find(path: string): XmlElement[] {
    let current: XmlElement[] = [this];
    for (const step of path.split('/').filter(Boolean)) {
      const next: XmlElement[] = [];
      for (const e of current) next.push(...(step === '*' ? e.elements() : e.elements(step)));
      current = next;
    }
    return current;
  }
  findFirst(path: string): XmlElement | undefined {
    return this.find(path)[0];
  }
  text(): string {
    let out = '';
    for (const k of this.kids) if (k.kind === 'text' || k.kind === 'cdata') out += k.value;
    return out;
  }
  lookupNamespace(prefix: string | undefined): string | undefined {
    if (prefix === 'xml') return XML_NS;
    const attrName = prefix === undefined ? 'xmlns' : `xmlns:${prefix}`;
    for (let e: ElementImpl | undefined = this; e; e = e.parent) {
      const v = e.attr(attrName);
      if (v !== undefined) return v === '' ? undefined : v;
    }
    return undefined;
  }
  namespaceURI(): string | undefined {
    // The scanner's answer holds until an edit could have changed an xmlns attribute.
    if (this.scannedNamespace !== null && !this.docImpl.modifiedFlag) return this.scannedNamespace;
    return this.lookupNamespace(this.prefix);
  }

  // ---------------------------------------------------------------- edits

  private touch(): void {
    for (let e: ElementImpl | undefined = this; e && !e.dirty; e = e.parent) e.dirty = true;
    this.docImpl.modifiedFlag = true;
  }

  setAttr(name: string, value: string): void {
    checkName(name);
    checkChars(value, `the value of '${name}'`);
    const colon = name.indexOf(':');
    if (colon !== -1) {
      const prefix = name.slice(0, colon);
      if (prefix === 'xmlns') {
        if (value === '') throw new VirtPinError('XML_UNBOUND_PREFIX', `prefix '${name.slice(6)}' cannot be bound to an empty namespace`, this.where());
      } else if (prefix !== 'xml' && this.lookupNamespace(prefix) === undefined) {
        throw new VirtPinError('XML_UNBOUND_PREFIX', `prefix '${prefix}' of attribute '${name}' is not bound to a namespace at <${this.name}>`, {
          ...this.where(),
          hint: `set xmlns:${prefix} on this element or an ancestor first`,
        });
      }
    }
    const k = this.attrs.findIndex((a) => a.name === name);
    const quote = k === -1 ? this.docImpl.style.quote : this.attrs[k]!.quote;
    const rec: AttrRecord = { name, value, raw: escapeAttr(value, quote), quote, span: undefined, lead: k === -1 ? ' ' : this.attrs[k]!.lead };
    if (k !== -1 && this.attrs[k]!.value === value) return;
    if (k === -1) this.attrs.push(rec);
    else this.attrs[k] = rec;
    this.tagDirty = true;
    this.touch();
  }

  removeAttr(name: string): boolean {
    const k = this.attrs.findIndex((a) => a.name === name);
    if (k === -1) return false;
    this.attrs.splice(k, 1);
    this.tagDirty = true;
    this.touch();
    return true;
  }

  setText(value: string): void {
    checkChars(value, `the text of <${this.name}>`);
    const node = DocumentImpl.textNode(escapeText(value), value, undefined);
    node.parent = this;
    this.kids = [node];
    this.selfClosingFlag = false;
    this.kidsDirty = true;
    this.touch();
  }

  insert(child: ElementSpec | XmlElement, at?: InsertPosition): XmlElement {
    const el = this.adopt(child);
    const elementKids = this.elements() as ElementImpl[];
    let before: ElementImpl | undefined;
    let after: ElementImpl | undefined;
    if (at === undefined) {
      const rank = childRank(this.name, el.name);
      if (rank === undefined) after = elementKids.at(-1);
      else {
        // Before the first sibling libvirt prints later, after the last one it
        // prints earlier (or with it) among those in front of it.
        const firstLater = elementKids.findIndex((k) => (childRank(this.name, k.name) ?? -1) > rank);
        const front = firstLater === -1 ? elementKids : elementKids.slice(0, firstLater);
        for (const k of front) {
          const r = childRank(this.name, k.name);
          if (r !== undefined && r <= rank) after = k;
        }
        if (!after && firstLater !== -1) before = elementKids[firstLater];
        if (!after && !before) after = elementKids.at(-1);
      }
    } else if (at === 'first') before = elementKids[0];
    else if (at === 'last') after = elementKids.at(-1);
    else if ('index' in at) {
      if (at.index < elementKids.length) before = elementKids[Math.max(0, at.index)];
      else after = elementKids.at(-1);
    } else if ('before' in at) before = this.ownChild(at.before);
    else after = this.ownChild(at.after);

    if (el.prefix !== undefined && el.attr(`xmlns:${el.prefix}`) === undefined && this.lookupNamespace(el.prefix) === undefined) {
      throw new VirtPinError('XML_UNBOUND_PREFIX', `prefix '${el.prefix}' of the new <${el.name}> is not bound where it is inserted`, {
        hint: `add ['xmlns:${el.prefix}', URI] to its attributes`,
      });
    }
    const nl = this.docImpl.style.newline;
    if (after) {
      el.indent = indentOf(after);
      const k = this.kids.indexOf(after);
      this.kids.splice(k + 1, 0, this.wsNode(nl + el.indent), el);
    } else if (before) {
      el.indent = indentOf(before);
      const k = this.kids.indexOf(before);
      this.kids.splice(k, 0, el, this.wsNode(nl + el.indent));
    } else {
      // No element children: open the parent onto its own lines.
      const own = indentOf(this);
      el.indent = own + this.docImpl.style.indentUnit;
      // Comments, processing instructions and whitespace are not text content: keep the first two, re-lay the last.
      const content = this.kids.find((k) => k.kind === 'cdata' || (k.kind === 'text' && k.value.trim() !== ''));
      if (content) {
        throw new VirtPinError('XML_EDIT_MIXED_CONTENT', `<${this.name}> holds text; cannot add child elements to it`, {
          ...(content.span ? { location: this.docImpl.locate(content.span.start) } : this.where()),
        });
      }
      const kept = this.kids.filter((k) => k.kind === 'comment' || k.kind === 'pi');
      const kids: NodeImpl[] = [];
      for (const k of kept) {
        const before = this.kids[this.kids.indexOf(k) - 1];
        // A comment that sat on its own line keeps it; one written right after the tag stays there.
        if (before?.kind === 'text') kids.push(this.wsNode(nl + el.indent));
        kids.push(k);
      }
      this.kids = [...kids, this.wsNode(nl + el.indent), el, this.wsNode(nl + own)];
      this.selfClosingFlag = false;
    }
    el.parent = this;
    this.kidsDirty = true;
    this.touch();
    return el;
  }

  remove(child: XmlElement): void {
    const el = this.ownChild(child);
    const k = this.kids.indexOf(el);
    const prev = this.kids[k - 1];
    const next = this.kids[k + 1];
    const isWsText = (x: NodeImpl | undefined): x is TextImpl => x?.kind === 'text' && x.value.trim() === '';
    if (isWsText(prev) && /\n/.test(prev.raw)) this.kids.splice(k - 1, 2);
    else if (isWsText(next)) this.kids.splice(k, 2);
    else this.kids.splice(k, 1);
    el.parent = undefined;
    if (this.elements().length === 0 && this.kids.every((x) => isWsText(x))) {
      // The last child went: close the parent on one line, as libvirt prints empty elements.
      this.kids = [];
      this.selfClosingFlag = true;
      this.tagDirty = true;
    }
    this.kidsDirty = true;
    this.touch();
  }

  replace(oldChild: XmlElement, replacement: ElementSpec | XmlElement): XmlElement {
    const old = this.ownChild(oldChild);
    const el = this.adopt(replacement);
    el.indent = indentOf(old);
    this.kids[this.kids.indexOf(old)] = el;
    old.parent = undefined;
    el.parent = this;
    this.kidsDirty = true;
    this.touch();
    return el;
  }

  /** This element's location for an error, when it has one. */
  private where(): { location?: SourceLocation } {
    return this.location ? { location: this.location } : {};
  }

  private ownChild(e: XmlElement): ElementImpl {
    if (!(e instanceof ElementImpl) || e.parent !== this) {
      throw new VirtPinError('XML_EDIT_NOT_A_CHILD', `<${e.name}> is not a child of <${this.name}>`);
    }
    return e;
  }

  private wsNode(raw: string): TextImpl {
    const t = DocumentImpl.textNode(raw, raw.replace(/\r\n/g, '\n'), undefined);
    t.parent = this;
    return t;
  }

  private adopt(child: ElementSpec | XmlElement): ElementImpl {
    if (child instanceof ElementImpl) {
      if (child.parent) throw new VirtPinError('XML_EDIT_ATTACHED', `<${child.name}> already has a parent; remove it first`);
      if (child.docImpl !== this.docImpl) return buildElement(this.docImpl, specOf(child));
      return child;
    }
    if (isElementLike(child)) return buildElement(this.docImpl, specOf(child));
    return buildElement(this.docImpl, child as ElementSpec);
  }
}
Object.defineProperty(ElementImpl.prototype, 'kind', { value: 'element' });

function isElementLike(x: unknown): x is XmlElement {
  return typeof x === 'object' && x !== null && (x as { kind?: string }).kind === 'element';
}

/** A plain spec of an element (attributes and element/text children), for copying across documents. */
export function specOf(e: XmlElement): ElementSpec {
  const kids = e.elements();
  const text = e.text();
  return {
    name: e.name,
    attrs: e.attributes.map((a) => [a.name, a.value] as const),
    ...(kids.length ? { children: kids.map(specOf) } : text.trim() !== '' ? { text } : {}),
  };
}

function checkName(name: string): void {
  if (!/^[A-Za-z_][-A-Za-z0-9_.]*(:[A-Za-z_][-A-Za-z0-9_.]*)?$/.test(name)) {
    throw new VirtPinError('XML_BAD_NAME', `'${name}' is not a valid XML name`);
  }
}

/** Refuse what XML 1.0 cannot hold (NUL, ESC and other controls, lone surrogates, U+FFFE/U+FFFF): the printed document would not parse. */
function checkChars(value: string, what: string): void {
  const bad = illegalChar(value);
  if (bad) throw new VirtPinError('XML_ILLEGAL_CHAR', `${what} contains ${describeChar(bad.code)} at index ${bad.index}, which XML does not allow`, { hint: 'remove control characters; XML 1.0 cannot carry them, not even as references' });
}

/** Check a spec (names with xmlbuilder2 and the scanner's name rules, characters) and build it as new, span-less nodes of `doc`. */
function buildElement(doc: DocumentImpl, spec: ElementSpec): ElementImpl {
  checkSpec(spec);
  const build = (s: ElementSpec): ElementImpl => {
    if (!isQName(s.name)) throw new VirtPinError('XML_EDIT_BAD_SPEC', `'${s.name}' is not a valid element name`);
    const quote = doc.style.quote;
    const attrs: AttrRecord[] = attrsOf(s).map(([name, value]) => {
      if (!isQName(name)) throw new VirtPinError('XML_EDIT_BAD_SPEC', `'${name}' is not a valid attribute name`);
      checkChars(value, `the value of '${name}' on the new <${s.name}>`);
      return { name, value, raw: escapeAttr(value, quote), quote, span: undefined, lead: ' ' };
    });
    const el = new ElementImpl(doc, s.name, attrs, false);
    if (s.children?.length) {
      for (const c of s.children) {
        const child = build(c);
        child.parent = el;
        el.kids.push(child);
      }
    } else if (s.text !== undefined && s.text !== '') {
      checkChars(s.text, `the text of the new <${s.name}>`);
      const t = DocumentImpl.textNode(escapeText(s.text), s.text, undefined);
      t.parent = el;
      el.kids.push(t);
    }
    el.selfClosingFlag = el.kids.length === 0;
    return el;
  };
  return build(spec);
}

/** Indentation of an element: from the source, else what it was given when inserted, else its depth. */
export function indentOf(e: ElementImpl): string {
  // Walk up (not recursively: 1e5 levels would overflow the stack) to the
  // nearest ancestor whose indentation is known, then add one unit per level.
  let levels = 0;
  let base = '';
  for (let cur: ElementImpl | undefined = e; cur; cur = cur.parent, levels++) {
    if (cur.indent !== undefined) {
      base = cur.indent;
      break;
    }
    const ind = cur.span ? indentBefore(cur.docImpl.source, cur.span.start) : undefined;
    if (ind !== undefined) {
      base = ind;
      break;
    }
    // The root without known indentation counts as '', and each level below adds a unit.
    if (!cur.parent) break;
  }
  return levels > 0 ? base + e.docImpl.style.indentUnit.repeat(levels) : base;
}

export function escapeAttr(value: string, quote: QuoteChar): string {
  let out = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
  out = quote === "'" ? out.replace(/'/g, '&apos;') : out.replace(/"/g, '&quot;');
  return out;
}

export function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---------------------------------------------------------------- printing

export function serialize(doc: DocumentImpl): string {
  if (!doc.modifiedFlag) return doc.source;
  const out: string[] = [];
  for (const p of doc.prologNodes) printNode(doc, p, out);
  // Bytes between the last prolog node and the root (none: the scanner keeps all text as nodes).
  printNode(doc, doc.rootElement, out);
  for (const p of doc.epilogNodes) printNode(doc, p, out);
  return out.join('');
}

/**
 * Print `node` into `out`. Iterative, with a stack of nodes still to print
 * and literal strings (end tags, line breaks) between them: an edit 1e5
 * levels deep must not overflow the call stack.
 */
function printNode(doc: DocumentImpl, node: NodeImpl, out: string[]): void {
  const src = doc.source;
  const todo: (NodeImpl | string)[] = [node];
  /** Queue `items` to print in order (the stack pops the last first). */
  const then = (items: (NodeImpl | string)[]): void => {
    for (let k = items.length - 1; k >= 0; k--) todo.push(items[k]!);
  };
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    if (item.kind !== 'element') {
      if (item.span) out.push(src.slice(item.span.start, item.span.end));
      else if (item.kind === 'text') out.push(item.raw);
      else if (item.kind === 'comment') out.push(`<!--${item.value}-->`);
      else if (item.kind === 'cdata') out.push(`<![CDATA[${item.value}]]>`);
      else out.push(`<?${item.target}${item.data}?>`);
      continue;
    }
    const e = item;
    if (e.tagStart >= 0 && !e.dirty) {
      out.push(src.slice(e.tagStart, e.spanEnd));
      continue;
    }
    if (e.tagStart < 0) {
      then(printNew(doc, e, out));
      continue;
    }
    // An existing element with edits inside.
    const selfClose = e.selfClosingFlag && e.kids.length === 0;
    if (e.tagDirty || selfClose !== (e.endStart < 0)) out.push(startTag(doc, e, selfClose));
    else out.push(src.slice(e.tagStart, e.tagEnd));
    if (selfClose) continue;
    then([...e.kids, e.endStart >= 0 ? src.slice(e.endStart, e.spanEnd) : `</${e.name}>`]);
  }
}

function startTag(doc: DocumentImpl, e: ElementImpl, selfClose: boolean): string {
  const src = doc.source;
  let s = `<${e.name}`;
  for (const a of e.attrs) s += a.span ? a.lead + src.slice(a.span.start, a.span.end) : `${a.lead}${a.name}=${a.quote}${a.raw}${a.quote}`;
  // A self-closed element that gained children drops the space before '/>'.
  const tail = e.tagStart < 0 ? '' : selfClose || e.endStart >= 0 ? e.tail : e.tail.replace(/\s+$/, '');
  return s + tail + (selfClose ? '/>' : '>');
}

/** Print a new element's start tag into `out`; returns what follows it, in order (children, line breaks, the end tag). */
function printNew(doc: DocumentImpl, e: ElementImpl, out: string[]): (NodeImpl | string)[] {
  const { newline, indentUnit } = doc.style;
  const ind = indentOf(e);
  const elementKids = e.kids.filter((k): k is ElementImpl => k.kind === 'element');
  const hasText = e.kids.some((k) => k.kind === 'text' && k.value !== '');
  if (elementKids.length === 0 && !hasText) {
    out.push(startTag(doc, e, true));
    return [];
  }
  out.push(startTag(doc, e, false));
  const rest: (NodeImpl | string)[] = [];
  if (elementKids.length === 0) {
    rest.push(...e.kids);
  } else {
    for (const k of elementKids) {
      k.indent = ind + indentUnit;
      rest.push(newline + k.indent, k);
    }
    rest.push(newline + ind);
  }
  rest.push(`</${e.name}>`);
  return rest;
}
