/**
 * Thread affinity of a libvirt-managed domain through libvirt's live API
 * (`virsh vcpupin/emulatorpin/iothreadpin --live`), so libvirt widens its
 * per-thread cgroups itself and its live definition agrees with the host.
 * Same contract as apply(): snapshot first (libvirt's own tables), a state
 * file before the first change, read back, and on any failure every pin
 * put back in reverse order. IRQs (and scheduler settings, which libvirt
 * cannot change live) still go through apply(). Never call this from the
 * qemu hook: libvirtd waits for the hook, and the hook would wait for it.
 * See docs/runtime-plan.md, "How threads are pinned".
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import type { RuntimePlan, ThreadAffinityAction } from '../plan/index.js';
import { applyHeld, lockDomain, type ApplyOptions, type ApplyReport } from './apply.js';
import { checkDomainName, LIVE_PATHS } from './paths.js';
import { readStateText, statePath, writeJsonAtomically } from './state.js';

export interface LiveOptions {
  /** libvirt connection URI (default $LIBVIRT_DEFAULT_URI, else qemu:///system). */
  uri?: string;
  /** Domain name (default the plan's). */
  domain?: string;
  /** Default `/run/virt-pin`; the state file is `STATE_DIR/libvirt/NAME.json`. */
  stateDir?: string;
  /** Read libvirt's pins and compare only; change nothing, write no state. */
  dryRun?: boolean;
  /** The virsh program (default `virsh` from PATH). */
  virsh?: string;
  /** Bound on one virsh run (default 60 s). */
  timeoutMs?: number;
}

/** One pin as libvirt names it. */
export type LivePin = { target: 'vcpu' | 'iothread'; id: number } | { target: 'emulator' };

export type LiveStatus = 'unchanged' | 'changed' | 'would-change' | 'failed' | 'rolled-back';

export interface LiveResult {
  actionId: string;
  label: string;
  requested: string;
  before: string;
  status: LiveStatus;
  /** libvirt's pin read back after the change. */
  after?: string;
}

export interface LiveApplyReport {
  ok: boolean;
  name: string;
  uri: string;
  /** libvirt's domain id: a restarted domain gets a new one. */
  domainId: number;
  dryRun: boolean;
  statePath: string;
  /** Pins changed. 0 = already in force. */
  changed: number;
  results: LiveResult[];
  error?: { code: string; message: string; hint?: string };
  rollback?: { restored: number; failed: { label: string; message: string }[] };
  warnings: string[];
}

export interface LiveRestoreReport {
  ok: boolean;
  name: string;
  uri: string;
  statePath: string;
  /** False when nothing was recorded. */
  found: boolean;
  results: { label: string; before: string; status: 'restored' | 'unchanged' | 'gone' | 'failed'; message?: string }[];
}

/** The libvirt URI virsh would use: $LIBVIRT_DEFAULT_URI, else the system QEMU driver. */
export function defaultLibvirtUri(): string {
  return process.env.LIBVIRT_DEFAULT_URI || 'qemu:///system';
}

/** Where the live state of a domain is kept: a subdirectory, so no domain name can collide with apply()'s `NAME.json`. */
export function liveStatePath(stateDir: string, name: string): string {
  return statePath(join(stateDir, 'libvirt'), name);
}

// ---------------------------------------------------------------- virsh

interface Virsh {
  program: string;
  uri: string;
  timeoutMs: number;
}

interface VirshRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** One virsh process running a `;`-separated script (virsh carries on after a failed command). */
function runVirsh(v: Virsh, script: string): Promise<VirshRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
    execFile(v.program, ['-c', v.uri, script], { env, timeout: v.timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new VirtPinError('LIVE_NO_VIRSH', `${v.program} is not installed`, { hint: 'install libvirt-clients, or pass --threads direct' }));
      }
      if (err && err.killed) return reject(new VirtPinError('LIVE_VIRSH_TIMEOUT', `virsh -c ${v.uri} did not finish within ${v.timeoutMs} ms`));
      const status = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      if (/failed to connect to the hypervisor/i.test(stderr)) {
        return reject(new VirtPinError('LIVE_CONNECT_FAILED', `cannot connect to ${v.uri}: ${firstError(stderr)}`, { hint: 'is libvirtd (or virtqemud) running? pass --connect URI, or --threads direct for a QEMU libvirt does not manage' }));
      }
      resolve({ status, stdout, stderr });
    });
  });
}

function firstError(stderr: string): string {
  return (stderr.split('\n').find((l) => l.startsWith('error: ') && !/^error: failed to connect/i.test(l)) ?? stderr.split('\n').find((l) => l.trim()) ?? '').replace(/^error: /, '').trim();
}

/** A word for virsh's command-string parser: single quotes, with `'` written as `'\''` (as in sh). */
function quoteArg(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The live pins of a running domain as libvirt reports them. */
interface LiveSnapshot {
  domainId: number;
  vcpus: Map<number, CpuSet>;
  iothreads: Map<number, CpuSet>;
  emulator?: CpuSet;
}

function readScript(name: string): string {
  const d = `--domain ${quoteArg(name)}`;
  return `vcpupin ${d} --live; emulatorpin ${d} --live; iothreadinfo ${d} --live; domid ${d}`;
}

/**
 * Parse the output of readScript: the vcpupin table (`VCPU   CPU Affinity`),
 * the emulatorpin table (`emulator: CPU Affinity`, row `*: LIST`), the
 * iothreadinfo table (`IOThread ID   CPU Affinity`, or "No IOThreads found"),
 * then domid's number. Tables end at a blank line.
 */
function parseSnapshot(stdout: string): Partial<LiveSnapshot> & Pick<LiveSnapshot, 'vcpus' | 'iothreads'> {
  const out: Partial<LiveSnapshot> & Pick<LiveSnapshot, 'vcpus' | 'iothreads'> = { vcpus: new Map(), iothreads: new Map() };
  let section: 'vcpu' | 'emulator' | 'iothread' | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (!line) {
      section = undefined;
      continue;
    }
    if (/^VCPU\s+CPU Affinity$/.test(line)) section = 'vcpu';
    else if (/^emulator:\s+CPU Affinity$/.test(line)) section = 'emulator';
    else if (/^IOThread ID\s+CPU Affinity$/.test(line)) section = 'iothread';
    else if (/^-+$/.test(line)) continue;
    else if (section === 'emulator') {
      const m = /^\*:\s*(\S+)$/.exec(line);
      if (m?.[1]) out.emulator = parseKernelCpuList(m[1]);
    } else if (section) {
      const m = /^(\d+)\s+(\S+)$/.exec(line);
      if (m?.[1] && m[2]) (section === 'vcpu' ? out.vcpus : out.iothreads).set(Number(m[1]), parseKernelCpuList(m[2]));
    } else if (/^\d+$/.test(line)) out.domainId = Number(line);
  }
  return out;
}

async function readLivePins(v: Virsh, name: string): Promise<LiveSnapshot> {
  const run = await runVirsh(v, readScript(name));
  const snap = parseSnapshot(run.stdout);
  if (snap.domainId === undefined || snap.emulator === undefined) {
    const why = firstError(run.stderr);
    if (/failed to get domain|domain not found|no domain with matching/i.test(why)) throw new VirtPinError('LIVE_DOMAIN_NOT_FOUND', `libvirt at ${v.uri} has no domain '${name}' (virsh: ${why})`, { hint: 'check the name with virsh list --all, or pass --connect URI' });
    if (snap.domainId === undefined || /not running/i.test(why)) throw new VirtPinError('LIVE_DOMAIN_NOT_RUNNING', `domain '${name}' is not running (${why || 'no domain id'})`);
    throw new VirtPinError('LIVE_VIRSH_FAILED', `cannot read the live pins of '${name}': ${why || 'unexpected virsh output'}`);
  }
  return snap as LiveSnapshot;
}

function pinOf(s: LiveSnapshot, p: LivePin): CpuSet | undefined {
  if (p.target === 'emulator') return s.emulator;
  return (p.target === 'vcpu' ? s.vcpus : s.iothreads).get(p.id);
}

function pinCommand(name: string, p: LivePin, cpus: CpuSet): string {
  const d = `--domain ${quoteArg(name)}`;
  const list = cpus.toString();
  if (p.target === 'vcpu') return `vcpupin ${d} --vcpu ${p.id} --cpulist ${list} --live`;
  if (p.target === 'iothread') return `iothreadpin ${d} --iothread ${p.id} --cpulist ${list} --live`;
  return `emulatorpin ${d} --cpulist ${list} --live`;
}

function labelOf(p: LivePin): string {
  return p.target === 'vcpu' ? `vCPU ${p.id} (vcpupin)` : p.target === 'iothread' ? `IOThread ${p.id} (iothreadpin)` : 'emulator (emulatorpin)';
}

function keyOf(p: LivePin): string {
  return p.target === 'emulator' ? 'emulator' : `${p.target}${p.id}`;
}

/** Set pins in order, then read everything back, in one virsh process. */
async function setPins(v: Virsh, name: string, pins: { pin: LivePin; cpus: CpuSet }[]): Promise<{ snapshot: LiveSnapshot; stderr: string }> {
  const script = [...pins.map((x) => pinCommand(name, x.pin, x.cpus)), readScript(name)].join('; ');
  const run = await runVirsh(v, script);
  const snap = parseSnapshot(run.stdout);
  if (snap.domainId === undefined || snap.emulator === undefined) {
    throw new VirtPinError('LIVE_VIRSH_FAILED', `cannot read back the live pins of '${name}': ${firstError(run.stderr) || 'unexpected virsh output'}`);
  }
  return { snapshot: snap as LiveSnapshot, stderr: run.stderr };
}

// ---------------------------------------------------------------- state file

export type LiveStateEntry = { target: 'vcpu' | 'iothread'; id: number; before: string } | { target: 'emulator'; before: string };

export interface LiveStateFile {
  schemaVersion: 1;
  kind: 'virt-pin-libvirt-state';
  name: string;
  uri: string;
  domainId: number;
  createdAt: string;
  /** `applying` until every pin was set and read back. */
  phase: 'applying' | 'applied';
  /** In the order the pins were set; restore walks it backwards. */
  entries: LiveStateEntry[];
}

function writeLiveState(path: string, state: LiveStateFile): void {
  writeJsonAtomically(path, state);
}

const CPULIST = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/;

/** Read and check a live state file; undefined when there is none. */
export function readLiveStateFile(path: string): LiveStateFile | undefined {
  const text = readStateText(path);
  if (text === undefined) return undefined;
  const bad = (why: string): VirtPinError => new VirtPinError('APPLY_STATE_INVALID', `${path}: ${why}`, { hint: 'the file was not written by virt-pin or was edited; nothing was restored' });
  let s: Partial<LiveStateFile>;
  try {
    s = JSON.parse(text) as Partial<LiveStateFile>;
  } catch {
    throw bad('not JSON');
  }
  if (s?.kind !== 'virt-pin-libvirt-state' || s.schemaVersion !== 1 || typeof s.name !== 'string' || typeof s.uri !== 'string' || !Number.isSafeInteger(s.domainId) || !Array.isArray(s.entries)) {
    throw bad('not a virt-pin libvirt state file');
  }
  for (const e of s.entries) {
    if (typeof e?.before !== 'string' || !CPULIST.test(e.before)) throw bad('entry with a bad CPU list');
    if (e.target === 'vcpu' || e.target === 'iothread') {
      if (!Number.isSafeInteger(e.id) || e.id < 0 || e.id > 16383) throw bad(`entry with a bad ${e.target} id`);
    } else if (e.target !== 'emulator') throw bad('entry of unknown kind');
  }
  return s as LiveStateFile;
}

/** File names are injective (state.ts fileBase), but a file can be moved or written by hand: never act on another domain's record. */
function ownState(state: LiveStateFile | undefined, name: string): LiveStateFile | undefined {
  if (state && state.name !== name) {
    throw new VirtPinError('LIVE_STATE_OTHER_DOMAIN', `the libvirt state file for '${name}' belongs to domain '${state.name}' (their names map to the same file)`, { hint: 'restore that domain first, or pass another --state-dir' });
  }
  return state;
}

// ---------------------------------------------------------------- apply

function checkPlan(plan: RuntimePlan): void {
  if (plan?.kind !== 'virt-pin-runtime-plan' || plan.schemaVersion !== 1 || !Array.isArray(plan.actions)) {
    throw new VirtPinError('APPLY_NOT_A_PLAN', 'the input is not a virt-pin runtime plan (kind virt-pin-runtime-plan, schemaVersion 1)');
  }
  const errors = (plan.diagnostics ?? []).filter((d) => d.severity === 'error');
  if (errors.length) throw new VirtPinError('APPLY_PLAN_HAS_ERRORS', `the plan has ${errors.length} error(s), first: ${errors[0]?.code}: ${errors[0]?.message}`, { hint: 'fix the domain XML or options and plan again' });
}

function pinOfAction(a: ThreadAffinityAction): LivePin {
  const t = a.target;
  return t.thread === 'emulator' ? { target: 'emulator' } : { target: t.thread, id: t.id };
}

function entryOf(p: LivePin, before: CpuSet): LiveStateEntry {
  return p.target === 'emulator' ? { target: 'emulator', before: before.toString() } : { target: p.target, id: p.id, before: before.toString() };
}

function pinOfEntry(e: LiveStateEntry): LivePin {
  return e.target === 'emulator' ? { target: 'emulator' } : { target: e.target, id: e.id };
}

function virshOf(options: { uri?: string; virsh?: string; timeoutMs?: number }): Virsh {
  const uri = options.uri ?? defaultLibvirtUri();
  if (!/^[^\0\n]{1,1024}$/.test(uri)) throw new VirtPinError('LIVE_BAD_URI', `'${uri.slice(0, 64)}' is not a libvirt URI`);
  return { program: options.virsh ?? 'virsh', uri, timeoutMs: options.timeoutMs ?? 60_000 };
}

interface LiveApplied {
  report: LiveApplyReport;
  /** Put back what this call changed (reverse order) and the state file as it was before. */
  undo(): Promise<void>;
}

async function applyLiveWithUndo(plan: RuntimePlan, options: LiveOptions): Promise<LiveApplied> {
  checkPlan(plan);
  const name = checkDomainName(options.domain ?? plan.domain.name ?? '');
  const v = virshOf(options);
  const path = liveStatePath(options.stateDir ?? `${LIVE_PATHS.run}/virt-pin`, name);
  const report: LiveApplyReport = { ok: true, name, uri: v.uri, domainId: 0, dryRun: options.dryRun === true, statePath: path, changed: 0, results: [], warnings: [] };
  const nothing: LiveApplied = { report, undo: async () => {} };
  const actions = plan.actions.filter((a): a is ThreadAffinityAction => a.kind === 'thread-affinity');
  if (!actions.length) return nothing;

  // 1. libvirt's current pins
  const snap = await readLivePins(v, name);
  report.domainId = snap.domainId;
  const wanted = actions.map((a) => ({ action: a, pin: pinOfAction(a), cpus: parseKernelCpuList(a.cpus) }));
  const pending: typeof wanted = [];
  for (const w of wanted) {
    const before = pinOf(snap, w.pin);
    if (!before) {
      throw new VirtPinError('LIVE_TARGET_NOT_FOUND', `libvirt reports no ${labelOf(w.pin).replace(/ \(.*\)$/, '')} for '${name}'`, {
        hint: 'is the vCPU online and the IOThread defined? re-plan from the live XML (virsh dumpxml)',
      });
    }
    const result: LiveResult = { actionId: w.action.id, label: labelOf(w.pin), requested: w.cpus.toString(), before: before.toString(), status: before.equals(w.cpus) ? 'unchanged' : options.dryRun ? 'would-change' : 'changed' };
    report.results.push(result);
    if (!before.equals(w.cpus)) pending.push(w);
  }
  if (options.dryRun || !pending.length) return nothing;

  // 2. state file before the first change, merged with an earlier apply to the same run of the domain
  const previous = ownState(readLiveStateFile(path), name);
  const same = previous !== undefined && previous.domainId === snap.domainId && previous.uri === v.uri;
  const entries: LiveStateEntry[] = same ? [...previous.entries] : [];
  const known = new Set(entries.map((e) => keyOf(pinOfEntry(e))));
  for (const w of pending) if (!known.has(keyOf(w.pin))) entries.push(entryOf(w.pin, pinOf(snap, w.pin) as CpuSet));
  const state: LiveStateFile = { schemaVersion: 1, kind: 'virt-pin-libvirt-state', name, uri: v.uri, domainId: snap.domainId, createdAt: same ? previous.createdAt : new Date().toISOString(), phase: 'applying', entries };
  writeLiveState(path, state);
  const putStateBack = (): void => {
    if (same) writeLiveState(path, previous);
    else rmSync(path, { force: true });
  };

  // 3. every pin in one virsh run, read back in the same run
  let after: LiveSnapshot;
  let stderr: string;
  try {
    ({ snapshot: after, stderr } = await setPins(v, name, pending));
  } catch (e) {
    // virsh itself failed (timeout, lost connection): which pins were set is unknown; the state file stays for restore.
    report.ok = false;
    report.error = { code: e instanceof VirtPinError ? e.code : 'LIVE_VIRSH_FAILED', message: (e as Error).message, hint: `run 'virt-pin restore ${name}'` };
    return nothing;
  }
  const failed: string[] = [];
  for (const w of pending) {
    const r = report.results.find((x) => x.actionId === w.action.id) as LiveResult;
    const got = pinOf(after, w.pin);
    if (got) r.after = got.toString();
    if (!got?.equals(w.cpus)) {
      r.status = 'failed';
      failed.push(r.label);
    } else report.changed++;
  }
  const changedNow = pending.filter((w) => !pinOf(after, w.pin)?.equals(pinOf(snap, w.pin) as CpuSet));
  const undo = async (): Promise<void> => {
    report.rollback = await putBack(v, name, snap, changedNow, report);
    report.changed = 0;
    if (!report.rollback.failed.length) putStateBack();
    else report.warnings.push(`rollback left ${report.rollback.failed.length} pin(s) changed; ${path} keeps the originals: run restore`);
  };
  if (!failed.length) {
    writeLiveState(path, { ...state, phase: 'applied' });
    return { report, undo };
  }
  report.ok = false;
  report.error = { code: 'LIVE_PIN_FAILED', message: `libvirt refused ${failed.join(', ')}: ${stderr.split('\n').filter((l) => l.startsWith('error: ')).map((l) => l.slice(7)).join('; ') || 'the pin read back differs'}` };
  await undo();
  return nothing;
}

/** Set the changed pins back to the snapshot, in reverse order, and check. */
async function putBack(v: Virsh, name: string, snap: LiveSnapshot, changed: { pin: LivePin; action: ThreadAffinityAction }[], report: LiveApplyReport): Promise<NonNullable<LiveApplyReport['rollback']>> {
  const out: NonNullable<LiveApplyReport['rollback']> = { restored: 0, failed: [] };
  if (!changed.length) return out;
  const back = [...changed].reverse().map((w) => ({ pin: w.pin, cpus: pinOf(snap, w.pin) as CpuSet, action: w.action }));
  let after: LiveSnapshot | undefined;
  let stderr = '';
  try {
    ({ snapshot: after, stderr } = await setPins(v, name, back));
  } catch (e) {
    stderr = (e as Error).message;
  }
  for (const b of back) {
    const r = report.results.find((x) => x.actionId === b.action.id);
    if (after && pinOf(after, b.pin)?.equals(b.cpus)) {
      out.restored++;
      if (r) r.status = 'rolled-back';
    } else out.failed.push({ label: labelOf(b.pin), message: firstError(stderr) || 'the pin read back differs' });
  }
  return out;
}

/**
 * Apply the plan's thread-affinity actions through libvirt's live API.
 * Other actions are left to apply(). Throws VirtPinError for bad input
 * (no such domain, not running, no virsh); libvirt's refusals end up in the
 * report, with every pin put back when `ok` is false.
 */
export async function applyLive(plan: RuntimePlan, options: LiveOptions = {}): Promise<LiveApplyReport> {
  if (options.dryRun) return (await applyLiveWithUndo(plan, options)).report;
  const lock = await lockFor(plan, options);
  try {
    return (await applyLiveWithUndo(plan, options)).report;
  } finally {
    lock.release();
  }
}

/** The same per-domain lock as apply() and restore(): one virt-pin at a time changes a domain, by either path. */
function lockFor(plan: RuntimePlan | undefined, options: { domain?: string; stateDir?: string; lockWaitMs?: number }): ReturnType<typeof lockDomain> {
  if (plan !== undefined) checkPlan(plan);
  const name = checkDomainName(options.domain ?? plan?.domain?.name ?? '');
  return lockDomain(options.stateDir ?? `${LIVE_PATHS.run}/virt-pin`, name, options.lockWaitMs ?? 0);
}


/** The plan without its thread-affinity actions: what apply() still does for a libvirt domain (IRQs, scheduler settings). */
export function withoutThreadAffinity(plan: RuntimePlan): RuntimePlan {
  return { ...plan, actions: plan.actions.filter((a) => a.kind !== 'thread-affinity') };
}

export interface DomainApplyReport {
  ok: boolean;
  /** Thread pins, through libvirt. */
  live: LiveApplyReport;
  /** Everything else, through apply(); absent when the live part failed. */
  direct?: ApplyReport;
}

/**
 * A libvirt domain: thread pins through libvirt's live API, then the rest
 * through apply(). If apply() fails (it rolls back its own part), the live
 * pins are put back too, so the domain is left as it was found.
 */
export async function applyDomain(plan: RuntimePlan, options: LiveOptions & ApplyOptions = {}): Promise<DomainApplyReport> {
  // Both parts under the domain's lock: a concurrent apply (either path) that rolls back must not remove this one's state file.
  const lock = options.dryRun ? undefined : await lockFor(plan, options);
  try {
    const { report: live, undo } = await applyLiveWithUndo(plan, options);
    if (!live.ok) return { ok: false, live };
    const { uri: _u, virsh: _v, timeoutMs: _t, ...applyOptions } = options;
    let direct: ApplyReport;
    try {
      direct = await applyHeld(withoutThreadAffinity(plan), { ...applyOptions, domain: live.name });
    } catch (e) {
      await undo();
      throw e;
    }
    if (!direct.ok) await undo();
    return { ok: direct.ok, live, direct };
  } finally {
    lock?.release();
  }
}

// ---------------------------------------------------------------- restore

/**
 * Put back the pins recorded for NAME (reverse order) through libvirt, then
 * remove the state file. A domain that stopped or restarted since (other
 * domain id) got its pins from its definition again: nothing is written.
 */
export async function restoreLive(name: string, options: Omit<LiveOptions, 'domain' | 'dryRun'> = {}): Promise<LiveRestoreReport> {
  const path = liveStatePath(options.stateDir ?? `${LIVE_PATHS.run}/virt-pin`, checkDomainName(name));
  // Nothing recorded: no lock (the state directory may not exist or be read-only).
  if (readLiveStateFile(path) === undefined) return { ok: true, name, uri: options.uri ?? defaultLibvirtUri(), statePath: path, found: false, results: [] };
  const lock = await lockFor(undefined, { ...options, domain: name });
  try {
    return await restoreLiveHeld(name, path, options);
  } finally {
    lock.release();
  }
}

async function restoreLiveHeld(name: string, path: string, options: Omit<LiveOptions, 'domain' | 'dryRun'>): Promise<LiveRestoreReport> {
  const state = ownState(readLiveStateFile(path), name);
  const uri = options.uri ?? state?.uri ?? defaultLibvirtUri();
  const report: LiveRestoreReport = { ok: true, name, uri, statePath: path, found: state !== undefined, results: [] };
  if (!state) return report;
  const v = virshOf({ ...options, uri });
  const entries = [...state.entries].reverse();
  let snap: LiveSnapshot | undefined;
  try {
    snap = await readLivePins(v, name);
  } catch (e) {
    if (!(e instanceof VirtPinError && (e.code === 'LIVE_DOMAIN_NOT_FOUND' || e.code === 'LIVE_DOMAIN_NOT_RUNNING'))) throw e;
  }
  if (!snap || snap.domainId !== state.domainId) {
    for (const e of entries) report.results.push({ label: labelOf(pinOfEntry(e)), before: e.before, status: 'gone', message: 'the domain stopped or restarted since; libvirt set its pins from the definition' });
    rmSync(path, { force: true });
    return report;
  }
  const current = snap;
  const todo = entries.map((e) => ({ pin: pinOfEntry(e), cpus: parseKernelCpuList(e.before), entry: e }));
  const change = todo.filter((t) => !pinOf(current, t.pin)?.equals(t.cpus));
  let after: LiveSnapshot | undefined;
  let stderr = '';
  if (change.length) {
    try {
      ({ snapshot: after, stderr } = await setPins(v, name, change));
    } catch (e) {
      stderr = (e as Error).message;
    }
  }
  for (const t of todo) {
    const label = labelOf(t.pin);
    if (!change.includes(t)) report.results.push({ label, before: t.entry.before, status: 'unchanged' });
    else if (after && pinOf(after, t.pin)?.equals(t.cpus)) report.results.push({ label, before: t.entry.before, status: 'restored' });
    else {
      report.ok = false;
      report.results.push({ label, before: t.entry.before, status: 'failed', message: firstError(stderr) || 'the pin read back differs' });
    }
  }
  if (report.ok) rmSync(path, { force: true });
  return report;
}
