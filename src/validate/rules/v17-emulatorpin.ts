import { missing } from '../helpers.js';
import type { Rule } from '../types.js';

/** V17: at most one emulatorpin, with a valid non-empty cpuset. */
export const emulatorpin: Rule = {
  code: 'EMULATORPIN_INVALID',
  severity: 'error',
  spec: 'V17',
  summary: 'more than one emulatorpin; missing, bad or empty cpuset',
  check(ctx) {
    const pins = ctx.model.cputune?.emulatorpins ?? [];
    // libvirt counts them before it reads the first one's cpuset.
    pins.slice(1).forEach((p) => ctx.report(p, `a second <emulatorpin> (the first is at line ${pins[0]!.loc.line})`, { hint: 'keep one <emulatorpin>', order: { step: -1 } }));
    for (const p of pins) {
      if (!p.cpuset) missing(ctx, p, 'emulatorpin', 'cpuset', "cpuset='0-1'");
      else if (p.cpuset.error) ctx.report(p.cpuset.loc, `<emulatorpin cpuset='${p.cpuset.raw}'> is refused: ${p.cpuset.error.message}`, { hint: "e.g. cpuset='0-1'" });
      else if (p.cpuset.value!.isEmpty()) ctx.report(p.cpuset.loc, `<emulatorpin cpuset='${p.cpuset.raw}'> names no CPU`, { hint: 'name at least one host CPU' });
    }
  },
};
