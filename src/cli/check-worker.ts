/**
 * The entry of `check`'s worker threads (dist/check-worker.cjs): the checker
 * and the host reader, not the whole CLI bundle, so that starting a worker
 * costs as little compiling as possible.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveCheckRequests, type CheckWorkerData } from './commands/check-pool.js';
import { loadHost } from './host-option.js';

const data = workerData as CheckWorkerData;
const host = loadHost(data.options.hostSpec);
const { libvirtVersion } = data.options;
serveCheckRequests(parentPort!, data, { driver: data.options.driver, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) });
