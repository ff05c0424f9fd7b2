/**
 * `virt-pin completion bash|zsh|fish` — print the shell's completion
 * script, generated from the command table.
 */
import { bashCompletion, fishCompletion, zshCompletion } from '../completions.js';
import { UsageError } from '../usage.js';

export function run(argv: string[]): number {
  const [shell, ...rest] = argv;
  if (rest.length) throw new UsageError(`unexpected operand '${rest[0]}'`);
  const script = shell === 'bash' ? bashCompletion() : shell === 'zsh' ? zshCompletion() : shell === 'fish' ? fishCompletion() : undefined;
  if (script === undefined) throw new UsageError(shell === undefined ? 'name a shell: bash, zsh or fish' : `no completion for '${shell}': bash, zsh or fish`);
  process.stdout.write(script);
  return 0;
}
