/**
 * Text from a domain file (values, names, source lines) shown on a
 * terminal. A file anyone can push to CI must not be able to move the
 * cursor, retitle the window, clear the screen or hide text: every control
 * character (C0 but tab, DEL, C1 — ESC and CSI among them), the Unicode line
 * separators and the bidirectional overrides are shown as escapes.
 */

const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** `\x1b`, `\x0d`, `\u202e`: the character's code, never the character. */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n > 0xff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\x${n.toString(16).padStart(2, '0')}`;
  });
}

/** As printable(), for multi-line messages: newlines stay, each line made printable. */
export function printableLines(s: string): string {
  return s.split('\n').map(printable).join('\n');
}
