import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CpuSet } from '../../src/cpuset/index.js';
import { describeHost, hostFromSysfs, type HostTopology } from '../../src/host/index.js';
import { repoRoot } from '../support/corpus.js';

/**
 * resolve's HostFacts contract (docs: team brief). A HostTopology must be
 * assignable to it so the CLI can hand one straight to the resolver; the
 * assignment below fails type-checking (tsconfig.test.json) if it is not.
 */
interface HostFactsContract {
  onlineCpus: CpuSet;
  isolatedCpus?: CpuSet;
  nodes?: { id: number; cpus: CpuSet; memoryKiB?: number }[];
  numadNodeset?: CpuSet;
}

const fixture = (name: string): string => join(repoRoot, 'fixtures', 'hosts', name);

describe('describeHost', () => {
  it('summarizes the isolated fixture', () => {
    expect(describeHost(hostFromSysfs(fixture('isolated')))).toBe(
      [
        'host (sysfs): 1 socket, 8 cores, 16 CPUs (SMT2), 1 NUMA node',
        '  node 0: CPUs 0-15, 15.6 GiB',
        '  online CPUs: 0-15',
        '  isolated CPUs: 2-7,10-15',
        '  nohz_full CPUs: 2-7,10-15',
        '  L3 cache: 1 × 24 MiB (CPUs 0-15)',
        '',
      ].join('\n'),
    );
  });
  it('is plain JSON-able data that passes as HostFacts', () => {
    const host: HostTopology = hostFromSysfs(fixture('two-socket-smt'));
    const facts: HostFactsContract = host;
    expect(facts.nodes?.map((n) => n.cpus.toString())).toEqual(['0-7,16-23', '8-15,24-31']);
    const json = JSON.parse(JSON.stringify(host)) as { onlineCpus: string; cpus: { siblings: string }[] };
    expect(json.onlineCpus).toBe('0-31');
    expect(json.cpus[3]!.siblings).toBe('3,19');
  });
});
