/**
 * Thread ids from a QMP monitor socket: `query-cpus-fast` (cpu-index,
 * thread-id) and `query-iothreads` (id, thread-id). Bounded by a timeout;
 * the monitor is only read, never told to change anything.
 */
import { createConnection } from 'node:net';
import { VirtPinError } from '../errors.js';
import type { QmpThreadIds } from './discover.js';

export async function queryQmpThreads(socketPath: string, timeoutMs = 3000): Promise<QmpThreadIds> {
  return new Promise<QmpThreadIds>((resolvePromise, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let step = 0;
    const results: unknown[] = [];
    const commands = ['qmp_capabilities', 'query-cpus-fast', 'query-iothreads'];
    const fail = (msg: string): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(new VirtPinError('APPLY_QMP', `QMP ${socketPath}: ${msg}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.on('error', (e) => fail((e as NodeJS.ErrnoException).code ?? e.message));
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.length > 4 * 1024 * 1024) return fail('answer too large');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return fail('not JSON');
        }
        if ('event' in msg) continue;
        if ('QMP' in msg || 'return' in msg || 'error' in msg) {
          if ('error' in msg) return fail(`${commands[step - 1] ?? 'greeting'} failed: ${JSON.stringify(msg.error)}`);
          if ('return' in msg) results.push(msg.return);
          if (step < commands.length) {
            sock.write(JSON.stringify({ execute: commands[step] }) + '\n');
            step++;
          } else {
            clearTimeout(timer);
            sock.end();
            try {
              resolvePromise(parseThreadIds(results[1], results[2]));
            } catch (e) {
              reject(e);
            }
          }
        }
      }
    });
  });
}

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
