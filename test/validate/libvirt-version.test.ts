/**
 * libvirt-version profiles (issue 19 item 6): every change in LIBVIRT_CHANGES
 * behaves the old way before its release and the new way from it, each
 * confirmed for 9.0 against virsh -c test:///default (libvirt 9.0.0 here);
 * docs/fidelity.md's table is LIBVIRT_CHANGES (UPDATE_DOCS=1 rewrites it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuSet } from '../../src/cpuset/index.js';
import { atLeast, definitionOf, formatLibvirtVersion, LIBVIRT_CHANGES, NEWEST_RELEASE_READ, OLDEST_MODELLED, parseLibvirtVersion, readDomain } from '../../src/domain/index.js';
import { normalize } from '../../src/normalize/index.js';
import { resolve } from '../../src/resolve/resolve.js';
import { checkDocument } from '../../src/validate/index.js';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { repoRoot } from '../support/corpus.js';

const dom = (body: string): string => `<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>2</vcpu>${body}<os><type>hvm</type></os></domain>`;
const errors = (xml: string, libvirtVersion?: string): string[] =>
  checkDocument(xml, { driver: 'generic', ...(libvirtVersion ? { libvirtVersion } : {}) }).filter((d) => d.severity === 'error').map((d) => d.code);

describe('libvirt versions', () => {
  it('parses what users and virsh write, refuses the rest with LIBVIRT_VERSION_INVALID', () => {
    expect(parseLibvirtVersion('9.0')).toEqual({ major: 9, minor: 0, micro: 0 });
    expect(parseLibvirtVersion('10.7.0')).toEqual({ major: 10, minor: 7, micro: 0 });
    expect(parseLibvirtVersion('libvirtd (libvirt) 9.0.0')).toEqual({ major: 9, minor: 0, micro: 0 });
    for (const bad of ['', 'nine', '9', '9.x', '9.0.0.1']) expect(() => parseLibvirtVersion(bad), bad).toThrow(expect.objectContaining({ code: 'LIBVIRT_VERSION_INVALID' }));
    expect(() => checkDocument(dom(''), { libvirtVersion: 'latest' })).toThrow(expect.objectContaining({ code: 'LIBVIRT_VERSION_INVALID' }));
  });

  it('refuses versions older than the oldest modelled (8.0) with LIBVIRT_VERSION_UNSUPPORTED, in every entry point; 8.0 and versions newer than any release read are accepted', () => {
    const xml = dom('');
    for (const old of ['7.10', '7.10.0', '1.0']) {
      expect(() => checkDocument(xml, { libvirtVersion: old }), old).toThrow(expect.objectContaining({ code: 'LIBVIRT_VERSION_UNSUPPORTED' }));
      expect(() => normalize(parseDocument(xml), { driver: 'qemu', libvirtVersion: old }), old).toThrow(expect.objectContaining({ code: 'LIBVIRT_VERSION_UNSUPPORTED' }));
      expect(() => definitionOf(readDomain(parseDocument(xml)), { driver: 'qemu', libvirtVersion: old }), old).toThrow(expect.objectContaining({ code: 'LIBVIRT_VERSION_UNSUPPORTED' }));
    }
    expect(formatLibvirtVersion(OLDEST_MODELLED)).toBe('8.0.0');
    expect(() => checkDocument(xml, { libvirtVersion: '8.0' })).not.toThrow();
    expect(() => checkDocument(xml, { libvirtVersion: '99.0' })).not.toThrow();
    // Every change lies between the oldest modelled and the newest release read, oldest first.
    const since = LIBVIRT_CHANGES.map((c) => c.since);
    for (const [i, s] of since.entries()) {
      expect(atLeast(s, OLDEST_MODELLED)).toBe(true);
      expect(atLeast(NEWEST_RELEASE_READ, s)).toBe(true);
      if (i > 0) expect(atLeast(s, since[i - 1]!)).toBe(true);
    }
  });

  it('iothread-thread-pool: before 8.5 thread_pool_min/max and <defaultiothread> are not read (not checked, dropped); 8.5+ checks and keeps them', () => {
    const bad = dom("<iothreads>1</iothreads><iothreadids><iothread id='1' thread_pool_min='-1' thread_pool_max='0'/></iothreadids><defaultiothread thread_pool_min='5' thread_pool_max='2'/>");
    expect(errors(bad, '8.4')).toEqual([]);
    expect(errors(bad, '8.5')).toEqual(expect.arrayContaining(['IOTHREAD_ID_INVALID', 'IOTHREAD_POOL_INVALID']));
    const good = dom("<iothreads>1</iothreads><iothreadids><iothread id='1' thread_pool_min='1' thread_pool_max='4'/></iothreadids><defaultiothread thread_pool_min='2' thread_pool_max='8'/>");
    const model = readDomain(parseDocument(good));
    expect(definitionOf(model, { driver: 'generic', libvirtVersion: '8.4' }).changes.map((c) => c.code)).toEqual(expect.arrayContaining(['IOTHREAD_THREAD_POOL_IGNORED', 'DEFAULTIOTHREAD_DROPPED']));
    expect(definitionOf(model, { driver: 'generic', libvirtVersion: '8.5' }).changes.map((c) => c.code)).not.toEqual(expect.arrayContaining(['IOTHREAD_THREAD_POOL_IGNORED']));
    const old = serializeDocument(normalize(parseDocument(good), { driver: 'generic', libvirtVersion: '8.4' }));
    expect(old).not.toContain('thread_pool');
    expect(old).not.toContain('<defaultiothread');
    const now = serializeDocument(normalize(parseDocument(good), { driver: 'generic', libvirtVersion: '8.5' }));
    expect(now).toContain("thread_pool_min='1'");
    expect(now).toContain("<defaultiothread thread_pool_min='2' thread_pool_max='8'/>");
  });

  it("iommu-eim-added: (QEMU) >255 x86 vCPUs on q35 without an IOMMU are refused before 10.10, accepted from 10.10 (libvirt adds the EIM IOMMU); non-q35 and eim='off' stay refused", () => {
    const big = (machine: string, devices: string): string =>
      `<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>288</vcpu><os><type arch='x86_64' machine='${machine}'>hvm</type></os><features><ioapic driver='qemu'/></features><devices>${devices}</devices></domain>`;
    const qemuErrors = (xml: string, version: string): string[] => checkDocument(xml, { driver: 'qemu', libvirtVersion: version }).filter((d) => d.severity === 'error').map((d) => d.code);
    for (const [machine, devices, refusedFrom1010] of [
      ['q35', '', false],
      ['q35', "<iommu model='intel'><driver intremap='on'/></iommu>", false],
      ['q35', "<iommu model='intel'><driver intremap='on' eim='off'/></iommu>", true],
      ['pc-i440fx-9.0', '', true],
    ] as const) {
      const xml = big(machine, devices);
      expect(qemuErrors(xml, '10.9'), `${machine} ${devices}`).toContain('QEMU_VCPU_TOPOLOGY');
      expect(qemuErrors(xml, '10.10').includes('QEMU_VCPU_TOPOLOGY'), `${machine} ${devices}`).toBe(refusedFrom1010);
      expect(qemuErrors(xml, '10.7').includes('QEMU_VCPU_TOPOLOGY'), 'the default (10.7) refuses').toBe(true);
    }
    const withEim = big('q35', "<iommu model='intel'><driver intremap='on' eim='on'/></iommu>");
    expect(qemuErrors(withEim, '9.0')).not.toContain('QEMU_VCPU_TOPOLOGY');
  });

  it('topology-clusters: before 10.1 clusters is not read, so (QEMU) the product without it must equal the vCPU count; from 10.1 it counts', () => {
    const topo = (clusters: string, cores: number): string =>
      `<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>4</vcpu><cpu><topology sockets='1' dies='1' clusters='${clusters}' cores='${cores}' threads='1'/></cpu><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>`;
    const qemuErrors = (xml: string, version: string): string[] => checkDocument(xml, { driver: 'qemu', libvirtVersion: version }).filter((d) => d.severity === 'error').map((d) => d.code);
    expect(qemuErrors(topo('2', 2), '10.0')).toEqual(['QEMU_VCPU_TOPOLOGY']);
    expect(qemuErrors(topo('2', 2), '10.1')).toEqual([]);
    expect(qemuErrors(topo('2', 4), '10.0')).toEqual([]);
    expect(qemuErrors(topo('2', 4), '10.1')).toEqual(['QEMU_VCPU_TOPOLOGY']);
    expect(qemuErrors(topo('4294967295', 4), '9.0')).toEqual([]);
    expect(qemuErrors(topo('4294967295', 4), '10.7')).toEqual(expect.arrayContaining(['TOPOLOGY_OVERFLOW']));
  });

  it('disk-iothread-mapping (10.0) and controller-iothread-mapping (11.2): (QEMU) the IOThreads a <driver><iothreads> mapping names are checked only from the release that reads it', () => {
    const withDevice = (device: string): string =>
      `<domain type='kvm'><name>t</name><memory>1048576</memory><vcpu>2</vcpu><iothreads>1</iothreads><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${device}</devices></domain>`;
    const disk = withDevice("<disk type='file' device='disk'><driver name='qemu' type='raw'><iothreads><iothread id='7'/></iothreads></driver><source file='/x.img'/><target dev='vda' bus='virtio'/></disk>");
    const controller = withDevice("<controller type='scsi' index='0' model='virtio-scsi'><driver><iothreads><iothread id='7'/></iothreads></driver></controller>");
    const refs = (xml: string, version: string): number => checkDocument(xml, { driver: 'qemu', libvirtVersion: version }).filter((d) => d.code === 'QEMU_IOTHREAD_REFERENCE').length;
    expect([refs(disk, '9.10'), refs(disk, '10.0'), refs(disk, '10.7')]).toEqual([0, 1, 1]);
    expect([refs(controller, '10.7'), refs(controller, '11.1'), refs(controller, '11.2'), refs(controller, '12.5')]).toEqual([0, 0, 1, 1]);
    // The <driver iothread='N'> attribute is read by every modelled release.
    const attr = withDevice("<controller type='scsi' index='0' model='virtio-scsi'><driver iothread='7'/></controller>");
    expect([refs(attr, '8.0'), refs(attr, '12.5')]).toEqual([1, 1]);
  });

  it("shares-range: 9.0 refuses a non-zero <shares> outside 2..262144 ('Value of cputune 'shares' must be in range'); 9.1+ does not", () => {
    for (const [shares, refusedBy90] of [['1', true], ['300000', true], ['0', false], ['2', false], ['262144', false]] as const) {
      const xml = dom(`<cputune><shares>${shares}</shares></cputune>`);
      expect(errors(xml, '9.0').includes('CPUTUNE_VALUE_OUT_OF_RANGE'), shares).toBe(refusedBy90);
      expect(errors(xml, '9.1').includes('CPUTUNE_VALUE_OUT_OF_RANGE'), shares).toBe(false);
      expect(errors(xml).includes('CPUTUNE_VALUE_OUT_OF_RANGE'), shares).toBe(false);
    }
  });

  it('iothread-poll: 9.0 drops <poll> (IOTHREAD_POLL_DROPPED, gone after normalize); 9.4+ keeps it', () => {
    const xml = dom("<iothreads>1</iothreads><iothreadids><iothread id='1'><poll max='10'/></iothread></iothreadids>");
    const model = readDomain(parseDocument(xml));
    expect(definitionOf(model, { driver: 'generic', libvirtVersion: '9.0' }).changes.map((c) => c.code)).toContain('IOTHREAD_POLL_DROPPED');
    expect(definitionOf(model, { driver: 'generic', libvirtVersion: '9.4' }).changes.map((c) => c.code)).not.toContain('IOTHREAD_POLL_DROPPED');
    const old = serializeDocument(normalize(parseDocument(xml), { driver: 'generic', libvirtVersion: '9.0' }));
    expect(old).toContain("<iothread id='1'/>");
    expect(old).not.toContain('<poll');
    expect(serializeDocument(normalize(parseDocument(xml), { driver: 'generic' }))).toContain("<poll max='10'/>");
  });

  it('isolated-cpus-excluded: "all host CPUs" keeps the isolated CPUs before 10.4', () => {
    const host = { onlineCpus: CpuSet.range(0, 7), isolatedCpus: CpuSet.range(6, 7) };
    const model = readDomain(parseDocument(dom('')));
    const old = resolve(definitionOf(model, { driver: 'generic', libvirtVersion: '10.3' }), host, { model });
    const now = resolve(definitionOf(model, { driver: 'generic', libvirtVersion: '10.4' }), host, { model });
    expect([String(old.vcpus[0]!.cpus), String(now.vcpus[0]!.cpus)]).toEqual(['0-7', '0-5']);
    expect(old.notes.map((n) => n.code)).not.toContain('RESOLVE_ALL_EXCLUDES_ISOLATED');
  });

  it('restrictive-memnode-under-other-mode: 9.0 and 9.3 accept a restrictive memnode under interleave memory, 9.4 and 10.7 refuse; all refuse the reverse', () => {
    const cells = "<cpu><numa><cell id='0' cpus='0-1' memory='1024'/></numa></cpu>";
    const nodeR = dom(`<numatune><memory mode='interleave' nodeset='0'/><memnode cellid='0' mode='restrictive' nodeset='0'/></numatune>${cells}`);
    const memR = dom(`<numatune><memory mode='restrictive' nodeset='0'/><memnode cellid='0' mode='strict' nodeset='0'/></numatune>${cells}`);
    expect(errors(nodeR, '9.0')).toEqual([]);
    expect(errors(nodeR, '9.3.0')).toEqual([]);
    expect(errors(nodeR, '9.4')).toEqual(['NUMATUNE_RESTRICTIVE_MIXED']);
    expect(errors(nodeR)).toEqual(['NUMATUNE_RESTRICTIVE_MIXED']);
    expect(errors(memR, '9.0')).toEqual(['NUMATUNE_RESTRICTIVE_MIXED']);
    expect(errors(memR)).toEqual(['NUMATUNE_RESTRICTIVE_MIXED']);
  });

  it('docs/fidelity.md lists every change exactly as LIBVIRT_CHANGES', () => {
    const BEGIN = '<!-- libvirt-changes:begin (generated from LIBVIRT_CHANGES by test/validate/libvirt-version.test.ts) -->';
    const END = '<!-- libvirt-changes:end -->';
    const path = join(repoRoot, 'docs', 'fidelity.md');
    const doc = readFileSync(path, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, 'markers missing').toBeGreaterThan(-1);
    const rows = LIBVIRT_CHANGES.map((c) => `| \`${c.id}\` | ${formatLibvirtVersion(c.since)} | ${c.before} | ${c.after} | ${c.source} |`);
    const table = ['| change | since | before | from then on | source |', '|---|---|---|---|---|', ...rows].join('\n');
    const want = `${doc.slice(0, start + BEGIN.length)}\n${table}\n${doc.slice(end)}`;
    if (process.env.UPDATE_DOCS) writeFileSync(path, want);
    expect(doc).toBe(want);
  });
});
