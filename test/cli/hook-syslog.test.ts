/**
 * The hook's copy of its log to the system log, straight onto a syslog
 * datagram socket (src/cli/hook/syslog-socket.ts). The receiving socket is a
 * real AF_UNIX datagram socket of the test's own, made through koffi as the
 * sender makes its own (Node has none); test/oracle/libvirtd.test.ts sends
 * through the real /dev/log to journald and reads the entries back.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireKoffi } from '../../src/apply/io.js';
import { HookLog } from '../../src/cli/hook/log.js';
import { MAX_DATAGRAM_BYTES, sendToSyslogSocket, syslogTimestamp } from '../../src/cli/hook/syslog-socket.js';

const koffi = requireKoffi();
const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int domain, int type, int protocol)');
const bind = libc.func('int bind(int fd, const uint8_t *addr, uint32_t addrlen)');
const recv = libc.func('long recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');
const close = libc.func('int close(int fd)');

/** A bound AF_UNIX datagram socket at `path` and a reader of what is queued on it (never waits). */
function listen(path: string): { read(): string[]; close(): void } {
  const fd = socket(1, 2, 0) as number;
  expect(fd).toBeGreaterThanOrEqual(0);
  const addr = Buffer.alloc(110);
  new Uint16Array(addr.buffer, addr.byteOffset, 1)[0] = 1;
  Buffer.from(path).copy(addr, 2);
  expect(bind(fd, addr, 2 + Buffer.byteLength(path) + 1)).toBe(0);
  const buf = Buffer.alloc(65536);
  return {
    read() {
      const got: string[] = [];
      for (;;) {
        const n = Number(recv(fd, buf, buf.length, 0x40 /* MSG_DONTWAIT */));
        if (n < 0) return got;
        got.push(buf.subarray(0, n).toString('utf8'));
      }
    },
    close: () => close(fd),
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vp-syslog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the hook log on a syslog socket', () => {
  it('sends each line as one datagram, framed as syslog(3) frames it, with its priority, tag and pid', () => {
    const path = join(dir, 'log');
    const sock = listen(path);
    try {
      const log = new HookLog(true, path);
      const before = new Date();
      log.line('notice', 'vm1', 'started/begin', 'applied: 8 target(s) changed');
      log.line('warning', 'vm1', 'started/begin', 'warning EMULATOR_ON_DEDICATED_CPU x');
      log.line('err', 'vm\n1', 'started/begin', 'refused');
      expect(sock.read()).toEqual([]); // sent when the call ends, not line by line
      log.close();
      const got = sock.read();
      expect(got).toHaveLength(3);
      const shape = /^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) virt-pin\[(\d+)\]: (.*)$/s;
      const parsed = got.map((g) => shape.exec(g)!);
      expect(parsed.every(Boolean)).toBe(true);
      // facility daemon (3): 3 × 8 + notice 5 / warning 4 / err 3
      expect(parsed.map((m) => Number(m[1]))).toEqual([29, 28, 27]);
      expect(parsed.map((m) => Number(m[3]))).toEqual([process.pid, process.pid, process.pid]);
      expect(parsed.map((m) => m[4])).toEqual([
        'virt-pin hook: vm1 started/begin: applied: 8 target(s) changed',
        'virt-pin hook: vm1 started/begin: warning EMULATOR_ON_DEDICATED_CPU x',
        'virt-pin hook: vm\\n1 started/begin: refused',
      ]);
      // The timestamp is this minute's (local time, as glibc writes it).
      expect([syslogTimestamp(before).slice(0, 12), syslogTimestamp(new Date()).slice(0, 12)]).toContain(parsed[0]![2]!.slice(0, 12));
    } finally {
      sock.close();
    }
  });

  it('writes Feb  3 04:05:06 as glibc does (day padded with a space)', () => {
    expect(syslogTimestamp(new Date(2026, 1, 3, 4, 5, 6))).toBe('Feb  3 04:05:06');
    expect(syslogTimestamp(new Date(2026, 11, 24, 23, 59, 0))).toBe('Dec 24 23:59:00');
  });

  it('hands every line back when there is no socket (no daemon), a stream socket (logger speaks that), or a path that cannot be one', async () => {
    const lines = [{ priority: 29, text: 'a' }, { priority: 28, text: 'b' }];
    expect(sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: join(dir, 'missing') })).toEqual({ rest: lines, noDaemon: true });
    expect(sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: `${dir}/${'x'.repeat(120)}` })).toEqual({ rest: lines, noDaemon: false });
    expect(sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: `${dir}/a\0b` })).toEqual({ rest: lines, noDaemon: false });
    // A socket file no one is bound to any more: no daemon either.
    const gone = listen(join(dir, 'gone'));
    gone.close();
    expect(sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: join(dir, 'gone') })).toEqual({ rest: lines, noDaemon: true });
    const streamPath = join(dir, 'stream');
    const server = createServer();
    await new Promise<void>((r) => server.listen(streamPath, r));
    try {
      expect(sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: streamPath })).toEqual({ rest: lines, noDaemon: false });
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(sendToSyslogSocket([], { tag: 'virt-pin', socketPath: join(dir, 'missing') })).toEqual({ rest: [], noDaemon: false });
  });

  it('with no socket file does not load koffi at all (a stat answers it), and loads it for a real socket', async () => {
    const lines = [{ priority: 29, text: 'a' }];
    const dlopen = vi.spyOn(process, 'dlopen');
    try {
      vi.resetModules(); // a fresh io.ts, whose koffi is not loaded yet
      const fresh = await import('../../src/cli/hook/syslog-socket.js');
      expect(fresh.sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: join(dir, 'missing') })).toEqual({ rest: lines, noDaemon: true });
      expect(fresh.sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: join(dir, 'missing', 'log') })).toEqual({ rest: lines, noDaemon: true });
      writeFileSync(join(dir, 'file'), '');
      expect(fresh.sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: join(dir, 'file', 'log') })).toEqual({ rest: lines, noDaemon: true }); // ENOTDIR
      expect(dlopen).not.toHaveBeenCalled();
      const sock = listen(join(dir, 'log'));
      try {
        expect(fresh.sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: join(dir, 'log') })).toEqual({ rest: [], noDaemon: false });
        expect(dlopen).toHaveBeenCalledTimes(1);
        expect(sock.read()).toHaveLength(1);
      } finally {
        sock.close();
      }
    } finally {
      dlopen.mockRestore();
    }
  });

  it('never waits on a reader that stopped reading: what the full socket refuses comes back at once', () => {
    const path = join(dir, 'log');
    const sock = listen(path);
    try {
      const lines = Array.from({ length: 5000 }, (_, i) => ({ priority: 29, text: `line ${i} ${'x'.repeat(200)}` }));
      const started = process.hrtime.bigint();
      const { rest, noDaemon } = sendToSyslogSocket(lines, { tag: 'virt-pin', socketPath: path });
      expect(noDaemon).toBe(false);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(rest.length).toBeGreaterThan(0);
      expect(rest.length).toBeLessThan(lines.length);
      expect(rest[0]).toBe(lines[lines.length - rest.length]); // from the first refused line on, in order
      expect(ms).toBeLessThan(5000); // no blocking send: a blocked one would never return here
      const got = sock.read();
      expect(got.length).toBe(lines.length - rest.length);
      expect(got.at(-1)).toContain(lines[got.length - 1]!.text);
    } finally {
      sock.close();
    }
  });

  it('cuts a line longer than a datagram should be', () => {
    const path = join(dir, 'log');
    const sock = listen(path);
    try {
      expect(sendToSyslogSocket([{ priority: 29, text: 'y'.repeat(20000) }], { tag: 'virt-pin', socketPath: path }).rest).toEqual([]);
      const [got] = sock.read();
      expect(Buffer.byteLength(got!)).toBe(MAX_DATAGRAM_BYTES);
      expect(got).toMatch(/virt-pin\[\d+\]: y+$/);
    } finally {
      sock.close();
    }
  });
});
