/**
 * `virt-pin resolve FILE` — where every vCPU, the emulator and every
 * IOThread may run (host CPUs, memory nodes, scheduler, bandwidth), and
 * the rule and element that decided it.
 */
import { explain, resolveDocument, toJSON, validateResolvedJson, type ResolvedModel, type ResolvedThread } from '../../resolve/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { paint, useColor } from '../color.js';
import { printable, printableLines } from '../terminal-text.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';
import { isVirtPinError } from '../../errors.js';
import { expandInputs, IoError } from '../io.js';
import { readLibvirtDomains } from '../libvirt-domains.js';
import { wantsManyDomains } from '../show-many.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  host: { type: 'string' },
  driver: { type: 'string' },
  libvirt: { type: 'string' },
  json: { type: 'boolean' },
  explain: { type: 'string' },
  connect: { type: 'string' },
  all: { type: 'boolean' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('resolve')!);

export function run(argv: string[]): number | Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  const color = useColor(values.color, process.stdout);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  const many = wantsManyDomains(positionals, values.connect) || values.all === true;
  if (!many && positionals.length !== 1) throw new UsageError('name one domain XML file (or - for standard input)');
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  if (values.json && values.explain !== undefined) throw new UsageError('--json and --explain cannot be combined');

  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const host = loadHost(values.host);
  if (many) return resolveMany(positionals, values, driver, host, color, libvirtVersion);
  const input = readDomainInput(positionals[0]!);
  const resolved = withInputErrors(input.name, () =>
    resolveDocument(input.text, { fileName: input.name, driver, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) }),
  );

  if (values.explain !== undefined) {
    const sentence = withInputErrors(input.name, () => explain(resolved, values.explain!));
    process.stdout.write(printableLines(sentence) + '\n');
    return EXIT_OK;
  }
  if (values.json) {
    const json = toJSON(resolved);
    const checked = validateResolvedJson(json);
    if (!checked.ok) {
      // A schema mismatch is our bug, not the user's: say so loudly.
      throw new Error(`resolved model does not match its schema: ${checked.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
    }
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return EXIT_OK;
  }
  process.stdout.write(renderResolvedTable(resolved, color));
  return EXIT_OK;
}

/** Several domains (files, directories, libvirt): each resolved and printed in turn. */
async function resolveMany(
  positionals: readonly string[],
  values: { connect?: string; all?: boolean; json?: boolean; explain?: string },
  driver: 'qemu' | 'generic',
  host: ReturnType<typeof loadHost>,
  color: boolean,
  libvirtVersion: string | undefined,
): Promise<number> {
  let inputs: { name: string; text: string }[];
  if (values.connect !== undefined || values.all) {
    if (values.connect === undefined) throw new UsageError('--all reads domains from libvirt: give --connect URI too');
    if (!values.all && positionals.length === 0) throw new UsageError('--connect needs --all or domain names');
    try {
      inputs = await readLibvirtDomains({ uri: values.connect, inactive: true, ...(values.all ? { all: 'defined' as const } : { names: positionals }) });
    } catch (e) {
      if (isVirtPinError(e)) throw new IoError(`${e.code} ${e.message}`);
      throw e;
    }
  } else inputs = expandInputs(positionals).map((p) => readDomainInput(p.path));
  const models = inputs.map((input) => ({ input, resolved: withInputErrors(input.name, () => resolveDocument(input.text, { fileName: input.name, driver, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) })) }));
  if (values.explain !== undefined) {
    for (const { input, resolved } of models) process.stdout.write(`${printable(resolved.domain.name ?? input.name)}: ${printableLines(withInputErrors(input.name, () => explain(resolved, values.explain!)))}\n`);
  } else if (values.json) {
    process.stdout.write(JSON.stringify(models.map(({ resolved }) => toJSON(resolved)), null, 2) + '\n');
  } else {
    process.stdout.write(models.map(({ input, resolved }) => `== ${printable(resolved.domain.name ?? input.name)} (${printable(input.name)}) ==\n${renderResolvedTable(resolved, color)}`).join('\n'));
  }
  return EXIT_OK;
}

export interface ThreadRow {
  thread: string;
  cpus: string;
  nodes: string;
  sched: string;
  bandwidth: string;
  why: string;
}

export function threadRows(r: ResolvedModel): ThreadRow[] {
  const row = (name: string, t: ResolvedThread): ThreadRow => {
    const el = t.provenance.element;
    return {
      thread: name,
      cpus: t.cpus.toString(),
      nodes: t.memoryNodes ? t.memoryNodes.nodes.toString() : '-',
      sched: t.sched ? `${t.sched.scheduler}${t.sched.priority !== undefined ? ` ${t.sched.priority}` : ''}` : '-',
      bandwidth: t.bandwidth ? `${t.bandwidth.period ?? '-'}/${t.bandwidth.quota ?? '-'}` : '-',
      why: `${t.source}${el ? ` ${el.path} line ${el.line}` : ''}: ${t.provenance.because}`,
    };
  };
  return [
    ...r.vcpus.map((v) => row(`vCPU ${v.id}${v.online ? '' : ' (offline)'}`, v)),
    row('emulator', r.emulator),
    ...r.iothreads.map((t) => row(`IOThread ${t.id}`, t)),
  ];
}

export function renderResolvedTable(r: ResolvedModel, color = false): string {
  const rows = threadRows(r);
  const head: ThreadRow = { thread: 'thread', cpus: 'host CPUs', nodes: 'mem nodes', sched: 'sched', bandwidth: 'period/quota', why: 'why' };
  const cols: (keyof ThreadRow)[] = ['thread', 'cpus', 'nodes', 'sched', 'bandwidth'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...rows.map((x) => x[c].length))])) as Record<keyof ThreadRow, number>;
  const line = (x: ThreadRow): string => cols.map((c) => x[c].padEnd(width[c])).join('  ') + '  ' + x.why;
  const out = [
    `${r.domain.name ?? '(unnamed domain)'}${r.file ? ` (${r.file})` : ''}: ${r.maxVcpus} vCPU${r.maxVcpus === 1 ? '' : 's'}, driver ${r.driver}, ${r.hostFacts ? `host CPUs ${r.allCpus.toString()}` : 'no host facts ("all" = every host CPU)'}`,
    line(head),
    ...rows.map(line),
  ];
  const init = r.initialAffinity;
  out.push(`QEMU starts on ${init.cpus.toString()} (${init.source}): ${init.provenance.because}`);
  for (const n of r.notes) out.push(`note ${n.code}: ${n.message}`);
  // Names and values from the file are escaped first; the colour is ours.
  return out.map((l, i) => (i === 1 ? paint(color, '1', printable(l)) : printable(l))).join('\n') + '\n';
}

