/**
 * Checks many files on worker threads. The worker runs dist/check-worker.cjs
 * (src/cli/check-worker.ts), a bundle of the checker alone: starting a worker
 * on the whole CLI bundle cost each worker compiling all of it.
 */
import { Worker } from 'node:worker_threads';
import type { FileResult } from '../format-diagnostics.js';
import type { InputPath } from '../io.js';
import { checkPath, type CheckOptions, type ParseLimits } from './check-one.js';

/** With --jobs N: files per worker at least (a worker's start-up is worth ~24 small files). */
export const POOL_THRESHOLD = 24;

/**
 * Without --jobs: below this many files one thread is faster. Measured with
 * bench/pool-threshold.mjs on the 2-core development machine over the
 * vendored libvirt corpus (~5 kB per file): one thread costs ~0.4 ms of CPU
 * per file after a ~100 ms start; a pool of two adds ~110 ms (two worker
 * start-ups, ~50 ms each in parallel, each warming its own JIT) and ~0.2 ms
 * per file (messages, cloned results). With two idle cores the pool's wall
 * time (main start, then the workers' start, then half the work each)
 * breaks even near 200 files; on a busy machine (load average 7) the pool
 * lost at every size up to the whole corpus (2,780 files: 2.7 s against
 * 1.2 s).
 */
export const POOL_MIN_FILES = 200;

/**
 * How many workers check `files` files: `jobs` when given (1 = none);
 * otherwise one per free core (a core is free when the 1-minute load
 * average leaves at least half of it idle) and at most one per
 * POOL_MIN_FILES / 2 files; none for fewer than POOL_MIN_FILES files, and
 * none unless at least two cores are free (one worker only adds its
 * start-up to the same serial work).
 */
export function poolSize(files: number, jobs: number | undefined, cores: number, load1: number): number {
  if (jobs !== undefined) return jobs <= 1 || files < POOL_THRESHOLD ? 0 : Math.min(jobs, 8, Math.ceil(files / POOL_THRESHOLD));
  if (files < POOL_MIN_FILES) return 0;
  const free = Math.round(cores - load1);
  // Each worker gets at least half of POOL_MIN_FILES, as two do at the break-even.
  return free >= 2 ? Math.max(2, Math.min(free, 8, Math.floor(files / (POOL_MIN_FILES / 2)))) : 0;
}

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
  workers: number,
): Promise<FileResult[]> {
  const results: FileResult[] = new Array(paths.length);
  const count = Math.max(1, workers);
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
