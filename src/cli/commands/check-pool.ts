/**
 * Checks many files on worker threads. The worker is the CLI bundle itself
 * started with `workerData.role === 'check-worker'` (see main.ts), so the
 * package ships one file and a worker costs one bundle evaluation.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FileResult } from '../format-diagnostics.js';
import { readInput } from '../io.js';
import { checkInput, type CheckOptions, type ParseLimits } from './check-one.js';

/** Below this many files a pool costs more (worker start-up) than it saves. */
export const POOL_THRESHOLD = 24;

export interface WorkerRequest {
  index: number;
  path: string;
}
export type WorkerReply = { index: number; result: FileResult } | { index: number; ioError: string };

export interface CheckWorkerData {
  role: 'check-worker';
  options: SerializedCheckOptions;
  keepSource: boolean;
}

/** Host facts hold CpuSets, which do not survive structured cloning: workers get the `--host` argument and load it themselves. */
export interface SerializedCheckOptions {
  driver: CheckOptions['driver'];
  hostSpec?: string;
  limits?: ParseLimits;
}

export async function checkInPool(
  paths: readonly string[],
  options: SerializedCheckOptions,
  keepSource: boolean,
  workerUrl: URL,
  onProgress: (done: number) => void,
  jobs?: number,
): Promise<FileResult[]> {
  const results: FileResult[] = new Array(paths.length);
  const count = Math.max(1, Math.min(jobs ?? availableParallelism(), 8, Math.ceil(paths.length / POOL_THRESHOLD)));
  let next = 0;
  let done = 0;
  let failure: Error | undefined;
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const data: CheckWorkerData = { role: 'check-worker', options, keepSource };
      const worker = new Worker(workerUrl, { workerData: data });
      const feed = (): void => {
        if (failure || next >= paths.length) {
          void worker.terminate();
          return;
        }
        const index = next++;
        worker.postMessage({ index, path: paths[index]! } satisfies WorkerRequest);
      };
      worker.on('message', (reply: WorkerReply) => {
        if ('ioError' in reply) failure ??= new PoolIoError(reply.ioError);
        else results[reply.index] = reply.result;
        onProgress(++done);
        feed();
      });
      worker.on('error', reject);
      worker.on('exit', () => resolve());
      feed();
    });
  await Promise.all(Array.from({ length: count }, runWorker));
  if (failure) throw failure;
  return results;
}

export class PoolIoError extends Error {}

/** The worker side: check each path it is sent. */
export function serveCheckRequests(
  port: { on(event: 'message', cb: (m: WorkerRequest) => void): void; postMessage(m: WorkerReply): void },
  data: CheckWorkerData,
  options: CheckOptions,
): void {
  port.on('message', ({ index, path }) => {
    let reply: WorkerReply;
    try {
      // The limits travel in workerData with the other serialized options.
      const limits = data.options.limits;
      const result = checkInput(readInput(path, limits?.maxBytes), { ...options, ...(limits ? { limits } : {}) });
      if (!data.keepSource || result.diagnostics.length === 0) delete result.source;
      reply = { index, result };
    } catch (e) {
      reply = { index, ioError: (e as Error).message };
    }
    port.postMessage(reply);
  });
}
