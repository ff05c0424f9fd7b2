/**
 * `virt-pin pin FILE --host SRC [policy]` — write <cputune> (and, when the
 * guest spans nodes, <numatune> and guest cells) for a host, then prove it:
 * the result is resolved back and must give exactly the planned masks, and
 * must pass check without errors.
 */
import { pinDomain } from '../../policy/pin.js';
import { colorDiff, useColor } from '../color.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { libvirtVersionArg } from '../libvirt-version-arg.js';
import { POLICY_OPTIONS, POLICY_USAGE, policyFrom } from '../pin-policy.js';
import { writeFileAtomic } from '../write-file.js';
import { commandSpec, renderHelp } from '../command-table.js';
import { EXIT_OK, UsageError, parseCommandArgs } from '../usage.js';
import { describeHolders, loadOthers } from '../pin-others.js';
import { isVirtPinError, VirtPinError } from '../../errors.js';
import { readDomain } from '../../domain/index.js';
import { parseDocument } from '../../xml/index.js';

/** Parser options; test/cli/grammar.test.ts keeps them equal to the command table's. */
export const OPTIONS = {
  host: { type: 'string' },
  libvirt: { type: 'string' },
  ...POLICY_OPTIONS,
  output: { type: 'string', short: 'o' },
  'in-place': { type: 'boolean' },
  'no-backup': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  explain: { type: 'boolean' },
  others: { type: 'string', multiple: true },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const usage = renderHelp(commandSpec('pin')!);

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'pin takes exactly one file');
  if (values.host === undefined) throw new UsageError('pin needs --host: the layout depends on the host topology');
  if (values['in-place'] && (values.output !== undefined || positionals[0] === '-')) throw new UsageError('--in-place rewrites a named FILE; it cannot be combined with -o or -');
  const policy = policyFrom(values);
  const libvirtVersion = libvirtVersionArg(values.libvirt);
  const host = loadHost(values.host)!;
  const input = readDomainInput(positionals[0]!);

  // --others: CPUs other domains hold as dedicated are kept out of the placement, as isolated CPUs are.
  let planHost = host;
  let others: Awaited<ReturnType<typeof loadOthers>> | undefined;
  if (values.others?.length) {
    const self = withInputErrors(input.name, () => readDomain(parseDocument(input.text, { fileName: input.name })).name?.value);
    others = await loadOthers(values.others, host, self);
    if (!others.taken.isEmpty()) {
      planHost = { ...host, isolatedCpus: host.isolatedCpus.union(others.taken) };
      process.stderr.write(`virt-pin pin: avoiding CPUs ${others.taken}, dedicated to ${describeHolders(others)}\n`);
    }
  }
  const { text: out, diff, placement } = withInputErrors(input.name, () => {
    try {
      return pinDomain(input.text, planHost, policy, { fileName: input.name, ...(libvirtVersion ? { libvirtVersion } : {}) });
    } catch (e) {
      if (others && !others.taken.isEmpty() && isVirtPinError(e) && e.code === 'POLICY_DOES_NOT_FIT') {
        throw new VirtPinError(e.code, `${e.message}; CPUs ${others.taken} are dedicated to other domains: ${describeHolders(others)}`, e.hint ? { hint: e.hint } : {});
      }
      throw e;
    }
  });

  if (values.explain) for (const line of placement.explanation) process.stderr.write(`${line}\n`);
  if (values['dry-run']) {
    process.stdout.write(colorDiff(diff, useColor(values.color, process.stdout)));
    return EXIT_OK;
  }
  if (values['in-place']) {
    const file = positionals[0]!;
    if (!values['no-backup']) writeFileAtomic(`${file}.bak`, input.text);
    writeFileAtomic(file, out);
  } else if (values.output !== undefined) writeFileAtomic(values.output, out);
  else process.stdout.write(out);
  return EXIT_OK;
}

/** Kept here too: tests import the planner's view of a guest from the pin command. */
export { guestOf } from '../../policy/pin.js';

