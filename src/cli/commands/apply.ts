/**
 * `virt-pin apply FILE|PLAN --pid PID|--domain NAME` — apply a plan to a
 * running QEMU: snapshot first, write, read back, roll back on any failure.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apply, type ApplyReport } from '../../apply/index.js';
import { validate as validatePlanJson } from '../../generated/plan.validate.js';
import { planDocument, type RuntimePlan } from '../../plan/index.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';
import { irqOverrides } from './plan.js';

export const usage = `usage: virt-pin apply [options] FILE|PLAN.json (--pid PID | --domain NAME)

Apply a runtime plan to a running QEMU. Every target's current affinity is
recorded in a state file first (default /run/virt-pin/NAME.json); any
failure rolls back what was changed, in reverse order. Re-applying the same
plan changes nothing; 'virt-pin restore NAME' puts the recorded masks back.

options:
  --pid PID            the QEMU process
  --domain NAME        read the PID from libvirt's /run/libvirt/qemu/NAME.pid
  --qmp SOCKET         thread ids from QMP instead of thread names
  --host SRC           host facts when FILE is domain XML
  --irq ADDR=POLICY    IRQ policy override (as for plan); repeatable
  --irq-default POL    default IRQ policy override
  --state-dir DIR      where the state file goes
  --strict             kernel-managed IRQs fail the apply instead of being skipped
  --dry-run            discover and compare only; write nothing
  --json               print the report as JSON
  -h, --help           this help

exit status: 0 applied (or nothing to do), 1 failed and rolled back, 2 usage
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name one domain XML file or plan JSON');
  if ((values.pid === undefined) === (values.domain === undefined)) throw new UsageError('give exactly one of --pid or --domain');
  const pid = values.pid === undefined ? undefined : Number(values.pid);
  if (pid !== undefined && !(Number.isInteger(pid) && pid > 0)) throw new UsageError(`--pid takes a process id, not '${values.pid}'`);
  const input = readDomainInput(positionals[0]!);
  const plan = withInputErrors(input.name, (): RuntimePlan => {
    if (input.text.trimStart().startsWith('{')) {
      const json: unknown = JSON.parse(input.text);
      if (!validatePlanJson(json)) throw new UsageError(`${input.name} is not a virt-pin plan: ${validatePlanJson.errors?.[0]?.instancePath} ${validatePlanJson.errors?.[0]?.message}`);
      return json as RuntimePlan;
    }
    const host = loadHost(values.host);
    return planDocument(input.text, { fileName: input.name, ...(host ? { host } : {}), irqOverrides: irqOverrides(values.irq, values['irq-default']) });
  });
  const report = await withInputErrorsAsync(input.name, () =>
    apply(plan, {
      ...(pid !== undefined ? { pid } : {}),
      ...(values.domain !== undefined ? { domain: values.domain } : {}),
      ...(values.qmp !== undefined ? { qmpSocket: values.qmp } : {}),
      ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
      strict: values.strict === true,
      dryRun: values['dry-run'] === true,
    }),
  );
  process.stdout.write(values.json ? JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n' : renderReport(report));
  return report.ok ? EXIT_OK : EXIT_FINDINGS;
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

export function renderReport(r: ApplyReport): string {
  const out = [`${r.name} (pid ${r.pid}): ${r.ok ? (r.dryRun ? 'dry run' : r.changed ? `${r.changed} target(s) changed` : 'already in force, nothing changed') : 'FAILED, rolled back'}`];
  for (const t of r.results) out.push(`  ${t.status.padEnd(15)} ${t.label.padEnd(28)} ${t.before ?? '?'} -> ${t.requested}${t.effective && t.effective !== t.requested ? ` (effective ${t.effective})` : ''}${t.message ? `  ${t.message}` : ''}`);
  for (const n of r.notApplied) out.push(`  not applied: ${n.actionId}: ${n.why}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  if (r.error) out.push(`error ${r.error.code}: ${r.error.message}${r.error.hint ? `\n  hint: ${r.error.hint}` : ''}`);
  if (!r.dryRun) out.push(`state: ${r.statePath}`);
  return out.join('\n') + '\n';
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        pid: { type: 'string' },
        domain: { type: 'string' },
        qmp: { type: 'string' },
        host: { type: 'string' },
        irq: { type: 'string', multiple: true },
        'irq-default': { type: 'string' },
        'state-dir': { type: 'string' },
        strict: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
