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
import { requireKoffi } from '../../apply/io.js';

export interface SyslogLine {
  /** facility × 8 + severity */
  priority: number;
  text: string;
}

interface SocketCalls {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrLen: number): number;
  close(fd: number): number;
  errno(): number;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
/** No socket file, or no one bound to it: there is no syslog daemon, and logger would fail the same way. */
const NO_DAEMON = new Set([2 /* ENOENT */, 111 /* ECONNREFUSED */, 20 /* ENOTDIR */]);
/** sizeof(struct sockaddr_un): sa_family_t, then sun_path[108]. */
const SOCKADDR_UN_BYTES = 110;
/** A longer line is cut here (glibc's syslog and logger cut too); the hook's lines are far shorter. */
export const MAX_DATAGRAM_BYTES = 8192;

let calls: SocketCalls | null | undefined;

function socketCalls(): SocketCalls | null {
  if (calls !== undefined) return calls;
  try {
    const koffi = requireKoffi();
    const libc = koffi.load('libc.so.6');
    const socket = libc.func('int socket(int domain, int type, int protocol)');
    const sendto = libc.func('long sendto(int fd, const uint8_t *buf, size_t len, int flags, const uint8_t *addr, uint32_t addrlen)');
    const close = libc.func('int close(int fd)');
    calls = {
      socket: (d, t, p) => socket(d, t, p) as number,
      sendto: (fd, buf, len, flags, addr, addrLen) => Number(sendto(fd, buf, len, flags, addr, addrLen)),
      close: (fd) => close(fd) as number,
      errno: () => koffi.errno(),
    };
  } catch {
    calls = null; // no koffi here: the caller uses logger
  }
  return calls;
}

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
  const c = lines.length ? socketCalls() : null;
  if (!c) return unsent(0);
  const path = Buffer.from(options.socketPath ?? '/dev/log', 'utf8');
  if (path.length === 0 || path.length >= SOCKADDR_UN_BYTES - 2 || path.includes(0)) return unsent(0);
  const addr = Buffer.alloc(SOCKADDR_UN_BYTES);
  new Uint16Array(addr.buffer, addr.byteOffset, 1)[0] = AF_UNIX; // sa_family_t, in the machine's byte order
  path.copy(addr, 2);
  const addrLen = 2 + path.length + 1;
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unsent(0);
  try {
    const pid = options.pid ?? process.pid;
    const now = options.now ?? new Date();
    for (let i = 0; i < lines.length; i++) {
      const datagram = syslogDatagram(lines[i]!, options.tag, pid, now);
      if (c.sendto(fd, datagram, datagram.length, MSG_DONTWAIT | MSG_NOSIGNAL, addr, addrLen) !== datagram.length) return unsent(i, NO_DAEMON.has(c.errno()));
    }
    return unsent(lines.length);
  } finally {
    c.close(fd);
  }
}
