/**
 * The runtime plan: thread and IRQ affinity for a running domain, as JSON
 * data (schemas/plan.schema.json). See docs/runtime-plan.md, docs/irq-policy.md.
 */
export type * from './types.js';
export { plan } from './plan.js';
export { planDocument, type PlanDocumentOptions } from './document.js';
export { readIrqPolicy, checkAffinitySetting, isPciAddress, IRQ_POLICY_NAMESPACE, PCI_ADDRESS_RE, type IrqPolicyReadResult } from './irq-policy.js';
export { renderPlanJson, renderPlanTable, renderPlanShell, type ShellBinding } from './render.js';
