/**
 * bindPlan → apply → restore. The applier snapshots every target into the
 * state file before its first change, changes targets in plan order, reads
 * each one back, and on any failure puts back everything it changed, in
 * reverse order, before it reports. One apply or restore per domain runs at
 * a time (ENC.lock). See docs/runtime-plan.md.
 *
 * The steps, one module each: bind.ts (discover the live targets, read
 * only) → snapshot.ts (read each target's setting) → execute.ts (state
 * file, then the writes, read back) → rollback.ts (on a failure) ;
 * restore.ts undoes a recorded apply. steps.ts holds what they share.
 *
 * Error contract: anything found wrong before the first change (bad plan,
 * no such process, lock held, state file unwritable, a parent cgroup too
 * narrow) is thrown as a VirtPinError and the host is untouched; anything
 * the kernel answers once changes have started ends up in the report, with
 * everything rolled back when `ok` is false.
 */
export { bindPlan, DEFAULT_LEAVE_KINDS, type Binding, type BoundSched, type BoundTarget, type TargetOptions } from './bind.js';
export { apply, applyHeld, lockDomain } from './execute.js';
export { restore, type RestoreOptions, type RestoreReport } from './restore.js';
export type { ApplyOptions, ApplyReport, TargetResult, TargetStatus } from './steps.js';
