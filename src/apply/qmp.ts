/**
 * Thread ids from a QMP monitor socket: `query-cpus-fast` (cpu-index,
 * thread-id) and `query-iothreads` (id, thread-id). Bounded by a timeout;
 * the monitor is only read, never told to change anything.
 *
 * Two transports speak the same conversation (QmpConversation). With koffi
 * (which apply loads for the thread calls anyway) the socket is made and
 * connected through libc and then read and written with node:fs, without
 * blocking: loading node:net and its stream stack cost an `apply --qmp`
 * ~5 ms of CPU, more than the query itself. Without koffi, on an architecture whose socket
 * constants are not the ones below, or for a path that does not fit a
 * sockaddr_un, node:net does the same.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { VirtPinError } from '../errors.js';
import type { QmpThreadIds } from './discover.js';
import { errnoName, socketCalls, unixSocketAddress, UNIX_SOCKETS, type SocketCalls } from './io.js';

/** The most a monitor may send before its answers are complete (256 vCPUs answer in ~30 kB). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export async function queryQmpThreads(socketPath: string, timeoutMs = 3000): Promise<QmpThreadIds> {
  const address = unixSocketAddress(socketPath);
  const calls = address ? socketCalls() : null;
  return calls && address ? queryThroughLibc(calls, address, socketPath, timeoutMs) : queryThroughNet(socketPath, timeoutMs);
}

/**
 * greeting → qmp_capabilities → query-cpus-fast → query-iothreads, fed the
 * bytes as they arrive. `feed` answers the commands to send next and, once
 * the last answer is in, the thread ids; it throws APPLY_QMP for an error
 * answer, a line that is not JSON, or too much data.
 */
class QmpConversation {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private received = 0;
  private step = 0;
  private readonly results: unknown[] = [];
  private static readonly COMMANDS = ['qmp_capabilities', 'query-cpus-fast', 'query-iothreads'];

  constructor(private readonly socketPath: string) {}

  fail(message: string): VirtPinError {
    return new VirtPinError('APPLY_QMP', `QMP ${this.socketPath}: ${message}`);
  }

  feed(chunk: Buffer): { send: string[]; done?: QmpThreadIds } {
    this.received += chunk.length;
    if (this.received > MAX_ANSWER_BYTES) throw this.fail('answer too large');
    const send: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      // Split on the newline byte first, then decode: a character cut between two reads stays whole.
      const line = (this.pendingBytes ? Buffer.concat([...this.pending, piece]) : piece).toString('utf8').trim();
      this.pending = [];
      this.pendingBytes = 0;
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw this.fail('not JSON');
      }
      if ('event' in msg) continue;
      if (!('QMP' in msg || 'return' in msg || 'error' in msg)) continue;
      if ('error' in msg) throw this.fail(`${QmpConversation.COMMANDS[this.step - 1] ?? 'greeting'} failed: ${JSON.stringify(msg.error)}`);
      if ('return' in msg) this.results.push(msg.return);
      if (this.step < QmpConversation.COMMANDS.length) {
        send.push(JSON.stringify({ execute: QmpConversation.COMMANDS[this.step] }) + '\n');
        this.step++;
      } else {
        return { send, done: parseThreadIds(this.results[1], this.results[2]) };
      }
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pending.push(Buffer.from(rest)); // a copy: the caller reuses its read buffer
      this.pendingBytes += rest.length;
    }
    return { send };
  }
}

// ---------------------------------------------------------------- libc

const { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC } = UNIX_SOCKETS;
/** How long to wait before trying again when the monitor has not answered yet. */
const POLL_MS = 1;

/**
 * The conversation over a non-blocking socket, trying again every POLL_MS
 * while the monitor has nothing to say: the event loop keeps running (a
 * caller's own QMP client in the same process can finish and free QEMU's one
 * monitor slot), and a wait costs a timer, not a blocked process.
 */
async function queryThroughLibc(calls: SocketCalls, address: Uint8Array, socketPath: string, timeoutMs: number): Promise<QmpThreadIds> {
  const talk = new QmpConversation(socketPath);
  const deadline = Date.now() + timeoutMs;
  const later = async (): Promise<void> => {
    if (Date.now() >= deadline) throw talk.fail(`no answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  };
  const fd = calls.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw talk.fail(errnoName(calls.errno()));
  try {
    // A Unix socket connects at once or answers EAGAIN: the listener's backlog is full (QEMU serves one client at a time).
    while (calls.connect(fd, address, address.length) < 0) {
      const code = errnoName(calls.errno());
      if (code !== 'EAGAIN') throw talk.fail(code);
      await later();
    }
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw talk.fail(code);
        await later();
        continue;
      }
      if (n === 0) throw talk.fail('the monitor closed the connection');
      const { send, done } = talk.feed(buf.subarray(0, n));
      if (done) return done;
      for (const line of send) {
        let rest = Buffer.from(line);
        while (rest.length > 0) {
          try {
            rest = rest.subarray(writeSync(fd, rest));
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
            if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw talk.fail(code);
            await later();
          }
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- node:net

function queryThroughNet(socketPath: string, timeoutMs: number): Promise<QmpThreadIds> {
  return new Promise<QmpThreadIds>((resolvePromise, reject) => {
    const talk = new QmpConversation(socketPath);
    const sock = createConnection(socketPath);
    let settled = false;
    const finish = (error: VirtPinError | undefined, ids?: QmpThreadIds): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        sock.destroy();
        reject(error);
      } else {
        sock.end();
        resolvePromise(ids as QmpThreadIds);
      }
    };
    const timer = setTimeout(() => finish(talk.fail(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => finish(talk.fail((e as NodeJS.ErrnoException).code ?? e.message)));
    sock.on('end', () => finish(talk.fail('the monitor closed the connection')));
    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        const { send, done } = talk.feed(chunk);
        if (done) return finish(undefined, done);
        for (const line of send) sock.write(line);
      } catch (e) {
        finish(e as VirtPinError);
      }
    });
  });
}

/** Which transport queryQmpThreads uses here (tests run both). */
export function qmpTransport(): 'libc' | 'net' {
  return socketCalls() ? 'libc' : 'net';
}

/** The node:net transport, whatever qmpTransport says (tests compare the two). */
export const queryQmpThreadsThroughNet = queryThroughNet;

function parseThreadIds(cpus: unknown, iothreads: unknown): QmpThreadIds {
  const out: QmpThreadIds = { vcpus: [], iothreads: [] };
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  for (const c of Array.isArray(cpus) ? cpus : []) {
    const o = c as Record<string, unknown>;
    if (typeof o['cpu-index'] === 'number' && isInt(o['thread-id'])) out.vcpus.push({ cpuIndex: o['cpu-index'], threadId: o['thread-id'] });
  }
  for (const t of Array.isArray(iothreads) ? iothreads : []) {
    const o = t as Record<string, unknown>;
    if (typeof o.id === 'string' && isInt(o['thread-id'])) out.iothreads.push({ id: o.id, threadId: o['thread-id'] });
  }
  return out;
}
