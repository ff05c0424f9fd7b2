/**
 * `virt-pin restore NAME` — put back every affinity recorded for NAME: what
 * apply wrote directly (NAME.json) and the thread pins it set through
 * libvirt (libvirt/NAME.json), in the reverse order of apply.
 */
import { parseArgs } from 'node:util';
import { restore, restoreLive, type LiveRestoreReport, type RestoreReport } from '../../apply/index.js';
import { isVirtPinError } from '../../errors.js';
import { InputError } from '../domain-input.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';

export const usage = renderHelp(commandSpec('restore')!);

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'state-dir': { type: 'string' }, connect: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name the domain whose affinities to restore');
  const name = positionals[0]!;
  const stateDir = values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {};
  let direct: RestoreReport;
  let live: LiveRestoreReport;
  try {
    // apply sets libvirt's pins first and writes IRQs after; undo in the other order.
    direct = await restore(name, stateDir);
    live = await restoreLive(name, { ...stateDir, ...(values.connect !== undefined ? { uri: values.connect } : {}) });
  } catch (e) {
    if (isVirtPinError(e)) throw new InputError(`virt-pin restore: error ${e.code} ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
    throw e;
  }
  if (values.json) process.stdout.write(JSON.stringify({ ...direct, ...(live.found ? { live } : {}) }, null, 2) + '\n');
  else process.stdout.write(render(direct, live));
  return direct.ok && live.ok ? EXIT_OK : EXIT_FINDINGS;
}

function render(direct: RestoreReport, live: LiveRestoreReport): string {
  if (!direct.found && !live.found) return `${direct.name}: nothing recorded, nothing to restore\n`;
  const out: string[] = [];
  if (direct.found) {
    out.push(`${direct.name}: ${direct.ok ? 'restored' : 'restore incomplete'}${direct.skipped ? `, ${direct.skipped} recorded target(s) left alone` : ''} (${direct.statePath})`);
    for (const r of direct.results) out.push(`  ${r.status.padEnd(9)} ${r.key} -> ${r.before}${r.message ? `  ${r.message}` : ''}`);
  }
  if (live.found) {
    const stale = live.results.every((r) => r.status === 'gone');
    out.push(`${live.name} threads via libvirt (${live.uri}): ${stale ? 'nothing to put back, the domain stopped or restarted' : live.ok ? 'restored' : 'restore incomplete'} (${live.statePath})`);
    for (const r of live.results) out.push(`  ${r.status.padEnd(9)} ${r.label} -> ${r.before}${r.message ? `  ${r.message}` : ''}`);
  }
  return out.join('\n') + '\n';
}
