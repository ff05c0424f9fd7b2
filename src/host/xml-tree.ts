/**
 * A read-only element tree with source locations, built on fast-xml-parser.
 * Host XML (capabilities, node devices) is only read, never edited, so the
 * host stage does not need the source-preserving document of src/xml; it
 * needs just enough to point an error at a line and column. The element
 * surface mirrors the read half of src/xml's XmlElement.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { VirtPinError, type SourceLocation } from '../errors.js';

export interface HostXmlElement {
  readonly name: string;
  readonly location: SourceLocation;
  attr(name: string): string | undefined;
  /** Location of the attribute's name, else of the element. */
  attrLocation(name: string): SourceLocation;
  elements(name?: string): HostXmlElement[];
  element(name: string): HostXmlElement | undefined;
  text(): string;
}

/** Host XML beyond this is not something `virsh` printed. */
const MAX_HOST_XML_CHARS = 16 * 1024 * 1024;

type OrderedNode = Record<string | symbol, unknown>;

/** Line starts of a text, for offset → line/column. */
class Locator {
  readonly #lineStarts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.#lineStarts.push(i + 1);
  }
  locate(offset: number): SourceLocation {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.#lineStarts[lo]! + 1, offset };
  }
  offsetOf(line: number, column: number): number {
    return (this.#lineStarts[line - 1] ?? 0) + column - 1;
  }
}

/**
 * Parse host XML; malformed input becomes VirtPinError `${codePrefix}_XML`
 * with the parser's line/column.
 */
export function parseHostXml(text: string, codePrefix: 'HOST_CAPS' | 'HOST_NODEDEV', fileName?: string): HostXmlElement {
  const where = fileName ? `${fileName}: ` : '';
  if (text.length > MAX_HOST_XML_CHARS) {
    throw new VirtPinError(`${codePrefix}_XML`, `${where}host XML is ${text.length} characters; more than ${MAX_HOST_XML_CHARS} is refused`);
  }
  const locator = new Locator(text);
  // A DTD could declare entities; nothing virsh prints has one.
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    throw new VirtPinError(`${codePrefix}_XML`, `${where}a DOCTYPE is not allowed in host XML`, { location: locator.locate(doctype.index) });
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw new VirtPinError(`${codePrefix}_XML`, `${where}malformed XML: ${msg}`, {
      location: { line, column: col, offset: locator.offsetOf(line, col) },
    });
  }
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    captureMetaData: true,
    processEntities: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  const meta = XMLParser.getMetaDataSymbol() as unknown as symbol;
  const top = parser.parse(text) as OrderedNode[];

  const build = (node: OrderedNode, parentOffset: number): HostXmlElement | undefined => {
    const name = Object.keys(node).find((k) => k !== ':@' && !k.startsWith('#') && k !== '?xml');
    if (name === undefined) return undefined;
    const start = (node[meta] as { startIndex?: number } | undefined)?.startIndex ?? parentOffset;
    const attrs = (node[':@'] as Record<string, string> | undefined) ?? {};
    const rawChildren = (node[name] as OrderedNode[] | undefined) ?? [];
    const location = locator.locate(start);
    let children: HostXmlElement[] | undefined;
    const kids = (): HostXmlElement[] => {
      children ??= rawChildren.map((c) => build(c, start)).filter((c): c is HostXmlElement => c !== undefined);
      return children;
    };
    return {
      name,
      location,
      attr: (n) => (Object.prototype.hasOwnProperty.call(attrs, n) ? String(attrs[n]) : undefined),
      attrLocation: (n) => {
        const tagEnd = text.indexOf('>', start);
        const tag = text.slice(start, tagEnd < 0 ? undefined : tagEnd);
        const m = new RegExp(`\\s${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`).exec(tag);
        return m ? locator.locate(start + m.index + 1) : location;
      },
      elements: (n) => kids().filter((c) => n === undefined || c.name === n),
      element: (n) => kids().find((c) => c.name === n),
      text: () =>
        rawChildren
          .map((c) => (typeof c['#text'] === 'string' || typeof c['#text'] === 'number' ? String(c['#text']) : ''))
          .join(''),
    };
  };

  for (const node of top) {
    const el = build(node, 0);
    if (el) return el;
  }
  throw new VirtPinError(`${codePrefix}_XML`, `${where}the document has no root element`, { location: locator.locate(0) });
}
