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
 */
import { spawn } from 'node:child_process';
import { readFileSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apply, latePlanPath, latePlanPresent, pathsUnder, readLatePlan, restore, watchPlan, withdrawLatePlan, withdrawnError, writeLatePlan, LIVE_PATHS, type HostPaths } from '../../apply/index.js';
import { isVirtPinError } from '../../errors.js';
import { hostFactsFromSysfs } from '../../host/index.js';
import { planDocument, type RuntimePlan } from '../../plan/index.js';
import { checkDocument } from '../../validate/index.js';
import { ConfigError, loadHookConfig, type HookConfig } from '../hook/config.js';
import { HookInstallError, installHook, uninstallHook } from '../hook/install.js';
import { IoError, readInput } from '../io.js';
import { EXIT_OK, UsageError } from '../usage.js';

export const usage = `usage: virt-pin hook install [--dir DIR]
       virt-pin hook uninstall [--dir DIR]
       virt-pin hook exec NAME OPERATION SUB-OPERATION [EXTRA]   (run by libvirt)

install   put an executable 'virt-pin' into DIR/qemu.d (DIR default
          /etc/libvirt/hooks), atomically; refuses to overwrite a file it
          did not install; says whether libvirtd must be restarted
uninstall remove it again (only if virt-pin installed it)
exec      the hook itself: prepare/begin checks (and with "enforce" refuses),
          started/begin applies IRQ affinity, release/end and stopped/end
          restore, reconnect/begin keeps state; other operations do nothing

configuration: /etc/virt-pin/config.json (or $VIRT_PIN_CONFIG), see
schemas/config.schema.json. $VIRT_PIN_HOST_ROOT points /proc, /sys and /run
at another root (tests, containers).
`;

const PASS_THROUGH = new Set(['migrate', 'restore', 'save']);

export async function run(argv: string[], selfUrl: URL): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usage);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub === 'install' || sub === 'uninstall') return manage(sub, rest, selfUrl);
  if (sub === 'exec') return execHook(rest, selfUrl);
  if (sub === 'late-irqs') return lateIrqs(rest);
  throw new UsageError(`unknown hook subcommand '${sub}'`);
}

function manage(sub: 'install' | 'uninstall', argv: string[], selfUrl: URL): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { dir: { type: 'string' } } }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const dir = values.dir ?? '/etc/libvirt/hooks';
  try {
    if (sub === 'install') {
      const r = installHook(dir, process.execPath, selfUrl.pathname);
      process.stdout.write(`${r.action}: ${r.path}\n`);
      if (r.restartNeeded) process.stdout.write('libvirt looks for hooks when it starts: restart libvirtd (or virtqemud) once so it runs this one\n');
    } else {
      const r = uninstallHook(dir);
      process.stdout.write(r.removed ? `removed: ${r.path}\n` : `not installed: ${r.path}\n`);
    }
  } catch (e) {
    if (e instanceof HookInstallError) throw new IoError(e.message);
    throw e;
  }
  return EXIT_OK;
}

function log(name: string, op: string, message: string): void {
  process.stderr.write(`virt-pin hook: ${name} ${op}: ${message}\n`);
}

function hostPaths(): HostPaths {
  const root = process.env.VIRT_PIN_HOST_ROOT;
  return root ? pathsUnder(root) : LIVE_PATHS;
}

async function execHook(argv: string[], selfUrl: URL): Promise<number> {
  const [name, op, subop] = argv;
  if (!name || !op || !subop) throw new UsageError('exec takes NAME OPERATION SUB-OPERATION [EXTRA], as libvirt passes them');
  if (!/^[^/\0]{1,255}$/.test(name) || name === '.' || name === '..') {
    log(name ?? '?', op, 'refusing a domain name that is not a plain file name');
    return 1;
  }
  if (PASS_THROUGH.has(op)) {
    // libvirt reads the (possibly changed) XML back: copy it through whatever its size.
    process.stdout.write(readStdin());
    return EXIT_OK;
  }
  const phase = `${op}/${subop}`;
  // Capped like every other input (docs/security.md): an oversized document is never held whole.
  const input = readInput('-');
  if (input.oversize) {
    drainStdin(); // libvirt writes the whole document; read it to the end, keeping none of it
    log(name, phase, `the domain XML on stdin is over ${input.oversize.limit} bytes; virt-pin leaves this domain alone`);
    return phase === 'prepare/begin' && loadConfigOrDefaults(name, phase).enforce ? 1 : EXIT_OK;
  }
  const stdin = Buffer.from(input.bytes).toString('utf8');
  const config = loadConfigOrDefaults(name, phase);
  const paths = hostPaths();
  try {
    switch (phase) {
      case 'prepare/begin':
        return prepare(name, stdin, config, paths);
      case 'started/begin':
        return await started(name, stdin, config, paths, selfUrl);
      case 'release/end':
      case 'stopped/end': {
        // Withdraw the late-IRQ waiter's plan first; then wait (bounded) for a round it may be in, so its pins are restored too.
        const waiter = withdrawLatePlan(config.stateDir, name);
        const r = await restore(name, { paths, stateDir: config.stateDir, ...(waiter ? { lockWaitMs: STOP_LOCK_WAIT_MS } : {}) });
        // Threads 'gone' are the normal case at stop (QEMU exited); what is 'reused' (no longer what was recorded) is worth a word.
        const reused = r.results.filter((x) => x.status === 'reused');
        if (r.found) log(name, phase, `${r.ok ? 'restored' : 'restore incomplete'}: ${r.results.length} target(s)${reused.length ? `, ${reused.length} left alone (${reused.map((x) => `${x.key}: ${x.message ?? x.status}`).slice(0, 8).join('; ')})` : ''}`);
        return EXIT_OK;
      }
      default:
        return EXIT_OK; // reconnect/begin and everything else: nothing to do
    }
  } catch (e) {
    // After prepare, a hook failure must not take the guest down: log and go on.
    log(name, phase, isVirtPinError(e) ? `${e.code} ${e.message}` : (e as Error).message);
    return phase === 'prepare/begin' && config.enforce ? 1 : EXIT_OK;
  }
}

function prepare(name: string, xml: string, config: HookConfig, paths: HostPaths): number {
  let host;
  try {
    host = hostFactsFromSysfs(paths.sys.replace(/\/sys$/, '') || '/');
  } catch {
    host = undefined; // host-aware checks are a bonus; never fail a start over reading sysfs
  }
  const diagnostics = checkDocument(xml, { fileName: name, ...(host ? { host } : {}) });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  for (const d of diagnostics.filter((x) => x.severity !== 'info')) log(name, 'prepare/begin', `${d.severity} ${d.code} line ${d.line}: ${d.message}`);
  if (errors.length && config.enforce) {
    log(name, 'prepare/begin', `refusing to start: ${errors.length} error(s) (enforce is on in the virt-pin configuration)`);
    return 1;
  }
  return EXIT_OK;
}

async function started(name: string, xml: string, config: HookConfig, paths: HostPaths, selfUrl: URL): Promise<number> {
  const host = hostFactsFromSysfs(paths.sys.replace(/\/sys$/, '') || '/');
  // 'native' is the plan's own default, so only a non-native configuration overrides the metadata's default.
  const plan = planDocument(xml, { fileName: name, host, irqOverrides: config.irqPolicy === 'native' ? {} : { default: config.irqPolicy }, threads: config.threads });
  const irqActions = plan.actions.filter((a) => a.kind === 'irq-affinity');
  if (!config.threads && irqActions.length === 0) return EXIT_OK; // nothing asked: leave the host alone
  const report = await apply(plan, { domain: name, paths, stateDir: config.stateDir });
  log(name, 'started/begin', report.ok ? `applied: ${report.changed} target(s) changed` : `failed and rolled back: ${report.error?.code} ${report.error?.message}`);
  if (report.ok && irqActions.length && config.waitIrqsSeconds > 0) spawnLateIrqWaiter(name, plan, config, selfUrl);
  return EXIT_OK;
}

/**
 * How long restore at stop waits for the late-IRQ waiter's round in progress
 * (one apply of IRQ writes, milliseconds in practice) before it gives up
 * with APPLY_LOCKED (docs/security.md, "Bounds").
 */
const STOP_LOCK_WAIT_MS = 5000;

/** A detached, bounded process that re-applies the plan as MSI-X vectors appear; libvirt does not wait for it. */
function spawnLateIrqWaiter(name: string, plan: RuntimePlan, config: HookConfig, selfUrl: URL): void {
  // Written like a state file (O_EXCL temp, 0600, rename) under the same directory checks; the waiter re-checks it against the schema.
  const planFile = writeLatePlan(config.stateDir, name, { ...plan, domain: { ...plan.domain, name } });
  const child = spawn(process.execPath, [selfUrl.pathname, 'hook', 'late-irqs', name, planFile, String(config.waitIrqsSeconds), config.stateDir], {
    detached: true,
    stdio: 'ignore',
    env: process.env,
  });
  child.unref();
}

async function lateIrqs(argv: string[]): Promise<number> {
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

function loadConfigOrDefaults(name: string, phase: string): HookConfig {
  try {
    return loadHookConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    log(name, phase, `${e.message}; using defaults`);
    return loadHookConfig('/nonexistent/virt-pin/config.json');
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

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}
