/**
 * The pin policy as the command line spells it (`--policy FILE.json` and the
 * policy flags), shared by `pin` and `define`; the pipeline itself is the
 * library's pinDomain (src/policy/pin.ts).
 */
import { readFileSync } from 'node:fs';
import { validate as validatePolicyJson } from '../generated/policy.validate.js';
import type { PinPolicy } from '../policy/types.js';
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
  cache: { type: 'string' },
  'core-type': { type: 'string' },
  'housekeeping-core-type': { type: 'string' },
} as const;

/** The usage lines for POLICY_OPTIONS, indented as the commands print them. */
export const POLICY_USAGE = `  --cpus SET          host CPUs the guest may use [online − isolated − reserve]
  --reserve SET|none  host CPUs kept for the host [first core of each node;
                      on hybrid hosts its first efficiency-core cluster]
  --vcpu MODE         dedicated | shared [dedicated]
  --threads MODE      prefer | isolate | require (SMT, like Nova) [prefer]
  --per-core          one vCPU per physical core, siblings idle
  --emulator MODE     housekeeping | share | isolate | a cpuset
                      [housekeeping for dedicated vCPUs, else share]
  --numa MODE         strict | preferred | none [strict]
  --hostdev MODE      local | ignore: prefer the devices' NUMA node [local]
  --realtime S:P[:V]  vcpusched scheduler fifo|rr, priority, vCPUs [all but 0]
  --topology MODE     keep | match-host: write <cpu><topology> (dies per
                      L3 group) and <cache> to match
  --cache MODE        prefer | require | ignore: keep dedicated vCPUs in one
                      L3 group, the largest that holds them [prefer]
  --core-type TYPE    performance | efficiency | any: vCPUs on hybrid hosts
                      [performance first, spilling to efficiency]
  --housekeeping-core-type TYPE
                      the same for the emulator/IOThreads reserve
                      [efficiency on hybrid hosts]`;

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
  set('cache', oneOf('cache', v.cache, ['prefer', 'require', 'ignore'] as const));
  set('coreType', oneOf('core-type', v['core-type'], ['performance', 'efficiency', 'any'] as const));
  set('housekeepingCoreType', oneOf('housekeeping-core-type', v['housekeeping-core-type'], ['performance', 'efficiency', 'any'] as const));
  if (v.realtime !== undefined) {
    const m = /^(fifo|rr):(\d{1,2})(?::(.+))?$/.exec(v.realtime);
    if (!m) throw new UsageError(`--realtime takes SCHED:PRIORITY[:VCPUS], e.g. fifo:1 or rr:10:1-3, not '${v.realtime}'`);
    policy.realtime = { scheduler: m[1] as 'fifo' | 'rr', priority: Number(m[2]), ...(m[3] !== undefined ? { vcpus: m[3] } : {}) };
  }
  return policy;
}
