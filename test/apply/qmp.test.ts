/**
 * The QMP client against monitors that misbehave: a socket that does not
 * exist, one that accepts and never answers, one that hangs up, one that
 * answers in pieces cut inside a character, one that sends an error. Each
 * case runs on both transports (libc sockets through koffi, and node:net).
 * The server is a separate Node process, as QEMU is. A real QEMU answers in
 * test/apply/live.test.ts and test/oracle/qemu-threads.test.ts (where a
 * client of the test itself has just left QEMU's one monitor slot).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { qmpTransport, queryQmpThreads, queryQmpThreadsThroughNet } from '../../src/apply/qmp.js';

const work = mkdtempSync(join(tmpdir(), 'vp-qmp-'));
const servers: ChildProcess[] = [];
afterAll(() => {
  for (const s of servers) s.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** A monitor process: `behaviour` decides what it does with each client. */
const SERVER = `
const net = require('node:net');
const [path, behaviour] = process.argv.slice(1);
const greeting = '{"QMP": {"version": {}, "capabilities": []}}\\r\\n';
const cpus = JSON.stringify({ return: [{ 'cpu-index': 0, 'thread-id': 101, 'qom-path': '/machine/unattached/device[0]' }, { 'cpu-index': 1, 'thread-id': 102 }] });
// An IOThread id with a character of three UTF-8 bytes, cut between two writes below.
const iothreads = JSON.stringify({ return: [{ id: 'io\\u20ac', 'thread-id': 103 }] });
net.createServer((c) => {
  if (behaviour === 'silent') return;
  if (behaviour === 'hangup') return c.end();
  c.write(greeting);
  let buf = '';
  c.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\\n')) >= 0) {
      const cmd = JSON.parse(buf.slice(0, nl)).execute;
      buf = buf.slice(nl + 1);
      if (cmd === 'qmp_capabilities') c.write('{"event": "RESUME", "timestamp": {}}\\r\\n{"return": {}}\\r\\n');
      else if (cmd === 'query-cpus-fast') c.write(behaviour === 'error' ? '{"error": {"class": "CommandNotFound", "desc": "no"}}\\r\\n' : cpus + '\\r\\n');
      else if (cmd === 'query-iothreads') {
        const bytes = Buffer.from(iothreads + '\\r\\n');
        const cut = bytes.indexOf(0xe2) + 1;
        c.write(bytes.subarray(0, cut));
        setTimeout(() => c.write(bytes.subarray(cut)), 20);
      }
    }
  });
}).listen(path, () => process.stdout.write('ready\\n'));
`;

let monitors = 0;
async function monitor(behaviour: 'answer' | 'silent' | 'hangup' | 'error'): Promise<string> {
  const path = join(work, `${behaviour}-${++monitors}.sock`);
  const child = spawn(process.execPath, ['-e', SERVER, path, behaviour], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`monitor exited ${code}`)));
  });
  expect(existsSync(path)).toBe(true);
  return path;
}

const transports = [
  ['libc', (path: string, ms: number) => queryQmpThreads(path, ms)],
  ['node:net', (path: string, ms: number) => queryQmpThreadsThroughNet(path, ms)],
] as const;

describe('QMP client', () => {
  it('uses libc sockets where koffi loads (x86_64, aarch64)', () => {
    expect(qmpTransport()).toBe(process.arch === 'x64' || process.arch === 'arm64' ? 'libc' : 'net');
  });

  for (const [name, query] of transports) {
    describe(name, () => {
      it('reads vCPU and IOThread ids, skipping events, with an answer cut inside a character', async () => {
        const path = await monitor('answer');
        expect(await query(path, 3000)).toEqual({ vcpus: [{ cpuIndex: 0, threadId: 101 }, { cpuIndex: 1, threadId: 102 }], iothreads: [{ id: 'io€', threadId: 103 }] });
      });

      it('no socket: APPLY_QMP with the errno', async () => {
        await expect(query(join(work, 'missing.sock'), 3000)).rejects.toMatchObject({ code: 'APPLY_QMP', message: expect.stringMatching(/missing\.sock: ENOENT$/) });
      });

      it('a monitor that never answers: APPLY_QMP after the timeout, not a hang', async () => {
        const path = await monitor('silent');
        const start = Date.now();
        await expect(query(path, 300)).rejects.toMatchObject({ code: 'APPLY_QMP', message: expect.stringMatching(/no answer within 300 ms$/) });
        const took = Date.now() - start;
        expect(took).toBeGreaterThanOrEqual(250);
        expect(took).toBeLessThan(2000);
      });

      it('a monitor that hangs up: APPLY_QMP at once', async () => {
        const path = await monitor('hangup');
        const start = Date.now();
        await expect(query(path, 5000)).rejects.toMatchObject({ code: 'APPLY_QMP', message: expect.stringMatching(/the monitor closed the connection$/) });
        expect(Date.now() - start).toBeLessThan(2000);
      });

      it('an error answer: APPLY_QMP naming the command', async () => {
        const path = await monitor('error');
        await expect(query(path, 3000)).rejects.toMatchObject({ code: 'APPLY_QMP', message: expect.stringMatching(/query-cpus-fast failed: .*CommandNotFound/) });
      });
    });
  }
});
