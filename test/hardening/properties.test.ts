/**
 * Property tests for hardening (fast-check), beside the XML round trip in
 * test/xml/property.test.ts and the short-list cpuset property in
 * test/cpuset/parse.test.ts:
 * - any string over the cpuset alphabet either parses or is refused with a
 *   typed error whose position lies in the string, and canonical output is
 *   a fixed point;
 * - long lists mixing ranges and exclusions over the whole id space agree
 *   with a per-id model applied left to right (the linear exclusion path);
 * - generated domains (test/support/gen-domain.ts) go through resolve,
 *   validate, normalize and plan with nothing but VirtPinError thrown, and
 *   normalize is idempotent (checked by the fuzz engine's own property, so
 *   libvirt's one known non-idempotent case is recognised the same way).
 *
 * Seeds are fixed so that a run is repeatable; fast-check prints the
 * counterexample when one fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkDocument,
  CpuSetError,
  definitionOf,
  hostFromSysfs,
  isVirtPinError,
  MAX_CPUSET_ID,
  parseCpuSet,
  parseDocument,
  planDocument,
  readDomain,
  resolve,
  toJSON,
  tryParseCpuSet,
} from '../../src/index.js';
import { normalizeViolations, type FuzzLibrary } from '../../bench/fuzz-core.mjs';
import * as lib from '../../src/index.js';
import { repoRoot } from '../support/corpus.js';
import { generateDomains } from '../support/gen-domain.js';

describe('cpuset grammar (property)', () => {
  const alphabet = fc.constantFrom('0', '1', '2', '7', '9', ',', '-', '^', ' ', '\t', '+', 'x', '\n');

  it('any string: a set, or a typed refusal positioned inside the string; canonical output is a fixed point', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }).map((cs) => cs.join('')), (text) => {
        const r = tryParseCpuSet(text);
        if (!r.ok) {
          expect(r.position).toBeGreaterThanOrEqual(0);
          expect(r.position).toBeLessThanOrEqual(text.length);
          let thrown: unknown;
          try {
            parseCpuSet(text);
          } catch (e) {
            thrown = e;
          }
          expect(thrown).toBeInstanceOf(CpuSetError);
          expect(isVirtPinError(thrown)).toBe(true);
          expect((thrown as CpuSetError).code).toBe(r.code);
          return;
        }
        const canonical = r.set.toString();
        if (r.set.isEmpty()) return;
        const again = parseCpuSet(canonical);
        expect(again.equals(r.set)).toBe(true);
        expect(again.toString()).toBe(canonical);
      }),
      { numRuns: 3000, seed: 9001 },
    );
  });

  it('long lists of ranges and exclusions over 0..16383 agree with a per-id model', () => {
    const id = fc.integer({ min: 0, max: MAX_CPUSET_ID });
    const item = fc.oneof(
      { weight: 2, arbitrary: id.map((n) => `^${n}`) },
      { weight: 1, arbitrary: fc.tuple(id, fc.integer({ min: 0, max: 3000 })).map(([a, d]) => `${a}-${Math.min(a + d, MAX_CPUSET_ID)}`) },
      { weight: 1, arbitrary: id.map(String) },
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 400 }), (items) => {
        const model = new Uint8Array(MAX_CPUSET_ID + 1);
        for (const it of items) {
          if (it.startsWith('^')) model[Number(it.slice(1))] = 0;
          else {
            const [a, b] = it.split('-').map(Number) as [number, number | undefined];
            model.fill(1, a, (b ?? a) + 1);
          }
        }
        const expected: number[] = [];
        model.forEach((bit, i) => bit && expected.push(i));
        expect(parseCpuSet(items.join(',')).ids()).toEqual(expected);
      }),
      { numRuns: 300, seed: 9002 },
    );
  });
});

describe('generated domains through every stage (property)', () => {
  const hosts = [undefined, hostFromSysfs(`${repoRoot}/fixtures/hosts/vfio-desktop`), hostFromSysfs(`${repoRoot}/fixtures/passthrough-host/root`)];
  /** Runs `fn`; a VirtPinError is an acceptable outcome, anything else fails the property. */
  const typedOnly = (stage: string, fn: () => unknown): unknown => {
    try {
      return fn();
    } catch (e) {
      if (!isVirtPinError(e)) throw new Error(`${stage} threw a non-VirtPinError: ${String(e)}`, { cause: e });
      return undefined;
    }
  };

  it('resolve, validate, normalize and plan throw nothing but VirtPinError; normalize is idempotent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(0, 1, 2), fc.constantFrom('qemu' as const, 'generic' as const), (seed, hostIndex, driver) => {
        const { xml } = generateDomains(seed, 1)[0]!;
        const host = hosts[hostIndex];
        const checked = typedOnly('checkDocument', () => checkDocument(xml, { driver, ...(host ? { host } : {}) }));
        expect(Array.isArray(checked), 'checkDocument reports, never throws').toBe(true);
        const doc = parseDocument(xml);
        typedOnly('resolve', () => {
          const model = readDomain(doc);
          return toJSON(resolve(definitionOf(model, { driver }), host, { model }));
        });
        typedOnly('plan', () => planDocument(xml, host ? { host } : {}));
        expect(normalizeViolations(lib as unknown as FuzzLibrary, xml, driver)).toEqual([]);
      }),
      { numRuns: 400, seed: 9003 },
    );
  });
});
