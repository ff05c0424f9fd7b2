/**
 * `virt-pin check FILE|DIR…` — validate domain XML the way libvirt would
 * refuse it, report silent normalizations and expert lints.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatGithub, formatHuman, formatJson, formatSkipped, summaryLine, type FileResult } from '../format-diagnostics.js';
import { formatGitlab, formatJunit } from '../format-ci.js';
import { formatSarif } from '../format-sarif.js';
import { loadHost } from '../host-option.js';
import { libvirtVersionOption } from '../libvirt-option.js';
import { useColor } from '../color.js';
import { expandInputs } from '../io.js';
import { version } from '../version.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError } from '../usage.js';
import { checkPath, type ParseLimits } from './check-one.js';
import { checkInPool, POOL_THRESHOLD, type SerializedCheckOptions } from './check-pool.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  format: { type: 'string' },
  host: { type: 'string' },
  driver: { type: 'string' },
  libvirt: { type: 'string' },
  strict: { type: 'boolean' },
  'all-xml': { type: 'boolean' },
  'allow-empty': { type: 'boolean' },
  base: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  jobs: { type: 'string', short: 'j' },
  'max-bytes': { type: 'string' },
  'max-depth': { type: 'string' },
  'max-elements': { type: 'string' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('check')!);

export async function run(argv: string[], workerUrl?: URL): Promise<number> {
  const { values, positionals } = parseArgsOrUsage(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  const format = values.format ?? 'human';
  if (!['human', 'json', 'sarif', 'github', 'gitlab', 'junit'].includes(format)) throw new UsageError(`unknown --format '${format}'`);
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  if (positionals.length === 0) throw new UsageError('no input: name one or more files or directories, or - for standard input');
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs takes a positive integer, not '${values.jobs}'`);

  const color = useColor(values.color, process.stdout);
  const limits = limitsOf(values);
  const libvirtVersion = libvirtVersionOption(values.libvirt);
  const allXml = values['all-xml'] === true;
  const host = loadHost(values.host);
  const paths = expandInputs(positionals);
  const progress = process.stderr.isTTY && paths.length > 20;
  const onProgress = (done: number): void => {
    if (progress) process.stderr.write(`\r${done}/${paths.length} checked`);
  };

  let results: FileResult[];
  const usePool = workerUrl !== undefined && jobs !== 1 && paths.length >= POOL_THRESHOLD && !paths.some((p) => p.path === '-');
  if (usePool) {
    const options: SerializedCheckOptions = { driver, limits, ...(allXml ? { allXml } : {}), ...(libvirtVersion ? { libvirtVersion } : {}), ...(values.host !== undefined ? { hostSpec: values.host } : {}) };
    results = await checkInPool(paths, options, format === 'human', workerUrl, onProgress, jobs);
  } else {
    results = paths.map((path, i) => {
      const result = checkPath(path, { driver, limits, allXml, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) });
      onProgress(i + 1);
      return result;
    });
  }
  if (progress) process.stderr.write('\r\u001b[K');

  const checked = results.filter((r) => !r.skipped && !r.error).length;
  const empty = checked === 0 && !results.some((r) => r.error);
  const unreadable = results.some((r) => r.error);
  const failing = results.some((r) =>
    r.diagnostics.some((d) => d.severity === 'error' || (values.strict === true && d.severity === 'warning')),
  );
  const status = unreadable || (empty && !values['allow-empty']) ? EXIT_USAGE : failing ? EXIT_FINDINGS : EXIT_OK;

  if (format === 'json') process.stdout.write(formatJson(results));
  else if (format === 'sarif') process.stdout.write(formatSarif(results, { toolVersion: version(), exitCode: status, base: resolve(values.base ?? '.') }));
  else if (format === 'github') process.stdout.write(formatGithub(results));
  else if (format === 'gitlab') process.stdout.write(formatGitlab(results, resolve(values.base ?? '.')));
  else if (format === 'junit') process.stdout.write(formatJunit(results, values.strict === true));
  else {
    const shown = results.filter((r) => r.diagnostics.length > 0 || r.error);
    process.stdout.write(formatHuman(shown, color));
    if (!values.quiet) {
      process.stderr.write(formatSkipped(results));
      process.stderr.write(summaryLine(results));
    }
  }
  if (empty && !values['allow-empty']) {
    const skipped = results.filter((r) => r.skipped).length;
    process.stderr.write(`virt-pin check: no domain XML found in ${positionals.join(', ')}${skipped ? ` (${skipped} other XML file${skipped === 1 ? '' : 's'} skipped)` : ''}; --allow-empty accepts that\n`);
  }
  return status;
}

/** --max-bytes/--max-depth/--max-elements as parser limits; absent ones keep the library defaults. */
function limitsOf(values: { 'max-bytes'?: string; 'max-depth'?: string; 'max-elements'?: string }): ParseLimits {
  const count = (option: string, text: string, units: Record<string, number> = {}): number => {
    const m = /^(\d{1,15})([A-Za-z]?)$/.exec(text);
    const unit = m ? units[m[2]!.toUpperCase()] ?? (m[2] === '' ? 1 : undefined) : undefined;
    const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
    if (!Number.isSafeInteger(n)) throw new UsageError(`--${option} takes a non-negative integer${Object.keys(units).length ? ' (suffix K, M or G)' : ''}, not '${text}'`);
    return n;
  };
  const limits: ParseLimits = {};
  if (values['max-bytes'] !== undefined) limits.maxBytes = count('max-bytes', values['max-bytes'], { K: 1024, M: 1024 ** 2, G: 1024 ** 3 });
  if (values['max-depth'] !== undefined) limits.maxDepth = count('max-depth', values['max-depth']);
  if (values['max-elements'] !== undefined) limits.maxElements = count('max-elements', values['max-elements']);
  return limits;
}

function parseArgsOrUsage(argv: string[]) {
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
