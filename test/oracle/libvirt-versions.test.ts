/**
 * The version-dependent rules (LIBVIRT_CHANGES) against the libvirt installed
 * here, through its test driver (`virsh -c test:///default`): one domain per
 * change that the test driver can show, judged by virt-pin as the installed
 * release (its `virsh --version`). Accept/reject must agree, and for accepted
 * domains the affinity elements of normalize() must equal dumpxml's. Each case
 * is also judged as the newest release read, to show it exercises the change.
 * Fails (never skips) without virsh; see docs/fidelity.md.
 */
import { beforeAll, expect, it } from 'vitest';
import { formatLibvirtVersion, NEWEST_RELEASE_READ, parseLibvirtVersion, type LibvirtChange } from '../../src/domain/index.js';
import { affinitySubtrees, normalize } from '../../src/normalize/index.js';
import { checkDocument } from '../../src/validate/index.js';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { describeWith } from '../support/components.js';
import { requireVirsh, runVirshBatch, type VirshResult } from '../support/oracle-virsh.js';

interface ChangeCase {
  change: LibvirtChange['id'];
  name: string;
  body: string;
}

const domain = (name: string, body: string): string =>
  `<domain type='test'><name>${name}</name><memory unit='KiB'>1048576</memory>${body}<os><type arch='x86_64'>hvm</type></os></domain>\n`;

/** What the test driver (generic driver checks) can show of each change. */
const CASES: readonly ChangeCase[] = [
  { change: 'iothread-thread-pool', name: 'vp-pool-zero', body: "<vcpu>2</vcpu><iothreads>1</iothreads><iothreadids><iothread id='1' thread_pool_max='0'/></iothreadids>" },
  { change: 'iothread-thread-pool', name: 'vp-pool-kept', body: "<vcpu>2</vcpu><iothreads>1</iothreads><iothreadids><iothread id='1' thread_pool_min='1' thread_pool_max='4'/></iothreadids><defaultiothread thread_pool_min='2' thread_pool_max='8'/>" },
  { change: 'shares-range', name: 'vp-shares-1', body: '<vcpu>2</vcpu><cputune><shares>1</shares></cputune>' },
  { change: 'shares-range', name: 'vp-shares-big', body: '<vcpu>2</vcpu><cputune><shares>300000</shares></cputune>' },
  { change: 'iothread-poll', name: 'vp-poll', body: "<vcpu>2</vcpu><iothreads>1</iothreads><iothreadids><iothread id='1'><poll max='10' grow='2' shrink='3'/></iothread></iothreadids>" },
  {
    change: 'restrictive-memnode-under-other-mode',
    name: 'vp-restrictive-node',
    body: "<vcpu>2</vcpu><numatune><memory mode='interleave' nodeset='0'/><memnode cellid='0' mode='restrictive' nodeset='0'/></numatune><cpu><numa><cell id='0' cpus='0-1' memory='1048576'/></numa></cpu>",
  },
  {
    change: 'restrictive-memnode-under-other-mode',
    name: 'vp-restrictive-memory',
    body: "<vcpu>2</vcpu><numatune><memory mode='restrictive' nodeset='0'/><memnode cellid='0' mode='strict' nodeset='0'/></numatune><cpu><numa><cell id='0' cpus='0-1' memory='1048576'/></numa></cpu>",
  },
  { change: 'topology-clusters', name: 'vp-clusters', body: "<vcpu>4</vcpu><cpu><topology sockets='1' dies='1' clusters='2' cores='2' threads='1'/></cpu>" },
  {
    change: 'disk-iothread-mapping',
    name: 'vp-disk-mapping',
    body: "<vcpu>2</vcpu><iothreads>1</iothreads><devices><disk type='file' device='disk'><driver name='qemu' type='raw'><iothreads><iothread id='1'/></iothreads></driver><source file='/x.img'/><target dev='vda' bus='virtio'/></disk></devices>",
  },
];

const errorCodes = (xml: string, libvirtVersion: string): string[] =>
  checkDocument(xml, { driver: 'generic', libvirtVersion })
    .filter((d) => d.severity === 'error')
    .map((d) => d.code);

describeWith(['virsh'], 'version-dependent rules against the installed libvirt (test driver)', () => {
  let installed = '';
  let verdicts = new Map<string, VirshResult>();

  beforeAll(() => {
    installed = formatLibvirtVersion(parseLibvirtVersion(requireVirsh()));
    verdicts = runVirshBatch(CASES.map((c) => ({ name: c.name, xml: domain(c.name, c.body) })), { queries: false });
  });

  it.each(CASES)('$change: $name — accept/reject and stored affinity as the installed release', (c) => {
    const xml = domain(c.name, c.body);
    const v = verdicts.get(c.name)!;
    const errors = errorCodes(xml, installed);
    expect(errors.length === 0, `libvirt ${installed}: ${v.defined ? 'accepts' : `refuses (${v.error})`}; virt-pin: ${errors.join(',') || 'no error'}`).toBe(v.defined);
    if (v.defined) {
      const ours = affinitySubtrees(parseDocument(serializeDocument(normalize(parseDocument(xml), { driver: 'generic', libvirtVersion: installed }))));
      expect(ours).toBe(affinitySubtrees(parseDocument(v.dumpxml!)));
    }
  });

  it('every change the cases name is judged differently on either side of its release, as far as the test driver shows', () => {
    // Per change: do the oldest modelled and the newest release read differ on at least one of its cases (errors or stored affinity)?
    const judged = (xml: string, version: string): string => {
      const errors = errorCodes(xml, version);
      if (errors.length) return `refused ${errors.join(',')}`;
      return affinitySubtrees(parseDocument(serializeDocument(normalize(parseDocument(xml), { driver: 'generic', libvirtVersion: version }))));
    };
    const changes = [...new Set(CASES.map((c) => c.change))];
    const shown: string[] = [];
    for (const id of changes) {
      const cases = CASES.filter((c) => c.change === id);
      const differs = (a: string, b: string) => cases.some((c) => judged(domain(c.name, c.body), a) !== judged(domain(c.name, c.body), b));
      if (differs('8.0', formatLibvirtVersion(NEWEST_RELEASE_READ))) shown.push(id);
    }
    // disk-iothread-mapping is a QEMU-only check, and clusters lives outside normalize's affinity elements: the generic driver shows neither.
    expect(shown.sort()).toEqual(changes.filter((id) => id !== 'disk-iothread-mapping' && id !== 'topology-clusters').sort());
  });
});

