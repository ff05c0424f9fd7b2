/** The host view: several domains on one host (docs/host-view.md). Pure. */
export type * from './types.js';
export { CROSS_CODES } from './types.js';
export { hostDomainFromText, type HostDomainOptions } from './domain.js';
export { crossDomainFindings, dedicatedCpus } from './analyze.js';
export { hugepagesFromCapabilities } from './host-pages.js';
export { domainStatus, cpuClaims, DRIFT_CAUSES, type AppliedState, type DomainStatus, type DriftCause, type IrqStatus, type LibvirtLivePins, type ObservedIrq, type ObservedThread, type StatusInput, type StatusThreadKind, type ThreadStatus } from './status.js';
