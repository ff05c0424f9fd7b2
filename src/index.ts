/**
 * virt-pin's library surface. Each stage's own index.ts is its public API;
 * this file re-exports them for `import … from 'virt-pin'`.
 */
export { VirtPinError, isVirtPinError, type SourceLocation } from './errors.js';
export * from './cpuset/index.js';
export * from './xml/index.js';
export * from './domain/index.js';
export * from './resolve/index.js';
export * from './host/index.js';
export { planPlacement, POLICY_DEFAULTS } from './policy/planner.js';
export { writePlacement } from './policy/write.js';
export { toQemuPinningArgs, fromQemuPinningArgs, toVirshCommands, type PinnedThreads } from './policy/interop.js';
export type * from './policy/types.js';
export * from './validate/index.js';
export * from './normalize/index.js';
export * from './plan/index.js';
export * from './apply/index.js';
