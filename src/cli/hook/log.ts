/**
 * The hook's log: one line per event, `virt-pin hook: NAME PHASE: message`,
 * written twice — to stderr, which libvirtd copies into its own log (at
 * debug level, see docs/hook.md), and to the system log through
 * `logger -t virt-pin` (Node has no unix datagram sockets, so /dev/log is
 * reached through util-linux's logger, spawned once per hook call with an
 * argv array, never a shell). Control characters are escaped so a line
 * stays one line. The logger child is not waited for: a stuck syslog daemon
 * must not hold libvirtd.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type LogLevel = 'err' | 'warning' | 'notice';

/** syslog priority: facility daemon (3) × 8 + severity. */
const PRIORITY: Record<LogLevel, number> = { err: 27, warning: 28, notice: 29 };

/** C0, DEL and C1 characters as \xNN (\n as \n): one event, one line. */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export class HookLog {
  private logger: ChildProcess | undefined;
  private loggerFailed = false;
  /** Every line written, for tests and the exit summary. */
  readonly lines: string[] = [];

  constructor(private readonly syslog: boolean = process.env.VIRT_PIN_SYSLOG !== '0') {}

  line(level: LogLevel, name: string, phase: string, message: string): void {
    const text = `virt-pin hook: ${escapeControls(name)} ${escapeControls(phase)}: ${escapeControls(message)}`;
    this.lines.push(text);
    process.stderr.write(`${text}\n`);
    if (this.syslog) this.toSyslog(level, text);
  }

  private toSyslog(level: LogLevel, text: string): void {
    if (this.loggerFailed) return;
    if (!this.logger) {
      try {
        this.logger = spawn('logger', ['-t', 'virt-pin', `--id=${process.pid}`, '--prio-prefix', '-p', 'daemon.notice'], {
          stdio: ['pipe', 'ignore', 'ignore'],
          detached: true,
        });
      } catch {
        this.loggerFailed = true;
        return;
      }
      this.logger.on('error', () => {
        this.loggerFailed = true; // no logger (util-linux) here: stderr still has the line
      });
      this.logger.stdin!.on('error', () => undefined);
      this.logger.unref();
    }
    this.logger.stdin!.write(`<${PRIORITY[level]}>${text}\n`);
  }

  /** End the logger's input (it sends what it has and exits on its own). */
  close(): void {
    this.logger?.stdin?.end();
    this.logger = undefined;
  }
}
