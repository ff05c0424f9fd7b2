/**
 * XML text → resolved model: parseDocument → readDomain → definitionOf → resolve.
 */
import type { Driver } from '../domain/definition.js';
import type { LibvirtVersion } from '../domain/libvirt-version.js';
import { definitionOf, readDomain } from '../domain/index.js';
import { parseDocument } from '../xml/index.js';
import { resolve } from './resolve.js';
import type { HostFacts, ResolvedModel } from './types.js';

export interface ResolveDocumentOptions {
  fileName?: string;
  /** Default `qemu` (the driver whose runtime rules spec §5 describes). */
  driver?: Driver;
  host?: HostFacts;
  /** The libvirt whose behaviour to model, e.g. '9.0' (default: the newest modelled, 10.7). */
  libvirtVersion?: string | LibvirtVersion;
}

/** Throws VirtPinError (XML_* codes) only when the text is not well-formed XML. */
export function resolveDocument(text: string, options: ResolveDocumentOptions = {}): ResolvedModel {
  // The tree is not kept in a variable: once read, nothing holds it, and a collection during resolve need not copy it.
  const model = readDomain(parseDocument(text, options.fileName !== undefined ? { fileName: options.fileName } : undefined));
  const def = definitionOf(model, { driver: options.driver ?? 'qemu', ...(options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {}) });
  return resolve(def, options.host, { model, ...(options.fileName !== undefined ? { file: options.fileName } : {}) });
}
