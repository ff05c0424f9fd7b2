/**
 * `virt-pin` command-line entry. Parses the command name, then loads only
 * the command that runs (hooks care about cold start). Bundled as CommonJS
 * into dist/cli-main.cjs and started by dist/cli.cjs (src/cli/cached-entry.ts)
 * from a V8 code cache; dist/cli.js, the package's bin, only requires that.
 */
import { pathToFileURL } from 'node:url';
import { isVirtPinError } from '../errors.js';
import { InputError } from './domain-input.js';
import { IoError } from './io.js';
import { printable, printableLines } from './terminal-text.js';
import { EXIT_USAGE, UsageError } from './usage.js';
import { COMMANDS, commandSpec, renderHelp, renderMainHelp } from './command-table.js';
import { closest } from './suggest.js';
import { version } from './version.js';

interface CommandModule {
  /** `selfUrl` is this bundle's URL: commands find the entries beside it (check-worker.cjs) or re-run it. */
  run(argv: string[], selfUrl: URL): Promise<number> | number;
}

/** How to load each command of the table (src/cli/command-table.ts). */
const loaders: Record<string, () => Promise<CommandModule>> = {
  check: () => import('./commands/check.js'),
  resolve: () => import('./commands/resolve.js'),
  show: () => import('./commands/show.js'),
  pin: () => import('./commands/pin.js'),
  define: () => import('./commands/define.js'),
  export: () => import('./commands/export.js'),
  import: () => import('./commands/import.js'),
  plan: () => import('./commands/plan.js'),
  apply: () => import('./commands/apply.js'),
  restore: () => import('./commands/restore.js'),
  hook: () => import('./commands/hook.js'),
  normalize: () => import('./commands/normalize.js'),
  status: () => import('./commands/status.js'),
  completion: () => import('./commands/completion.js'),
};

const commandNames = (): string[] => COMMANDS.map((c) => c.name);

function unknownCommand(name: string): number {
  const guess = closest(name, commandNames());
  process.stderr.write(`virt-pin: unknown command '${printable(name)}'${guess ? `; did you mean '${guess}'?` : ''} (virt-pin --help lists the commands)\n`);
  return EXIT_USAGE;
}

/**
 * Whether argv asks for the command's help. The hook's exec operands come
 * from libvirt (a domain may be called -h), so there only a first -h/--help
 * or one after install/uninstall counts.
 */
function wantsHelp(name: string, argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const own = end === -1 ? argv : argv.slice(0, end);
  if (name === 'hook') return own[0] === '--help' || own[0] === '-h' || ((own[0] === 'install' || own[0] === 'uninstall') && own.some((a) => a === '--help' || a === '-h'));
  return own.some((a) => a === '--help' || a === '-h');
}

/**
 * Run the CLI. `selfPath` is the file that starts it (dist/cli.cjs, which
 * loads this bundle from its code cache); `hook install` and commands that
 * re-run the CLI use it.
 */
export async function main(argv: readonly string[], selfPath: string): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(renderMainHelp());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`virt-pin ${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    if (rest[0] === '--help' || rest[0] === '-h') {
      process.stdout.write(renderHelp(commandSpec('help')!));
      return 0;
    }
    if (rest.length === 0) {
      process.stdout.write(renderMainHelp());
      return 0;
    }
    const spec = commandSpec(rest[0]!);
    if (!spec || rest.length > 1) return rest.length > 1 ? usageError('help', 'help takes one command name') : unknownCommand(rest[0]!);
    process.stdout.write(renderHelp(spec));
    return 0;
  }
  if (name.startsWith('-')) return usageError(undefined, `unknown option '${name}'; options go after the command`);
  const spec = commandSpec(name);
  const load = loaders[name];
  if (!spec || !load) return unknownCommand(name);
  if (wantsHelp(name, rest)) {
    process.stdout.write(renderHelp(spec));
    return 0;
  }
  const mod = await load();
  try {
    return await mod.run(rest, pathToFileURL(selfPath));
  } catch (e) {
    if (e instanceof UsageError) return usageError(name, e.message);
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

/** One line: what is wrong, a suggestion when there is one, where to look. */
function usageError(name: string | undefined, message: string): number {
  const who = name === undefined ? 'virt-pin' : `virt-pin ${name}`;
  const text = cleanParserMessage(name, message);
  process.stderr.write(`${who}: ${printable(text)} (see '${who} --help')\n`);
  return EXIT_USAGE;
}

/**
 * node:util parseArgs speaks in multi-line sentences with unbalanced
 * quotes; commands pass its message on. Say the same in one line, with the
 * closest option of the command when one was mistyped.
 */
function cleanParserMessage(name: string | undefined, message: string): string {
  const options = (name ? (commandSpec(name)?.options ?? []) : []).flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);
  let m = /^Unknown option '([^']+)'/.exec(message);
  if (m) {
    const option = m[1]!;
    const guess = option.startsWith('--') ? closest(option, options.filter((o) => o.startsWith('--'))) : undefined;
    return `unknown option '${option}'${guess ? `; did you mean '${guess}'?` : ''}`;
  }
  m = /^Option '(-[^ ']+)(?: <value>)?' argument missing/.exec(message);
  if (m) return `option '${m[1]}' needs a value`;
  m = /^Option '(-[^ ']+)' does not take an argument/.exec(message);
  if (m) return `option '${m[1]}' takes no value`;
  m = /^Option '(-[^ ']+)' argument is ambiguous/.exec(message);
  if (m) return `option '${m[1]}' needs a value; for a value that starts with '-', write ${m[1]}=VALUE`;
  m = /^Unexpected argument '([^']*)'/.exec(message);
  if (m) return `unexpected operand '${m[1]}'`;
  // A command's own "unknown --format 'jsn'" / "--color takes …, not 'x'": suggest the closest of the option's values.
  m = /(?:unknown --([a-z][a-z-]*) '([^']*)'|--([a-z][a-z-]*) takes .*, not '([^']*)')/.exec(message);
  const option = m && name ? commandSpec(name)?.options.find((o) => o.long === (m![1] ?? m![3])) : undefined;
  const guess = option?.choices ? closest(m![2] ?? m![4]!, option.choices) : undefined;
  return `${message.split('\n').join(' ')}${guess ? `; did you mean '${guess}'?` : ''}`;
}
