import type { Rule } from '../types.js';

/** V26: hostdev PCI addresses in range (unless all-zero), no device twice, at most one ramfb vGPU. */
export const hostdev: Rule = {
  code: 'HOSTDEV_INVALID',
  severity: 'error',
  spec: 'V26',
  summary: 'hostdev PCI address out of range; the same device twice; several ramfb vGPUs',
  check(ctx) {
    const seen = new Map<string, number>();
    let ramfb = 0;
    for (const h of ctx.model.hostdevs) {
      if (h.ramfb && ++ramfb === 2) ctx.report(h, "a second vGPU with ramfb='on'; libvirt allows one", { order: { stage: 'validate' } });
      const a = h.pci;
      if (a) {
        for (const k of ['domain', 'bus', 'slot', 'function'] as const) {
          const f = a[k];
          if (f?.error) ctx.report(f.loc, `PCI ${k}='${f.raw}' is refused: ${f.error.message}`, { hint: "write hex as 0x…, e.g. bus='0x01'" });
        }
        const d = a.domain?.value ?? 0;
        const b = a.bus?.value ?? 0;
        const s = a.slot?.value ?? 0;
        const fn = a.function?.value ?? 0;
        if (d !== 0 || b !== 0 || s !== 0) {
          const bad = d > 0xffff ? `domain ${d} > 0xffff` : b > 0xff ? `bus ${b} > 0xff` : s > 0x1f ? `slot ${s} > 0x1f` : fn > 7 ? `function ${fn} > 7` : undefined;
          if (bad) ctx.report(a, `PCI address out of range: ${bad}`, { hint: 'a leading 0 means octal to libvirt: write hex as 0x…' });
        }
      }
      const key = a?.canonical ?? h.sourceKey;
      if (!key) continue;
      if (seen.has(key)) ctx.report(h, `host device ${key} is assigned twice (first at line ${seen.get(key)})`, { hint: 'a device can be passed through once', order: { stage: 'validate' } });
      else seen.set(key, h.loc.line);
    }
  },
};
