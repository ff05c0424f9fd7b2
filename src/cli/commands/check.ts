/**
 * `virt-pin check FILE|DIR…` — validate domain XML the way libvirt would
 * refuse it, report silent normalizations and expert lints.
 */
import { parseArgs } from 'node:util';
import { formatGithub, formatHuman, formatJson, formatSarif, summaryLine, type FileResult } from '../format-diagnostics.js';
import { loadHost } from '../host-option.js';
import { libvirtVersionOption } from '../libvirt-option.js';
import { expandInputs, IoError, readInput } from '../io.js';
import { version } from '../version.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';
import { checkInput, type ParseLimits } from './check-one.js';
import { checkInPool, PoolIoError, POOL_THRESHOLD } from './check-pool.js';
import { crossDiagnostics, hostDomains, loadHostMemory } from '../host-domains.js';
import { readLibvirtDomains } from '../libvirt-domains.js';
import { isVirtPinError } from '../../errors.js';

export const usage = `usage: virt-pin check [options] FILE|DIR|- …
       virt-pin check [options] --connect URI --all | NAME…

Check libvirt domain XML: every condition that makes libvirt refuse the XML
(error), everything libvirt silently drops or changes (warning), and expert
lints about pinning (warning/info). Directories are searched for *.xml.
Many files are checked in parallel on worker threads.

options:
  --format FMT     human (default), json, sarif (SARIF 2.1.0) or github
                   (GitHub Actions annotations)
  --host SRC       host facts for host-aware lints: a capabilities XML file
                   (virsh capabilities), sysfs[:ROOT], or local
  --driver DRV     qemu (default) or generic: which driver's checks apply
  --libvirt VER    judge as this libvirt release does, e.g. 9.0 (default: the
                   local libvirt's version from virsh/libvirtd, else 10.7)
  --strict         warnings also make the exit status 1
  --connect URI    read the domains from libvirt (virsh dumpxml --inactive):
                   --all of them, or the NAMEs given
  --all            with --connect: every defined domain
  --overcommit N   cross-domain CPU overcommit (info) above N vCPUs per CPU
                   (default 1)
  --quiet          human format: no summary line
  --jobs N         worker threads for many files (default: one per core)
  --max-bytes N    refuse files larger than N bytes, unread (default 4M;
                   suffixes K, M, G are powers of 1024)
  --max-depth N    refuse elements nested deeper than N (default 128)
  --max-elements N refuse documents with more than N elements (default 1000000)
  -h, --help       this help

With --host and several domains, the cross-domain findings (CROSS_*: shared
dedicated CPUs, vCPUs on another domain's emulator or IOThread CPUs, IRQs
on another's dedicated CPUs, CPU overcommit, node memory) are added; see
docs/host-view.md.

exit status: 0 clean, 1 findings (errors; warnings too with --strict),
             2 usage or I/O error

examples:
  virt-pin check /etc/libvirt/qemu/
  virt-pin check --host local --strict vm.xml
  virsh dumpxml vm | virt-pin check --format json -
  virt-pin check --host local --connect qemu:///system --all
`;

export async function run(argv: string[], workerUrl?: URL): Promise<number> {
  const { values, positionals } = parseArgsOrUsage(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  const format = values.format ?? 'human';
  if (!['human', 'json', 'sarif', 'github'].includes(format)) throw new UsageError(`unknown --format '${format}'`);
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

  const limits = limitsOf(values);
  const libvirtVersion = libvirtVersionOption(values.libvirt);
  const host = loadHost(values.host);
  const fromLibvirt = connect === undefined ? undefined : await libvirtInputs(connect, values.all ? undefined : positionals);
  const paths = fromLibvirt ? fromLibvirt.map((d) => d.name) : expandInputs(positionals);
  const progress = process.stderr.isTTY && paths.length > 20;
  const onProgress = (done: number): void => {
    if (progress) process.stderr.write(`\r${done}/${paths.length} checked`);
  };

  let results: FileResult[];
  const usePool = !fromLibvirt && workerUrl !== undefined && jobs !== 1 && paths.length >= POOL_THRESHOLD && !paths.includes('-');
  if (usePool) {
    try {
      results = await checkInPool(paths, { driver, limits, ...(libvirtVersion ? { libvirtVersion } : {}), ...(values.host !== undefined ? { hostSpec: values.host } : {}) }, format === 'human', workerUrl, onProgress, jobs);
    } catch (e) {
      if (e instanceof PoolIoError) throw new IoError(e.message);
      throw e;
    }
  } else {
    results = paths.map((path, i) => {
      const input = fromLibvirt ? { name: path, bytes: new TextEncoder().encode(fromLibvirt[i]!.text) } : readInput(path, limits.maxBytes);
      const result = checkInput(input, { driver, limits, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) });
      onProgress(i + 1);
      return result;
    });
  }
  if (progress) process.stderr.write('\r\u001b[K');

  // Cross-domain findings (docs/host-view.md): only with host facts, where "all CPUs" and node memory are known.
  if (host && results.length > 1) {
    const inputs = results.map((r, i) => ({ file: r.file, text: fromLibvirt?.[i]?.text ?? r.source ?? (r.file === '<stdin>' ? '' : new TextDecoder().decode(readInput(paths[i]!, limits.maxBytes).bytes)) }));
    const memory = loadHostMemory(values.host, host);
    const cross = crossDiagnostics(hostDomains(inputs, host, memory), {
      ...(memory ? { memory } : {}),
      ...(overcommit !== undefined ? { overcommitThreshold: overcommit } : {}),
    });
    for (const r of results) {
      const extra = cross.get(r.file);
      if (!extra) continue;
      if (r.source === undefined && format === 'human') r.source = new TextDecoder().decode(readInput(paths[results.indexOf(r)]!, limits.maxBytes).bytes);
      r.diagnostics = [...r.diagnostics, ...extra].sort((a, b) => a.line - b.line || a.column - b.column);
    }
  }

  if (format === 'json') process.stdout.write(formatJson(results));
  else if (format === 'sarif') process.stdout.write(formatSarif(results, version()));
  else if (format === 'github') process.stdout.write(formatGithub(results));
  else {
    const shown = results.filter((r) => r.diagnostics.length > 0);
    process.stdout.write(formatHuman(shown, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR));
    if (!values.quiet) process.stderr.write(summaryLine(results));
  }

  const failing = results.some((r) =>
    r.diagnostics.some((d) => d.severity === 'error' || (values.strict === true && d.severity === 'warning')),
  );
  return failing ? EXIT_FINDINGS : EXIT_OK;
}

/** Domain XML from libvirt (definitions, `--inactive`); a libvirt error is an I/O error. */
async function libvirtInputs(uri: string, names: string[] | undefined): Promise<{ name: string; text: string }[]> {
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

function parseArgsOrUsage(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        host: { type: 'string' },
        driver: { type: 'string' },
        libvirt: { type: 'string' },
        strict: { type: 'boolean' },
        connect: { type: 'string' },
        all: { type: 'boolean' },
        overcommit: { type: 'string' },
        quiet: { type: 'boolean' },
        jobs: { type: 'string', short: 'j' },
        'max-bytes': { type: 'string' },
        'max-depth': { type: 'string' },
        'max-elements': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
