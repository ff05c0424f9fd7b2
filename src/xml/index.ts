/**
 * The source-preserving XML document: strict parse with locations,
 * minimal-diff edits, byte-identical serialization of what was not edited.
 * See docs/document-model.md.
 */
import type { ParseOptions, XmlDocument } from './types.js';
import { scanDocument } from './scan.js';
import { DocumentImpl, serialize } from './tree.js';

export type * from './types.js';
export { LIBVIRT_CHILD_ORDER, childRank } from './order.js';
export { DEFAULT_LIMITS } from './scan.js';
export { specOf as elementSpec } from './tree.js';

/** Parse XML text; throws VirtPinError (XML_* codes, with location and hint) for anything libvirt's parser would refuse or virt-pin will not read. */
export function parseDocument(text: string, options?: ParseOptions): XmlDocument {
  return scanDocument(text, options);
}

/** The document's text: the source itself when nothing was edited, else the source with only the edited parts reprinted. */
export function serializeDocument(doc: XmlDocument): string {
  if (!(doc instanceof DocumentImpl)) throw new TypeError('serializeDocument takes a document made by parseDocument');
  return serialize(doc);
}
