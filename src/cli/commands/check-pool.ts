/**
 * Checks many files on worker threads. The worker runs dist/check-worker.js
 * (src/cli/check-worker.ts), a bundle of the checker alone: starting a worker
 * on the whole CLI bundle cost each worker compiling all of it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FileResult } from '../format-diagnostics.js';
import type { InputPath } from '../io.js';
import { checkPath, type CheckOptions, type ParseLimits } from './check-one.js';

/** Below this many files a pool costs more (worker start-up) than it saves. */
export const POOL_THRESHOLD = 24;

/** Files go to a worker in batches: one message per file cost more than checking a small file. */
const BATCH = 32;

export interface WorkerRequest {
  /** Index of `paths[0]` in the caller's list. */
  index: number;
  paths: InputPath[];
}
export type WorkerReply = { index: number; results: FileResult[] };

export interface CheckWorkerData {
  role: 'check-worker';
  options: SerializedCheckOptions;
  keepSource: boolean;
}

/** Host facts hold CpuSets, which do not survive structured cloning: workers get the `--host` argument and load it themselves. */
export interface SerializedCheckOptions {
  driver: CheckOptions['driver'];
  libvirtVersion?: string;
  hostSpec?: string;
  limits?: ParseLimits;
  allXml?: boolean;
}

export async function checkInPool(
  paths: readonly InputPath[],
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
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const data: CheckWorkerData = { role: 'check-worker', options, keepSource };
      // stdout/stderr: true keeps the worker's (unused) output off this process's
      // stdout/stderr, which may be the plain writers of src/cli/plain-stdio.ts.
      const worker = new Worker(workerUrl, { workerData: data, stdout: true, stderr: true });
      const feed = (): void => {
        if (next >= paths.length) {
          void worker.terminate();
          return;
        }
        const index = next;
        // Smaller batches at the end so both workers finish together.
        const size = Math.max(1, Math.min(BATCH, Math.ceil((paths.length - next) / (count * 2))));
        next += size;
        worker.postMessage({ index, paths: paths.slice(index, index + size) } satisfies WorkerRequest);
      };
      worker.on('message', (reply: WorkerReply) => {
        reply.results.forEach((r, i) => (results[reply.index + i] = r));
        done += reply.results.length;
        onProgress(done);
        feed();
      });
      worker.on('error', reject);
      worker.on('exit', () => resolve());
      feed();
    });
  await Promise.all(Array.from({ length: count }, runWorker));
  return results;
}

/** The worker side: check each path it is sent. */
export function serveCheckRequests(
  port: { on(event: 'message', cb: (m: WorkerRequest) => void): void; postMessage(m: WorkerReply): void },
  data: CheckWorkerData,
  options: CheckOptions,
): void {
  port.on('message', ({ index, paths }) => {
    const reply: WorkerReply = { index, results: [] };
    // The limits travel in workerData with the other serialized options.
    const { limits, allXml } = data.options;
    for (const path of paths) {
      // An unreadable file is an entry of the batch, as without a pool.
      const result = checkPath(path, { ...options, ...(limits ? { limits } : {}), ...(allXml ? { allXml } : {}) });
      if (!data.keepSource || result.diagnostics.length === 0) delete result.source;
      reply.results.push(result);
    }
    port.postMessage(reply);
  });
}
