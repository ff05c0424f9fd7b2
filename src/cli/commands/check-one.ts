/**
 * Checking one input, shared by the main thread and the check workers.
 */
import { checkDocument, type Diagnostic } from '../../validate/index.js';
import type { HostFacts } from '../../resolve/index.js';
import type { FileResult } from '../format-diagnostics.js';
import type { ParseOptions } from '../../xml/index.js';
import { oversizeMessage, type InputFile } from '../io.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface CheckOptions {
  driver: 'qemu' | 'generic';
  /** The libvirt release to judge for (--libvirt, or the local one). */
  libvirtVersion?: string;
  host?: HostFacts;
  /** The parser's limits (--max-bytes, --max-depth, --max-elements); unset ones keep their defaults. */
  limits?: ParseLimits;
}

export type ParseLimits = Pick<ParseOptions, 'maxBytes' | 'maxDepth' | 'maxElements'>;

export function checkInput(input: InputFile, options: CheckOptions): FileResult {
  if (input.oversize) {
    const hint = 'raise --max-bytes if this really is one domain definition';
    return { file: input.name, diagnostics: [{ code: 'XML_TOO_LARGE', severity: 'error', message: oversizeMessage(input), line: 1, column: 1, hint }], source: '' };
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
    };
    return { file: input.name, diagnostics: [diagnostic], source: '' };
  }
  const diagnostics = checkDocument(text, { fileName: input.name, driver: options.driver, ...(options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {}), ...(options.host ? { host: options.host } : {}), ...options.limits });
  return { file: input.name, diagnostics, source: text };
}
