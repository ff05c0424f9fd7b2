/**
 * Corpus acceptance: every libvirt refusal in our scope is detected, and no
 * file libvirt accepts gets an error (generic driver: the driver-independent
 * checks only, as libvirt's test driver makes them).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkDocument } from '../../src/validate/index.js';
import { corpusDir, corpusXmlFiles } from '../support/corpus.js';

/** libvirt refusals about the elements virt-pin models (by the reason libvirt prints). */
const IN_SCOPE = /vcpu|cpuset|bitmap|iothread|numatune|memnode|nodeset|cachetune|memorytune|monitor|sched|emulatorpin|vcpupin|priority|hotplug granularity|placement|period|quota|Hostdev already exists|ramfb|cell id|NUMA cell|vCPUs? in|cpus/i;

/** In-scope reasons that virt-pin deliberately does not check, with why. */
const NOT_CHECKED: Record<string, string> = {
  'tests/qemuxmlconfdata/cpu-numa-distance-nonexistent-sibling.xml': 'NUMA <distances> are outside the affinity model',
  'tests/qemuxmlconfdata/hugepages-memaccess-invalid.xml': 'cell memAccess is a memory-backing attribute, not affinity',
  'tests/qemuxmlconfdata/memory-hotplug-invalid-targetnode.xml': 'memory device target nodes are not modelled',
  'tests/qemuxmlconfdata/pci-expander-bus-bad-node.xml': 'PCI controller NUMA nodes are not modelled',
  'tests/qemuxmlconfdata/cpu-cache-passthrough3.xml': 'CPU cache mode depends on the CPU model, not affinity',
  'tests/qemuxmlconfdata/video-ramfb-display-device-pci-address.xml': 'a ramfb video device address, not a hostdev',
};

interface Row {
  path: string;
  kind: string;
  reason: string;
}

function expectedFailures(): Row[] {
  return readFileSync(join(corpusDir(), 'libvirt-expected-failures.txt'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .map((c) => ({ path: c[1]!, kind: c[3]!, reason: c[5]! }));
}

describe('validate against libvirt on the corpus', () => {
  it('detects every in-scope parse error libvirt reports', () => {
    const rows = expectedFailures().filter((r) => r.kind === 'parse-error');
    const byPath = new Map(rows.map((r) => [r.path, r]));
    const inScope = [...byPath.values()].filter((r) => IN_SCOPE.test(r.reason) && !NOT_CHECKED[r.path]);
    const missed: string[] = [];
    for (const r of inScope) {
      const errors = checkDocument(readFileSync(join(corpusDir(), 'libvirt', r.path), 'utf8'), { driver: 'qemu' }).filter((d) => d.severity === 'error');
      if (errors.length === 0) missed.push(`${r.path}: ${r.reason}`);
    }
    console.log(`libvirt parse errors: ${byPath.size} files, ${inScope.length} in scope (+${Object.keys(NOT_CHECKED).length} documented as not checked), ${inScope.length - missed.length} detected`);
    expect(missed).toEqual([]);
    expect(inScope.length).toBeGreaterThan(15);
  });

  it('reports no error on any corpus file libvirt accepts (generic driver)', () => {
    const refused = new Set(expectedFailures().filter((r) => r.kind === 'parse-error').map((r) => r.path));
    const falsePositives: string[] = [];
    let accepted = 0;
    for (const file of corpusXmlFiles()) {
      const rel = relative(join(corpusDir(), 'libvirt'), file);
      if (refused.has(rel)) continue;
      accepted++;
      const errors = checkDocument(readFileSync(file, 'utf8'), { driver: 'generic' }).filter((d) => d.severity === 'error');
      if (errors.length) falsePositives.push(`${rel}: ${errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`);
    }
    console.log(`libvirt-accepted corpus files: ${accepted}, with a virt-pin error: ${falsePositives.length}`);
    expect(falsePositives).toEqual([]);
  });
});
