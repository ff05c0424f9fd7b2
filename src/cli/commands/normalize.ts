/**
 * `virt-pin normalize FILE` — the document with its affinity elements as
 * libvirt stores them after define; everything else byte for byte.
 */
import { normalize } from '../../normalize/index.js';
import { parseDocument, serializeDocument } from '../../xml/index.js';
import { unifiedDiff } from '../../policy/diff.js';
import { colorDiff, useColor } from '../color.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { writeFileAtomic } from '../write-file.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  diff: { type: 'boolean' },
  driver: { type: 'string' },
  libvirt: { type: 'string' },
  output: { type: 'string', short: 'o' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('normalize')!);

export function run(argv: string[]): number {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'normalize takes exactly one file');
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  if (values.diff && values.output !== undefined) throw new UsageError('--diff and --output cannot be combined');
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const input = readDomainInput(positionals[0]!);
  const out = withInputErrors(input.name, () => serializeDocument(normalize(parseDocument(input.text, { fileName: input.name }), { driver, ...(libvirtVersion ? { libvirtVersion } : {}) })));
  if (values.diff) {
    const diff = unifiedDiff(input.text, out, `${input.name}`, `${input.name} (as libvirt stores it)`);
    process.stdout.write(colorDiff(diff, useColor(values.color, process.stdout)));
    return diff ? EXIT_FINDINGS : EXIT_OK;
  }
  if (values.output !== undefined) writeFileAtomic(values.output, out);
  else process.stdout.write(out);
  return EXIT_OK;
}

