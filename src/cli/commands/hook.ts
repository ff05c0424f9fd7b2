/**
 * `virt-pin hook` — libvirt's qemu hook protocol (libvirt runs every
 * executable in /etc/libvirt/hooks/qemu.d/ with NAME OPERATION SUB-OPERATION
 * EXTRA and the domain XML on stdin, and waits for it):
 *
 *   prepare begin   check the XML; with enforce, a non-zero exit refuses the start
 *   started begin   plan and apply IRQ affinity (threads too when configured);
 *                   late MSI-X vectors are pinned by a detached, bounded waiter
 *   release end,
 *   stopped end     restore what apply recorded (idempotent)
 *   reconnect begin keep the state file as it is
 *   anything else   exit 0 silently
 *
 * The hook never calls back into libvirt (that deadlocks libvirtd). It writes
 * to stdout only for operations whose stdout libvirt reads (migrate, restore,
 * save), and then passes the XML through unchanged.
 *
 * libvirt runs the wrapper `hook install` wrote (src/cli/hook/install.ts),
 * which runs this from virt-pin's own copy of the CLI, kills it at the time
 * budget and fails open when it cannot run; this side tells the wrapper a
 * deliberate refusal by a status of its own.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { apply, latePlanPath, latePlanPresent, pathsUnder, readLatePlan, restore, threadMethod, watchPlan, withdrawLatePlan, withdrawnError, writeLatePlan, LIVE_PATHS, type HostPaths } from '../../apply/index.js';
import { isVirtPinError } from '../../errors.js';
import { hostFactsFromSysfs, hostFactsFromSysfsOnDemand } from '../../host/index.js';
import { planDocument, type RuntimePlan } from '../../plan/index.js';
import { checkDocument } from '../../validate/index.js';
import { ConfigError, DEFAULT_CONFIG, DEFAULT_CONFIG_PATH, loadHookConfig, type HookConfig } from '../hook/config.js';
import { CopyError, DEFAULT_LIB_DIR, installCopy, readManifest, removeCopy } from '../hook/copy.js';
import { DEFAULT_BUDGET_SECONDS, HookInstallError, installHook, readInstalledHook, uninstallHook, WRAPPED_REFUSAL_STATUS } from '../hook/install.js';
import { markCodeCachePartial } from '../code-cache-mark.js';
import { HookLog, type LogLevel } from '../hook/log.js';
import { hookStatus } from '../hook/status.js';
import { IoError, readInput } from '../io.js';
import { EXIT_OK, UsageError } from '../usage.js';
import { version } from '../version.js';

export const usage = `usage: virt-pin hook install [--dir DIR] [--lib-dir LIB] [--budget SECONDS]
       virt-pin hook uninstall [--dir DIR]
       virt-pin hook status [--dir DIR]
       virt-pin hook exec NAME OPERATION SUB-OPERATION [EXTRA]   (run by libvirt)

install   copy this CLI to LIB/<version>/ (LIB default ${DEFAULT_LIB_DIR}, or
          $VIRT_PIN_LIB_DIR) and put an executable 'virt-pin' wrapper into
          DIR/qemu.d (DIR default /etc/libvirt/hooks) that runs that copy,
          both atomically; refuses to overwrite files it did not install;
          says whether libvirtd must be restarted. Run it again to upgrade,
          or after changing "enforce" (the wrapper keeps it for when the CLI
          cannot run). --budget: wall-clock bound of one hook call (default
          ${DEFAULT_BUDGET_SECONDS} s); past it the call is killed and fails open
uninstall remove the wrapper and the copy it runs (only what virt-pin installed)
status    what is installed where, whether it runs, and the configuration
          (exit 1 when something is wrong)
exec      the hook itself: prepare/begin checks (and with "enforce" refuses),
          started/begin applies IRQ affinity, release/end and stopped/end
          restore, reconnect/begin keeps state; other operations do nothing

configuration: ${DEFAULT_CONFIG_PATH} (or $VIRT_PIN_CONFIG), see
schemas/config.schema.json. $VIRT_PIN_HOST_ROOT points /proc, /sys and /run
at another root (tests, containers). Log lines go to stderr and to the
system log (logger -t virt-pin; VIRT_PIN_SYSLOG=0 turns that off).
`;

const PASS_THROUGH = new Set(['migrate', 'restore', 'save']);
/** The phases virt-pin acts on (the others are silent). */
const KNOWN_PHASES = new Set(['prepare/begin', 'started/begin', 'release/end', 'stopped/end']);

export async function run(argv: string[], selfUrl: URL): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usage);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub === 'install' || sub === 'uninstall') return manage(sub, rest, selfUrl);
  if (sub === 'status') return status(rest);
  if (sub === 'exec') return execHook(rest, selfUrl);
  if (sub === 'late-irqs') return lateIrqs(rest);
  if (sub === 'probe') return probe();
  throw new UsageError(`unknown hook subcommand '${sub}'`);
}

function manageOptions(argv: string[]): { dir: string; libDir: string; budget: number } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { dir: { type: 'string' }, 'lib-dir': { type: 'string' }, budget: { type: 'string' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const budgetText = values.budget ?? String(DEFAULT_BUDGET_SECONDS);
  if (!/^[1-9][0-9]{0,2}$/.test(budgetText) || Number(budgetText) > 600) throw new UsageError(`--budget takes whole seconds from 1 to 600, not '${budgetText}'`);
  return { dir: values.dir ?? '/etc/libvirt/hooks', libDir: values['lib-dir'] ?? process.env.VIRT_PIN_LIB_DIR ?? DEFAULT_LIB_DIR, budget: Number(budgetText) };
}

function manage(sub: 'install' | 'uninstall', argv: string[], selfUrl: URL): number {
  const { dir, libDir, budget } = manageOptions(argv);
  try {
    if (sub === 'install') {
      // The wrapper keeps enforce for when the CLI cannot run, so a configuration it cannot read stops the install.
      let config: HookConfig;
      try {
        config = loadHookConfig();
      } catch (e) {
        if (e instanceof ConfigError) throw new IoError(`${e.message}; fix the configuration first (the hook needs its "enforce" setting)`);
        throw e;
      }
      const copy = installCopy(libDir, fileURLToPath(selfUrl), version(), process.execPath);
      process.stdout.write(`${copy.action}: ${copy.dir} (virt-pin ${copy.manifest.version}${copy.manifest.koffi ? ', with koffi' : ', without koffi: thread writes use taskset/chrt'})\n`);
      let previous: string | undefined;
      try {
        const w = readInstalledHook(dir)?.settings;
        if (w && dirname(w.cli) !== copy.dir) previous = dirname(w.cli);
      } catch {
        // not our file there: installHook refuses it below
      }
      const r = installHook(dir, { node: process.execPath, cli: copy.cli, enforce: config.enforce, budgetSeconds: budget });
      process.stdout.write(`${r.action}: ${r.path}\n`);
      // The copy the wrapper ran before (an older version) is no longer used once the new wrapper is in place.
      if (previous && readManifest(previous) && removeCopy(previous)) process.stdout.write(`removed: ${previous}\n`);
      if (r.restartNeeded) process.stdout.write('libvirt looks for hooks when it starts: restart libvirtd (or virtqemud) once so it runs this one\n');
    } else {
      const r = uninstallHook(dir);
      process.stdout.write(r.removed ? `removed: ${r.path}\n` : `not installed: ${r.path}\n`);
      if (r.settings && removeCopy(dirname(r.settings.cli))) process.stdout.write(`removed: ${dirname(r.settings.cli)}\n`);
    }
  } catch (e) {
    if (e instanceof HookInstallError || e instanceof CopyError) throw new IoError(e.message);
    throw e;
  }
  return EXIT_OK;
}

function status(argv: string[]): number {
  const { dir } = manageOptions(argv);
  const report = hookStatus(dir);
  process.stdout.write(report.text);
  return report.ok ? EXIT_OK : 1;
}

/** What the wrapper and `hook status` run to see that this copy works: its version and whether koffi loads. */
function probe(): number {
  process.stdout.write(`${JSON.stringify({ version: version(), koffi: threadMethod() === 'ffi' })}\n`);
  return EXIT_OK;
}

function hostPaths(): HostPaths {
  const root = process.env.VIRT_PIN_HOST_ROOT;
  return root ? pathsUnder(root) : LIVE_PATHS;
}

/** How one hook call talks back: the log, and the exit status that refuses a start. */
interface Call {
  name: string;
  log: (level: LogLevel, phase: string, message: string) => void;
  /** 1, or the wrapper's distinct status (so the wrapper can tell a refusal from a crash). */
  refuse: number;
  /** Seconds this call may take in all (the wrapper kills it after that). */
  budgetSeconds: number;
}

/** `hook exec`: also the body of the hook's own entry (dist/hook.cjs, see src/cli/hook-entry.ts). */
/** `self`: the file the late-IRQ waiter re-runs, as a URL (the CLI) or a path (the hook's own entry, which skips building a URL). */
export async function execHook(argv: string[], self: URL | string): Promise<number> {
  const [name, op, subop] = argv;
  if (!name || !op || !subop) throw new UsageError('exec takes NAME OPERATION SUB-OPERATION [EXTRA], as libvirt passes them');
  const wrapped = process.env.VIRT_PIN_HOOK_WRAPPER === '1';
  const hookLog = new HookLog();
  const budget = Number(process.env.VIRT_PIN_HOOK_BUDGET);
  const call: Call = {
    name,
    log: (level, phase, message) => hookLog.line(level, name, phase, message),
    refuse: wrapped ? WRAPPED_REFUSAL_STATUS : 1,
    budgetSeconds: wrapped && budget > 0 ? budget : DEFAULT_BUDGET_SECONDS,
  };
  try {
    return await execPhase(call, op, subop, self);
  } finally {
    hookLog.close();
  }
}

async function execPhase(call: Call, op: string, subop: string, self: URL | string): Promise<number> {
  const { name } = call;
  if (PASS_THROUGH.has(op)) {
    // libvirt reads the (possibly changed) XML back: copy it through, byte for byte, whatever its size.
    passThrough();
    return EXIT_OK;
  }
  const phase = `${op}/${subop}`;
  if (!/^[^/\0]{1,255}$/.test(name) || name === '.' || name === '..') {
    // libvirt starts domains named '.' and '..' (its test driver does): never block them, never use the name as a path.
    drainStdin();
    if (KNOWN_PHASES.has(phase)) call.log('notice', phase, 'the domain name is not usable as a file name; virt-pin leaves this domain alone');
    return EXIT_OK;
  }
  if (phase === 'release/end' || phase === 'stopped/end') {
    // Restore needs no XML (live XML at stop is larger than the definition): never let its size skip the restore.
    drainStdin();
    const config = loadConfigOrDefaults(call, phase);
    try {
      // Withdraw the late-IRQ waiter's plan first; then wait (bounded) for a round it may be in, so its pins are restored too.
      const waiter = withdrawLatePlan(config.stateDir, name);
      const r = await restore(name, { paths: hostPaths(), stateDir: config.stateDir, ...(waiter ? { lockWaitMs: STOP_LOCK_WAIT_MS } : {}) });
      // Threads 'gone' are the normal case at stop (QEMU exited); what is 'reused' (no longer what was recorded) is worth a word.
      const reused = r.results.filter((x) => x.status === 'reused');
      if (!r.found) markCodeCachePartial(); // nothing recorded, nothing restored: not this phase's usual run
      if (r.found) {
        const left = reused.length ? `, ${reused.length} left alone (${reused.map((x) => `${x.key}: ${x.message ?? x.status}`).slice(0, 8).join('; ')})` : '';
        call.log(r.ok ? 'notice' : 'err', phase, `${r.ok ? 'restored' : 'restore incomplete'}: ${r.results.length} target(s)${left}`);
      }
    } catch (e) {
      call.log('err', phase, isVirtPinError(e) ? `${e.code} ${e.message}` : (e as Error).message);
    }
    return EXIT_OK;
  }
  if (phase !== 'prepare/begin' && phase !== 'started/begin') {
    drainStdin();
    return EXIT_OK; // reconnect/begin and everything else: nothing to do
  }
  // Capped like every other input (docs/security.md): an oversized document is never held whole.
  const input = readInput('-');
  const config = loadConfigOrDefaults(call, phase);
  if (input.oversize) {
    drainStdin(); // libvirt writes the whole document; read it to the end, keeping none of it
    call.log('warning', phase, `the domain XML on stdin is over ${input.oversize.limit} bytes; virt-pin leaves this domain alone`);
    return phase === 'prepare/begin' && config.enforce ? call.refuse : EXIT_OK;
  }
  const stdin = Buffer.from(input.bytes).toString('utf8');
  const paths = hostPaths();
  try {
    if (phase === 'prepare/begin') return prepare(call, stdin, config, paths);
    return await started(call, stdin, config, paths, self);
  } catch (e) {
    // After prepare, a hook failure must not take the guest down: log and go on.
    call.log('err', phase, isVirtPinError(e) ? `${e.code} ${e.message}` : (e as Error).message);
    return phase === 'prepare/begin' && config.enforce ? call.refuse : EXIT_OK;
  }
}

function prepare(call: Call, xml: string, config: HookConfig, paths: HostPaths): number {
  const { name } = call;
  let host;
  try {
    host = hostFactsFromSysfs(paths.sys.replace(/\/sys$/, '') || '/');
  } catch {
    host = undefined; // host-aware checks are a bonus; never fail a start over reading sysfs
  }
  const diagnostics = checkDocument(xml, { fileName: name, ...(config.libvirtVersion ? { libvirtVersion: config.libvirtVersion } : {}), ...(host ? { host } : {}) });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  for (const d of diagnostics.filter((x) => x.severity !== 'info')) call.log(d.severity === 'error' ? 'err' : 'warning', 'prepare/begin', `${d.severity} ${d.code} line ${d.line}: ${d.message}`);
  if (errors.length && config.enforce) {
    call.log('err', 'prepare/begin', `refusing to start: ${errors.length} error(s) (enforce is on in the virt-pin configuration)`);
    return call.refuse;
  }
  return EXIT_OK;
}

async function started(call: Call, xml: string, config: HookConfig, paths: HostPaths, self: URL | string): Promise<number> {
  const { name } = call;
  // PCI devices are read when the plan asks for one (the domain's own), not all of the host's.
  const host = hostFactsFromSysfsOnDemand(paths.sys.replace(/\/sys$/, '') || '/');
  // 'native' is the plan's own default, so only a non-native configuration overrides the metadata's default.
  const plan = planDocument(xml, { fileName: name, host, ...(config.libvirtVersion ? { libvirtVersion: config.libvirtVersion } : {}), irqOverrides: config.irqPolicy === 'native' ? {} : { default: config.irqPolicy }, threads: config.threads });
  const irqActions = plan.actions.filter((a) => a.kind === 'irq-affinity');
  if (!config.threads && irqActions.length === 0) {
    markCodeCachePartial(); // this run never reached apply: its code cache must not stand for started begin's
    return EXIT_OK; // nothing asked: leave the host alone
  }
  // The wrapper kills this call at the budget; past half of it, do not start writing (a write cut short is
  // rolled back only at stop). Planning itself is bounded by the input limits.
  const spent = process.uptime();
  if (spent > call.budgetSeconds / 2) {
    call.log('err', 'started/begin', `planning took ${spent.toFixed(1)} s, over half the ${call.budgetSeconds} s budget; not applying (libvirt's own pinning stays)`);
    return EXIT_OK;
  }
  const report = await apply(plan, { domain: name, paths, stateDir: config.stateDir });
  call.log(report.ok ? 'notice' : 'err', 'started/begin', report.ok ? `applied: ${report.changed} target(s) changed` : `failed and rolled back: ${report.error?.code} ${report.error?.message}`);
  if (report.ok && irqActions.length && config.waitIrqsSeconds > 0) spawnLateIrqWaiter(name, plan, config, self);
  return EXIT_OK;
}

/**
 * How long restore at stop waits for the late-IRQ waiter's round in progress
 * (one apply of IRQ writes, milliseconds in practice) before it gives up
 * with APPLY_LOCKED (docs/security.md, "Bounds").
 */
const STOP_LOCK_WAIT_MS = 5000;

/** A detached, bounded process that re-applies the plan as MSI-X vectors appear; libvirt does not wait for it. */
function spawnLateIrqWaiter(name: string, plan: RuntimePlan, config: HookConfig, self: URL | string): void {
  // Written like a state file (O_EXCL temp, 0600, rename) under the same directory checks; the waiter re-checks it against the schema.
  const planFile = writeLatePlan(config.stateDir, name, { ...plan, domain: { ...plan.domain, name } });
  const child = spawn(process.execPath, [typeof self === 'string' ? self : fileURLToPath(self), 'hook', 'late-irqs', name, planFile, String(config.waitIrqsSeconds), config.stateDir], {
    detached: true,
    stdio: 'ignore',
    env: process.env,
  });
  child.unref();
}

/** `hook late-irqs`: the detached waiter started by `started begin`. */
export async function lateIrqs(argv: string[]): Promise<number> {
  const [name, planFile, seconds, stateDir] = argv;
  if (!name || !planFile || !seconds || !stateDir) throw new UsageError('late-irqs NAME PLAN SECONDS STATE_DIR');
  // The plan comes only from NAME's own plan file, checked (owner, type, size, schema, domain name): never from a path given here.
  if (planFile !== latePlanPath(stateDir, name)) throw new UsageError(`late-irqs: ${planFile} is not the plan file of '${name}'`);
  const limit = Math.min(600, Number(seconds));
  if (!(limit > 0)) return EXIT_OK;
  let id: string | undefined;
  try {
    const read = readLatePlan(stateDir, name);
    if (!read) return EXIT_OK; // withdrawn already: the domain stopped
    const { plan } = read;
    id = read.id;
    // Until the deadline, the guest's exit, every device has its vectors and nothing changed for 10 s, or restore withdrew the plan.
    await watchPlan(plan, {
      domain: name,
      paths: hostPaths(),
      stateDir,
      untilMs: Date.now() + limit * 1000,
      settleMs: 10_000,
      whileLocked: () => {
        if (!latePlanPresent(stateDir, name, id)) throw withdrawnError(name);
      },
    });
  } catch {
    // the guest is gone (no pidfile / process), or the plan file was refused: nothing to keep in force
  } finally {
    try {
      if (id !== undefined) withdrawLatePlan(stateDir, name, id); // never left behind; a newer waiter's plan stays
    } catch {
      // unwritable now: the next run of this domain replaces it
    }
  }
  return EXIT_OK;
}

/**
 * The configuration, never silently: a file that cannot be read or has a
 * typo is a warning line at every call that uses it, and the call goes on
 * with the defaults — but with "enforce" as it was when the wrapper was
 * installed (the last setting install could read). A valid file whose
 * enforce differs from the wrapper's is a warning too.
 */
function loadConfigOrDefaults(call: Call, phase: string): HookConfig {
  const wrapperEnforce = process.env.VIRT_PIN_HOOK_WRAPPER === '1' ? process.env.VIRT_PIN_HOOK_ENFORCE === '1' : undefined;
  try {
    const config = loadHookConfig();
    if (wrapperEnforce !== undefined && wrapperEnforce !== config.enforce) {
      call.log('warning', phase, `enforce is ${config.enforce ? 'on' : 'off'} in the configuration but was ${wrapperEnforce ? 'on' : 'off'} when the hook was installed; run 'virt-pin hook install' again so the hook refuses (or not) as configured when its CLI cannot run`);
    }
    return config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const enforce = wrapperEnforce ?? DEFAULT_CONFIG.enforce;
    const source = wrapperEnforce === undefined ? 'the default' : 'as installed';
    call.log('warning', phase, `configuration error: ${e.message}; using the defaults with enforce ${enforce ? 'on' : 'off'} (${source})`);
    return { ...DEFAULT_CONFIG, enforce };
  }
}

function drainStdin(): void {
  const sink = Buffer.allocUnsafe(64 * 1024);
  try {
    while (readSync(0, sink, 0, sink.length, null) > 0);
  } catch {
    // closed or not readable: nothing left to drain
  }
}

/**
 * stdin to stdout unchanged: bytes, not text, through one reused 64 KiB
 * buffer (memory stays at Node's own footprint whatever the size). Blocking
 * reads and writes; a descriptor left non-blocking by whoever opened it
 * answers EAGAIN, which waits a millisecond and tries again.
 */
function passThrough(): void {
  const buf = Buffer.allocUnsafe(64 * 1024);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const retry = (e: unknown): boolean => {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
    Atomics.wait(pause, 0, 0, 1);
    return true;
  };
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (retry(e)) continue;
      return; // EOF-like errors: nothing more to copy
    }
    if (n === 0) return;
    for (let off = 0; off < n; ) {
      try {
        off += writeSync(1, buf, off, n - off);
      } catch (e) {
        if (retry(e)) continue;
        drainStdin(); // libvirt stopped reading (EPIPE): take the rest of its input and end
        return;
      }
    }
  }
}
