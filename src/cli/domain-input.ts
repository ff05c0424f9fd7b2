/**
 * Reading one domain for the commands that work on a single file (resolve,
 * show, normalize, pin, plan): strict UTF-8, and library errors turned into
 * `file:line:col: error CODE message` on stderr.
 */
import { isVirtPinError, type VirtPinError } from '../errors.js';
import { IoError, oversizeMessage, readInput } from './io.js';
import { printable } from './terminal-text.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface DomainInput {
  name: string;
  text: string;
}

export function readDomainInput(path: string): DomainInput {
  // The default byte limit, the same one parseDocument applies: a larger file is refused unread.
  const input = readInput(path);
  if (input.oversize) throw new InputError(`${input.name}:1:1: error XML_TOO_LARGE ${oversizeMessage(input)}`);
  try {
    return { name: input.name, text: utf8.decode(input.bytes) };
  } catch {
    throw new InputError(`${input.name}:1:1: error XML_BAD_ENCODING the file is not valid UTF-8; libvirt reads domain XML as UTF-8`);
  }
}

/** Bad input (not a usage error): printed as is, exit status 1. */
export class InputError extends Error {}

/** Run `fn`; a VirtPinError becomes an InputError naming the file and position. */
export function withInputErrors<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isVirtPinError(e)) throw new InputError(formatLibraryError(file, e));
    if (e instanceof IoError) throw e;
    throw e;
  }
}

export function formatLibraryError(file: string, e: VirtPinError): string {
  // A finding about the whole input (a policy that does not fit, a symbolic export) has no position; 1:1 would read as a parse error.
  const at = e.location ? `:${e.location.line}:${e.location.column}` : '';
  return `${printable(file)}${at}: error ${e.code} ${printable(e.message)}${e.hint ? `\n  hint: ${printable(e.hint)}` : ''}`;
}
