/**
 * `virt-pin pin FILE --host SRC [policy]` — write <cputune> (and, when the
 * guest spans nodes, <numatune> and guest cells) for a host, then prove it:
 * the result is resolved back and must give exactly the planned masks, and
 * must pass check without errors.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { definitionOf, readDomain } from '../../domain/index.js';
import { VirtPinError } from '../../errors.js';
import { validate as validatePolicyJson } from '../../generated/policy.validate.js';
import { planPlacement } from '../../policy/planner.js';
import type { PinPolicy, PinPlacement, PlannerGuest } from '../../policy/types.js';
import { writePlacement } from '../../policy/write.js';
import { resolve } from '../../resolve/index.js';
import { checkDocument } from '../../validate/index.js';
import { parseDocument, serializeDocument, type XmlDocument } from '../../xml/index.js';
import { unifiedDiff } from '../diff.js';
import { readDomainInput, withInputErrors } from '../domain-input.js';
import { loadHost } from '../host-option.js';
import { IoError } from '../io.js';
import { writeFileAtomic } from '../write-file.js';
import { EXIT_OK, UsageError } from '../usage.js';

export const usage = `usage: virt-pin pin [options] --host SRC FILE|-

Write the pinning for a host: <vcpupin>/<emulatorpin>/<iothreadpin> (and
<vcpusched> for real-time), <numatune>, and guest NUMA cells when the guest
spans host nodes. Only those elements change; the result is resolved back
and checked before it is written.

policy (defaults in brackets; or --policy FILE.json, schemas/policy.schema.json):
  --cpus SET          host CPUs the guest may use [online − isolated − reserve]
  --reserve SET       host CPUs kept for the host [first core of each node]
  --vcpu MODE         dedicated | shared [dedicated]
  --threads MODE      prefer | isolate | require (SMT, like Nova) [prefer]
  --per-core          one vCPU per physical core, siblings idle
  --emulator MODE     housekeeping | share | isolate | a cpuset
                      [housekeeping for dedicated vCPUs, else share]
  --numa MODE         strict | preferred | none [strict]
  --hostdev MODE      local | ignore: prefer the devices' NUMA node [local]
  --realtime S:P[:V]  vcpusched scheduler fifo|rr, priority, vCPUs [all but 0]
  --topology MODE     keep | match-host: write <cpu><topology> to match

output:
  -o, --output F      write to F (atomically)
  --in-place          rewrite FILE atomically, keeping FILE.bak
  --no-backup         with --in-place: no FILE.bak
  --dry-run           print the diff only
  --explain           print the planner's decisions on stderr
  --host SRC          capabilities XML, sysfs[:ROOT] or local (required)

examples:
  virt-pin pin --host local vm.xml | virsh define /dev/stdin
  virt-pin pin --host local --emulator isolate --dry-run vm.xml
  virt-pin pin --host caps.xml --realtime fifo:1 --in-place vm.xml
`;

export function run(argv: string[]): number {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(usage);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name one domain XML file (or - for standard input)' : 'pin takes exactly one file');
  if (values.host === undefined) throw new UsageError('pin needs --host: the layout depends on the host topology');
  if (values['in-place'] && (values.output !== undefined || positionals[0] === '-')) throw new UsageError('--in-place rewrites a named FILE; it cannot be combined with -o or -');
  const policy = policyFrom(values);
  const host = loadHost(values.host)!;
  const input = readDomainInput(positionals[0]!);

  const { out, placement } = withInputErrors(input.name, () => {
    const doc = parseDocument(input.text, { fileName: input.name });
    const before = checkDocument(input.text, { fileName: input.name }).filter((d) => d.severity === 'error');
    if (before.length) {
      throw new VirtPinError('PIN_INPUT_INVALID', `the domain has ${before.length} error(s) libvirt would refuse; first: ${before[0]!.code} ${before[0]!.message}`, {
        location: { line: before[0]!.line, column: before[0]!.column, offset: 0 },
        hint: 'run virt-pin check and fix them first',
      });
    }
    const placement = planPlacement(guestOf(doc), host, policy);
    writePlacement(doc, placement);
    const out = serializeDocument(doc);
    verify(out, placement, host, policy.realtime !== undefined || policy.emulator === 'share');
    return { out, placement };
  });

  if (values.explain) for (const line of placement.explanation) process.stderr.write(`${line}\n`);
  if (values['dry-run']) {
    process.stdout.write(unifiedDiff(input.text, out, input.name, `${input.name} (pinned)`));
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

/** The guest shape the planner needs, from the domain as libvirt reads it. */
export function guestOf(doc: XmlDocument): PlannerGuest {
  const model = readDomain(doc);
  const def = definitionOf(model, { driver: 'qemu' });
  const memText = doc.root.element('memory');
  const unit = memText?.attr('unit') ?? 'KiB';
  const scale: Record<string, number> = { KiB: 1, k: 1, KB: 1000 / 1024, MiB: 1024, M: 1024, MB: 1e6 / 1024, GiB: 1024 ** 2, G: 1024 ** 2, GB: 1e9 / 1024, b: 1 / 1024, bytes: 1 / 1024 };
  const memoryKiB = memText && /^\s*\d+\s*$/.test(memText.text()) ? Math.round(Number(memText.text()) * (scale[unit] ?? 1)) : undefined;
  return {
    vcpus: def.maxVcpus,
    threadsPerCore: model.cpu?.topology?.threads?.value ?? 1,
    iothreadIds: def.iothreads.map((t) => t.id),
    hostdevs: def.hostdevs.flatMap((h) => (h.pciAddress ? [h.pciAddress] : [])),
    ...(memoryKiB !== undefined ? { memoryKiB } : {}),
  };
}

/** Resolve the written XML back and insist it gives exactly the planned masks and no errors. */
function verify(out: string, placement: PinPlacement, host: Parameters<typeof resolve>[1], emulatorMayShare: boolean): void {
  const diagnostics = checkDocument(out, { host: host! });
  // Asked for: 'share' floats the emulator over the vCPUs' CPUs; realtime puts it beside vCPU 0 (kvm-realtime layout).
  const errors = diagnostics.filter((d) => d.severity === 'error' || d.code === 'PIN_SHARED_SINGLE_CPU' || (!emulatorMayShare && d.code === 'EMULATOR_ON_DEDICATED_CPU'));
  if (errors.length) throw new VirtPinError('PIN_RESULT_INVALID', `internal: the pinned domain fails check: ${errors[0]!.code} ${errors[0]!.message}`);
  const doc = parseDocument(out);
  const model = readDomain(doc);
  const r = resolve(definitionOf(model, { driver: 'qemu' }), host, { model });
  r.vcpus.forEach((v, i) => {
    if (v.cpus.toString() !== placement.vcpuPins[i]!.toString()) throw new VirtPinError('PIN_RESULT_INVALID', `internal: vCPU ${i} resolves to ${v.cpus} instead of ${placement.vcpuPins[i]}`);
  });
  if (r.emulator.cpus.toString() !== placement.emulator.toString()) throw new VirtPinError('PIN_RESULT_INVALID', `internal: the emulator resolves to ${r.emulator.cpus} instead of ${placement.emulator}`);
}

type Values = ReturnType<typeof parse>['values'];

function policyFrom(v: Values): PinPolicy {
  let policy: PinPolicy = {};
  if (v.policy !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(v.policy, 'utf8'));
    } catch (e) {
      throw new IoError(`cannot read policy ${v.policy}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!validatePolicyJson(raw)) {
      const err = validatePolicyJson.errors?.[0];
      throw new UsageError(`${v.policy}: ${err?.instancePath || '/'} ${err?.message ?? 'is not a valid policy'} (schemas/policy.schema.json)`);
    }
    policy = raw as PinPolicy;
  }
  const oneOf = <T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined => {
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} takes ${allowed.join(', ')}, not '${value}'`);
    return value as T;
  };
  const set = <K extends keyof PinPolicy>(k: K, value: PinPolicy[K] | undefined): void => {
    if (value !== undefined) policy[k] = value;
  };
  set('cpus', v.cpus);
  set('reserve', v.reserve);
  set('vcpu', oneOf('vcpu', v.vcpu, ['dedicated', 'shared'] as const));
  set('threads', oneOf('threads', v.threads, ['prefer', 'isolate', 'require'] as const));
  if (v['per-core']) policy.perCore = true;
  if (v.emulator !== undefined) policy.emulator = v.emulator === 'share' || v.emulator === 'isolate' || v.emulator === 'housekeeping' ? v.emulator : { cpus: v.emulator };
  set('numa', oneOf('numa', v.numa, ['strict', 'preferred', 'none'] as const));
  set('hostdev', oneOf('hostdev', v.hostdev, ['local', 'ignore'] as const));
  set('topology', oneOf('topology', v.topology, ['keep', 'match-host'] as const));
  if (v.realtime !== undefined) {
    const m = /^(fifo|rr):(\d{1,2})(?::(.+))?$/.exec(v.realtime);
    if (!m) throw new UsageError(`--realtime takes SCHED:PRIORITY[:VCPUS], e.g. fifo:1 or rr:10:1-3, not '${v.realtime}'`);
    policy.realtime = { scheduler: m[1] as 'fifo' | 'rr', priority: Number(m[2]), ...(m[3] !== undefined ? { vcpus: m[3] } : {}) };
  }
  return policy;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        policy: { type: 'string' },
        cpus: { type: 'string' },
        reserve: { type: 'string' },
        vcpu: { type: 'string' },
        threads: { type: 'string' },
        'per-core': { type: 'boolean' },
        emulator: { type: 'string' },
        numa: { type: 'string' },
        hostdev: { type: 'string' },
        realtime: { type: 'string' },
        topology: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'in-place': { type: 'boolean' },
        'no-backup': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        explain: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
