/**
 * `virt-pin check FILE|DIR…` — validate domain XML the way libvirt would
 * refuse it, report silent normalizations and expert lints.
 */
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { formatGithub, formatHuman, formatJson, formatSkipped, summaryLine, type FileResult } from '../format-diagnostics.js';
import { formatGitlab, formatJunit } from '../format-ci.js';
import { formatSarif } from '../format-sarif.js';
import { loadHost } from '../host-option.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { useColor } from '../color.js';
import { expandInputs } from '../io.js';
import { version } from '../version.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, parseCommandArgs } from '../usage.js';
import { checkInput, checkPath, type CheckOptions, type ParseLimits } from './check-one.js';
import { crossDiagnostics, hostDomains, loadHostMemory } from '../host-domains.js';
import { isVirtPinError } from '../../errors.js';
import { IoError, readInput } from '../io.js';
import { checkInPool, poolSize, type SerializedCheckOptions } from './check-pool.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  format: { type: 'string' },
  host: { type: 'string' },
  driver: { type: 'string' },
  libvirt: { type: 'string' },
  strict: { type: 'boolean' },
  connect: { type: 'string' },
  all: { type: 'boolean' },
  overcommit: { type: 'string' },
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
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  const format = values.format ?? 'human';
  if (!['human', 'json', 'sarif', 'github', 'gitlab', 'junit'].includes(format)) throw new UsageError(`unknown --format '${format}'`);
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  const connect = values.connect;
  if (values.all && connect === undefined) throw new UsageError('--all reads domains from libvirt: give --connect URI too');
  if (connect !== undefined && values.all && positionals.length) throw new UsageError('--all and domain names exclude each other');
  if (connect !== undefined && !values.all && positionals.length === 0) throw new UsageError('--connect needs --all or domain names');
  if (positionals.length === 0 && connect === undefined) throw new UsageError('no input: name one or more files or directories, or - for standard input');
  const overcommit = values.overcommit === undefined ? undefined : Number(values.overcommit);
  if (overcommit !== undefined && !(Number.isFinite(overcommit) && overcommit > 0)) throw new UsageError(`--overcommit takes a positive number, not '${values.overcommit}'`);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) throw new UsageError(`--jobs takes a positive integer, not '${values.jobs}'`);

  const color = useColor(values.color, process.stdout);
  const limits = limitsOf(values);
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const allXml = values['all-xml'] === true;
  const host = loadHost(values.host);
  const fromLibvirt = connect === undefined ? undefined : await libvirtInputs(connect, values.all ? undefined : positionals);
  const paths = fromLibvirt ? fromLibvirt.map((d) => ({ path: d.name, named: true })) : expandInputs(positionals);
  const progress = process.stderr.isTTY && paths.length > 20;
  const onProgress = (done: number): void => {
    if (progress) process.stderr.write(`\r${done}/${paths.length} checked`);
  };

  let results: FileResult[];
  // Whose source text the output reads: the human excerpts, and the line hashed into SARIF and GitLab fingerprints
  // (the same with and without workers, or a finding's fingerprint would change with the machine's load). Other
  // formats drop it: kept to the end of a batch, every file's text was work for the garbage collector.
  const keepSource = format === 'human' || format === 'sarif' || format === 'gitlab';
  // What this thread checks with (workers get the serialized form and load the host themselves). With host facts
  // the texts stay for the cross-domain pass below.
  const checkOptions: CheckOptions = { driver, limits, allXml, keepSource: keepSource || host !== undefined, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) };
  const threads = fromLibvirt || workerUrl === undefined || paths.some((p) => p.path === '-') ? 1 : poolSize(paths.length, jobs, availableParallelism(), loadavg()[0] ?? 0);
  if (threads > 1) {
    const options: SerializedCheckOptions = { driver, limits, ...(allXml ? { allXml } : {}), ...(libvirtVersion ? { libvirtVersion } : {}), ...(values.host !== undefined ? { hostSpec: values.host } : {}) };
    results = await checkInPool(paths, options, keepSource, new URL('check-worker.cjs', workerUrl!), onProgress, threads, (path) => checkPath(path, checkOptions));
  } else {
    results = paths.map((path, i) => {
      const result = (fromLibvirt ? (o: Parameters<typeof checkInput>[1]) => checkInput({ name: path.path, bytes: new TextEncoder().encode(fromLibvirt[i]!.text) }, o) : (o: Parameters<typeof checkPath>[1]) => checkPath(path, o))(checkOptions);
      onProgress(i + 1);
      return result;
    });
  }
  if (progress) process.stderr.write('\r\u001b[K');

  // Cross-domain findings (docs/host-view.md): only with host facts, where "all CPUs" and node memory are known.
  const domainResults = results.filter((r) => !r.skipped && !r.error);
  if (host && domainResults.length > 1) {
    const textOf = (r: FileResult): string => {
      const i = results.indexOf(r);
      if (fromLibvirt) return fromLibvirt[i]!.text;
      if (r.source !== undefined) return r.source;
      return r.file === '<stdin>' ? '' : new TextDecoder().decode(readInput(paths[i]!.path, limits.maxBytes).bytes);
    };
    const inputs = domainResults.map((r) => ({ file: r.file, text: textOf(r) }));
    const memory = loadHostMemory(values.host, host);
    const cross = crossDiagnostics(hostDomains(inputs, host, memory, libvirtVersion), {
      ...(memory ? { memory } : {}),
      ...(overcommit !== undefined ? { overcommitThreshold: overcommit } : {}),
    });
    for (const r of domainResults) {
      const extra = cross.get(r.file);
      if (!extra) continue;
      if (r.source === undefined && format === 'human') r.source = textOf(r);
      r.diagnostics = [...r.diagnostics, ...extra].sort((a, b) => a.line - b.line || a.column - b.column);
    }
  }

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

/** Domain XML from libvirt (definitions, `--inactive`); a libvirt error is an I/O error. */
async function libvirtInputs(uri: string, names: string[] | undefined): Promise<{ name: string; text: string }[]> {
  // Loaded only for --connect: it brings the applier's libvirt code, whose module set-up every plain check paid for.
  const { readLibvirtDomains } = await import('../libvirt-domains.js');
  try {
    return await readLibvirtDomains({ uri, inactive: true, ...(names ? { names } : { all: 'defined' }) });
  } catch (e) {
    if (isVirtPinError(e)) throw new IoError(`${e.code} ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    throw e;
  }
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

