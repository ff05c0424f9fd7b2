/**
 * `virt-pin import --from qemu-args 'ARGS' [FILE]` — turn the qemu-pinning
 * fork's `-vcpu vcpunum=N,affinity=CPU` options into <vcpupin>s: merged into
 * FILE (only <cputune> changes), or as a fresh <cputune> snippet.
 */
import { definitionOf, readDomain } from '../../domain/index.js';
import { fromQemuPinningArgs } from '../../policy/interop.js';
import { parseDocument, serializeDocument } from '../../xml/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = { from: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export const usage = renderHelp(commandSpec('import')!);

export function run(argv: string[]): number {
  // The QEMU arguments start with '-': take them right after '--from qemu-args' before option parsing.
  const at = argv.findIndex((a, i) => (a === '--from' && argv[i + 1] === 'qemu-args') || a === '--from=qemu-args');
  const argsIndex = at === -1 ? -1 : at + (argv[at] === '--from' ? 2 : 1);
  const qemuArgs = argsIndex !== -1 && argsIndex < argv.length ? argv[argsIndex] : undefined;
  const { values, positionals: rest } = parseCommandArgs(qemuArgs === undefined ? argv : argv.filter((_, i) => i !== argsIndex), OPTIONS);
  const positionals = qemuArgs === undefined ? rest : [qemuArgs, ...rest];
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (values.from !== 'qemu-args') throw new UsageError("--from takes qemu-args");
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError("give the QEMU arguments (one quoted string) and optionally FILE");
  const args = positionals[0]!;
  if (positionals.length === 1) {
    const pins = withInputErrors('<arguments>', () => fromQemuPinningArgs(args));
    const lines = [...pins].sort((a, b) => a[0] - b[0]).map(([v, c]) => `  <vcpupin vcpu='${v}' cpuset='${c}'/>`);
    process.stdout.write(`<cputune>\n${lines.join('\n')}\n</cputune>\n`);
    return EXIT_OK;
  }
  const input = readDomainInput(positionals[1]!);
  const out = withInputErrors(input.name, () => {
    const doc = parseDocument(input.text, { fileName: input.name });
    const max = definitionOf(readDomain(doc), { driver: 'qemu' }).maxVcpus;
    const pins = fromQemuPinningArgs(args, max);
    const cputune = doc.root.element('cputune') ?? doc.root.insert({ name: 'cputune' });
    for (const old of cputune.elements('vcpupin')) if (pins.has(Number(old.attr('vcpu')))) cputune.remove(old);
    for (const [v, c] of [...pins].sort((a, b) => a[0] - b[0])) {
      const after = cputune.elements('vcpupin').filter((p) => Number(p.attr('vcpu')) < v).at(-1);
      const spec = { name: 'vcpupin', attrs: [['vcpu', String(v)], ['cpuset', String(c)]] as [string, string][] };
      if (after) cputune.insert(spec, { after });
      else {
        const first = cputune.elements('vcpupin')[0];
        cputune.insert(spec, first ? { before: first } : undefined);
      }
    }
    return serializeDocument(doc);
  });
  process.stdout.write(out);
  return EXIT_OK;
}

