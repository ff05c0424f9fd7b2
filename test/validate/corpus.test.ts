/**
 * Corpus acceptance: every libvirt refusal in our scope is detected for
 * libvirt's own reason under the driver libvirt used, and no file libvirt
 * accepts gets an error (generic driver: the driver-independent
 * checks only, as libvirt's test driver makes them).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { DiagnosticCode } from '../../src/codes.js';
import { checkDocument, firstError, RULES } from '../../src/validate/index.js';
import { corpusDir, corpusXmlFiles } from '../support/corpus.js';

/** libvirt refusals about the elements virt-pin models (by the reason libvirt prints). */
const IN_SCOPE = /vcpu|cpuset|<cache |bitmap|iothread|numatune|memnode|nodeset|cachetune|memorytune|monitor|sched|emulatorpin|vcpupin|priority|hotplug granularity|placement|period|quota|Hostdev already exists|ramfb|cell id|NUMA cell|vCPUs? in|cpus/i;

/** In-scope reasons that virt-pin deliberately does not check, with why. */
const NOT_CHECKED: Record<string, string> = {
  'tests/qemuxmlconfdata/cpu-numa-distance-nonexistent-sibling.xml': 'NUMA <distances> are outside the affinity model',
  'tests/qemuxmlconfdata/hugepages-memaccess-invalid.xml': 'cell memAccess is a memory-backing attribute, not affinity',
  'tests/qemuxmlconfdata/memory-hotplug-invalid-targetnode.xml': 'memory device target nodes are not modelled',
  'tests/qemuxmlconfdata/pci-expander-bus-bad-node.xml': 'PCI controller NUMA nodes are not modelled',
  'tests/qemuxmlconfdata/cpu-cache-passthrough3.xml': 'CPU cache mode depends on the CPU model, not affinity',
  'tests/qemuxmlconfdata/video-ramfb-display-device-pci-address.xml': 'a ramfb video device address, not a hostdev',
};

/**
 * libvirt's reason (as libvirt-expected-failures.txt states it) → the
 * diagnostic code(s) that say the same thing. A refusal counts as detected
 * only when virt-pin's first error in libvirt's order (firstError) has one of these codes; an error with any
 * other code is a failure (it would send the user after the wrong problem).
 */
const REASON_CODES: Record<string, readonly DiagnosticCode[]> = {
  "unsupported configuration: vCPUs count must be a multiple of the vCPU hotplug granularity (4)": ['QEMU_VCPU_TOPOLOGY'],
  "XML error: Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges or ranges not starting from 0 are not allowed": ['GUEST_NUMA_INVALID'],
  "invalid argument: Failed to parse bitmap 'aaa'": ['VCPU_CPUSET_INVALID'],
  "unsupported configuration: Cannot find 'iothread' : 2": ['SCHED_INVALID'],
  "'vcpusched' attributes 'vcpus' must not overlap": ['SCHED_INVALID'],
  "unsupported configuration: Only one vgpu device can have 'ramfb' enabled": ['HOSTDEV_INVALID'],
  'XML error: Hostdev already exists in the domain configuration': ['HOSTDEV_INVALID'],
  "unsupported configuration: nodeset for NUMA memory tuning must be set if 'placement' is 'static'": ['NUMATUNE_INVALID'],
  "XML error: 'restrictive' mode is required in memnode element when mode is 'restrictive' in memory element": ['NUMATUNE_RESTRICTIVE_MIXED'],
  "XML error: Element 'memnode' is invalid without any guest NUMA cells": ['MEMNODE_INVALID'],
  "XML error: 'restrictive' mode is required in memory element when mode is 'restrictive' in memnode element": ['NUMATUNE_RESTRICTIVE_MIXED'],
  'unsupported configuration: Per-node binding is not compatible with automatic NUMA placement.': ['MEMNODE_INVALID'],
  "unsupported configuration: Invalid value of 'nodeset': 0,^0": ['NUMATUNE_INVALID'],
  // genericxml2xmltest failures: the reason was written from the input (libvirt's test has no .err file).
  'two <cache> entries with the same id/level/type inside one <cachetune>': ['RESCTRL_INVALID'],
  'two <cachetune> elements with identical vcpus': ['RESCTRL_INVALID'],
  "<cache type='both'> and type='code' for the same cache id/level": ['RESCTRL_INVALID'],
  '<monitor> vcpus not a subset of the owning <cachetune> vcpus': ['RESCTRL_MONITOR_INVALID'],
  'two <node> entries with the same id inside one <memorytune>': ['MEMORYTUNE_NODE_INVALID'],
  '<memorytune vcpus> partially overlaps an existing <cachetune vcpus> (must be identical or disjoint)': ['RESCTRL_INVALID'],
};

interface Row {
  source: string;
  path: string;
  kind: string;
  reason: string;
}

function expectedFailures(): Row[] {
  return readFileSync(join(corpusDir(), 'libvirt-expected-failures.txt'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .map((c) => ({ source: c[0]!, path: c[1]!, kind: c[3]!, reason: c[5]! }));
}

/** The driver libvirt judged the file with: its QEMU driver for qemuxmlconftest, the generic parser for genericxml2xmltest. */
function driverOf(source: string): 'qemu' | 'generic' {
  if (source === 'qemuxmlconftest') return 'qemu';
  if (source === 'genericxml2xmltest') return 'generic';
  throw new Error(`unknown libvirt test program ${source}: say which driver it uses`);
}

describe('validate against libvirt on the corpus', () => {
  it("detects every in-scope parse error libvirt reports, for libvirt's reason, under the driver libvirt used", () => {
    const rows = expectedFailures().filter((r) => r.kind === 'parse-error');
    const byPath = new Map(rows.map((r) => [r.path, r]));
    const inScope = [...byPath.values()].filter((r) => IN_SCOPE.test(r.reason) && !NOT_CHECKED[r.path]);
    const problems: string[] = [];
    const perDriver: Record<string, number> = {};
    for (const r of inScope) {
      const driver = driverOf(r.source);
      perDriver[driver] = (perDriver[driver] ?? 0) + 1;
      const codes = REASON_CODES[r.reason];
      if (!codes) {
        problems.push(`${r.path}: no diagnostic code is mapped to libvirt's reason "${r.reason}" (add it to REASON_CODES)`);
        continue;
      }
      const errors = checkDocument(readFileSync(join(corpusDir(), 'libvirt', r.path), 'utf8'), { driver }).filter((d) => d.severity === 'error');
      const unrelated = errors.filter((e) => !codes.includes(e.code));
      if (errors.length === 0) problems.push(`${r.path} (${driver}): missed; libvirt: ${r.reason}`);
      else if (!codes.includes(firstError(errors)!.code)) problems.push(`${r.path} (${driver}): first error (libvirt's order) ${firstError(errors)!.code}, libvirt's reason is ${codes.join('/')}: ${r.reason}`);
      if (unrelated.length) problems.push(`${r.path} (${driver}): unrelated ${unrelated.map((e) => `${e.code} (${e.message})`).join(', ')}`);
    }
    console.log(`libvirt parse errors: ${byPath.size} files, ${inScope.length} in scope (${Object.entries(perDriver).map(([d, n]) => `${n} ${d}`).join(', ')}; +${Object.keys(NOT_CHECKED).length} documented as not checked), ${inScope.length - problems.length} detected for libvirt's reason`);
    expect(problems).toEqual([]);
    expect(perDriver.qemu).toBeGreaterThan(15);
    expect(perDriver.generic).toBeGreaterThan(5);
  });

  it('the reason table has no stale rows, and every code in it is a rule', () => {
    const reasons = new Set(expectedFailures().map((r) => r.reason));
    expect(Object.keys(REASON_CODES).filter((r) => !reasons.has(r))).toEqual([]);
    const ruleCodes = new Set(RULES.map((r) => r.code));
    expect(Object.values(REASON_CODES).flat().filter((c) => !ruleCodes.has(c))).toEqual([]);
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
