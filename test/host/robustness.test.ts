import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtPinError } from '../../src/errors.js';
import { hostFromCapabilities, pciNumaFromNodedev } from '../../src/host/index.js';
import { corpusDir, repoRoot } from '../support/corpus.js';

/** Either a topology or a VirtPinError — never another exception. */
function outcome(f: () => unknown): 'ok' | string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof VirtPinError) return e.code;
    throw e;
  }
}

const edit = fc.record({
  at: fc.nat(),
  cut: fc.nat({ max: 12 }),
  insert: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("'", '"', '<', '>', '/>', '-', ',', '^', '&amp;', '&x;', '9999999999', ' ', '\n')),
});
const apply = (text: string, e: { at: number; cut: number; insert: string }): string => {
  const at = e.at % (text.length + 1);
  return text.slice(0, at) + e.insert + text.slice(at + e.cut);
};

describe('damaged host XML fails with a VirtPinError, never a crash', () => {
  const caps = readFileSync(join(repoRoot, 'fixtures', 'hosts', 'two-socket-smt.caps.xml'), 'utf8');
  const nodedev = readFileSync(join(corpusDir(), 'libvirt-caps', 'tests', 'nodedevschemadata', 'pci_1002_71c4.xml'), 'utf8');
  it('capabilities', () => {
    const codes = new Set<string>();
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const code = outcome(() => hostFromCapabilities(edits.reduce(apply, caps)));
        codes.add(code);
        expect(code === 'ok' || code.startsWith('HOST_CAPS_')).toBe(true);
      }),
      { numRuns: 1000, seed: 4 },
    );
    // The damage reached the parser's checks, not only the happy path.
    expect(codes.has('HOST_CAPS_XML')).toBe(true);
    expect(codes.has('ok')).toBe(true);
  });
  it('node devices', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const code = outcome(() => pciNumaFromNodedev(edits.reduce(apply, nodedev)));
        expect(code === 'ok' || code.startsWith('HOST_NODEDEV_')).toBe(true);
      }),
      { numRuns: 300, seed: 4 },
    );
  });
});
