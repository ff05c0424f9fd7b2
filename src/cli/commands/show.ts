/**
 * `virt-pin show FILE --host SRC` — the pin map: host CPUs by NUMA node,
 * core and SMT sibling, with the guest threads that may run on each, and
 * conflicts. Text on stdout (colour on a TTY only); `--svg`/`--html` write
 * a self-contained picture.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveDocument } from '../../resolve/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { describeHostSource, loadHost } from '../host-option.js';
import { IoError } from '../io.js';
import { buildPinMap, pinMapThreads } from '../pinmap/model.js';
import { renderPinMapHtml, renderPinMapSvg, renderPinMapText } from '../pinmap/render.js';
import { printable } from '../terminal-text.js';
import { EXIT_OK, UsageError } from '../usage.js';
import { threadRows } from './resolve.js';

export const usage = `usage: virt-pin show [options] --host SRC FILE|-

Draw the pin map: the host's CPUs laid out by NUMA node, core and SMT
sibling, each showing which vCPUs (vN), the emulator (emu) and IOThreads
(ioN) may run there, with conflicts flagged (two vCPUs pinned to one CPU,
the emulator on a vCPU's dedicated CPU, offline or missing CPUs).

options:
  --host SRC      host facts (required): capabilities XML file, sysfs[:ROOT] or local
  --driver DRV    qemu (default) or generic
  --svg FILE      also write the map as a self-contained SVG picture
  --html FILE     also write an HTML page with the picture and the thread table
  --color WHEN    auto (default: on a TTY), always or never
  -h, --help      this help

examples:
  virt-pin show --host local vm.xml
  virt-pin show --host caps.xml --svg map.svg vm.xml
`;

export function run(argv: string[]): number {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'show takes exactly one file');
  if (values.host === undefined) throw new UsageError('show needs --host: the map is drawn over the host CPUs');
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  const colorWhen = values.color ?? 'auto';
  if (!['auto', 'always', 'never'].includes(colorWhen)) throw new UsageError(`--color takes auto, always or never, not '${colorWhen}'`);

  const host = loadHost(values.host)!;
  const input = readDomainInput(positionals[0]!);
  const resolved = withInputErrors(input.name, () => resolveDocument(input.text, { fileName: input.name, driver, host }));
  const map = buildPinMap(host, pinMapThreads(resolved));
  const title = { guest: resolved.domain.name ?? input.name, host: describeHostSource(values.host) };
  const shownTitle = { guest: printable(title.guest), host: printable(title.host) };

  const color = colorWhen === 'always' || (colorWhen === 'auto' && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  process.stdout.write(renderPinMapText(map, shownTitle, color));
  if (values.svg !== undefined) writeOutput(values.svg, renderPinMapSvg(map, title));
  if (values.html !== undefined) {
    const rows = threadRows(resolved).map((r) => ({ thread: r.thread, cpus: r.cpus, why: r.why }));
    writeOutput(values.html, renderPinMapHtml(map, title, rows));
  }
  return EXIT_OK;
}

function writeOutput(path: string, content: string): void {
  try {
    writeFileSync(path, content);
  } catch (e) {
    throw new IoError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        driver: { type: 'string' },
        svg: { type: 'string' },
        html: { type: 'string' },
        color: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
