/**
 * The source-preserving XML document model.
 *
 * A document keeps its original text. Parsing builds a tree whose nodes know
 * the span of source they came from; serializing prints every node that was
 * not edited as its original bytes, and regenerates only what an edit
 * touched (recast's "reprint only what changed"). An unedited document
 * therefore serializes byte-identical to its input by construction.
 */
import type { ErrorCode } from '../codes.js';
import type { SourceLocation } from '../errors.js';

/** Half-open range [start, end) of UTF-16 code-unit indexes into the source text. */
export interface Span {
  start: number;
  end: number;
}

export type QuoteChar = "'" | '"';

export interface XmlAttribute {
  /** Qualified name as written, e.g. `cpuset` or `xmlns:vp`. */
  readonly name: string;
  /** Decoded value (entities and character references resolved, attribute-value normalization applied). */
  readonly value: string;
  /** The value exactly as written between the quotes. */
  readonly raw: string;
  readonly quote: QuoteChar;
  /** Span of the whole `name='value'` text in the source (absent for attributes added by an edit). */
  readonly span: Span | undefined;
}

export type XmlNode = XmlElement | XmlText | XmlComment | XmlCData | XmlProcessingInstruction;

export interface XmlText {
  readonly kind: 'text';
  /** Raw source text (entity references not decoded). */
  readonly raw: string;
  /** Decoded text (references resolved, CRLF normalized to LF). */
  readonly value: string;
  readonly span: Span | undefined;
}

export interface XmlComment {
  readonly kind: 'comment';
  /** Text between `<!--` and `-->`. */
  readonly value: string;
  readonly span: Span | undefined;
}

export interface XmlCData {
  readonly kind: 'cdata';
  /** Text between `<![CDATA[` and `]]>`. */
  readonly value: string;
  readonly span: Span | undefined;
}

export interface XmlProcessingInstruction {
  readonly kind: 'pi';
  readonly target: string;
  /** Everything after the target up to `?>`, as written. */
  readonly data: string;
  readonly span: Span | undefined;
}

/**
 * An element. Read access is plain; every mutation goes through the methods
 * so that the element can mark itself (and its ancestors) as changed.
 */
export interface XmlElement {
  readonly kind: 'element';
  /** Qualified name as written, e.g. `vcpu` or `qemu:commandline`. */
  readonly name: string;
  /** Part after the colon (or the whole name). */
  readonly localName: string;
  /** Prefix before the colon, or undefined. */
  readonly prefix: string | undefined;
  readonly parent: XmlElement | undefined;
  readonly attributes: readonly XmlAttribute[];
  readonly children: readonly XmlNode[];
  /** True when written `<x/>` (or, for a new element, when it has no children). */
  readonly selfClosing: boolean;
  /** Source span of the whole element, from `<` to the end of its end tag (absent for new elements). */
  readonly span: Span | undefined;
  /** Location of the `<` that opens the element (absent for new elements). */
  readonly location: SourceLocation | undefined;
  /** The document the element belongs to. */
  readonly document: XmlDocument;

  /** Decoded value of an attribute, or undefined. */
  attr(name: string): string | undefined;
  /** The attribute record, or undefined. */
  attribute(name: string): XmlAttribute | undefined;
  /** Location of an attribute's name in the source, else the element's location. */
  attrLocation(name: string): SourceLocation | undefined;
  /** Child elements, optionally filtered by qualified name. */
  elements(name?: string): XmlElement[];
  /** First child element with that qualified name. */
  element(name: string): XmlElement | undefined;
  /**
   * Elements by a slash-separated path of qualified names relative to this
   * element, e.g. `cputune/vcpupin`. `*` matches any name.
   */
  find(path: string): XmlElement[];
  findFirst(path: string): XmlElement | undefined;
  /** Concatenated decoded text of direct text and CDATA children. */
  text(): string;
  /** Namespace URI bound to a prefix (or the default namespace for undefined) in scope at this element. */
  lookupNamespace(prefix: string | undefined): string | undefined;
  /** Namespace URI of this element's own name. */
  namespaceURI(): string | undefined;

  /** Set (or add, at the end of the attribute list) an attribute. Only this start tag is reprinted. */
  setAttr(name: string, value: string): void;
  /** Remove an attribute if present; returns whether it was present. */
  removeAttr(name: string): boolean;
  /** Replace all content with one text node. */
  setText(value: string): void;
  /**
   * Insert a new child element. Without `at`, the position is chosen from
   * the document's element order (libvirt's order for known parents, else
   * appended). Indentation and line endings follow the siblings.
   */
  insert(child: ElementSpec | XmlElement, at?: InsertPosition): XmlElement;
  /** Remove a child element together with the whitespace line it sat on. */
  remove(child: XmlElement): void;
  /** Replace a child element in place, keeping its leading indentation. */
  replace(oldChild: XmlElement, replacement: ElementSpec | XmlElement): XmlElement;
}

export type InsertPosition =
  | { index: number }
  | { before: XmlElement }
  | { after: XmlElement }
  | 'first'
  | 'last';

/** A plain description of a new element; built with xmlbuilder2 and printed in the document's style. */
export interface ElementSpec {
  name: string;
  /** Attributes in output order. */
  attrs?: ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string | number | undefined>>;
  /** Child elements (printed one per line, indented one step deeper). */
  children?: readonly ElementSpec[];
  /** Text content (mutually exclusive with children). */
  text?: string;
}

/** How the document writes things; new fragments copy it. */
export interface XmlStyle {
  quote: QuoteChar;
  newline: '\n' | '\r\n';
  /** One indentation step, e.g. two spaces. */
  indentUnit: string;
}

export interface XmlDocument {
  /** The original text as parsed (never modified). */
  readonly source: string;
  /** The root element. */
  readonly root: XmlElement;
  /** Nodes before and after the root (XML declaration as a `pi` with target `xml`, comments, PIs, whitespace text). */
  readonly prolog: readonly XmlNode[];
  readonly epilog: readonly XmlNode[];
  readonly style: XmlStyle;
  /** Optional file name used in diagnostics. */
  readonly fileName: string | undefined;
  /** True when any edit has been made. */
  readonly modified: boolean;
  /** 1-based line/column of a source index. */
  locate(offset: number): SourceLocation;
  /** Byte offset (UTF-8) of a source index. */
  byteOffset(offset: number): number;
}

export interface ParseOptions {
  /** File name used in error messages and locations. */
  fileName?: string;
  /** Refuse inputs larger than this many bytes (UTF-8). Default 4 MiB. */
  maxBytes?: number;
  /** Refuse element nesting deeper than this. Default 128. */
  maxDepth?: number;
  /** Refuse documents with more elements than this. Default 1,000,000. */
  maxElements?: number;
}

/** Stable error codes raised by the xml module (the `XML_` ones of src/codes.ts). */
export type XmlErrorCode = Extract<ErrorCode, `XML_${string}`>;
