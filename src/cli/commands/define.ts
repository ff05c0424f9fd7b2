/**
 * `virt-pin define FILE|-` — check, optionally pin, then hand the domain to
 * the real `virsh define` (with `--validate` when the installed virsh has
 * it), and read back what libvirt stored to compare its affinity with what
 * virt-pin predicts.
 *
 * stdout carries only what --print-xml or --show-libvirt ask for, so the
 * command sits in a pipeline; diagnostics, the diff and progress go to stderr.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Driver } from '../../domain/index.js';
import { isVirtPinError } from '../../errors.js';
import { hostFromCapabilities, type HostTopology } from '../../host/index.js';
import { affinitySubtrees, normalize } from '../../normalize/index.js';
import type { PinPolicy } from '../../policy/types.js';
import { checkDocument, firstError, type Diagnostic } from '../../validate/index.js';
import { parseDocument, serializeDocument } from '../../xml/index.js';
import { unifiedDiff } from '../../policy/diff.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { pinDomain } from '../../policy/pin.js';
import { colorDiff, useColor } from '../color.js';
import { readDomainInput, withInputErrors, type DomainInput } from '../domain-input.js';
import { formatHuman } from '../format-diagnostics.js';
import { IoError } from '../io.js';
import { printable, printableLines } from '../terminal-text.js';
import { loadHost } from '../host-option.js';
import { POLICY_OPTIONS, POLICY_USAGE, policyFlagsGiven, policyFrom } from '../pin-policy.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError, parseCommandArgs, type ParsedCommandArgs } from '../usage.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  connect: { type: 'string', short: 'c' },
  force: { type: 'boolean' },
  strict: { type: 'boolean' },
  driver: { type: 'string' },
  libvirt: { type: 'string' },
  host: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'print-xml': { type: 'boolean' },
  'show-libvirt': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  pin: { type: 'boolean' },
  ...POLICY_OPTIONS,
  explain: { type: 'boolean' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('define')!);

type Values = ParsedCommandArgs<typeof OPTIONS>['values'];

export function run(argv: string[]): number {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  const driver = checkRequest(values, positionals);
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const version = libvirtVersion ? { libvirtVersion } : {};
  const color = useColor(values.color, process.stderr);
  const policy = values.pin ? policyFrom(values) : undefined;
  const input = readDomainInput(positionals[0]!);
  const say = (line: string): void => {
    if (!values.quiet) process.stderr.write(`${line}\n`);
  };
  if (policy && values.host === undefined && values['dry-run']) throw new UsageError('--pin with --dry-run needs --host: the layout depends on the host topology');
  // What libvirt refuses whatever the host is stops here, before virsh is needed at all.
  if (!policy && !values.force) {
    const refused = checkDocument(input.text, { driver, fileName: input.name, ...version }).filter((d) => d.severity === 'error');
    if (refused.length) return notDefined(input.name, input.text, refused, values.quiet === true, color);
  }
  // Then the connection (unless --dry-run), and the host it runs on: a failure is one message.
  const uri = values['dry-run'] ? undefined : connectionUri(values.connect);
  const host = values.host !== undefined ? loadHost(values.host) : uri !== undefined && isLocal(uri) ? hostOfConnection(uri, say) : undefined;
  if (policy && !host) throw new UsageError(`--pin needs --host: the host of ${uri} cannot be read from it`);

  const prepared = policy && host ? pinFirst(input, host, policy, driver, values, version) : { xml: input.text, shownName: input.name };
  if (typeof prepared === 'number') return prepared;
  const { xml, shownName } = prepared;

  // The gate: check's findings on exactly what would be defined.
  const diagnostics = checkDocument(xml, { driver, ...(host ? { host } : {}), fileName: shownName, ...version });
  const blocking = diagnostics.filter((d) => d.severity === 'error' || (values.strict === true && d.severity === 'warning'));
  if (blocking.length && !values.force) return notDefined(shownName, xml, values.quiet ? blocking : diagnostics, false, color, blocking);
  report(shownName, xml, values.quiet ? blocking : diagnostics, color);
  if (blocking.length) say(`virt-pin define: defining despite ${describeFindings(blocking)} (--force)`);

  const name = domainName(xml);
  if (values['dry-run']) {
    say(`virt-pin define: dry run: would define ${label(name)} on ${values.connect ?? "virsh's default connection"}; virsh not run`);
    if (values['print-xml']) process.stdout.write(xml);
    return EXIT_OK;
  }

  const result = defineWithVirsh(xml, name, uri!);
  if (!result.defined) {
    process.stderr.write(`virt-pin define: error DEFINE_LIBVIRT_REFUSED libvirt refused ${printable(shownName)} (${result.command}):\n${printableLines(result.defineStderr.replace(/\n$/, ''))}\n`);
    return EXIT_FINDINGS;
  }
  say(`virt-pin define: defined ${label(name)} on ${result.uri} (${result.command})`);
  if (result.dumpxml === undefined) say(`virt-pin define: warning DEFINE_NOT_READ_BACK cannot read back what libvirt stored${result.dumpxmlStderr ? `:\n${result.dumpxmlStderr.trimEnd()}` : ''}`);
  else {
    const comparison = compareAffinity(xml, result.dumpxml, result.uri.startsWith('test:') ? 'generic' : driver, version);
    if (comparison.kind === 'unreadable') {
      // What virsh printed is not the XML libvirt stored: nothing can be said about what was defined.
      process.stderr.write(`virt-pin define: error DEFINE_READ_BACK_INVALID the XML read back from libvirt does not parse: ${comparison.reason}\n`);
      return EXIT_FINDINGS;
    }
    if (comparison.kind === 'differs') process.stderr.write(`virt-pin define: warning DEFINE_AFFINITY_MISMATCH libvirt stored affinity that virt-pin normalize does not predict (a virt-pin bug; please report it):\n${colorDiff(comparison.diff, color)}`);
    else if (comparison.kind === 'not-compared') say('virt-pin define: affinity not compared: virt-pin cannot normalize the domain it was forced to define');
    else say("virt-pin define: libvirt stored the affinity exactly as 'virt-pin normalize' predicts");
  }
  if (values['print-xml']) process.stdout.write(xml);
  if (values['show-libvirt'] && result.dumpxml !== undefined) process.stdout.write(result.dumpxml);
  return EXIT_OK;
}

/** Usage errors the options alone reveal; returns the check driver. */
function checkRequest(values: Values, positionals: string[]): Driver {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'define takes exactly one file');
  const driver = values.driver ?? 'qemu';
  if (driver !== 'qemu' && driver !== 'generic') throw new UsageError(`unknown --driver '${driver}' (qemu or generic)`);
  const pinningFlags = [...policyFlagsGiven(values), ...(values.explain ? ['--explain'] : [])];
  if (!values.pin && pinningFlags.length) throw new UsageError(`${pinningFlags.join(', ')}: pinning flags need --pin`);
  if (values['show-libvirt'] && values['dry-run']) throw new UsageError('--show-libvirt prints what libvirt stored; --dry-run does not run libvirt');
  if (values['show-libvirt'] && values['print-xml']) throw new UsageError('--print-xml and --show-libvirt both write to stdout; choose one');
  if (values.connect === '') throw new UsageError('--connect needs a libvirt URI, e.g. test:///default or qemu:///system');
  return driver;
}

/**
 * Pin before defining, and show the diff. The input must have no errors
 * libvirt itself would refuse (--force cannot pin a broken domain); the
 * host-aware findings wait for the pinned result, since pinning replaces
 * the pins they are about. Returns the exit status when it stops.
 */
function pinFirst(input: DomainInput, host: HostTopology, policy: PinPolicy, driver: Driver, values: Values, version: { libvirtVersion?: string }): { xml: string; shownName: string } | number {
  const errors = checkDocument(input.text, { driver, fileName: input.name, ...version }).filter((d) => d.severity === 'error');
  if (errors.length) {
    report(input.name, input.text, errors, useColor(values.color, process.stderr));
    process.stderr.write(`virt-pin define: cannot pin a domain with errors (${errors.length}); fix them first (--force does not pin)\n`);
    return EXIT_FINDINGS;
  }
  const { text: out, diff, placement } = withInputErrors(input.name, () => pinDomain(input.text, host, policy, { fileName: input.name, ...version }));
  if (values.explain) for (const line of placement.explanation) process.stderr.write(`${line}\n`);
  if (!values.quiet) process.stderr.write(colorDiff(diff, useColor(values.color, process.stderr)) || `${input.name}: already pinned this way, nothing changed\n`);
  return { xml: out, shownName: `${input.name} (pinned)` };
}

/** Show the findings and say that nothing was defined; exit status 1. */
function notDefined(file: string, source: string, shown: readonly Diagnostic[], quiet: boolean, color: boolean, blocking: readonly Diagnostic[] = shown): number {
  report(file, source, quiet ? blocking : shown, color);
  const first = firstError(blocking);
  const libvirts = first && count(blocking, 'error') > 1 ? `; libvirt would report ${first.code} first` : '';
  process.stderr.write(`virt-pin define: not defined: ${describeFindings(blocking)}${libvirts} (--force defines anyway)\n`);
  return EXIT_FINDINGS;
}

function report(file: string, source: string, diagnostics: readonly Diagnostic[], color: boolean): void {
  if (diagnostics.length) process.stderr.write(formatHuman([{ file, diagnostics: [...diagnostics], source }], color));
}

const label = (name: string | undefined): string => (name === undefined ? 'the domain' : `'${name}'`);

const count = (ds: readonly Diagnostic[], severity: Diagnostic['severity']): number => ds.filter((d) => d.severity === severity).length;

function describeFindings(ds: readonly Diagnostic[]): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [count(ds, 'error') ? plural(count(ds, 'error'), 'error') : '', count(ds, 'warning') ? plural(count(ds, 'warning'), 'warning') : ''];
  return parts.filter(Boolean).join(' and ');
}

/** `<name>` as libvirt reads it; undefined when the XML is too broken to say (only reachable with --force). */
function domainName(xml: string): string | undefined {
  try {
    return parseDocument(xml).root.element('name')?.text();
  } catch {
    return undefined;
  }
}

/**
 * The affinity elements of what libvirt stored against virt-pin's
 * normalization of what was sent. A read-back that does not parse is its
 * own outcome, never "the same"; a sent domain virt-pin cannot normalize
 * (errors forced through) is not compared.
 */
type Comparison = { kind: 'same' } | { kind: 'differs'; diff: string } | { kind: 'unreadable'; reason: string } | { kind: 'not-compared' };

function compareAffinity(sent: string, stored: string, driver: Driver, version: { libvirtVersion?: string }): Comparison {
  let theirs: string;
  try {
    theirs = affinitySubtrees(parseDocument(stored));
  } catch (e) {
    return { kind: 'unreadable', reason: isVirtPinError(e) ? `${e.code} ${e.message}` : String(e) };
  }
  let ours: string;
  try {
    ours = affinitySubtrees(parseDocument(serializeDocument(normalize(parseDocument(sent), { driver, ...version }))));
  } catch {
    return { kind: 'not-compared' };
  }
  return ours === theirs ? { kind: 'same' } : { kind: 'differs', diff: unifiedDiff(`${ours}\n`, `${theirs}\n`, 'virt-pin normalize', 'libvirt dumpxml --inactive') };
}

// ---- virsh ---------------------------------------------------------------

interface VirshDefine {
  defined: boolean;
  /** The connection virsh used, as `virsh uri` prints it. */
  uri: string;
  /** How the define ran, for messages: `virsh -c URI define FILE --validate`. */
  command: string;
  /** virsh's stderr for the define, verbatim. */
  defineStderr: string;
  dumpxml?: string;
  dumpxmlStderr: string;
}

/**
 * Define, then read back what libvirt stored. Each step is its own virsh
 * process, so each has its own stdout, stderr and exit status: nothing in
 * the domain XML (which `dumpxml` echoes) can pose as the boundary between
 * two commands' output. libvirt's test driver keeps its state only for the
 * life of one process, so there the read-back process defines the same
 * file again first (`-q` keeps define's confirmation off stdout) — the same
 * input on the same initial state, already known to succeed. The XML
 * travels in a 0600 file in a private temporary directory, removed
 * afterwards.
 */
function defineWithVirsh(xml: string, name: string | undefined, uri: string): VirshDefine {
  const features = virshFeatures();
  const dir = mkdtempSync(join(tmpdir(), 'virt-pin-define-'));
  try {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, xml, { mode: 0o600 });
    const validate = features.validate ? ['--validate'] : [];
    const command = `virsh -c ${uri} define FILE${features.validate ? ' --validate' : ''}`;
    const define = virsh(['-q', '-c', uri, 'define', file, ...validate]);
    const defined = define.status === 0;
    if (!defined || name === undefined) return { defined, uri, command, defineStderr: define.stderr, dumpxmlStderr: '' };
    const readBack = uri.startsWith('test:')
      ? virsh(['-q', '-c', uri, `define ${virshQuote(file)}${features.validate ? ' --validate' : ''}; dumpxml --inactive ${virshQuote(name)}`])
      : virsh(['-q', '-c', uri, 'dumpxml', '--inactive', name]);
    const dumpxml = readBack.status === 0 && readBack.stdout.trim() !== '' ? readBack.stdout : undefined;
    return { defined, uri, command, defineStderr: define.stderr, ...(dumpxml !== undefined ? { dumpxml } : {}), dumpxmlStderr: readBack.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The URI virsh connects to (`virsh uri`), which every later step names explicitly; a failure here is DEFINE_CONNECT_FAILED. */
function connectionUri(connect: string | undefined): string {
  const r = virsh(['-q', ...(connect !== undefined ? ['-c', connect] : []), 'uri']);
  const uri = r.stdout.split('\n')[0]!.trim();
  if (r.status !== 0 || uri === '') throw connectFailed(connect, r.stderr);
  return uri;
}

/**
 * A connection to libvirt on this machine (`qemu:///system`,
 * `qemu:///session`, `test:///default`): no host in the URI. libvirt's test
 * driver counts, since its capabilities describe the host it emulates.
 */
function isLocal(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/\//i.test(uri) && !/^[a-z0-9.-]+\+(ssh|tcp|tls|libssh2?)/i.test(uri);
}

/**
 * Host facts from `virsh capabilities` over the connection define uses: the
 * host the domain will run on, so a pin to a CPU it lacks is an error here,
 * not at start. When they cannot be read, the host-aware checks are skipped
 * with a warning.
 */
function hostOfConnection(uri: string, say: (line: string) => void): HostTopology | undefined {
  const r = virsh(['-q', '-c', uri, 'capabilities']);
  if (r.status !== 0 || !r.stdout.trim()) {
    say(`virt-pin define: warning DEFINE_NO_HOST_FACTS cannot read the host from ${uri} (virsh capabilities): ${r.stderr.replace(/^error:\s*/gm, '').trim().split('\n').join('; ')}; give --host to check against the host`);
    return undefined;
  }
  try {
    const host = hostFromCapabilities(r.stdout, { fileName: `virsh -c ${uri} capabilities` });
    say(`virt-pin define: host facts from ${uri} (virsh capabilities; --host overrides)`);
    return host;
  } catch (e) {
    if (!isVirtPinError(e)) throw e;
    say(`virt-pin define: warning DEFINE_NO_HOST_FACTS the capabilities of ${uri} cannot be read: ${e.code} ${e.message}; give --host to check against the host`);
    return undefined;
  }
}

/** What this virsh can do, from its own help (no connection needed). */
function virshFeatures(): { validate: boolean } {
  return { validate: virsh(['help', 'define']).stdout.includes('--validate') };
}

function virsh(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync('virsh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw unavailable('DEFINE_NO_VIRSH', "virsh is not on PATH; install libvirt's client tools (apt-get install libvirt-clients), or use --dry-run");
  if (r.error) throw unavailable('DEFINE_NO_VIRSH', `cannot run virsh: ${r.error.message}`);
  return r;
}

/** One line: virsh's own reasons, without its `error: ` prefixes and without the repeats it prints. */
function connectFailed(connect: string | undefined, stderr: string): IoError {
  const reasons = [...new Set(stderr.split('\n').map((l) => l.replace(/^error:\s*/, '').trim()).filter(Boolean))];
  return unavailable('DEFINE_CONNECT_FAILED', `virsh cannot connect to ${connect ?? 'its default URI'}${reasons.length ? `: ${reasons.join('; ')}` : ''}`);
}

/** virsh missing or unusable: the environment, not the domain, so exit 2 (main prints an IoError as `virt-pin define: …`). */
function unavailable(code: string, message: string): IoError {
  return new IoError(`error ${code} ${message}`);
}

/** One argument in virsh's command-string syntax: single quotes, with `'\''` for a quote (as in sh). */
function virshQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

