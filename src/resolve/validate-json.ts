/**
 * Checks a value against schemas/resolved-model.schema.json with the
 * precompiled validator (scripts/gen-validators.mjs) — no schema is
 * compiled at run time.
 */
import { validate } from '../generated/resolved-model.validate.js';
import type { ResolvedModelJson } from './json.js';

export interface JsonSchemaIssue {
  /** JSON Pointer of the offending value, e.g. `/vcpus/3/cpus`. */
  path: string;
  message: string;
}

export type ValidateResolvedJsonResult = { ok: true; value: ResolvedModelJson } | { ok: false; issues: JsonSchemaIssue[] };

/** Check a value against schemas/resolved-model.schema.json; the issues carry JSON Pointer paths. */
export function validateResolvedJson(json: unknown): ValidateResolvedJsonResult {
  if (validate(json)) return { ok: true, value: json as ResolvedModelJson };
  const issues = (validate.errors ?? []).map((e) => ({
    path: e.instancePath || '/',
    message: `${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}${e.params && 'unevaluatedProperty' in e.params ? ` (${String(e.params.unevaluatedProperty)})` : ''}`,
  }));
  return { ok: false, issues };
}
