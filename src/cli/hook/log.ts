/**
 * The hook's log: one line per event, `virt-pin hook: NAME PHASE: message`,
 * written twice — to stderr, which libvirtd copies into its own log (at
 * debug level, see docs/hook.md), and to the system log as `virt-pin[PID]`,
 * facility daemon: straight onto /dev/log through koffi when it loads
 * (./syslog-socket.ts), else — and for any line the socket did not take at
 * once — through util-linux's `logger -t virt-pin`, spawned once per hook
 * call with an argv array, never a shell. Control characters are escaped so
 * a line stays one line. Neither way waits: a stuck syslog daemon must not
 * hold libvirtd.
 */
import { spawn } from 'node:child_process';
import { sendToSyslogSocket } from './syslog-socket.js';

export type LogLevel = 'err' | 'warning' | 'notice';

/** syslog priority: facility daemon (3) × 8 + severity. */
const PRIORITY: Record<LogLevel, number> = { err: 27, warning: 28, notice: 29 };

/** C0, DEL and C1 characters as \xNN (\n as \n): one event, one line. */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export class HookLog {
  /** Lines for the system log, sent when the call ends (close). */
  private readonly pending: { level: LogLevel; text: string }[] = [];
  /** Every line written, for tests and the exit summary. */
  readonly lines: string[] = [];

  constructor(
    private readonly syslog: boolean = process.env.VIRT_PIN_SYSLOG !== '0',
    /** The syslog socket; tests give one of their own. */
    private readonly socketPath = '/dev/log',
  ) {}

  line(level: LogLevel, name: string, phase: string, message: string): void {
    const text = `virt-pin hook: ${escapeControls(name)} ${escapeControls(phase)}: ${escapeControls(message)}`;
    this.lines.push(text);
    process.stderr.write(`${text}\n`);
    if (this.syslog) this.pending.push({ level, text });
  }

  /**
   * Send the lines to the system log: onto its socket directly, and what
   * that did not take to one `logger` process, not waited for. A call that
   * logged nothing loads neither koffi nor child_process. One line
   * — what a start or stop writes — goes as logger's argument with its
   * priority, stdio closed: no pipe to set up, which saves the parent ~3 ms
   * of CPU against writing it to logger's stdin; several lines go through
   * stdin, each with its own priority (--prio-prefix).
   */
  close(): void {
    const pending = this.pending.splice(0);
    if (!pending.length) return;
    const sent = sendToSyslogSocket(pending.map((l) => ({ priority: PRIORITY[l.level], text: l.text })), { tag: 'virt-pin', socketPath: this.socketPath });
    // No syslog daemon at all (no /dev/log, as in many containers): logger could not reach one either.
    if (sent.noDaemon) return;
    const lines = pending.slice(pending.length - sent.rest.length);
    if (!lines.length) return;
    const one = lines.length === 1 ? lines[0] : undefined;
    const common = ['-t', 'virt-pin', `--id=${process.pid}`];
    try {
      const logger = one
        ? spawn('logger', [...common, '-p', `daemon.${one.level}`, '--', one.text], { stdio: 'ignore', detached: true })
        : spawn('logger', [...common, '--prio-prefix', '-p', 'daemon.notice'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      logger.on('error', () => undefined); // no logger (util-linux) here: stderr still has the lines
      if (!one) {
        logger.stdin!.on('error', () => undefined);
        logger.stdin!.end(lines.map((l) => `<${PRIORITY[l.level]}>${l.text}\n`).join(''));
      }
      logger.unref();
    } catch {
      // spawn itself failed (EAGAIN, ENOMEM): stderr has the lines
    }
  }
}
