/**
 * `virt-pin apply FILE|PLAN --pid PID|--domain NAME` — apply a plan to a
 * running QEMU: snapshot first, write, read back, roll back on any failure.
 * Threads of a libvirt domain go through libvirt's live API by default;
 * `--wait-irqs` and `--watch` keep the plan in force as vectors and threads
 * appear.
 */
import { parseArgs } from 'node:util';
import { apply, applyDomain, watchPlan, withoutThreadAffinity, type ApplyOptions, type ApplyReport, type DomainApplyReport, type LiveApplyReport, type WatchOptions, type WatchReport, type WatchRound } from '../../apply/index.js';
import { validate as validatePlanJson } from '../../generated/plan.validate.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { planDocument, type RuntimePlan } from '../../plan/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { parseJsonInput } from '../json-input.js';
import { parsePid } from '../pid-option.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';
import { irqOverrides } from '../irq-overrides.js';

export const usage = renderHelp(commandSpec('apply')!);

const MAX_WAIT_SECONDS = 3600;
const SETTLE_MS = 10_000;

type Values = ReturnType<typeof parse>['values'];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name one domain XML file or plan JSON');
  const target = targetOf(values);
  const watch = watchOf(values);
  const input = readDomainInput(positionals[0]!);
  // Loaded only for --host: the host readers bring fast-xml-parser's start-up with them (~1 ms of every apply).
  const hostOption = values.host !== undefined ? await import('../host-option.js') : undefined;
  const plan = withInputErrors(input.name, (): RuntimePlan => {
    if (input.text.trimStart().startsWith('{')) {
      const json = parseJsonInput(input.name, input.text);
      if (!validatePlanJson(json)) throw new UsageError(`${input.name} is not a virt-pin plan: ${validatePlanJson.errors?.[0]?.instancePath} ${validatePlanJson.errors?.[0]?.message}`);
      return json as RuntimePlan;
    }
    const host = hostOption?.loadHost(values.host);
    const libvirtVersion = libvirtVersionArg(values.libvirt);
    return planDocument(input.text, { fileName: input.name, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}), irqOverrides: irqOverrides(values.irq, values['irq-default']) });
  });
  const options: ApplyOptions = {
    ...(target.pid !== undefined ? { pid: target.pid } : {}),
    ...(target.domain !== undefined ? { domain: target.domain } : {}),
    ...(values.qmp !== undefined ? { qmpSocket: values.qmp } : {}),
    ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
    strict: values.strict === true,
    ...(values['shared-irqs'] ? { sharedIrqs: true } : {}),
    dryRun: values['dry-run'] === true,
    ...(values.cgroups ? { widenCgroups: true } : {}),
  };
  const json = values.json === true;
  if (!watch) {
    if (target.threads === 'libvirt') {
      const r = await withInputErrorsAsync(input.name, () => applyDomain(plan, { ...options, ...(target.uri !== undefined ? { uri: target.uri } : {}) }));
      process.stdout.write(json ? toJson(r, 2) + '\n' : renderDomainReport(r));
      return r.ok ? EXIT_OK : EXIT_FINDINGS;
    }
    const report = await withInputErrorsAsync(input.name, () => apply(plan, options));
    process.stdout.write(json ? toJson(report, 2) + '\n' : renderReport(report));
    return report.ok ? EXIT_OK : EXIT_FINDINGS;
  }
  return watchAndReport(plan, options, target, watch, json, input.name);
}

interface Target {
  pid?: number;
  domain?: string;
  threads: 'libvirt' | 'direct';
  uri?: string;
}

function targetOf(values: Values): Target {
  if ((values.pid === undefined) === (values.domain === undefined)) throw new UsageError('give exactly one of --pid or --domain');
  if (values.threads !== undefined && values.threads !== 'libvirt' && values.threads !== 'direct') throw new UsageError(`--threads takes libvirt or direct, not '${values.threads}'`);
  if (values.pid !== undefined) {
    const pid = parsePid(values.pid);
    if (values.threads === 'libvirt') throw new UsageError('--threads libvirt needs --domain (libvirt knows domains, not pids)');
    if (values.connect !== undefined) throw new UsageError('--connect goes with --domain');
    return { pid, threads: 'direct' };
  }
  const threads = values.threads ?? 'libvirt';
  if (threads === 'direct' && values.connect !== undefined) throw new UsageError('--connect is for the libvirt path; --threads direct does not talk to libvirt');
  if (threads === 'libvirt' && values.qmp !== undefined) throw new UsageError('--qmp finds threads for the direct path; add --threads direct');
  if (threads === 'libvirt' && values.cgroups) throw new UsageError('--cgroups is for the direct path; through libvirt, libvirt widens its cgroups itself');
  return { domain: values.domain as string, threads, ...(values.connect !== undefined ? { uri: values.connect } : {}) };
}

interface Watch {
  untilMs?: number;
  settleMs?: number;
  intervalMs?: number;
}

function watchOf(values: Values): Watch | undefined {
  const interval = values.interval === undefined ? undefined : Number(values.interval);
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 20 && interval <= 60_000)) throw new UsageError(`--interval takes milliseconds from 20 to 60000, not '${values.interval}'`);
  if (values.watch && values['wait-irqs'] !== undefined) throw new UsageError('give --wait-irqs SECONDS (bounded) or --watch (until QEMU exits), not both');
  if (!values.watch && values['wait-irqs'] === undefined) {
    if (interval !== undefined) throw new UsageError('--interval goes with --wait-irqs or --watch');
    return undefined;
  }
  if (values['dry-run']) throw new UsageError('--dry-run writes nothing, so there is nothing to keep in force');
  const base = interval !== undefined ? { intervalMs: interval } : {};
  if (values.watch) return base;
  const seconds = Number(values['wait-irqs']);
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_WAIT_SECONDS)) throw new UsageError(`--wait-irqs takes seconds, more than 0 and at most ${MAX_WAIT_SECONDS}, not '${values['wait-irqs']}'`);
  return { ...base, untilMs: Date.now() + seconds * 1000, settleMs: SETTLE_MS };
}

/**
 * Apply, then watch. The libvirt path pins threads once through libvirt (it
 * pins threads it creates later itself) and watches the rest (IRQs);
 * the direct path watches the whole plan.
 */
async function watchAndReport(plan: RuntimePlan, options: ApplyOptions, target: Target, watch: Watch, json: boolean, file: string): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let watched = plan;
    let printFirst = true;
    if (target.threads === 'libvirt') {
      const first = await withInputErrorsAsync(file, () => applyDomain(plan, { ...options, ...(target.uri !== undefined ? { uri: target.uri } : {}) }));
      process.stdout.write(json ? toJson({ round: 0, domain: first }) + '\n' : renderDomainReport(first));
      if (!first.ok) return EXIT_FINDINGS;
      watched = withoutThreadAffinity(plan);
      printFirst = false; // the first watch round repeats the direct part just applied
    }
    const print = (round: WatchRound): void => {
      const r = round.report;
      const worth = round.n === 1 ? printFirst : round.applied && (round.error !== undefined || !r?.ok || (r?.changed ?? 0) > 0);
      if (!worth) return;
      if (json) process.stdout.write(toJson({ round: round.n, reason: round.reason, ...(r ? { report: r } : {}), ...(round.error ? { error: round.error } : {}) }) + '\n');
      else if (r) process.stdout.write(`${round.n > 1 ? `round ${round.n} (${round.reason}): ` : ''}${renderReport(r)}`);
      else if (round.error) process.stdout.write(`round ${round.n}: error ${round.error.code}: ${round.error.message}\n`);
    };
    const watchOptions: WatchOptions = { ...options, ...watch, signal: stop.signal, onRound: print };
    const report = await withInputErrorsAsync(file, () => watchPlan(watched, watchOptions));
    process.stdout.write(json ? toJson({ watch: summaryOf(report) }) + '\n' : renderWatchEnd(report));
    return report.ok ? EXIT_OK : EXIT_FINDINGS;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function summaryOf(r: WatchReport): Omit<WatchReport, 'first' | 'last'> {
  const { first: _f, last: _l, ...rest } = r;
  return rest;
}

const ENDINGS: Record<WatchReport['ended'], string> = {
  deadline: 'the --wait-irqs deadline passed',
  settled: 'every device has its IRQs and nothing changed for 10 s',
  'process-exited': 'the QEMU process exited',
  aborted: 'stopped by a signal',
  failed: 'apply kept failing',
};

function renderWatchEnd(r: WatchReport): string {
  const later = r.changed - (r.first?.changed ?? 0);
  if (!r.ok && r.applies === 1) return 'watch not started: the first apply failed\n';
  const out = [`watch ended: ${ENDINGS[r.ended]} (${r.rounds} poll(s), ${r.applies} apply run(s), ${later} target(s) changed after the first)`];
  if (r.error && !r.ok) out.push(`error ${r.error.code}: ${r.error.message}`);
  if (r.last && r.changed > 0) out.push(`state: ${r.last.statePath}`);
  return out.join('\n') + '\n';
}

async function withInputErrorsAsync<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    return withInputErrors(file, () => {
      throw e;
    });
  }
}

function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

export function renderReport(r: ApplyReport): string {
  const out = [`${r.name} (pid ${r.pid}): ${r.ok ? (r.dryRun ? 'dry run' : r.changed ? `${r.changed} target(s) changed` : 'already in force, nothing changed') : 'FAILED, rolled back'}`];
  for (const t of r.results) out.push(`  ${t.status.padEnd(15)} ${t.label.padEnd(28)} ${t.before ?? '?'} -> ${t.requested}${t.effective && t.effective !== t.requested ? ` (effective ${t.effective})` : ''}${t.message ? `  ${t.message}` : ''}`);
  for (const n of r.notApplied) out.push(`  not applied: ${n.actionId}: ${n.why}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  if (r.error) out.push(`error ${r.error.code}: ${r.error.message}${r.error.hint ? `\n  hint: ${r.error.hint}` : ''}`);
  if (!r.dryRun) out.push(`state: ${r.statePath}`);
  return out.join('\n') + '\n';
}

export function renderLiveReport(r: LiveApplyReport): string {
  const head = r.ok ? (r.dryRun ? 'dry run' : r.changed ? `${r.changed} pin(s) changed` : 'already in force, nothing changed') : 'FAILED, rolled back';
  const out = [`${r.name} threads via libvirt (${r.uri}${r.domainId ? `, domain id ${r.domainId}` : ''}): ${head}`];
  for (const t of r.results) out.push(`  ${t.status.padEnd(15)} ${t.label.padEnd(28)} ${t.before} -> ${t.requested}${t.after !== undefined && t.after !== t.requested ? ` (libvirt reports ${t.after})` : ''}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  if (r.error) out.push(`error ${r.error.code}: ${r.error.message}${r.error.hint ? `\n  hint: ${r.error.hint}` : ''}`);
  if (!r.dryRun && r.changed) out.push(`state: ${r.statePath}`);
  return out.join('\n') + '\n';
}

function renderDomainReport(r: DomainApplyReport): string {
  let text = renderLiveReport(r.live);
  const d = r.direct;
  // The direct part is worth a block only when it had something to do (IRQs, scheduler settings) or failed.
  if (d && (d.results.length || d.notApplied.length || d.error || d.warnings.length)) text += renderReport(d);
  if (d && !d.ok && r.live.rollback) text += `libvirt pins put back: ${r.live.rollback.restored}${r.live.rollback.failed.length ? `, ${r.live.rollback.failed.length} failed` : ''}\n`;
  return text;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        pid: { type: 'string' },
        domain: { type: 'string' },
        connect: { type: 'string' },
        threads: { type: 'string' },
        qmp: { type: 'string' },
        cgroups: { type: 'boolean' },
        host: { type: 'string' },
        irq: { type: 'string', multiple: true },
        'irq-default': { type: 'string' },
  libvirt: { type: 'string' },
        'state-dir': { type: 'string' },
        strict: { type: 'boolean' },
        'shared-irqs': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        'wait-irqs': { type: 'string' },
        watch: { type: 'boolean' },
        interval: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
