/**
 * `virt-pin export --format qemu-pinning|virsh FILE` — the resolved pinning
 * as the qemu-pinning fork's `-vcpu` options, or as virsh commands.
 */
import { toQemuPinningArgs, toVirshCommands, type PinnedThreads } from '../../policy/interop.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { resolveDocument } from '../../resolve/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  format: { type: 'string' },
  first: { type: 'boolean' },
  live: { type: 'boolean' },
  config: { type: 'boolean' },
  connect: { type: 'string', short: 'c' },
  name: { type: 'string' },
  host: { type: 'string' },
  libvirt: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('export')!);

export function run(argv: string[]): number {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name one domain XML file (or - for standard input)');
  if (values.format !== 'qemu-pinning' && values.format !== 'virsh') throw new UsageError("--format takes qemu-pinning or virsh");
  if (values.format !== 'virsh' && (values.live || values.config || values.connect !== undefined)) throw new UsageError('--live, --config and --connect are for --format virsh');
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const host = loadHost(values.host);
  const input = readDomainInput(positionals[0]!);
  const lines = withInputErrors(input.name, () => {
    const r = resolveDocument(input.text, { fileName: input.name, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) });
    // virsh: a thread nothing pins stays unpinned ('all'), even when the host makes the set concrete.
    const cpusOf = (t: { cpus: { toString(): string }; source: string }): string => (values.format === 'virsh' && t.source === 'all' ? 'all' : t.cpus.toString());
    const threads: PinnedThreads = {
      vcpus: r.vcpus.map((v) => ({ id: v.id, cpus: cpusOf(v) })),
      emulator: { cpus: cpusOf(r.emulator) },
      iothreads: r.iothreads.map((t) => ({ id: t.id, cpus: cpusOf(t) })),
    };
    if (values.format === 'qemu-pinning') {
      const args = toQemuPinningArgs(threads, { first: values.first === true });
      const pairs: string[] = [];
      for (let i = 0; i < args.length; i += 2) pairs.push(`${args[i]} ${args[i + 1]}`);
      return [pairs.join(' ')];
    }
    const name = values.name ?? r.domain.name;
    if (!name) throw new UsageError('the domain has no <name>; pass --name');
    const modes = [...(values.live ? (['live'] as const) : []), ...(values.config ? (['config'] as const) : [])];
    return toVirshCommands(name, threads, modes.length ? modes : 'config', values.connect !== undefined ? { connect: values.connect } : {});
  });
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}

