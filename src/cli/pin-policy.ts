/**
 * The pin policy as the command line spells it (`--policy FILE.json` and the
 * policy flags) and the pin pipeline behind it, shared by `pin` and `define`:
 * refuse a domain with errors, plan, write, then resolve the result back and
 * insist it gives exactly the planned masks.
 */
import { readFileSync } from 'node:fs';
import { definitionOf, readDomain } from '../domain/index.js';
import { VirtPinError } from '../errors.js';
import { validate as validatePolicyJson } from '../generated/policy.validate.js';
import type { HostTopology } from '../host/index.js';
import { planPlacement } from '../policy/planner.js';
import type { PinPlacement, PinPolicy, PlannerGuest } from '../policy/types.js';
import { writePlacement } from '../policy/write.js';
import { resolve } from '../resolve/index.js';
import { checkDocument } from '../validate/index.js';
import { parseDocument, serializeDocument, type XmlDocument } from '../xml/index.js';
import { IoError } from './io.js';
import { UsageError } from './usage.js';

/** `parseArgs` options for the policy; spread into a command's own options. */
export const POLICY_OPTIONS = {
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
} as const;

/** The usage lines for POLICY_OPTIONS, indented as the commands print them. */
export const POLICY_USAGE = `  --cpus SET          host CPUs the guest may use [online − isolated − reserve]
  --reserve SET       host CPUs kept for the host [first core of each node]
  --vcpu MODE         dedicated | shared [dedicated]
  --threads MODE      prefer | isolate | require (SMT, like Nova) [prefer]
  --per-core          one vCPU per physical core, siblings idle
  --emulator MODE     housekeeping | share | isolate | a cpuset
                      [housekeeping for dedicated vCPUs, else share]
  --numa MODE         strict | preferred | none [strict]
  --hostdev MODE      local | ignore: prefer the devices' NUMA node [local]
  --realtime S:P[:V]  vcpusched scheduler fifo|rr, priority, vCPUs [all but 0]
  --topology MODE     keep | match-host: write <cpu><topology> to match`;

export type PolicyValues = { [K in keyof typeof POLICY_OPTIONS]?: (typeof POLICY_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The policy flags present in `values`, as the user typed them (`--vcpu`, `--policy`…). */
export function policyFlagsGiven(values: PolicyValues): string[] {
  return (Object.keys(POLICY_OPTIONS) as (keyof PolicyValues)[]).filter((k) => values[k] !== undefined).map((k) => `--${k}`);
}

/** The policy: `--policy FILE.json` (schema-checked) with the flags on top. */
export function policyFrom(v: PolicyValues): PinPolicy {
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

/**
 * Pin one domain text for a host. Throws PIN_INPUT_INVALID when the input
 * has errors libvirt would refuse, and PIN_RESULT_INVALID (an internal
 * error) when the written XML does not resolve to the plan.
 */
export function pinDomainText(text: string, fileName: string, host: HostTopology, policy: PinPolicy): { out: string; placement: PinPlacement } {
  const doc = parseDocument(text, { fileName });
  const before = checkDocument(text, { fileName }).filter((d) => d.severity === 'error');
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
function verify(out: string, placement: PinPlacement, host: HostTopology, emulatorMayShare: boolean): void {
  const diagnostics = checkDocument(out, { host });
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
