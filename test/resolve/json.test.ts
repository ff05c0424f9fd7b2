/**
 * toJSON and schemas/resolved-model.schema.json: the precompiled validator
 * accepts what toJSON produces, the schema and the TypeScript JSON types
 * agree, and the generated validator is up to date with the schema.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CpuSet, parseCpuSet } from '../../src/cpuset/index.js';
import { resolve } from '../../src/resolve/resolve.js';
import { bigIntJson, toJSON, type ResolvedModelJson } from '../../src/resolve/json.js';
import { validateResolvedJson } from '../../src/resolve/validate-json.js';
import { repoRoot } from '../support/corpus.js';
import { at, cells, definition, numaMemory, schedOf, twoNodeHost } from './definitions.js';

/** A JSON model that sets every optional field of ResolvedModelJson (typed, so a type change breaks compilation). */
const everyField: ResolvedModelJson = {
  schemaVersion: 1,
  file: 'guest.xml',
  domain: { name: 'guest', type: 'kvm' },
  driver: 'qemu',
  hostFacts: true,
  allCpus: '0-13',
  maxVcpus: 2,
  placement: {
    vcpu: 'auto',
    memory: 'auto',
    promoted: true,
    implicitNumatune: false,
    numadAdvice: true,
    numadNodeset: '1',
    numadCpus: '8-15',
    numadMemoryNodes: '1',
  },
  vcpus: [
    {
      id: 0,
      online: true,
      hotpluggable: false,
      order: 1,
      cpus: '8-15',
      source: 'numad',
      provenance: { rule: 'numad', element: { path: '/domain/numatune/memory', line: 9, column: 5 }, because: 'x' },
      cgroupCpus: true,
      memoryNodes: { nodes: '1', provenance: { rule: 'numatune-strict', element: { path: '/domain/numatune/memory', line: 9, column: 5 }, because: 'y' } },
      sched: { scheduler: 'fifo', priority: 1, provenance: { rule: 'vcpusched', element: { path: '/domain/cputune/vcpusched', line: 7, column: 5 }, because: 'z' } },
      bandwidth: { period: 100000, quota: '-9223372036854775808', provenance: { rule: 'vcpu-bandwidth', because: 'w' } },
      guestCell: { id: 0, provenance: { rule: 'numa-cell0-fill', element: { path: '/domain/cpu/numa/cell[1]', line: 20, column: 7 }, because: 'v' } },
      resctrl: [{ kind: 'cachetune', vcpus: '0-1', provenance: { rule: 'cachetune', element: { path: '/domain/cputune/cachetune', line: 8, column: 5 }, because: 'u' } }],
    },
  ],
  emulator: { cpus: 'numad', source: 'numad', provenance: { rule: 'numad', because: 't' }, cgroupCpus: true },
  iothreads: [{ id: 3, autofilled: true, cpus: 'all', source: 'all', provenance: { rule: 'all', because: 's' }, cgroupCpus: false }],
  initialAffinity: { cpus: 'nodes', nodes: '1', source: 'numatune-strict', provenance: { rule: 'numatune-strict', element: { path: '/domain/numatune/memory', line: 9, column: 5 }, because: 'r' } },
  memory: {
    mode: 'strict',
    placement: 'static',
    nodes: '0',
    implicit: false,
    element: { path: '/domain/numatune/memory', line: 9, column: 5 },
    memnodes: [{ cellid: 0, mode: 'restrictive', nodes: '0-1', element: { path: '/domain/numatune/memnode', line: 10, column: 5 } }],
  },
  domainBandwidth: { shares: 1024, globalPeriod: 100000, globalQuota: 200000 },
  notes: [{ code: 'RESOLVE_NUMAD_REQUIRED', message: 'q' }],
};

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function issuesOf(json: unknown): string[] {
  const r = validateResolvedJson(json);
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('resolved model JSON schema', () => {
  it('accepts a typed fixture that sets every optional field', () => {
    expect(issuesOf(everyField)).toEqual([]);
  });

  it.each([
    ['an unknown top-level property', (j: any) => (j.extra = 1)],
    ['an unknown vCPU property', (j: any) => (j.vcpus[0].pinned = true)],
    ['an unknown emulator property', (j: any) => (j.emulator.id = 0)],
    ['an unknown IOThread property', (j: any) => (j.iothreads[0].online = true)],
    ['a non-canonical cpuset', (j: any) => (j.vcpus[0].cpus = '0-3,^2')],
    ['an unknown source', (j: any) => (j.vcpus[0].source = 'cpuset')],
    ['a missing source', (j: any) => delete j.emulator.source],
    ['a numad memory mask in the wrong place', (j: any) => (j.allCpus = 'numad')],
    ['a bandwidth that is a short string', (j: any) => (j.vcpus[0].bandwidth.period = '100000')],
    ['an element without a line', (j: any) => delete j.memory.element.line],
    ['a wrong schemaVersion', (j: any) => (j.schemaVersion = 2)],
    ['IOThread id 0', (j: any) => (j.iothreads[0].id = 0)],
    ['a lower-case note code', (j: any) => (j.notes[0].code = 'oops')],
  ])('rejects %s', (_name, mutate) => {
    const j = clone(everyField);
    mutate(j);
    expect(issuesOf(j).length).toBeGreaterThan(0);
  });

  it('every resolved model of the rule fixtures validates, with and without host facts', () => {
    const defs = [
      definition(),
      definition({ placement: 'auto', iothreads: [{ id: 1 }, { id: 2, autofilled: true }] }, { numatune: { memory: numaMemory('strict', 'auto', undefined, true), memnodes: [] } }),
      definition({ max: 4, current: 2, cpuset: '0-5', vcpupins: { 3: '7' }, emulatorpin: '6' }, { emulatorSched: schedOf('fifo', 1) }),
      definition(
        { max: 4 },
        {
          numatune: {
            memory: numaMemory('restrictive', 'static', '0-1'),
            memnodes: [{ cellid: 1, mode: 'restrictive', nodeset: parseCpuSet('1'), from: at('/domain/numatune/memnode') }],
          },
          guestCells: cells('0-1', '2-3'),
          resctrl: [{ kind: 'memorytune', vcpus: parseCpuSet('2-3'), from: at('/domain/cputune/memorytune') }],
          bandwidth: { shares: 18446744073709551615n, quota: -1n, iothreadQuota: 2000n },
        },
      ),
    ];
    for (const def of defs) {
      for (const host of [undefined, twoNodeHost, { ...twoNodeHost, numadNodeset: CpuSet.of(0) }]) {
        expect(issuesOf(clone(toJSON(resolve(def, host))))).toEqual([]);
      }
    }
  });

  it('CpuSets become canonical strings and 64-bit values numbers or long strings', () => {
    const def = definition({ cpuset: '0-5,^3', vcpupins: { 0: '1,2' } }, { bandwidth: { shares: 18446744073709551615n, period: 100000n } });
    const j = toJSON(resolve(def));
    expect(j.vcpus.map((v) => v.cpus)).toEqual(['1-2', '0-2,4-5']);
    expect(j.domainBandwidth.shares).toBe('18446744073709551615');
    expect(j.vcpus[0]!.bandwidth!.period).toBe(100000);
    expect(bigIntJson(9007199254740993n)).toBe('9007199254740993');
    expect(bigIntJson(-5n)).toBe(-5);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it('the CLI contract fields are present: vcpus[{id, online, cpus, source}], emulator{cpus, source}, iothreads[{id, cpus, source}]', () => {
    const j = toJSON(resolve(definition({ cpuset: '2', iothreads: [{ id: 1 }] })));
    expect(j.vcpus[0]).toMatchObject({ id: 0, online: true, cpus: '2', source: 'vcpu-cpuset' });
    expect(j.emulator).toMatchObject({ cpus: '2', source: 'vcpu-cpuset' });
    expect(j.iothreads[0]).toMatchObject({ id: 1, cpus: '2', source: 'vcpu-cpuset' });
  });

  it('the generated validators are up to date with schemas/ (gen-validators --check)', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'gen-validators.mjs'), '--check'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the precompiled validator agrees with ajv compiling the schema at test time', () => {
    const require = createRequire(import.meta.url);
    const Ajv2020 = require('ajv/dist/2020').default;
    const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'resolved-model.schema.json'), 'utf8'));
    const live = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    const broken = clone(everyField) as any;
    broken.vcpus[0].cpus = 'some';
    for (const sample of [everyField, broken, {}, toJSON(resolve(definition({ placement: 'auto' }), twoNodeHost))]) {
      expect(validateResolvedJson(clone(sample)).ok).toBe(live(clone(sample)));
    }
  });
});
