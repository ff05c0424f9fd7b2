/**
 * Checking one input, shared by the main thread and the check workers.
 */
import { checkDocument, type Diagnostic } from '../../validate/index.js';
import type { HostFacts } from '../../resolve/index.js';
import type { FileResult } from '../format-diagnostics.js';
import type { ParseOptions } from '../../xml/index.js';
import { IoError, oversizeMessage, readInput, unreadable, type InputFile, type InputPath } from '../io.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface CheckOptions {
  driver: 'qemu' | 'generic';
  /** The libvirt release to judge for (--libvirt, or the local one). */
  libvirtVersion?: string;
  host?: HostFacts;
  /** The parser's limits (--max-bytes, --max-depth, --max-elements); unset ones keep their defaults. */
  limits?: ParseLimits;
  /** --all-xml: a non-domain file found in a directory is an error, not skipped. */
  allXml?: boolean;
  /** false: results carry no `source` (the output does not show or hash source lines). Default true. */
  keepSource?: boolean;
}

/**
 * Check one input of a batch. A file that cannot be read becomes an entry
 * with `error`; in directory mode an XML file whose root is not <domain>
 * (libvirt's networks/, storage/, … beside qemu/) is `skipped`, unless
 * --all-xml. A file named on the command line is always checked.
 */
export function checkPath(input: InputPath, options: CheckOptions): FileResult {
  if (input.error) return { file: input.path, diagnostics: [], error: input.error };
  let file: InputFile;
  try {
    file = readInput(input.path, options.limits?.maxBytes);
  } catch (e) {
    if (e instanceof IoError) return { file: input.path, diagnostics: [], error: unreadable(input.path, e.cause ?? e) };
    throw e;
  }
  const result = checkInput(file, options);
  const only = result.diagnostics.length === 1 ? result.diagnostics[0]! : undefined;
  if (!input.named && !options.allXml && only?.code === 'DOMAIN_NOT_A_DOMAIN') {
    return { file: result.file, diagnostics: [], skipped: `not a domain: ${only.message}` };
  }
  return result;
}

export type ParseLimits = Pick<ParseOptions, 'maxBytes' | 'maxDepth' | 'maxElements'>;

export function checkInput(input: InputFile, options: CheckOptions): FileResult {
  if (input.oversize) {
    const hint = 'raise --max-bytes if this really is one domain definition';
    return { file: input.name, diagnostics: [{ code: 'XML_TOO_LARGE', severity: 'error', message: oversizeMessage(input), line: 1, column: 1, hint, libvirtOrder: 1 }], source: '' };
  }
  let text: string;
  try {
    text = utf8.decode(input.bytes);
  } catch {
    const diagnostic: Diagnostic = {
      code: 'XML_BAD_ENCODING',
      severity: 'error',
      message: `${input.name} is not valid UTF-8; libvirt reads domain XML as UTF-8`,
      line: 1,
      column: 1,
      hint: 'convert the file to UTF-8 (iconv -t UTF-8)',
      libvirtOrder: 1,
    };
    return { file: input.name, diagnostics: [diagnostic], source: '' };
  }
  const diagnostics = checkDocument(text, { fileName: input.name, driver: options.driver, ...(options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {}), ...(options.host ? { host: options.host } : {}), ...options.limits });
  return options.keepSource === false ? { file: input.name, diagnostics } : { file: input.name, diagnostics, source: text };
}
