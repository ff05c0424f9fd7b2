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
import { lstatSync, rmSync } from 'node:fs';
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
export function readLatePlan(stateDir: string, name: string): { plan: RuntimePlan; id: string } | undefined {
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
  return { plan, id: r.id };
}

/** The identity (`dev:ino`) of the plan file now; undefined when there is none. */
function planFileId(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Whether the waiter's plan file is still there (not withdrawn) and, given
 * `id`, still the file the waiter read: a later start of the domain replaces
 * it, and then the older waiter stops.
 */
export function latePlanPresent(stateDir: string, name: string, id?: string): boolean {
  const now = planFileId(latePlanPath(stateDir, name));
  return now !== undefined && (id === undefined || now === id);
}

/**
 * Withdraw the plan (the domain stops, or the waiter ends). With `id`,
 * only if the file is still that one (a waiter ending leaves a newer
 * waiter's plan alone). Returns whether a file was removed.
 */
export function withdrawLatePlan(stateDir: string, name: string, id?: string): boolean {
  const path = latePlanPath(stateDir, name);
  if (id !== undefined && planFileId(path) !== id) return false;
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
