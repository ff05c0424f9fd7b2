/** `virt-pin restore NAME` — put back every affinity recorded in NAME's state file. */
import { parseArgs } from 'node:util';
import { restore } from '../../apply/index.js';
import { EXIT_FINDINGS, EXIT_OK, UsageError } from '../usage.js';

export const usage = `usage: virt-pin restore [--state-dir DIR] [--json] NAME

Restore the thread and IRQ affinities that 'virt-pin apply' recorded for
domain NAME, in reverse order, then remove the state file. IRQs whose
number now belongs to another device are left alone. Nothing recorded:
nothing to do (exit 0).
`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'state-dir': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('name the domain whose affinities to restore');
  const report = await restore(positionals[0]!, values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {});
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    const out = [report.found ? `${report.name}: ${report.ok ? 'restored' : 'restore incomplete'} (${report.statePath})` : `${report.name}: nothing recorded, nothing to restore`];
    for (const r of report.results) out.push(`  ${r.status.padEnd(9)} ${r.key} -> ${r.before}${r.message ? `  ${r.message}` : ''}`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return report.ok ? EXIT_OK : EXIT_FINDINGS;
}
