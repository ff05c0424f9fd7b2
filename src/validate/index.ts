/**
 * Diagnostics for domain XML: every refusal of libvirt's parser and
 * validator (spec §6, V1–V27; QEMU-only ones tagged), every silent
 * normalization (§7) as a warning, and expert lints (host-aware ones with
 * host facts). One rule per file in rules/. See docs/validation.md.
 */
export type { Diagnostic, RelatedLocation, Severity, Rule, RuleContext } from './types.js';
export { validate, checkDocument, firstError, errorsInLibvirtOrder, type ValidateOptions, type CheckOptions } from './validate.js';
export { LIBVIRT_ORDER, type LibvirtStage, type LibvirtStageId, type OrderHint } from './libvirt-order.js';
export { RULES } from './rules/index.js';
