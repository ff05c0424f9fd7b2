/**
 * `--color auto|always|never` and NO_COLOR (https://no-color.org): one
 * decision for every command that colours its output.
 */
import { printable } from './terminal-text.js';
import { UsageError } from './usage.js';

export function useColor(option: string | undefined, stream: { isTTY?: boolean }): boolean {
  const when = option ?? 'auto';
  if (when === 'always') return true;
  if (when === 'never') return false;
  if (when !== 'auto') throw new UsageError(`--color takes auto, always or never, not '${when}'`);
  // NO_COLOR counts when set to anything but the empty string.
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

/** SGR-wrap `text` when `on`. */
export function paint(on: boolean, sgr: string, text: string): string {
  return on ? `\u001b[${sgr}m${text}\u001b[0m` : text;
}

/** A unified diff for a terminal: headers bold, hunks cyan, removals red, additions green. */
export function colorDiff(diff: string, on: boolean): string {
  // The diff shows lines of the file: control characters in them are shown as escapes (a CR ending a CRLF line stays).
  diff = diff
    .split('\n')
    .map((line) => (line.endsWith('\r') ? `${printable(line.slice(0, -1))}\r` : printable(line)))
    .join('\n');
  if (!on || diff === '') return diff;
  const sgr = (line: string): string | undefined =>
    line.startsWith('---') || line.startsWith('+++') ? '1' : line.startsWith('@@') ? '36' : line.startsWith('-') ? '31' : line.startsWith('+') ? '32' : undefined;
  return diff
    .split('\n')
    .map((line) => {
      const code = sgr(line);
      return code ? `\u001b[${code}m${line}\u001b[0m` : line;
    })
    .join('\n');
}
