/**
 * `virt-pin normalize FILE` — the document with its affinity elements as
 * libvirt stores them after define; everything else byte for byte.
 */
import { parseArgs } from 'node:util';
import { normalize } from '../../normalize/index.js';
import { parseDocument, serializeDocument } from '../../xml/index.js';
import { unifiedDiff } from '../../policy/diff.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { writeFileAtomic } from '../write-file.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';

export const usage = `usage: virt-pin normalize [options] FILE|-

Print the domain with <vcpu>, <vcpus>, <iothreads>, <iothreadids>,
<defaultiothread>, <cputune>, <numatune> and guest NUMA cells written the
way libvirt stores them after define (canonical cpusets, dropped pins,
promoted placement, exploded sched groups, …); every other byte stays.

options:
  --diff          print a unified diff of what libvirt would change instead
                  (exit 1 when there is a difference, 0 when none)
  --driver DRV    qemu (default) or generic
  -o, --output F  write the result to F (atomically) instead of stdout
  -h, --help      this help

examples:
  virt-pin normalize vm.xml
  virt-pin normalize --diff /etc/libvirt/qemu/vm.xml
`;

export function run(argv: string[]): number {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'normalize takes exactly one file');
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  if (values.diff && values.output !== undefined) throw new UsageError('--diff and --output cannot be combined');
  const input = readDomainInput(positionals[0]!);
  const out = withInputErrors(input.name, () => serializeDocument(normalize(parseDocument(input.text, { fileName: input.name }), { driver })));
  if (values.diff) {
    const diff = unifiedDiff(input.text, out, `${input.name}`, `${input.name} (as libvirt stores it)`);
    process.stdout.write(diff);
    return diff ? EXIT_FINDINGS : EXIT_OK;
  }
  if (values.output !== undefined) writeFileAtomic(values.output, out);
  else process.stdout.write(out);
  return EXIT_OK;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        diff: { type: 'boolean' },
        driver: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
