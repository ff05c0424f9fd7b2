/**
 * virt-pin's library API: everything `import … from 'virt-pin'` (or
 * `require('virt-pin')`) offers. The list is explicit: a stage's own
 * index.ts may export more for the CLI and the tests (locks, state files,
 * path helpers), and none of that is API.
 */

// Errors and codes
export { VirtPinError, isVirtPinError, type SourceLocation } from './errors.js';
export { ERROR_CODES, DIAGNOSTIC_CODES, type ErrorCode, type DiagnosticCode } from './codes.js';

// CPU lists
export { CpuSet, MAX_CPUSET_ID, type CpuRange } from './cpuset/index.js';
export { CpuSetError, parseCpuSet, tryParseCpuSet, parseKernelCpuList, type CpuSetErrorCode, type CpuSetParseError, type CpuSetParseResult } from './cpuset/index.js';

// The lossless XML document
export type * from './xml/types.js';
export { parseDocument, serializeDocument, elementSpec, DEFAULT_LIMITS } from './xml/index.js';

// The domain as libvirt reads it, and after post-parse
export type * from './domain/types.js';
export type * from './domain/definition.js';
export { readDomain, readDomainText, definitionOf, type DefinitionOptions } from './domain/index.js';
export { parseLibvirtVersion, formatLibvirtVersion, LIBVIRT_CHANGES, NEWEST_MODELLED, NEWEST_RELEASE_READ, OLDEST_MODELLED, type LibvirtVersion, type LibvirtChange } from './domain/index.js';

// Host topology
export type { HostCache, HostCacheType, HostCpu, HostNode, HostPciDevice, HostSource, HostTopology, PciAddress } from './host/index.js';
export { hostFromCapabilities, pciNumaFromNodedev, hostFromSysfs, hostFactsFromSysfs, pciDeviceNuma, describeHost, hostCounts, type HostXmlOptions, type SysfsHostFacts, type HostCounts } from './host/index.js';

// Resolution: where every thread may run, and why
export type * from './resolve/types.js';
export { resolve, resolveDocument, toJSON, bigIntJson, explain, validateResolvedJson } from './resolve/index.js';
export type { ResolveContext, ResolveDocumentOptions, ResolvedModelJson, ThreadJson, VcpuJson, IOThreadJson, ProvenanceJson, BigIntJson, ExplainTarget, JsonSchemaIssue, ValidateResolvedJsonResult } from './resolve/index.js';

// Validation
export { validate, checkDocument, firstError, errorsInLibvirtOrder, LIBVIRT_ORDER, RULES, type LibvirtStage, type Diagnostic, type Severity, type Rule, type RuleContext, type ValidateOptions, type CheckOptions } from './validate/index.js';

// Normalization
export { normalize, AFFINITY_ELEMENTS, affinitySubtrees, canonicalOf, type NormalizeOptions } from './normalize/index.js';

// Pinning policies
export type * from './policy/types.js';
export { planPlacement, POLICY_DEFAULTS } from './policy/planner.js';
export { writePlacement } from './policy/write.js';
export { pinDomain, type PinDomainOptions, type PinDomainResult } from './policy/pin.js';
export { toQemuPinningArgs, fromQemuPinningArgs, toVirshCommands, type PinnedThreads } from './policy/interop.js';

// The pin map
export { buildPinMap, pinMapThreads, type PinMap, type PinMapCell, type PinMapCore, type PinMapHost, type PinMapNode, type PinMapThread } from './cli/pinmap/model.js';
export { renderPinMapText, renderPinMapSvg, renderPinMapHtml, type PinMapTitle } from './cli/pinmap/render.js';

// The runtime plan
export type * from './plan/types.js';
export { plan, planDocument, readIrqPolicy, IRQ_POLICY_NAMESPACE, renderPlanJson, renderPlanTable, renderPlanShell, type PlanDocumentOptions, type IrqPolicyReadResult, type ShellBinding } from './plan/index.js';

// Applying a plan (root). Imported from the modules themselves, not
// apply/index.ts, so the declarations do not reach watch.ts, whose
// AbortSignal needs DOM or @types/node (watching is the CLI's `apply --watch`).
export { apply, bindPlan, restore, DEFAULT_LEAVE_KINDS } from './apply/apply.js';
export type { ApplyOptions, ApplyReport, Binding, BoundSched, BoundTarget, RestoreOptions, RestoreReport, TargetOptions, TargetResult, TargetStatus } from './apply/apply.js';
export { pathsUnder, type HostPaths } from './apply/paths.js';
export { applyDomain, applyLive, restoreLive, type DomainApplyReport, type LiveApplyReport, type LiveOptions, type LivePin, type LiveRestoreReport, type LiveResult, type LiveStatus } from './apply/libvirt-live.js';
export { AffinityWriteError, isAffinityWriteError, defaultIo, irqAffinityIo, threadAffinityIo, threadSchedIo, threadMethod, type AffinityIo, type CgroupIo, type HostIo, type IrqAffinityState, type SchedIo, type ThreadMethod } from './apply/io.js';
export type { SchedPolicy, SchedState } from './apply/sched.js';

// The host view: several domains on one host, live status and drift (docs/host-view.md)
export { hostDomainFromText, crossDomainFindings, dedicatedCpus, hugepagesFromCapabilities, domainStatus, cpuClaims, CROSS_CODES, DRIFT_CAUSES } from './hostview/index.js';
export type { HostDomainOptions, HostDomain, CrossFinding, CrossDomainOptions, HostMemoryFacts, MemoryBinding, DomainIrqClaim, Site, RelatedSite, StatusInput, DomainStatus, ThreadStatus, IrqStatus, DriftCause, ObservedThread, ObservedIrq, LibvirtLivePins, AppliedState, StatusThreadKind } from './hostview/index.js';
