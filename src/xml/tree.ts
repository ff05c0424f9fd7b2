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
import { buildFragment } from './build.js';

export interface AttrRecord extends XmlAttribute {
  /** Whitespace written before the attribute (reused when the tag is reprinted). */
  readonly lead: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type TextImpl = Mutable<XmlText> & { parent: ElementImpl | undefined };
export type LeafImpl = (Mutable<XmlComment> | Mutable<XmlCData> | Mutable<XmlProcessingInstruction>) & { parent: ElementImpl | undefined };
export type NodeImpl = ElementImpl | TextImpl | LeafImpl;

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export class DocumentImpl implements XmlDocument {
  readonly source: string;
  readonly fileName: string | undefined;
  rootElement!: ElementImpl;
  prologNodes: NodeImpl[] = [];
  epilogNodes: NodeImpl[] = [];
  modifiedFlag = false;
  #lineStarts: number[] | undefined;
  #style: XmlStyle | undefined;

  constructor(source: string, fileName: string | undefined) {
    this.source = source;
    this.fileName = fileName;
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

  locate(offset: number): SourceLocation {
    if (!this.#lineStarts) {
      const starts = [0];
      const s = this.source;
      for (let k = s.indexOf('\n'); k !== -1; k = s.indexOf('\n', k + 1)) starts.push(k + 1);
      this.#lineStarts = starts;
    }
    const starts = this.#lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1, offset };
  }

  byteOffset(offset: number): number {
    return Buffer.byteLength(this.source.slice(0, offset), 'utf8');
  }
}

function detectStyle(doc: DocumentImpl): XmlStyle {
  const s = doc.source;
  const crlf = s.indexOf('\r\n');
  const lf = s.indexOf('\n');
  const newline = crlf !== -1 && crlf + 1 === lf ? '\r\n' : '\n';
  // Quote: what most attributes use (libvirt writes ').
  let single = 0;
  let double = 0;
  const count = (e: ElementImpl): void => {
    for (const a of e.attrs) a.quote === "'" ? single++ : double++;
    for (const k of e.kids) if (k.kind === 'element') count(k);
  };
  count(doc.rootElement);
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

export class ElementImpl implements XmlElement {
  readonly kind = 'element' as const;
  readonly name: string;
  readonly localName: string;
  readonly prefix: string | undefined;
  parent: ElementImpl | undefined;
  attrs: AttrRecord[];
  kids: NodeImpl[] = [];
  selfClosingFlag: boolean;
  span: Span | undefined;
  startTag: Span = { start: -1, end: -1 };
  endTag: Span | undefined;
  /** Whitespace between the last attribute (or the name) and `>`/`/>`. */
  tail = '';
  location: SourceLocation | undefined;
  readonly docImpl: DocumentImpl;
  /** The start tag must be reprinted. */
  tagDirty = false;
  /** The child list must be reprinted (children themselves may still be verbatim). */
  kidsDirty = false;
  /** Something in this subtree changed. */
  dirty = false;
  /** Indentation for a new element (no span). */
  indent: string | undefined;

  constructor(doc: DocumentImpl, name: string, attrs: AttrRecord[], selfClosing: boolean) {
    this.docImpl = doc;
    this.name = name;
    const colon = name.indexOf(':');
    this.prefix = colon === -1 ? undefined : name.slice(0, colon);
    this.localName = colon === -1 ? name : name.slice(colon + 1);
    this.attrs = attrs;
    this.selfClosingFlag = selfClosing;
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
    return this.attrs.find((a) => a.name === name)?.value;
  }
  attribute(name: string): XmlAttribute | undefined {
    return this.attrs.find((a) => a.name === name);
  }
  attrLocation(name: string): SourceLocation | undefined {
    const a = this.attrs.find((x) => x.name === name);
    return a?.span ? this.docImpl.locate(a.span.start) : this.location;
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
    return this.lookupNamespace(this.prefix);
  }

  // ---------------------------------------------------------------- edits

  private touch(): void {
    for (let e: ElementImpl | undefined = this; e && !e.dirty; e = e.parent) e.dirty = true;
    this.docImpl.modifiedFlag = true;
  }

  setAttr(name: string, value: string): void {
    checkName(name);
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
      const onlyWs = this.kids.every((k) => k.kind === 'text' && k.value.trim() === '');
      if (!onlyWs) throw new VirtPinError('XML_EDIT_MIXED_CONTENT', `<${this.name}> holds text; cannot add child elements to it`);
      this.kids = [this.wsNode(nl + el.indent), el, this.wsNode(nl + own)];
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
      if (child.docImpl !== this.docImpl) return buildFragment(this.docImpl, specOf(child));
      return child;
    }
    if (isElementLike(child)) return buildFragment(this.docImpl, specOf(child));
    return buildFragment(this.docImpl, child as ElementSpec);
  }
}

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

/** Indentation of an element: from the source, else what it was given when inserted, else its depth. */
export function indentOf(e: ElementImpl): string {
  if (e.indent !== undefined) return e.indent;
  if (e.span) {
    const ind = indentBefore(e.docImpl.source, e.span.start);
    if (ind !== undefined) return ind;
  }
  return e.parent ? indentOf(e.parent) + e.docImpl.style.indentUnit : '';
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

function printNode(doc: DocumentImpl, node: NodeImpl, out: string[]): void {
  const src = doc.source;
  if (node.kind !== 'element') {
    if (node.span) out.push(src.slice(node.span.start, node.span.end));
    else if (node.kind === 'text') out.push(node.raw);
    else if (node.kind === 'comment') out.push(`<!--${node.value}-->`);
    else if (node.kind === 'cdata') out.push(`<![CDATA[${node.value}]]>`);
    else out.push(`<?${node.target}${node.data}?>`);
    return;
  }
  const e = node;
  if (e.span && !e.dirty) {
    out.push(src.slice(e.span.start, e.span.end));
    return;
  }
  if (!e.span) {
    printNew(doc, e, out);
    return;
  }
  // An existing element with edits inside.
  const selfClose = e.selfClosingFlag && e.kids.length === 0;
  if (e.tagDirty || selfClose !== (e.endTag === undefined)) out.push(startTag(doc, e, selfClose));
  else out.push(src.slice(e.startTag.start, e.startTag.end));
  if (selfClose) return;
  for (const k of e.kids) printNode(doc, k, out);
  out.push(e.endTag ? src.slice(e.endTag.start, e.endTag.end) : `</${e.name}>`);
}

function startTag(doc: DocumentImpl, e: ElementImpl, selfClose: boolean): string {
  const src = doc.source;
  let s = `<${e.name}`;
  for (const a of e.attrs) s += a.span ? a.lead + src.slice(a.span.start, a.span.end) : `${a.lead}${a.name}=${a.quote}${a.raw}${a.quote}`;
  // A self-closed element that gained children drops the space before '/>'.
  const tail = !e.span ? '' : selfClose || e.endTag !== undefined ? e.tail : e.tail.replace(/\s+$/, '');
  return s + tail + (selfClose ? '/>' : '>');
}

function printNew(doc: DocumentImpl, e: ElementImpl, out: string[]): void {
  const { newline, indentUnit } = doc.style;
  const ind = indentOf(e);
  const elementKids = e.kids.filter((k): k is ElementImpl => k.kind === 'element');
  const hasText = e.kids.some((k) => k.kind === 'text' && k.value !== '');
  if (elementKids.length === 0 && !hasText) {
    out.push(startTag(doc, e, true));
    return;
  }
  out.push(startTag(doc, e, false));
  if (elementKids.length === 0) {
    for (const k of e.kids) printNode(doc, k, out);
  } else {
    for (const k of elementKids) {
      k.indent = ind + indentUnit;
      out.push(newline + k.indent);
      printNode(doc, k, out);
    }
    out.push(newline + ind);
  }
  out.push(`</${e.name}>`);
}
