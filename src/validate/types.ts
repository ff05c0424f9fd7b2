/**
 * Diagnostics and the rule interface. One rule per file in rules/ (ESLint's
 * layout): each knows its stable code, severity, the spec item it
 * implements, whether it is QEMU-only, and how to check a domain.
 */
import type { DiagnosticCode } from '../codes.js';
import type { DomainDefinition, DomainModel, Driver, Loc } from '../domain/index.js';
import type { HostFacts, ResolvedModel } from '../resolve/index.js';
import type { OrderHint } from './libvirt-order.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  /** Stable code; callers branch on it. */
  code: DiagnosticCode;
  severity: Severity;
  /** What is wrong and how to fix it. */
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  hint?: string;
  /** Set for checks that only the QEMU driver makes. */
  driver?: 'qemu';
  /** Spec reference: `V16` (refusal catalogue), `§7.1` (silent normalization) or `lint`. */
  spec?: string;
  /** The rule that reported it (same as `code` except for the §7 rule, which reports one code per change). */
  rule?: string;
  /** Element path such as `/domain/cputune/vcpupin[2]`. */
  path?: string;
  /** Elements of other files involved (cross-domain findings, docs/host-view.md). */
  related?: RelatedLocation[];
  /**
   * Errors only: this error's place in the order libvirt checks (1 = the
   * error libvirt reports, as it stops at its first). The list itself stays
   * in document order; see firstError and docs/validation.md.
   */
  libvirtOrder?: number;
}

export interface RelatedLocation {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  path?: string;
  message: string;
}

export interface RuleContext {
  model: DomainModel;
  definition: DomainDefinition;
  driver: Driver;
  host: HostFacts | undefined;
  /** Lazily resolved (host-aware lints only). */
  resolved(): ResolvedModel;
  report(at: Loc | { loc: Loc; path?: string }, message: string, extra?: { hint?: string; code?: DiagnosticCode; severity?: Severity; spec?: string; order?: OrderHint }): void;
}

export interface Rule {
  code: DiagnosticCode;
  severity: Severity;
  /** Only run for this driver. */
  driver?: 'qemu';
  /** Needs host facts. */
  needsHost?: boolean;
  spec: string;
  summary: string;
  check(ctx: RuleContext): void;
}
