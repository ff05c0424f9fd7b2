/**
 * libvirt's affinity rules applied to a domain (spec §1, §4, §5): where
 * every vCPU, the emulator and every IOThread may run, and why.
 * See docs/resolution.md.
 */
export type * from './types.js';
export { resolve, type ResolveContext } from './resolve.js';
export { resolveDocument, type ResolveDocumentOptions } from './document.js';
export { toJSON, bigIntJson, type ResolvedModelJson, type ThreadJson, type VcpuJson, type IOThreadJson, type ProvenanceJson, type BigIntJson } from './json.js';
export { explain, type ExplainTarget } from './explain.js';
export { validateResolvedJson, type JsonSchemaIssue, type ValidateResolvedJsonResult } from './validate-json.js';
