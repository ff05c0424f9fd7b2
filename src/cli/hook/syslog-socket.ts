/**
 * The system log without a child process: one datagram per line on the
 * syslog socket (/dev/log), framed as glibc's syslog(3) frames it
 * (`<PRI>Mmm dd hh:mm:ss TAG[PID]: text`), sent through libc's socket(2)
 * and sendto(2) by way of koffi, the FFI package the hook already ships for
 * thread writes. Node itself has no Unix datagram sockets; the other way,
 * spawning util-linux's `logger`, cost every hook call that logs ~4.5 ms of
 * CPU (loading child_process with its stream stack, then the spawn) against
 * ~1.5 ms for this (issue 15's hook row).
 *
 * Why not libc's syslog(3) itself: it sends with a blocking send(2), so a
 * syslog daemon that stopped reading would hold libvirt's start path. Here
 * every send is MSG_DONTWAIT; a line that cannot go at once is returned to
 * the caller (which hands it to `logger`, not waited for), never waited on.
 */
import { closeSync, statSync } from 'node:fs';
import { errnoName, socketCalls, unixSocketAddress, UNIX_SOCKETS } from '../../apply/io.js';

export interface SyslogLine {
  /** facility × 8 + severity */
  priority: number;
  text: string;
}

const { AF_UNIX, SOCK_DGRAM, SOCK_CLOEXEC, MSG_DONTWAIT, MSG_NOSIGNAL } = UNIX_SOCKETS;
/** No socket file, or no one bound to it: there is no syslog daemon, and logger would fail the same way. */
const NO_DAEMON = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR']);
/** A longer line is cut here (glibc's syslog and logger cut too); the hook's lines are far shorter. */
export const MAX_DATAGRAM_BYTES = 8192;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164's TIMESTAMP in local time, as glibc writes it: `Dec  2 04:15:01`. */
export function syslogTimestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** One line as a datagram: `<PRI>TIMESTAMP TAG[PID]: text`, cut to MAX_DATAGRAM_BYTES. */
export function syslogDatagram(line: SyslogLine, tag: string, pid: number, now: Date): Buffer {
  const bytes = Buffer.from(`<${line.priority}>${syslogTimestamp(now)} ${tag}[${pid}]: ${line.text}`, 'utf8');
  return bytes.length > MAX_DATAGRAM_BYTES ? bytes.subarray(0, MAX_DATAGRAM_BYTES) : bytes;
}

/**
 * Send `lines` to the syslog socket at `socketPath`. `rest` holds the lines
 * that did not go: all of them when koffi does not load, the socket is
 * missing or is not a datagram socket (a stream /dev/log: logger speaks
 * that), and from the first one the socket refused (full, too large) on.
 * `noDaemon`: nothing listens there (no socket file, or no one bound to
 * it), so no other way to the same socket can do better.
 */
export function sendToSyslogSocket(
  lines: readonly SyslogLine[],
  options: { tag: string; socketPath?: string; pid?: number; now?: Date },
): { rest: SyslogLine[]; noDaemon: boolean } {
  const unsent = (from: number, noDaemon = false) => ({ rest: lines.slice(from), noDaemon });
  const addr = lines.length ? unixSocketAddress(options.socketPath ?? '/dev/log') : undefined;
  if (!addr) return unsent(0);
  // No socket file at all (no daemon, as in many containers; /dev/log is often a link into /run, so the link is
  // followed): sendto would say ENOENT too. Asked before loading koffi, which costs ~1.5 ms against microseconds.
  // Anything but ENOENT and ENOTDIR (EACCES, ELOOP) is left to sendto.
  try {
    if (statSync(options.socketPath ?? '/dev/log', { throwIfNoEntry: false }) === undefined) return unsent(0, true);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return unsent(0, true);
  }
  const c = socketCalls();
  if (!c) return unsent(0);
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unsent(0);
  try {
    const pid = options.pid ?? process.pid;
    const now = options.now ?? new Date();
    for (let i = 0; i < lines.length; i++) {
      const datagram = syslogDatagram(lines[i]!, options.tag, pid, now);
      if (c.sendto(fd, datagram, datagram.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addr.length) !== datagram.length) return unsent(i, NO_DAEMON.has(errnoName(c.errno())));
    }
    return unsent(lines.length);
  } finally {
    closeSync(fd);
  }
}
