/**
 * The hook's own entry: `hook exec` and `hook late-irqs` and nothing else,
 * bundled as CommonJS into dist/hook-main.cjs and started by the code-cache
 * loader dist/hook.cjs (src/cli/cached-entry.ts). libvirt waits for every
 * hook call, so this entry carries only what those two paths use: no other
 * command, no `hook install`, and the built-ins they rarely need
 * (child_process for the late-IRQ waiter) are loaded on first use (see
 * `lazyBuiltins` in scripts/build.mjs).
 *
 * Arguments are those of `virt-pin hook …` with or without the leading
 * `hook`: `hook.cjs exec NAME OPERATION SUB-OPERATION [EXTRA]`. The
 * late-IRQ waiter re-runs this file as `hook.cjs hook late-irqs …`.
 */
import { execHook, lateIrqs, usage } from './commands/hook.js';
import { InputError } from './domain-input.js';
import { IoError } from './io.js';
import { EXIT_USAGE, UsageError } from './usage.js';

/** Run the hook; `selfPath` is the file to re-run for the late-IRQ waiter (the loader, not this body). */
export async function runHookEntry(argv: readonly string[], selfPath: string): Promise<number> {
  const [first, ...rest] = argv[0] === 'hook' ? argv.slice(1) : argv;
  try {
    if (first === 'exec') return await execHook(rest, selfPath);
    if (first === 'late-irqs') return await lateIrqs(rest);
    throw new UsageError(first === undefined ? 'no subcommand' : `this entry runs only 'exec' and 'late-irqs', not '${first}'; use virt-pin hook ${first}`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`virt-pin hook: ${e.message}\n\n${usage}`);
      return EXIT_USAGE;
    }
    if (e instanceof InputError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof IoError) {
      process.stderr.write(`virt-pin hook: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}
