/**
 * virt-pin's library surface. Each stage's own index.ts is its public API;
 * this file re-exports them for `import … from 'virt-pin'`.
 */
export { VirtPinError, isVirtPinError, type SourceLocation } from './errors.js';
export * from './cpuset/index.js';
