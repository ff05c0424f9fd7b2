/**
 * `virt-pin show FILE --host SRC` — the pin map: host CPUs by NUMA node,
 * core and SMT sibling, with the guest threads that may run on each, and
 * conflicts. Text on stdout (colour on a TTY only); `--svg`/`--html` write
 * a self-contained picture.
 */
import { writeFileSync } from 'node:fs';
import type { HostTopology } from '../../host/index.js';
import { planDocument } from '../../plan/index.js';
import { resolveDocument } from '../../resolve/index.js';
import { checkDocument } from '../../validate/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { describeHostSource, loadHost } from '../host-option.js';
import { useColor } from '../color.js';
import { IoError } from '../io.js';
import { buildPinMap, pinMapThreads, type PinMapFinding } from '../pinmap/model.js';
import { renderPinMapHtml, renderPinMapSvg, renderPinMapText } from '../pinmap/render.js';
import { printable } from '../terminal-text.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';
import { threadRows } from './resolve.js';
import { showMany, wantsManyDomains } from '../show-many.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  host: { type: 'string' },
  driver: { type: 'string' },
  libvirt: { type: 'string' },
  svg: { type: 'string' },
  html: { type: 'string' },
  connect: { type: 'string' },
  all: { type: 'boolean' },
  live: { type: 'boolean' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('show')!);

export function run(argv: string[]): number | Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (wantsManyDomains(positionals, values.connect) || values.all || values.live) {
    if (values.host === undefined) throw new UsageError('show needs --host: the map is drawn over the host CPUs');
    const color = useColor(values.color, process.stdout);
    const libvirtVersion = libvirtVersionArg(values.libvirt);
    return showMany(positionals, { host: values.host, color, ...(libvirtVersion ? { libvirtVersion } : {}), ...(values.connect !== undefined ? { connect: values.connect } : {}), ...(values.all ? { all: true } : {}), ...(values.live ? { live: true } : {}), ...(values.svg !== undefined ? { svg: values.svg } : {}), ...(values.html !== undefined ? { html: values.html } : {}) });
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'show takes exactly one file');
  if (values.host === undefined) throw new UsageError('show needs --host: the map is drawn over the host CPUs');
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  const color = useColor(values.color, process.stdout);
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const version = libvirtVersion ? { libvirtVersion } : {};

  const host = loadHost(values.host)!;
  const input = readDomainInput(positionals[0]!);
  const resolved = withInputErrors(input.name, () => resolveDocument(input.text, { fileName: input.name, driver, host, ...version }));
  const irqs = withInputErrors(input.name, () => planDocument(input.text, { fileName: input.name, host, threads: false, ...version }))
    .devices.filter((d) => d.cpus !== undefined)
    .map((d) => ({ kind: 'irq' as const, id: d.address, cpus: d.cpus! }));
  const map = buildPinMap(host, [...pinMapThreads(resolved), ...irqs], findingsOf(input.text, input.name, driver, host, libvirtVersion));
  const title = { guest: resolved.domain.name ?? input.name, host: describeHostSource(values.host) };
  const shownTitle = { guest: printable(title.guest), host: printable(title.host) };

  process.stdout.write(renderPinMapText(map, shownTitle, color));
  if (values.svg !== undefined) writeOutput(values.svg, renderPinMapSvg(map, title));
  if (values.html !== undefined) {
    const rows = threadRows(resolved).map((r) => ({ thread: r.thread, cpus: r.cpus, why: r.why }));
    writeOutput(values.html, renderPinMapHtml(map, title, rows));
  }
  return EXIT_OK;
}

/** What check reports with this host, minus the two conflicts the map already draws in its cells. */
const DRAWN_AS_CONFLICTS = new Set(['PIN_SHARED_SINGLE_CPU', 'EMULATOR_ON_DEDICATED_CPU']);

function findingsOf(text: string, fileName: string, driver: 'qemu' | 'generic', host: HostTopology, libvirtVersion: string | undefined): PinMapFinding[] {
  return checkDocument(text, { fileName, driver, host, ...(libvirtVersion ? { libvirtVersion } : {}) })
    .filter((d) => !DRAWN_AS_CONFLICTS.has(d.code))
    .map((d) => ({ code: d.code, severity: d.severity, message: `line ${d.line}: ${d.message}`, ...(d.hint ? { hint: d.hint } : {}) }));
}

function writeOutput(path: string, content: string): void {
  try {
    writeFileSync(path, content);
  } catch (e) {
    throw new IoError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

