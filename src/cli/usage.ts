import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Usage errors: the user asked for something the CLI cannot do. They exit
 * with status 2 and print the command's usage line.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit statuses shared by every command. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;
/** What parseCommandArgs returns for an option table. */
export type ParsedCommandArgs<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: T }>>;

/** A command's argv parsed against its option table; what node:util's parser refuses becomes a UsageError. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T): ParsedCommandArgs<T> {
  try {
    return parseArgs({ args: argv, allowPositionals: true as const, options });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
