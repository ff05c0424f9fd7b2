/**
 * The applier: bind a runtime plan to a live QEMU's threads and a host's
 * device IRQs, apply it atomically (state file + rollback), restore it.
 * See docs/runtime-plan.md.
 */
export { apply, applyHeld, bindPlan, DEFAULT_LEAVE_KINDS, lockDomain, restore, type ApplyOptions, type ApplyReport, type Binding, type BoundSched, type BoundTarget, type RestoreOptions, type RestoreReport, type TargetOptions, type TargetResult, type TargetStatus } from './apply.js';
export { classifyThread, discoverDeviceIrqs, discoverThreads, irqBelongsTo, processStartTime, procIsCallers, readInterrupts, readLibvirtPid, type DeviceIrq, type DeviceIrqs, type InterruptLine, type QemuThread, type QmpThreadIds, type ThreadKind } from './discover.js';
export { AffinityWriteError, defaultIo, irqAffinityIo, isAffinityWriteError, threadAffinityIo, threadMethod, threadSchedIo, type AffinityIo, type CgroupIo, type HostIo, type IrqAffinityState, type SchedIo, type ThreadMethod } from './io.js';
export { checkPciAddress, LIVE_PATHS, parseIrqNumber, pathsUnder, type HostPaths } from './paths.js';
export { queryQmpThreads } from './qmp.js';
export { fileBase, lockPath, nameOfFileBase, readStateFile, statePath, type StateEntry, type StateFile } from './state.js';
export { checkStateDir, readStateFileSafely, STATE_FILE_MAX_BYTES } from './state-dir.js';
export { latePlanPath, latePlanPresent, readLatePlan, withdrawLatePlan, withdrawnError, writeLatePlan } from './late-plan.js';
export { formatSched, parseSched, type SchedPolicy, type SchedState } from './sched.js';
export { threadCgroup, type ThreadCgroup } from './cgroup.js';
export { acquireLock, acquireLockWaiting, type HeldLock } from './lock.js';
export { watchPlan, type WatchEnd, type WatchOptions, type WatchReport, type WatchRound } from './watch.js';
export { applyDomain, applyLive, defaultLibvirtUri, liveStatePath, readLiveStateFile, restoreLive, withoutThreadAffinity, type DomainApplyReport, type LiveApplyReport, type LiveOptions, type LivePin, type LiveRestoreReport, type LiveResult, type LiveStateEntry, type LiveStateFile, type LiveStatus } from './libvirt-live.js';
