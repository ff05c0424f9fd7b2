/**
 * `virt-pin plan FILE [--host SRC]` — the runtime plan: thread affinity for
 * every vCPU, IOThread and the emulator, and IRQ affinity for passed-through
 * PCI devices, as JSON, a table or a shell script to read before running.
 */
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { planDocument, renderPlanJson, renderPlanShell, renderPlanTable } from '../../plan/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { irqOverrides } from '../irq-overrides.js';
import { loadHost } from '../host-option.js';
import { paint, useColor } from '../color.js';
import { printable, printableLines } from '../terminal-text.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  host: { type: 'string' },
  format: { type: 'string' },
  irq: { type: 'string', multiple: true },
  'irq-default': { type: 'string' },
  'no-threads': { type: 'boolean' },
  libvirt: { type: 'string' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('plan')!);

export function run(argv: string[]): number {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name one domain XML file (or - for standard input)');
  const format = values.format ?? 'table';
  if (!['table', 'json', 'sh'].includes(format)) throw new UsageError(`--format takes table, json or sh, not '${format}'`);
  const color = useColor(values.color, process.stdout);
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const host = loadHost(values.host);
  const input = readDomainInput(positionals[0]!);
  const p = withInputErrors(input.name, () =>
    planDocument(input.text, { fileName: input.name, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}), irqOverrides: irqOverrides(values.irq, values['irq-default']), threads: !values['no-threads'] }),
  );
  process.stdout.write(format === 'json' ? renderPlanJson(p) : format === 'sh' ? renderPlanShell(p) : colorPlanTable(printableLines(renderPlanTable(p)), color));
  const errColor = useColor(values.color, process.stderr);
  for (const d of p.diagnostics) process.stderr.write(`${printable(input.name)}: ${paint(errColor, d.severity === 'error' ? '31;1' : d.severity === 'warning' ? '33;1' : '36', d.severity)} ${d.code} ${printable(d.message)}\n`);
  return p.diagnostics.some((d) => d.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}

/** The table's title and column header bold; the rest as is. */
function colorPlanTable(table: string, on: boolean): string {
  const lines = table.split('\n');
  return lines.map((l, i) => (i === 0 || i === 2 ? paint(on, '1', l) : l)).join('\n');
}

