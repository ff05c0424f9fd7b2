/**
 * `--pid N`: a process id in plain decimal digits. Number() would take
 * `0x10` as 16, `1e3` as 1000 and ` 5`, `1.0`, `+7` as 5, 1, 7 — a root
 * command must act on exactly the process the user typed.
 */
import { UsageError } from './usage.js';

/** Linux's PID_MAX_LIMIT (2^22): no pid is larger. */
const PID_MAX = 4_194_304;

export function parsePid(text: string, option = '--pid'): number {
  const pid = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(pid >= 1 && pid <= PID_MAX)) throw new UsageError(`${option} takes a process id in decimal digits (1 to ${PID_MAX}), not '${text}'`);
  return pid;
}
