/**
 * JSON read from a file the user names (a plan for `apply`): a syntax error
 * is bad input, reported as one line naming the file, never a stack trace.
 */
import { IoError } from './io.js';

export function parseJsonInput(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new IoError(`${name} is not valid JSON: ${(e as Error).message}`);
  }
}
