/**
 * Running the rules over a domain, and checkDocument: text in, diagnostics
 * out, never a throw for bad input (an XML error is one diagnostic).
 */
import type { DefinitionOptions, DomainDefinition, DomainModel, Driver, LibvirtVersion, Loc } from '../domain/index.js';
import { definitionOf, readDomain, toLibvirtVersion } from '../domain/index.js';
import { isVirtPinError } from '../errors.js';
import { resolve, type HostFacts, type ResolvedModel } from '../resolve/index.js';
import { parseDocument, type ParseOptions } from '../xml/index.js';
import { RULES } from './rules/index.js';
import { compareKeys, orderKey, type OrderKey } from './libvirt-order.js';
import type { Diagnostic, Rule, RuleContext } from './types.js';

export interface ValidateOptions {
  /** Default `qemu`: QEMU-only checks run. `generic` runs the driver-independent ones. */
  driver?: Driver;
  /** Host facts enable the host-aware lints. */
  host?: HostFacts;
  /** The model `resolve(definition, host)` already returned, so the lints do not resolve again. */
  resolved?: ResolvedModel;
}

/** `maxBytes`, `maxDepth`, `maxElements`: the parser's limits (docs/security.md), defaults as parseDocument's. */
export interface CheckOptions extends ValidateOptions, Pick<ParseOptions, 'maxBytes' | 'maxDepth' | 'maxElements'> {
  fileName?: string;
  /** The libvirt to judge for, e.g. '9.0' (default: the newest modelled, 10.7); see LIBVIRT_CHANGES and docs/fidelity.md. */
  libvirtVersion?: string | LibvirtVersion;
}

/**
 * Run every applicable rule; diagnostics sorted by position, each error
 * numbered with its place in libvirt's order (`libvirtOrder`, 1 = the error
 * libvirt reports; LIBVIRT_ORDER).
 */
export function validate(model: DomainModel, definition: DomainDefinition, options: ValidateOptions = {}): Diagnostic[] {
  const driver = options.driver ?? definition.driver;
  const out: Diagnostic[] = [];
  const keys = new Map<Diagnostic, OrderKey>();
  let resolved: ResolvedModel | undefined = options.resolved;
  // One context for all rules, reporting for the rule being run: a context with two closures per rule was
  // ~40 objects per document checked. Rules are synchronous and keep nothing of the context.
  let rule: Rule = RULES[0]!;
  const ctx: RuleContext = {
    model,
    definition,
    driver,
    host: options.host,
    resolved: () => (resolved ??= resolve(definition, options.host, { model })),
    report(at, message, extra = {}) {
      const loc: Loc = 'loc' in at ? at.loc : at;
      const path = 'path' in at && typeof at.path === 'string' ? at.path : undefined;
      const code = extra.code ?? rule.code;
      const severity = extra.severity ?? rule.severity;
      // The usual shape (a hint and a path, no driver) as one literal: a finding built field by field past its
      // first few fields gets a separate property store from V8, and a large domain reports thousands.
      if (extra.hint && path && !rule.driver) {
        const d: Diagnostic = { code, severity, message, line: loc.line, column: loc.column, hint: extra.hint, spec: extra.spec ?? rule.spec, rule: rule.code, path };
        out.push(d);
        if (severity === 'error') keys.set(d, orderKey(code, loc, extra.order));
        return;
      }
      // Otherwise field by field, in the order the JSON output has (no spread temporaries).
      const d: Diagnostic = { code, severity, message, line: loc.line, column: loc.column };
      if (extra.hint) d.hint = extra.hint;
      if (rule.driver) d.driver = rule.driver;
      d.spec = extra.spec ?? rule.spec;
      d.rule = rule.code;
      if (path) d.path = path;
      out.push(d);
      if (severity === 'error') keys.set(d, orderKey(code, loc, extra.order));
    },
  };
  for (rule of RULES) {
    if (rule.driver && rule.driver !== driver) continue;
    if (rule.needsHost && !options.host) continue;
    rule.check(ctx);
  }
  [...keys].sort((a, b) => compareKeys(a[1], b[1])).forEach(([d], i) => (d.libvirtOrder = i + 1));
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * The error libvirt reports for this domain (it stops at its first): the one
 * numbered 1 in libvirt's order, else the first error by position
 * (diagnostics from elsewhere, e.g. cross-domain findings, have no number).
 */
export function firstError(diagnostics: readonly Diagnostic[]): Diagnostic | undefined {
  return diagnostics.find((d) => d.severity === 'error' && d.libvirtOrder === 1) ?? diagnostics.find((d) => d.severity === 'error');
}

/**
 * The errors in libvirt's order (numbered ones first, by number; then any
 * others by position). Warnings and infos are not included.
 */
export function errorsInLibvirtOrder(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const rank = (d: Diagnostic): number => d.libvirtOrder ?? Number.MAX_SAFE_INTEGER;
  return errors.map((d, i) => [d, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([d]) => d);
}

/** Check domain XML text. XML that does not parse yields one error diagnostic with the parser's code and position. */
export function checkDocument(text: string, options: CheckOptions = {}): Diagnostic[] {
  const driver = options.driver ?? 'qemu';
  // A bad version is the caller's mistake, not the document's: it throws (LIBVIRT_VERSION_INVALID).
  const libvirtVersion = toLibvirtVersion(options.libvirtVersion);
  let model: DomainModel;
  try {
    const { fileName, maxBytes, maxDepth, maxElements } = options;
    model = readDomain(parseDocument(text, { fileName, maxBytes, maxDepth, maxElements }));
  } catch (e) {
    if (!isVirtPinError(e)) throw e;
    return [
      {
        code: e.code,
        severity: 'error',
        message: e.message,
        line: e.location?.line ?? 1,
        column: e.location?.column ?? 1,
        ...(e.hint ? { hint: e.hint } : {}),
        spec: 'xml',
        rule: e.code,
        libvirtOrder: 1,
      },
    ];
  }
  // Option objects without conditional spreads: this runs once per document of a batch.
  const definitionOptions: DefinitionOptions = { driver };
  if (libvirtVersion) definitionOptions.libvirtVersion = libvirtVersion;
  const validateOptions: ValidateOptions = { driver };
  if (options.host) validateOptions.host = options.host;
  return validate(model, definitionOf(model, definitionOptions), validateOptions);
}
