/**
 * `virt-pin status [NAME… | --all]` — for running domains, every QEMU
 * thread's intended, libvirt-live and kernel CPU mask, every passed-through
 * device IRQ against the IRQ policy, and drift with its likely cause.
 * Read-only; every virsh run is bounded in time (docs/host-view.md).
 */
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultLibvirtUri } from '../../apply/libvirt-live.js';
import { LIVE_PATHS, pathsUnder, type HostPaths } from '../../apply/paths.js';
import { isVirtPinError } from '../../errors.js';
import { hostFromSysfs } from '../../host/index.js';
import { cpuClaims, crossDomainFindings, domainStatus } from '../../hostview/index.js';
import { IoError } from '../io.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, parseCommandArgs } from '../usage.js';
import { addShares, observeDomain, sourceFromFile, sourcesFromLibvirt, type DomainSource, type Observation } from '../status/collect.js';
import { renderHuman, renderJson, renderPrometheus, reportConflicts, type StatusReport } from '../status/render.js';

/** Parser options; the command table (src/cli/command-table.ts) lists the same. */
export const OPTIONS = {
  all: { type: 'boolean' },
  connect: { type: 'string' },
  xml: { type: 'string', multiple: true },
  interval: { type: 'string' },
  format: { type: 'string' },
  watch: { type: 'string' },
  root: { type: 'string' },
  'state-dir': { type: 'string' },
  timeout: { type: 'string' },
  libvirt: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('status')!);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  const format = values.format ?? 'human';
  if (!['human', 'json', 'prometheus'].includes(format)) throw new UsageError(`unknown --format '${format}' (human, json or prometheus)`);
  const seconds = (option: string, text: string | undefined, fallback: number, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || !(n >= 0 && n <= max)) throw new UsageError(`--${option} takes seconds from 0 to ${max}, not '${text}'`);
    return n;
  };
  const interval = seconds('interval', values.interval, 1, 60);
  const watch = values.watch === undefined ? undefined : seconds('watch', values.watch, 0, 3600);
  if (watch !== undefined && watch < 0.2) throw new UsageError('--watch needs at least 0.2 seconds');
  const timeoutMs = seconds('timeout', values.timeout, 10, 600) * 1000 || 10_000;
  if (values.all && positionals.length) throw new UsageError('--all and domain names exclude each other');
  const xmlFiles = values.xml ?? [];
  if (xmlFiles.length && (values.all || values.connect !== undefined)) throw new UsageError('--xml reads definitions from files; it excludes --all and --connect');

  const paths: HostPaths = values.root !== undefined ? pathsUnder(values.root) : { ...LIVE_PATHS };
  const stateDir = values['state-dir'] ?? join(paths.run, 'virt-pin');
  const uri = xmlFiles.length ? undefined : values.connect ?? defaultLibvirtUri();
  const libvirtVersion = libvirtVersionArg(values.libvirt);

  const once = async (): Promise<StatusReport> => {
    let host;
    try {
      host = hostFromSysfs(values.root ?? '/');
    } catch (e) {
      if (isVirtPinError(e)) throw new IoError(`cannot read the host topology: ${e.message}`);
      throw e;
    }
    let sources: DomainSource[];
    try {
      sources = xmlFiles.length
        ? xmlFiles.map((f) => sourceFromFile(f, readText(f))).filter((s) => !positionals.length || positionals.includes(s.name))
        : await sourcesFromLibvirt(uri!, positionals.length ? positionals : undefined, timeoutMs);
    } catch (e) {
      if (isVirtPinError(e)) throw new IoError(`${e.code} ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      throw e;
    }
    const errors: StatusReport['errors'] = [];
    const observed: Observation[] = [];
    for (const s of sources) {
      try {
        observed.push(await observeDomain(s, { paths, host, ...(uri !== undefined ? { uri } : {}), ...(libvirtVersion ? { libvirtVersion } : {}), stateDir, timeoutMs }));
      } catch (e) {
        if (!isVirtPinError(e)) throw e;
        errors.push({ domain: s.name, code: e.code, message: e.message });
      }
    }
    if (interval > 0 && observed.length) {
      await new Promise((r) => setTimeout(r, interval * 1000));
      for (const o of observed) addShares(o, interval);
    }
    const domains = observed.map((o) => domainStatus(o.input));
    return {
      schemaVersion: 1,
      kind: 'virt-pin-status',
      generatedAt: new Date().toISOString(),
      intervalSeconds: interval,
      drift: domains.some((d) => d.drift),
      domains: domains.sort((a, b) => Number(b.drift) - Number(a.drift) || a.name.localeCompare(b.name)),
      claims: cpuClaims(observed.map((o) => ({ intended: o.input.intended, irqPolicy: o.input.irqPolicy }))),
      conflicts: reportConflicts(crossDomainFindings(observed.map((o) => o.hostDomain))),
      errors,
    };
  };

  const render = (r: StatusReport): string =>
    format === 'json' ? renderJson(r) : format === 'prometheus' ? renderPrometheus(r) : renderHuman(r, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  const exitOf = (r: StatusReport): number => (r.errors.length ? EXIT_USAGE : r.drift ? EXIT_FINDINGS : EXIT_OK);

  if (watch === undefined) {
    const r = await once();
    process.stdout.write(render(r));
    if (!r.domains.length && !r.errors.length && format === 'human') process.stderr.write('virt-pin status: no running domain\n');
    return exitOf(r);
  }
  // --watch: redraw in place (cursor home, clear below) until SIGINT/SIGTERM.
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let last = EXIT_OK;
  while (!stop) {
    const r = await once();
    last = exitOf(r);
    const tty = process.stdout.isTTY;
    process.stdout.write(`${tty ? '\u001b[H\u001b[2J' : ''}virt-pin status — ${r.generatedAt} (every ${watch}s, Ctrl-C to stop)\n\n${render(r)}`);
    const until = Date.now() + watch * 1000;
    while (!stop && Date.now() < until) await new Promise((res) => setTimeout(res, Math.min(200, until - Date.now())));
  }
  return last;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new IoError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

