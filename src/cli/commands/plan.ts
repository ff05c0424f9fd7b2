/**
 * `virt-pin plan FILE [--host SRC]` — the runtime plan: thread affinity for
 * every vCPU, IOThread and the emulator, and IRQ affinity for passed-through
 * PCI devices, as JSON, a table or a shell script to read before running.
 */
import { parseArgs } from 'node:util';
import { planDocument, renderPlanJson, renderPlanShell, renderPlanTable } from '../../plan/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { printable, printableLines } from '../terminal-text.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';

export const usage = `usage: virt-pin plan [options] FILE|-

Build the runtime plan for a domain: thread affinity for every online vCPU,
each IOThread and the emulator (main thread last), scheduler settings, and
IRQ affinity for every PCI <hostdev> per its policy (<vp:irq> metadata,
xmlns:vp='https://virt-pin.dev/xmlns/irq/1'; default native = untouched).

options:
  --host SRC            host facts (makes "all CPUs" and device NUMA nodes concrete)
  --format FMT          table (default), json (schemas/plan.schema.json) or sh
  --irq ADDR=POLICY     override one device's IRQ policy (auto, native or a cpuset); repeatable
  --irq-default POLICY  override the default IRQ policy
  --no-threads          IRQ actions only
  -h, --help            this help

exit status: 0, or 1 when the plan has errors (apply refuses such a plan)

examples:
  virt-pin plan --host local vm.xml
  virt-pin plan --format sh --irq 0000:01:00.0=auto vm.xml
`;

export function run(argv: string[]): number {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name one domain XML file (or - for standard input)');
  const format = values.format ?? 'table';
  if (!['table', 'json', 'sh'].includes(format)) throw new UsageError(`--format takes table, json or sh, not '${format}'`);
  const host = loadHost(values.host);
  const input = readDomainInput(positionals[0]!);
  const p = withInputErrors(input.name, () =>
    planDocument(input.text, { fileName: input.name, ...(host ? { host } : {}), irqOverrides: irqOverrides(values.irq, values['irq-default']), threads: !values['no-threads'] }),
  );
  process.stdout.write(format === 'json' ? renderPlanJson(p) : format === 'sh' ? renderPlanShell(p) : printableLines(renderPlanTable(p)));
  for (const d of p.diagnostics) process.stderr.write(`${printable(input.name)}: ${d.severity} ${d.code} ${printable(d.message)}\n`);
  return p.diagnostics.some((d) => d.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

export function irqOverrides(irq: string[] | undefined, irqDefault: string | undefined): { default?: string; devices?: Record<string, string> } {
  const devices: Record<string, string> = {};
  for (const item of irq ?? []) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new UsageError(`--irq takes ADDRESS=POLICY, e.g. 0000:01:00.0=auto, not '${item}'`);
    devices[item.slice(0, eq).toLowerCase()] = item.slice(eq + 1);
  }
  return { ...(irqDefault !== undefined ? { default: irqDefault } : {}), ...(Object.keys(devices).length ? { devices } : {}) };
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        format: { type: 'string' },
        irq: { type: 'string', multiple: true },
        'irq-default': { type: 'string' },
        'no-threads': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
