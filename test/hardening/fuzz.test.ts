/**
 * The fuzz slice of `npm test`: the first 10,000 cases of a fixed seed of
 * the corpus-mutation fuzzer (bench/fuzz-core.mjs; `npm run fuzz` runs a
 * million), against the TypeScript sources. Any failure names the case;
 * `npm run fuzz -- --seed 40503 --case N` replays it against the build.
 *
 * The time budget is not asserted here (no timing in unit tests): the
 * bench checks it on each process's CPU clock.
 */
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KNOWN_ISSUES, loadHosts, loadSeeds, makeCase, runCase, runRange, type FuzzCase, type FuzzLibrary } from '../../bench/fuzz-core.mjs';
import { repoRoot } from '../support/corpus.js';

const SLICE_SEED = 40503;
const SLICE_CASES = 10_000;
const library = lib as unknown as FuzzLibrary;

describe('fuzz slice', () => {
  const seeds = loadSeeds();

  it('cases are a pure function of (seed, index)', () => {
    const a = makeCase(seeds, SLICE_SEED, 1234);
    const b = makeCase(seeds, SLICE_SEED, 1234);
    expect(b).toEqual(a);
    expect(makeCase(seeds, SLICE_SEED + 1, 1234)).not.toEqual(a);
  });

  it('the engine reports each property violation (shown with deliberately broken libraries)', () => {
    const hosts = loadHosts(library);
    const text = readFileSync(join(repoRoot, 'fixtures', 'examples', 'gaming-vfio.xml'), 'utf8');
    const fuzzCase: FuzzCase = { seed: 0, index: 0, seedName: 'gaming-vfio.xml', mutations: [], text, bytes: undefined, host: 1, driver: 'qemu' };
    const properties = (broken: Partial<FuzzLibrary>, options = {}): string[] =>
      runCase({ ...library, ...broken }, hosts, fuzzCase, options).violations.map((v) => `${v.property} ${v.stage}`);

    expect(properties({})).toEqual([]);
    expect(properties({ serializeDocument: (doc) => library.serializeDocument(doc).slice(1) })).toContain('round-trip serialize');
    const untyped = (): never => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    };
    expect(properties({ resolve: untyped })).toEqual(['foreign-throw resolve']);
    const typed = (): never => {
      throw new lib.VirtPinError('XML_MALFORMED', 'typed');
    };
    expect(properties({ checkDocument: typed })).toEqual(['check-threw check']);
    let pass = 0;
    const drifting = (doc: never, options?: { driver?: 'qemu' | 'generic' }): unknown => {
      const out = library.normalize(doc, options) as lib.XmlDocument;
      out.root.setAttr('pass', String(++pass));
      return out;
    };
    expect(properties({ normalize: drifting })).toEqual(['normalize-not-idempotent normalize']);
    let now = 0;
    expect(properties({}, { timing: true, clock: () => (now += 1000) })).toEqual(['time-budget all']);
  });

  it(`${SLICE_CASES.toLocaleString('en')} mutated documents: only typed errors, byte-exact round trip, check agrees with the parser, idempotent normalize`, () => {
    const tally = runRange(library, loadHosts(library), seeds, SLICE_SEED, { to: SLICE_CASES });
    const failures = tally.failures.slice(0, 5).map(
      (f) => `case ${f.index} (${f.mutations.join(' + ')} of ${f.seedName}): ${f.violations.map((v) => `${v.property} [${v.stage}] ${v.detail.split('\n')[0]}`).join('; ')}`,
    );
    expect(failures).toEqual([]);
    expect(tally.cases).toBe(SLICE_CASES);

    // The slice reaches every layer: inputs accepted, refused by the byte
    // decoder, by the XML parser (including its limits and the DOCTYPE ban),
    // and by libvirt's rules.
    const count = (code: string): number => tally.outcomes[code] ?? 0;
    expect(count('accepted')).toBeGreaterThan(SLICE_CASES * 0.25);
    for (const code of ['XML_BAD_ENCODING', 'XML_MALFORMED', 'XML_ILLEGAL_CHAR', 'XML_DOCTYPE', 'XML_TOO_DEEP', 'XML_DUPLICATE_ATTRIBUTE', 'XML_UNDEFINED_ENTITY']) {
      expect(count(code), code).toBeGreaterThan(0);
    }
    for (const code of ['VCPUPIN_INVALID', 'EMULATORPIN_INVALID', 'IOTHREADPIN_INVALID', 'VCPU_COUNT_INVALID', 'NUMATUNE_INVALID', 'SCHED_INVALID']) {
      expect(count(code), code).toBeGreaterThan(0);
    }
    // It covers the shapes of issue 14's parser items (7, 8, 9, 15, 16), and reaches what they are refused with.
    for (const m of ['wide-cpusets', 'namespaces', 'line-ends', 'xml-declaration']) expect(tally.mutations[m] ?? 0, m).toBeGreaterThan(20);
    expect(count('DOMAIN_NAME_MISSING'), 'DOMAIN_NAME_MISSING').toBeGreaterThan(0);
    expect(count('GUEST_NUMA_INVALID'), 'GUEST_NUMA_INVALID').toBeGreaterThan(0);
    // Known issues are counted, never silently absorbed: each id is one the engine declares.
    for (const id of Object.keys(tally.known)) expect(KNOWN_ISSUES.map((k) => k.id)).toContain(id);
  });
});
