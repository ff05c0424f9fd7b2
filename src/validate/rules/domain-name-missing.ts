import type { Rule } from '../types.js';

/**
 * libvirt refuses a domain without <name> ("missing name information").
 * The usual way to get here with a <name> in the file is a namespace on
 * <domain>: libvirt reads only elements in no namespace, so
 * `<domain xmlns='…'>` hides every child, <name> included.
 */
export const domainNameMissing: Rule = {
  code: 'DOMAIN_NAME_MISSING',
  severity: 'error',
  spec: 'name',
  summary: "no <name> libvirt can read (missing, or hidden by a namespace such as xmlns='…' on <domain>)",
  check(ctx) {
    if (ctx.model.name) return;
    const ns = ctx.model.rootNamespace;
    if (ns !== undefined) {
      ctx.report(ctx.model.root, `<domain> is in namespace '${ns}', so libvirt reads none of its children and refuses the domain: missing name information`, {
        hint: "remove xmlns='…' from <domain>; libvirt's elements are in no namespace",
      });
    } else {
      ctx.report(ctx.model.root, 'the domain has no <name>: libvirt refuses it (missing name information)', { hint: 'add <name>NAME</name>' });
    }
  },
};
