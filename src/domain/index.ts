/**
 * Typed view of a domain's affinity elements (readDomain: libvirt's parse
 * phase) and the definition libvirt stores after post-parse (definitionOf).
 * See docs/domain-model.md.
 */
import { parseDocument, type ParseOptions } from '../xml/index.js';
import { readDomain } from './read.js';
import type { DomainModel } from './types.js';

export type * from './types.js';
export type * from './definition.js';
export { readDomain, elementPath, formatPciAddress } from './read.js';
export { prettyBytes, scaledBytes } from './grammar.js';
export { definitionOf, type DefinitionOptions } from './post-parse.js';
export { atLeast, formatLibvirtVersion, hasChange, LIBVIRT_CHANGES, NEWEST_MODELLED, NEWEST_RELEASE_READ, OLDEST_MODELLED, parseLibvirtVersion, toLibvirtVersion, type LibvirtChange, type LibvirtVersion } from './libvirt-version.js';

/** parseDocument + readDomain. */
export function readDomainText(text: string, options?: ParseOptions): DomainModel {
  return readDomain(parseDocument(text, options));
}
