/**
 * `--irq ADDR=POLICY` (repeatable) and `--irq-default POLICY` of `plan` and
 * `apply`, as planDocument's irqOverrides. A module of its own so that
 * `apply` does not load the `plan` command (its table renderer, colours and
 * the host readers behind --host) to parse two options.
 */
import { UsageError } from './usage.js';

export function irqOverrides(irq: string[] | undefined, irqDefault: string | undefined): { default?: string; devices?: Record<string, string> } {
  const devices: Record<string, string> = {};
  for (const item of irq ?? []) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new UsageError(`--irq takes ADDRESS=POLICY, e.g. 0000:01:00.0=auto, not '${item}'`);
    devices[item.slice(0, eq).toLowerCase()] = item.slice(eq + 1);
  }
  return { ...(irqDefault !== undefined ? { default: irqDefault } : {}), ...(Object.keys(devices).length ? { devices } : {}) };
}
