/** The host view: several domains on one host (docs/host-view.md). Pure. */
export type * from './types.js';
export { CROSS_CODES } from './types.js';
export { hostDomainFromText, type HostDomainOptions } from './domain.js';
export { crossDomainFindings, dedicatedCpus } from './analyze.js';
export { hugepagesFromCapabilities } from './host-pages.js';
