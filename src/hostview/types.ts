/**
 * The host view: several domains that share one host, and what they do to
 * each other. Plain data; everything here is pure (no I/O).
 */
import type { CpuSet } from '../cpuset/index.js';
import type { ResolvedModel } from '../resolve/index.js';

/** An element of one domain's XML: the domain it belongs to, its file and position. */
export interface Site {
  /** Domain name (the file name when the XML has no `<name>`). */
  domain: string;
  file: string;
  /** e.g. `/domain/cputune/vcpupin[2]`. */
  path?: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** Where the device interrupts of one passed-through device go under virt-pin's IRQ policy. */
export interface DomainIrqClaim {
  device: string;
  cpus: CpuSet;
  /** The policy element (`<vp:irq>`) or, for the built-in default, the `<hostdev>`. */
  site: Site;
}

/** Memory of a domain that the kernel must take from a fixed set of host nodes. */
export interface MemoryBinding {
  nodes: CpuSet;
  kib: number;
  /** Backed by hugepages of this size (KiB); absent for normal pages. */
  hugepageKiB?: number;
  /** `strict` or `restrictive`: both keep the memory on `nodes`. */
  mode: string;
  site: Site;
}

/** One domain as the host view sees it. */
export interface HostDomain {
  name: string;
  file: string;
  /** Resolved against the host facts (masks concrete where the facts allow). */
  resolved: ResolvedModel;
  irqs: DomainIrqClaim[];
  memory: MemoryBinding[];
  /** The `<domain>` element: where a finding about the whole domain points. */
  site: Site;
}

/** Host memory per NUMA node, including the hugepage pools. */
export interface HostMemoryFacts {
  nodes: { id: number; memoryKiB?: number; hugepages?: { sizeKiB: number; count: number }[] }[];
  /** The size `<hugepages/>` without `<page>` means (the kernel's default, usually 2048). */
  defaultHugepageKiB?: number;
}

export interface CrossDomainOptions {
  /** CPU overcommit (info) is reported where vCPUs per CPU exceed this; default 1. */
  overcommitThreshold?: number;
  memory?: HostMemoryFacts;
}

/** A related element of another domain, with what it has to do with the finding. */
export interface RelatedSite extends Site {
  message: string;
}

/** A finding that only exists because two or more domains share the host. */
export interface CrossFinding {
  /** `CROSS_*`, stable. */
  code: CrossCode;
  severity: 'warning' | 'info';
  message: string;
  hint?: string;
  /** The element the finding is reported at. */
  at: Site;
  /** The other domains' elements involved. */
  related: RelatedSite[];
  /** Every domain involved, `at`'s first. */
  domains: string[];
  /** Host CPUs concerned (canonical cpuset), when the finding is about CPUs. */
  cpus?: string;
  /** Host NUMA nodes concerned, when the finding is about memory. */
  nodes?: string;
}

/** The stable codes of the cross-domain findings (docs/errors.md, docs/host-view.md). */
export const CROSS_CODES = {
  dedicatedShared: 'CROSS_DEDICATED_SHARED',
  vcpuOnHousekeeping: 'CROSS_VCPU_ON_HOUSEKEEPING',
  irqOnDedicated: 'CROSS_IRQ_ON_DEDICATED',
  cpuOvercommit: 'CROSS_CPU_OVERCOMMIT',
  nodeMemory: 'CROSS_NODE_MEMORY_OVERCOMMIT',
  nodeHugepages: 'CROSS_NODE_HUGEPAGES_OVERCOMMIT',
} as const;

export type CrossCode = (typeof CROSS_CODES)[keyof typeof CROSS_CODES];
