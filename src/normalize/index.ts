/**
 * libvirt-style normalization of the affinity elements (spec §7, §8),
 * leaving every other byte alone. See docs/normalization.md.
 */
export { normalize, AFFINITY_ELEMENTS, type NormalizeOptions } from './normalize.js';
export { affinitySubtrees, canonicalOf } from './compare.js';
