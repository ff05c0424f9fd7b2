/**
 * The plan the hook's late-IRQ waiter keeps in force, handed over in a file
 * of the state directory: `ENC.plan.json` (ENC = fileBase(NAME), which never
 * holds a '.', so no domain's state or lock file can be this file). Written
 * like a state file (O_EXCL temp, 0600, fsync, rename), read like one
 * (O_NOFOLLOW, regular file, size cap), then checked against
 * schemas/plan.schema.json and against its domain name before the waiter
 * acts on it. Removing the file withdraws the plan: `restore` does that
 * first, and the waiter checks, under the domain's lock, that its file is
 * still there before every round (WATCH_WITHDRAWN otherwise).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { VirtPinError } from '../errors.js';
import { validate as validatePlanJson } from '../generated/plan.validate.js';
import type { RuntimePlan } from '../plan/index.js';
import { checkStateDir, readStateFileSafely } from './state-dir.js';
import { fileBase, writeJsonAtomically } from './state.js';

/** A plan of one domain is far below this; the waiter refuses a larger file unread. */
const PLAN_FILE_MAX_BYTES = 8 * 1024 * 1024;

export function latePlanPath(stateDir: string, name: string): string {
  return join(stateDir, `${fileBase(name)}.plan.json`);
}

/** Hand a plan to the waiter (APPLY_STATE_UNWRITABLE, APPLY_STATE_DIR_UNSAFE). */
export function writeLatePlan(stateDir: string, name: string, plan: RuntimePlan): string {
  const path = latePlanPath(stateDir, name);
  writeJsonAtomically(path, plan);
  return path;
}

function invalid(path: string, why: string): VirtPinError {
  return new VirtPinError('APPLY_PLAN_FILE_INVALID', `${path}: ${why}; the late-IRQ waiter does nothing`, { hint: 'the file was not written by the virt-pin hook or was changed since' });
}

/**
 * The waiter's plan, checked: a regular file of root or this user in a safe
 * state directory, a runtime plan by the schema, and for NAME. Undefined
 * when the file is gone (withdrawn).
 */
export function readLatePlan(stateDir: string, name: string): RuntimePlan | undefined {
  const path = latePlanPath(stateDir, name);
  checkStateDir(stateDir);
  const r = readStateFileSafely(path, PLAN_FILE_MAX_BYTES);
  if (!('text' in r)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(r.text);
  } catch {
    throw invalid(path, 'not JSON');
  }
  if (!validatePlanJson(json)) throw invalid(path, `not a virt-pin runtime plan (${validatePlanJson.errors?.[0]?.instancePath || '/'} ${validatePlanJson.errors?.[0]?.message ?? ''})`);
  const plan = json as RuntimePlan;
  if (plan.domain?.name !== name) throw invalid(path, `a plan for '${String(plan.domain?.name).slice(0, 200)}', not for '${name.slice(0, 200)}'`);
  return plan;
}

/** Whether the waiter's plan file is still there (not withdrawn). */
export function latePlanPresent(stateDir: string, name: string): boolean {
  return 'text' in readStateFileSafely(latePlanPath(stateDir, name), PLAN_FILE_MAX_BYTES);
}

/** Withdraw the plan (the domain stops, or the waiter ends). Returns whether there was one. */
export function withdrawLatePlan(stateDir: string, name: string): boolean {
  const path = latePlanPath(stateDir, name);
  try {
    rmSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new VirtPinError('APPLY_STATE_UNWRITABLE', `cannot remove ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Stops a waiter round: its plan was withdrawn (see whileLocked in ApplyOptions). */
export function withdrawnError(name: string): VirtPinError {
  return new VirtPinError('WATCH_WITHDRAWN', `the late-IRQ plan of '${name.slice(0, 200)}' was withdrawn (the domain was restored); the waiter stops`);
}
