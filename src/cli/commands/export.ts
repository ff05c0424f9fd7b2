/**
 * `virt-pin export --format qemu-pinning|virsh FILE` — the resolved pinning
 * as the qemu-pinning fork's `-vcpu` options, or as virsh commands.
 */
import { parseArgs } from 'node:util';
import { toQemuPinningArgs, toVirshCommands, type PinnedThreads } from '../../policy/interop.js';
import { resolveDocument } from '../../resolve/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_OK, UsageError } from '../usage.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  format: { type: 'string' },
  first: { type: 'boolean' },
  live: { type: 'boolean' },
  config: { type: 'boolean' },
  name: { type: 'string' },
  host: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('export')!);

export function run(argv: string[]): number {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name one domain XML file (or - for standard input)');
  if (values.format !== 'qemu-pinning' && values.format !== 'virsh') throw new UsageError("--format takes qemu-pinning or virsh");
  if (values.live && values.config) throw new UsageError('--live and --config exclude each other');
  const host = loadHost(values.host);
  const input = readDomainInput(positionals[0]!);
  const lines = withInputErrors(input.name, () => {
    const r = resolveDocument(input.text, { fileName: input.name, ...(host ? { host } : {}) });
    const threads: PinnedThreads = {
      vcpus: r.vcpus.map((v) => ({ id: v.id, cpus: v.cpus.toString() })),
      emulator: { cpus: r.emulator.cpus.toString() },
      iothreads: r.iothreads.map((t) => ({ id: t.id, cpus: t.cpus.toString() })),
    };
    if (values.format === 'qemu-pinning') {
      const args = toQemuPinningArgs(threads, { first: values.first === true });
      const pairs: string[] = [];
      for (let i = 0; i < args.length; i += 2) pairs.push(`${args[i]} ${args[i + 1]}`);
      return [pairs.join(' ')];
    }
    const name = values.name ?? r.domain.name;
    if (!name) throw new UsageError('the domain has no <name>; pass --name');
    return toVirshCommands(name, threads, values.live ? 'live' : 'config');
  });
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: OPTIONS,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
