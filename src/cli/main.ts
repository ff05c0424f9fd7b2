/**
 * `virt-pin` command-line entry. Parses the command name, then loads only
 * the command that runs (hooks care about cold start).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { CheckWorkerData } from './commands/check-pool.js';
import { isVirtPinError } from '../errors.js';
import { InputError } from './domain-input.js';
import { IoError } from './io.js';
import { printableLines } from './terminal-text.js';
import { EXIT_USAGE, UsageError } from './usage.js';
import { version } from './version.js';

interface CommandModule {
  /** `selfUrl` is this bundle's URL, which commands use as a worker entry. */
  run(argv: string[], selfUrl: URL): Promise<number> | number;
  usage: string;
}

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  check: { summary: 'validate domain XML as libvirt would, plus expert lints', load: () => import('./commands/check.js') },
  resolve: { summary: 'show where every vCPU, emulator and IOThread thread may run, and why', load: () => import('./commands/resolve.js') },
  show: { summary: 'draw the pin map: host CPUs by node, core and sibling, and the guest threads on each', load: () => import('./commands/show.js') },
  pin: { summary: 'write <cputune> (and NUMA settings) for a host from a policy, checked before it is written', load: () => import('./commands/pin.js') },
  define: { summary: 'check, optionally pin, then virsh define (--validate); refuses errors unless --force', load: () => import('./commands/define.js') },
  export: { summary: 'print the pinning as qemu-pinning -vcpu options or virsh commands', load: () => import('./commands/export.js') },
  import: { summary: 'turn qemu-pinning -vcpu options into <vcpupin> elements', load: () => import('./commands/import.js') },
  plan: { summary: 'the runtime plan: thread and device IRQ affinity as JSON, a table or a shell script', load: () => import('./commands/plan.js') },
  apply: { summary: 'apply a plan to a running QEMU atomically (snapshot, write, read back, roll back)', load: () => import('./commands/apply.js') },
  restore: { summary: 'put back the affinities apply recorded for a domain', load: () => import('./commands/restore.js') },
  hook: { summary: "libvirt's qemu hook: install it, or run as it (check at prepare, IRQs at start, restore at stop)", load: () => import('./commands/hook.js') },
  normalize: { summary: 'rewrite the affinity elements as libvirt would store them (--diff to preview)', load: () => import('./commands/normalize.js') },
};

function mainUsage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: virt-pin <command> [options] [FILE…]',
    '',
    'Resolve libvirt domain CPU affinity exactly as libvirt does.',
    '',
    'commands:',
    ...lines,
    '',
    'Run `virt-pin <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainUsage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`virt-pin ${version()}\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`virt-pin: unknown command '${name}'\n\n${mainUsage()}`);
    return EXIT_USAGE;
  }
  const mod = await entry.load();
  try {
    return await mod.run(rest, new URL(import.meta.url));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`virt-pin ${name}: ${printableLines(e.message)}\n\n${mod.usage}`);
      return EXIT_USAGE;
    }
    if (e instanceof InputError) {
      process.stderr.write(`${printableLines(e.message)}\n`);
      return 1;
    }
    if (e instanceof IoError) {
      process.stderr.write(`virt-pin ${name}: ${printableLines(e.message)}\n`);
      return EXIT_USAGE;
    }
    // A typed error no command turned into a message of its own is still bad input, not a crash: one line, exit 2.
    if (isVirtPinError(e)) {
      process.stderr.write(`virt-pin ${name}: error ${e.code} ${printableLines(e.message)}${e.hint ? `\n  hint: ${printableLines(e.hint)}` : ''}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

async function serveAsCheckWorker(data: CheckWorkerData): Promise<void> {
  const [{ serveCheckRequests }, { loadHost }] = await Promise.all([import('./commands/check-pool.js'), import('./host-option.js')]);
  const host = loadHost(data.options.hostSpec);
  const { libvirtVersion } = data.options;
  serveCheckRequests(parentPort!, data, { driver: data.options.driver, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}) });
}

if (!isMainThread && (workerData as Partial<CheckWorkerData> | undefined)?.role === 'check-worker') {
  void serveAsCheckWorker(workerData as CheckWorkerData);
} else {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`virt-pin: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
