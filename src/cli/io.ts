/**
 * The CLI's I/O edge: reading inputs (files, directories, stdin) and host
 * facts. Nothing below src/cli reads files except src/host.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './usage.js';

export interface InputFile {
  /** Name shown in diagnostics (`-` becomes `<stdin>`). */
  name: string;
  bytes: Uint8Array;
}

/** Expand FILE|DIR|- arguments into a sorted list of paths (`-` kept as is). */
export function expandInputs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (arg === '-') {
      out.push('-');
      continue;
    }
    let st;
    try {
      st = statSync(arg);
    } catch (e) {
      throw new IoError(`cannot read ${arg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (st.isDirectory()) out.push(...xmlFilesIn(arg));
    else out.push(arg);
  }
  return out;
}

function xmlFilesIn(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith('.xml')) found.push(p);
    }
  };
  walk(dir);
  return found;
}

export class IoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IoError';
  }
}

let stdinRead = false;

/** Read one input; `-` reads standard input (once). */
export function readInput(path: string): InputFile {
  if (path === '-') {
    if (stdinRead) throw new UsageError('standard input (-) can be named only once');
    stdinRead = true;
    try {
      return { name: '<stdin>', bytes: readFileSync(0) };
    } catch (e) {
      throw new IoError(`cannot read standard input: ${(e as Error).message}`);
    }
  }
  try {
    return { name: path, bytes: readFileSync(path) };
  } catch (e) {
    throw new IoError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
