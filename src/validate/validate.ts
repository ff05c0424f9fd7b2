/**
 * Running the rules over a domain, and checkDocument: text in, diagnostics
 * out, never a throw for bad input (an XML error is one diagnostic).
 */
import type { DomainDefinition, DomainModel, Driver, LibvirtVersion, Loc } from '../domain/index.js';
import { definitionOf, readDomain, toLibvirtVersion } from '../domain/index.js';
import { isVirtPinError } from '../errors.js';
import { resolve, type HostFacts, type ResolvedModel } from '../resolve/index.js';
import { parseDocument, type ParseOptions } from '../xml/index.js';
import { RULES } from './rules/index.js';
import type { Diagnostic, RuleContext } from './types.js';

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

/** Run every applicable rule; diagnostics sorted by position. */
export function validate(model: DomainModel, definition: DomainDefinition, options: ValidateOptions = {}): Diagnostic[] {
  const driver = options.driver ?? definition.driver;
  const out: Diagnostic[] = [];
  let resolved: ResolvedModel | undefined = options.resolved;
  for (const rule of RULES) {
    if (rule.driver && rule.driver !== driver) continue;
    if (rule.needsHost && !options.host) continue;
    const ctx: RuleContext = {
      model,
      definition,
      driver,
      host: options.host,
      resolved: () => (resolved ??= resolve(definition, options.host, { model })),
      report(at, message, extra = {}) {
        const loc: Loc = 'loc' in at ? at.loc : at;
        const path = 'path' in at && typeof at.path === 'string' ? at.path : undefined;
        // Built field by field in the order the JSON output has (no spread temporaries: a large domain reports thousands).
        const d: Diagnostic = { code: extra.code ?? rule.code, severity: extra.severity ?? rule.severity, message, line: loc.line, column: loc.column };
        if (extra.hint) d.hint = extra.hint;
        if (rule.driver) d.driver = rule.driver;
        d.spec = extra.spec ?? rule.spec;
        d.rule = rule.code;
        if (path) d.path = path;
        out.push(d);
      },
    };
    rule.check(ctx);
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
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
      },
    ];
  }
  const definition = definitionOf(model, { driver, ...(libvirtVersion ? { libvirtVersion } : {}) });
  return validate(model, definition, { driver, ...(options.host ? { host: options.host } : {}) });
}
