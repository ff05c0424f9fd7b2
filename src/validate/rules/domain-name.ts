import type { Rule } from '../types.js';

/** `\x0a` for a control character: the message must not carry the character itself to a terminal. */
const escaped = (raw: string): string =>
  raw.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n > 0xff ? `\\u${n.toString(16)}` : `\\x${n.toString(16).padStart(2, '0')}`;
  });

/**
 * `<name>`: libvirt refuses a newline ("invalid char in name", any driver)
 * and a '/' ("name … cannot contain '/'"); both checked with libvirt 9.0's
 * test driver. Other control characters (CR, tab, C1) are accepted by
 * libvirt but end up in logs, file names and generated scripts, so they are
 * a warning.
 */
export const domainName: Rule = {
  code: 'DOMAIN_NAME_INVALID',
  severity: 'error',
  spec: 'name',
  summary: '<name> contains a newline or a \'/\' (libvirt refuses it); other control characters are a warning',
  check(ctx) {
    const name = ctx.model.name;
    if (!name) return;
    const shown = escaped(name.raw);
    if (name.raw.includes('\n')) {
      ctx.report(name.loc, `<name>${shown}</name> is refused: libvirt allows no newline in a domain name ('invalid char in name')`, {
        hint: 'write the name on one line, with no line break before </name>',
        // Checked by the driver's define, after parse, post-parse and validation (LIBVIRT_ORDER).
        order: { stage: 'define' },
      });
    } else if (name.raw.includes('/')) {
      ctx.report(name.loc, `<name>${shown}</name> is refused: a domain name cannot contain '/'`, { hint: "use '-' or '_' instead of '/'" });
    } else if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name.raw)) {
      ctx.report(name.loc, `<name>${shown}</name> contains a control character; libvirt accepts it, but it reaches logs, terminals and file names as is`, {
        code: 'DOMAIN_NAME_CONTROL_CHARACTER',
        severity: 'warning',
        hint: 'use printable characters only in the domain name',
      });
    }
  },
};
