import { MAX_CPUSET_ID } from '../../cpuset/index.js';
import type { Rule } from '../types.js';

const MAX_THREADS = MAX_CPUSET_ID + 1;

/**
 * virt-pin's own bound, not libvirt's: it models at most 16,384 vCPUs and
 * 16,384 IOThreads (one per id a cpuset can name), so a 20-byte
 * `<iothreads>4294967295</iothreads>` cannot make it allocate billions of
 * entries. libvirt has no such parse-time bound (it tries the allocation).
 */
export const threadCountLimit: Rule = {
  code: 'THREAD_COUNT_LIMIT',
  severity: 'error',
  spec: 'limit',
  summary: `more than ${MAX_THREADS} vCPUs or IOThreads (virt-pin's bound; cpuset ids end at ${MAX_CPUSET_ID})`,
  check(ctx) {
    const vcpus = ctx.model.vcpu?.max;
    if (vcpus && !vcpus.error && (vcpus.value ?? 0) > MAX_THREADS) {
      ctx.report(ctx.model.vcpu!, `<vcpu>${vcpus.raw.trim()}</vcpu> declares more vCPUs than virt-pin models (${MAX_THREADS}); only the first ${MAX_THREADS} would be resolved`, {
        hint: `no host can pin more threads than its cpuset ids (0-${MAX_CPUSET_ID}); lower the count`,
      });
    }
    const io = ctx.model.iothreads;
    if (io && !io.error && (io.value ?? 0) > MAX_THREADS) {
      ctx.report(io.loc, `<iothreads>${io.raw.trim()}</iothreads> declares more IOThreads than virt-pin models (${MAX_THREADS})`, { hint: 'lower the count' });
    }
  },
};
