/**
 * How a run tells the code-cache loader (src/cli/cached-entry.ts) that it
 * stopped short of its command's usual work — a hook call with nothing to
 * apply or restore. Such a run's cache would lack the code the usual run
 * needs, so the loader keeps it apart (`….partial.v8cache`) and replaces it
 * by the first full run's. A symbol on `process`, because the loader and the
 * body are separate bundles.
 */
export const PARTIAL_RUN = Symbol.for('virt-pin.code-cache.partial-run');

export function markCodeCachePartial(): void {
  (process as unknown as Record<symbol, unknown>)[PARTIAL_RUN] = true;
}

export function isPartialRun(): boolean {
  return (process as unknown as Record<symbol, unknown>)[PARTIAL_RUN] === true;
}
