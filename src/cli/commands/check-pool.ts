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
 * How many threads check `files` files, this one included (1 = this one
 * alone, no worker): `jobs` when given; otherwise one per free core (a core
 * is free when the 1-minute load average leaves at least half of it idle)
 * and at most one per POOL_MIN_FILES / 2 files; one for fewer than
 * POOL_MIN_FILES files, and one unless at least two cores are free.
 */
export function poolSize(files: number, jobs: number | undefined, cores: number, load1: number): number {
  if (jobs !== undefined) return jobs <= 1 || files < POOL_THRESHOLD ? 1 : Math.min(jobs, 8, Math.ceil(files / POOL_THRESHOLD));
  if (files < POOL_MIN_FILES) return 1;
  const free = Math.round(cores - load1);
  // Each thread gets at least half of POOL_MIN_FILES, as two do at the break-even.
  return free >= 2 ? Math.max(2, Math.min(free, 8, Math.floor(files / (POOL_MIN_FILES / 2)))) : 1;
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

/**
 * Check `paths` on `threads` threads: this one and `threads - 1` workers.
 * This thread checks too (`checkHere`), a batch at a time with a turn of
 * the event loop between batches to feed the workers: it is running and
 * has its code loaded already, where each worker first starts a Node
 * environment and compiles the checker (~50 ms) and warms its own JIT. Each
 * worker has two batches in flight, so it does not wait while this thread
 * is inside one.
 */
export async function checkInPool(
  paths: readonly InputPath[],
  options: SerializedCheckOptions,
  keepSource: boolean,
  workerUrl: URL,
  onProgress: (done: number) => void,
  threads: number,
  checkHere: (path: InputPath) => FileResult,
): Promise<FileResult[]> {
  const results: FileResult[] = new Array(paths.length);
  const count = Math.max(2, threads);
  let next = 0;
  let done = 0;
  /** The next batch: smaller ones at the end so that the threads finish together. */
  const take = (): { index: number; size: number } | undefined => {
    if (next >= paths.length) return undefined;
    const index = next;
    const size = Math.max(1, Math.min(BATCH, Math.ceil((paths.length - next) / (count * 2))));
    next += size;
    return { index, size };
  };
  const record = (index: number, batch: readonly FileResult[]): void => {
    batch.forEach((r, i) => (results[index + i] = r));
    done += batch.length;
    onProgress(done);
  };
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const data: CheckWorkerData = { role: 'check-worker', options, keepSource };
      // stdout/stderr: true keeps the worker's (unused) output off this process's
      // stdout/stderr, which may be the plain writers of src/cli/plain-stdio.ts.
      const worker = new Worker(workerUrl, { workerData: data, stdout: true, stderr: true });
      let inFlight = 0;
      const feed = (): void => {
        for (let batch = inFlight < 2 ? take() : undefined; batch; batch = inFlight < 2 ? take() : undefined) {
          inFlight++;
          worker.postMessage({ index: batch.index, paths: paths.slice(batch.index, batch.index + batch.size) } satisfies WorkerRequest);
        }
        if (inFlight === 0) void worker.terminate();
      };
      worker.on('message', (reply: WorkerReply) => {
        inFlight--;
        record(reply.index, reply.results);
        feed();
      });
      worker.on('error', reject);
      worker.on('exit', () => resolve());
      feed();
    });
  const here = async (): Promise<void> => {
    for (let batch = take(); batch; batch = take()) {
      const out: FileResult[] = [];
      for (let i = 0; i < batch.size; i++) out.push(checkHere(paths[batch.index + i]!));
      record(batch.index, out);
      await new Promise((r) => setImmediate(r)); // the workers' replies, and their next batches
    }
  };
  await Promise.all([...Array.from({ length: count - 1 }, runWorker), here()]);
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
      const result = checkPath(path, { ...options, keepSource: data.keepSource, ...(limits ? { limits } : {}), ...(allXml ? { allXml } : {}) });
      // A source the output reads only for findings: none to send back for a file without any.
      if (result.diagnostics.length === 0) delete result.source;
      reply.results.push(result);
    }
    port.postMessage(reply);
  });
}
