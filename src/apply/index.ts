/**
 * The applier: bind a runtime plan to a live QEMU's threads and a host's
 * device IRQs, apply it atomically (state file + rollback), restore it.
 * See docs/runtime-plan.md.
 */
export { apply, bindPlan, restore, type ApplyOptions, type ApplyReport, type Binding, type BoundTarget, type RestoreOptions, type RestoreReport, type TargetOptions, type TargetResult, type TargetStatus } from './apply.js';
export { classifyThread, discoverDeviceIrqs, discoverThreads, irqBelongsTo, processStartTime, readInterrupts, readLibvirtPid, type DeviceIrq, type DeviceIrqs, type InterruptLine, type QemuThread, type QmpThreadIds, type ThreadKind } from './discover.js';
export { AffinityWriteError, defaultIo, irqAffinityIo, isAffinityWriteError, threadAffinityIo, threadMethod, type AffinityIo, type IrqAffinityState, type ThreadMethod } from './io.js';
export { checkPciAddress, LIVE_PATHS, parseIrqNumber, pathsUnder, type HostPaths } from './paths.js';
export { queryQmpThreads } from './qmp.js';
export { readStateFile, statePath, type StateEntry, type StateFile } from './state.js';
