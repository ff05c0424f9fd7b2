/**
 * Oracle A: libvirt's own parser, post-parse and validation through the
 * test driver (`virsh -c test:///default`, libvirt 9.0 from Debian), judging
 * thousands of generated adversarial domains and the whole corpus:
 * accept/reject, normalization and thread-affinity inheritance.
 * See docs/fidelity.md. These tests fail (never skip) without virsh.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CpuSet } from '../../src/cpuset/index.js';
import { definitionOf, readDomain } from '../../src/domain/index.js';
import { affinitySubtrees, normalize } from '../../src/normalize/index.js';
import { resolve } from '../../src/resolve/index.js';
import { checkDocument } from '../../src/validate/index.js';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { corpusDir, corpusXmlFiles } from '../support/corpus.js';
import { generateDomains, type GeneratedDomain } from '../support/gen-domain.js';
import { requireVirsh, runVirshBatch, type VirshResult } from '../support/oracle-virsh.js';
import { domainWith, FAULTS, generateMultiErrorDomains } from '../support/gen-multi-error.js';
import { judgeFirstError, reasonOf } from '../support/libvirt-reasons.js';
import { describeWith } from '../support/components.js';

const SEED = Number(process.env.VIRT_PIN_ORACLE_SEED ?? 20261123);
const COUNT = Number(process.env.VIRT_PIN_ORACLE_COUNT ?? 5000);
/** Domains with two or three faults each, for "which error libvirt reports" (VIRT_PIN_ORACLE_MULTI_COUNT overrides). */
const MULTI_COUNT = Number(process.env.VIRT_PIN_ORACLE_MULTI_COUNT ?? 2000);
/** The test driver's host: 8 CPUs (testNodeGetCPUMap is hard-coded to 8, oracles.md §3.3). */
const HOST = { onlineCpus: CpuSet.range(0, 7) };

function judge(cases: readonly GeneratedDomain[]): Map<string, VirshResult> {
  return runVirshBatch(cases); // in batches of its own size (test/support/oracle-virsh.ts)
}

/** virt-pin's errors judged for the libvirt that judges here (virsh's version): no version differences to excuse. */
const errorsOf = (xml: string, libvirtVersion: string) => checkDocument(xml, { driver: 'generic', libvirtVersion }).filter((d) => d.severity === 'error');

describeWith(['virsh'], 'libvirt test driver as the judge', () => {
  let version = '';
  let cases: GeneratedDomain[] = [];
  let verdicts = new Map<string, VirshResult>();

  beforeAll(() => {
    version = requireVirsh();
    cases = generateDomains(SEED, COUNT);
    verdicts = judge(cases);
  });

  it(`accept/reject: virt-pin errors ⇔ virsh define fails, on ${COUNT} generated domains`, () => {
    const matrix = { bothRefuse: 0, bothAccept: 0, onlyVirtPinRefuses: 0, onlyLibvirtRefuses: 0 };
    const disagreements: string[] = [];
    for (const c of cases) {
      const v = verdicts.get(c.name)!;
      const errors = errorsOf(c.xml, version);
      if (!v.defined && errors.length) matrix.bothRefuse++;
      else if (v.defined && !errors.length) matrix.bothAccept++;
      else if (v.defined) {
        matrix.onlyVirtPinRefuses++;
        disagreements.push(`${c.name}: virt-pin ${errors.map((e) => e.code).join(',')} but libvirt accepts\n${c.xml}`);
      } else {
        matrix.onlyLibvirtRefuses++;
        disagreements.push(`${c.name}: libvirt refuses (${v.error}) but virt-pin finds no error\n${c.xml}`);
      }
    }
    console.log(`oracle (virsh ${version}, seed ${SEED}): ${JSON.stringify(matrix)}`);
    // The generator's resctrl and odd-spelling parts must reach both verdicts, or they compare nothing.
    const resctrl = cases.filter((c) => /<(cache|memory)tune/.test(c.xml));
    const resctrlAccepted = resctrl.filter((c) => verdicts.get(c.name)!.defined).length;
    console.log(`oracle resctrl: ${resctrl.length} domains with cachetune/memorytune, ${resctrlAccepted} accepted by libvirt`);
    expect(resctrlAccepted).toBeGreaterThan(100);
    expect(resctrl.length - resctrlAccepted).toBeGreaterThan(100);
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(matrix.bothRefuse).toBeGreaterThan(COUNT / 5);
    expect(matrix.bothAccept).toBeGreaterThan(COUNT / 5);
  });

  it('normalization: the affinity elements of normalize(input) equal those of dumpxml after define', () => {
    let compared = 0;
    const differ: string[] = [];
    for (const c of cases) {
      const v = verdicts.get(c.name)!;
      if (!v.defined) continue;
      const ours = affinitySubtrees(parseDocument(serializeDocument(normalize(parseDocument(c.xml), { driver: 'generic', libvirtVersion: version }))));
      const theirs = affinitySubtrees(parseDocument(v.dumpxml!));
      compared++;
      if (ours !== theirs) differ.push(`${c.name}\n  virt-pin: ${ours}\n  libvirt:  ${theirs}\n${c.xml}`);
    }
    console.log(`oracle normalization: ${compared - differ.length}/${compared} accepted domains identical`);
    expect(differ.slice(0, 3)).toEqual([]);
    expect(compared).toBeGreaterThan(COUNT / 5);
  });

  it('inheritance: virsh vcpupin/emulatorpin/iothreadinfo equal the resolved masks (CPUs < 8)', () => {
    let compared = 0;
    let misreports = 0;
    const differ: string[] = [];
    for (const c of cases) {
      const v = verdicts.get(c.name)!;
      if (!v.defined) continue;
      const model = readDomain(parseDocument(c.xml));
      const def = definitionOf(model, { driver: 'generic', libvirtVersion: version });
      // numad is not consulted by the test driver; auto placement is compared elsewhere (gold oracle).
      if (def.placement === 'auto' || def.numatune.memory?.placement === 'auto') continue;
      const r = resolve(def, HOST, { model });
      const shown = (m: CpuSet | string): string | undefined => {
        const set = typeof m === 'string' ? undefined : m;
        // The test driver prints nothing for CPUs ≥ 8; compare only masks it can show.
        return set && set.isSubsetOf(HOST.onlineCpus) ? set.toString() : undefined;
      };
      for (const vc of r.vcpus) {
        const want = shown(vc.cpus);
        if (want === undefined) continue;
        compared++;
        if (v.vcpupin!.get(vc.id) !== want) differ.push(`${c.name} vCPU ${vc.id}: libvirt ${v.vcpupin!.get(vc.id)} virt-pin ${want}`);
      }
      const emu = shown(r.emulator.cpus);
      if (emu !== undefined) {
        compared++;
        if (v.emulatorpin !== emu) differ.push(`${c.name} emulator: libvirt ${v.emulatorpin} virt-pin ${emu}`);
      }
      const online = def.vcpus.filter((x) => x.online).length;
      for (const io of r.iothreads) {
        const want = shown(io.cpus);
        if (want === undefined) continue;
        compared++;
        const got = v.iothreads!.get(io.id);
        // Documented test-driver bug (oracles.md §3.3.2): an unpinned IOThread
        // without <vcpu cpuset> is reported as 0..(online vCPUs - 1), not all
        // CPUs; with no vCPU online (possible outside QEMU) it was seen as 0-1.
        if (io.source === 'all') {
          const misreport = online > 0 ? CpuSet.range(0, online - 1).toString() : '0-1';
          if (got === misreport) {
            misreports++;
            continue;
          }
        }
        if (got !== want) differ.push(`${c.name} IOThread ${io.id}: libvirt ${got} virt-pin ${want}`);
      }
    }
    console.log(`oracle inheritance: ${compared} thread masks compared, ${differ.length} differ, ${misreports} known test-driver IOThread misreports`);
    expect(differ.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(COUNT);
  });

  it("the corpus: every file libvirt 9.0 accepts gets no virt-pin error; every affinity refusal is shared, and virt-pin's first error is libvirt's reason", () => {
    const files = corpusXmlFiles();
    const cases: (GeneratedDomain & { file: string })[] = [];
    files.forEach((file, i) => {
      const text = readFileSync(file, 'utf8');
      let doc;
      try {
        doc = parseDocument(text);
      } catch {
        return; // not well-formed: the XML tests cover it
      }
      if (LIBVIRT_CRASHES[relative(corpusDir(), file)]) return;
      const root = doc.root.name === 'domain' ? doc.root : undefined;
      const nameEl = root?.element('name');
      if (!root || !nameEl) return;
      nameEl.setText(`corpus-${i}`);
      cases.push({ name: `corpus-${i}`, xml: serializeDocument(doc), file: relative(corpusDir(), file) });
    });
    const verdicts = judge(cases);
    const matrix = { bothRefuse: 0, bothAccept: 0, onlyVirtPinRefuses: 0, onlyLibvirtRefusesOutOfScope: 0, onlyLibvirtRefusesInScope: 0 };
    const wrong: string[] = [];
    const AFFINITY = /vcpu|cpuset|parse bitmap|iothread|numatune|memnode|nodeset|cachetune|memorytune|sched|emulatorpin|vcpupin|priority|placement|period|quota/i;
    for (const c of cases) {
      const v = verdicts.get(c.name)!;
      const errors = errorsOf(c.xml, version);
      if (!v.defined && errors.length) {
        matrix.bothRefuse++;
        // Refused by both: for libvirt's reason, first (the reason table must know every such message).
        const why = judgeFirstError(errors, v).why;
        if (why) wrong.push(`${c.file}: ${why}`);
      } else if (v.defined && !errors.length) matrix.bothAccept++;
      else if (v.defined) {
        matrix.onlyVirtPinRefuses++;
        wrong.push(`${c.file}: virt-pin ${errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`);
      } else if (AFFINITY.test(v.error ?? '')) {
        matrix.onlyLibvirtRefusesInScope++;
        wrong.push(`${c.file}: libvirt ${v.error}`);
      } else matrix.onlyLibvirtRefusesOutOfScope++;
    }
    console.log(`oracle corpus (${cases.length} domains): ${JSON.stringify(matrix)}`);
    // With libvirtVersion = the installed libvirt, nothing is excused: not one documented difference.
    expect(wrong).toEqual([]);
  });
});

/**
 * libvirt stops at its first error, in the order its parser, post-parse and
 * validators run (LIBVIRT_ORDER). On domains with several faults, libvirt's
 * message, mapped through the reason table, must be what virt-pin's first
 * error (firstError) says.
 */
describeWith(['virsh'], 'libvirt test driver: the first of several errors', () => {
  let version = '';
  beforeAll(() => {
    version = requireVirsh();
  });

  const judgeFirst = (xml: string, v: VirshResult) => judgeFirstError(errorsOf(xml, version), v);

  it('each fault alone: the base domain is accepted, every fault is refused for its reason', () => {
    const cases = [{ name: 'base', xml: domainWith('base') }, ...FAULTS.map((f) => ({ name: `single-${f.name}`, xml: domainWith(`single-${f.name}`, [f.name]) }))];
    const verdicts = runVirshBatch(cases, { queries: false });
    expect(verdicts.get('base')!.defined).toBe(true);
    const wrong = cases.slice(1).flatMap((c) => {
      const why = judgeFirst(c.xml, verdicts.get(c.name)!).why;
      return why ? [`${c.name}: ${why}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it(`several faults: virt-pin's first error is libvirt's reason, on ${MULTI_COUNT} generated domains`, () => {
    const cases = generateMultiErrorDomains(SEED, MULTI_COUNT);
    const verdicts = judge(cases);
    const disagreements: string[] = [];
    let positionWouldDiffer = 0;
    const reported = new Map<string, number>();
    for (const c of cases) {
      const v = verdicts.get(c.name)!;
      const { why, positionFirstDiffers } = judgeFirst(c.xml, v);
      if (positionFirstDiffers) positionWouldDiffer++;
      if (why) disagreements.push(`${c.name} [${c.faults.join(' + ')}]: ${why}\n${c.xml}`);
      const key = reasonOf(v.error ?? '')?.codes.join('/') ?? 'accepted/unknown';
      reported.set(key, (reported.get(key) ?? 0) + 1);
    }
    console.log(
      `oracle first error (virsh ${version}, seed ${SEED}): ${cases.length} domains with 2-3 faults, ${disagreements.length} disagree; ` +
        `the first error by position would be wrong on ${positionWouldDiffer}; libvirt's reasons: ${[...reported].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
    expect(disagreements.slice(0, 5)).toEqual([]);
    // The generator must make the order matter, or this compares nothing.
    expect(positionWouldDiffer).toBeGreaterThan(MULTI_COUNT / 10);
    expect(reported.size).toBeGreaterThan(15);
  });
});

/** Corpus files that crash libvirt 9.0's test driver (a libvirt bug, asserted below so a fix is noticed). */
const LIBVIRT_CRASHES: Record<string, string> = {
  'libvirt/tests/qemuxmlconfdata/hostdev-scsi-vhost-rawio-invalid.xml': 'virsh -c test:///default segfaults in define (libvirt 9.0.0)',
};

describeWith(['virsh'], 'libvirt 9.0 test-driver crashes found by the oracle', () => {
  for (const [file, why] of Object.entries(LIBVIRT_CRASHES)) {
    it(`${file}: ${why}`, () => {
      requireVirsh();
      const doc = parseDocument(readFileSync(`${corpusDir()}/${file}`, 'utf8'));
      doc.root.element('name')!.setText('crash');
      expect(() => runVirshBatch([{ name: 'crash', xml: serializeDocument(doc) }])).toThrow(/Segmentation fault|did not finish/);
    });
  }
});

