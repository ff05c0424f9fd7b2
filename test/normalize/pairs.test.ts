/**
 * normalize against libvirt's own formatter: for every pairs.tsv row, the
 * affinity elements of normalize(input) equal those of libvirt's output.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { affinitySubtrees, normalize } from '../../src/normalize/index.js';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { checkDocument } from '../../src/validate/index.js';
import { corpusDir } from '../support/corpus.js';

/** Pairs whose output holds something the input cannot show, with why. */
const EXCEPTIONS: Record<string, string> = {
  'tests/qemuxmlconfdata/memory-hotplug-ppc64-nonuma.ppc64-latest.abi-update.xml':
    "made with libvirt's ABI-update flag: QEMU post-parse adds a guest NUMA cell for memory hot-plug (qemuDomainDefNumaAutoAdd); the flag is not in the XML",
};

interface Pair {
  program: string;
  input: string;
  output: string;
}

function pairs(): Pair[] {
  return readFileSync(join(corpusDir(), 'pairs.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .map((c) => ({ program: c[0]!, input: c[1]!, output: c[2]! }));
}

const read = (rel: string): string => readFileSync(join(corpusDir(), 'libvirt', rel), 'utf8');
/** qemuxmlconftest runs the QEMU driver's post-parse; the others (generic, lxc, status) do not add QEMU's cell-0 vCPUs. */
const driverOf = (p: Pair): 'qemu' | 'generic' => (p.program.startsWith('qemu') ? 'qemu' : 'generic');

describe("normalize matches libvirt's formatter on pairs.tsv", () => {
  it('affinity elements of normalize(input) equal those of libvirt output, for every pair but the documented exceptions', () => {
    const all = pairs();
    const differ: string[] = [];
    let same = 0;
    for (const p of all) {
      const doc = normalize(parseDocument(read(p.input)), { driver: driverOf(p) });
      const got = affinitySubtrees(parseDocument(serializeDocument(doc)));
      const want = affinitySubtrees(parseDocument(read(p.output)));
      if (got === want) same++;
      else differ.push(p.output);
    }
    console.log(`normalize pairs: ${same}/${all.length} match libvirt's output, ${differ.length} documented exceptions`);
    expect(differ).toEqual(Object.keys(EXCEPTIONS));
    expect(all.length).toBe(1201);
  });

  it("leaves libvirt's own output byte-identical (already normalized → no edit)", () => {
    const changed: string[] = [];
    for (const p of pairs()) {
      const text = read(p.output);
      const doc = normalize(parseDocument(text), { driver: driverOf(p) });
      if (serializeDocument(doc) !== text && !EXCEPTIONS[p.output]) changed.push(p.output);
    }
    expect(changed).toEqual([]);
  });

  it('no silent-change warning fires on libvirt\'s own output (libvirt would change nothing there)', () => {
    const fired: string[] = [];
    let checked = 0;
    const byOutput = new Map(pairs().map((p) => [p.output, p]));
    for (const [output, p] of byOutput) {
      checked++;
      for (const d of checkDocument(read(output), { driver: driverOf(p) })) {
        if (d.rule === 'SILENT_NORMALIZATION') fired.push(`${output}: ${d.code} ${d.message}`);
      }
    }
    expect(fired).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  it('is idempotent', () => {
    for (const p of pairs()) {
      const once = serializeDocument(normalize(parseDocument(read(p.input)), { driver: driverOf(p) }));
      const twice = serializeDocument(normalize(parseDocument(once), { driver: driverOf(p) }));
      expect(twice, p.input).toBe(once);
    }
  });
});
