import { describe, expect, it } from 'vitest';
import { parseDocument } from '../../src/xml/index.js';
import { elementPath, formatPciAddress, readDomain, readDomainText, type DomainModel, type Field } from '../../src/domain/index.js';
import { naiveLocation } from '../support/location.js';

const dom = (body: string): string => `<domain type='kvm'>\n  <name>t</name>\n${body}\n</domain>\n`;
const read = (body: string): DomainModel => readDomainText(dom(body));
/** [value, error code, warning code] of a field, for table assertions. */
const summary = <T>(f: Field<T> | undefined): [T | undefined, string | undefined, string | undefined] => [f?.value, f?.error?.code, f?.warning?.code];

describe('<vcpu> text: virStrToLong_ui without an end pointer (spec §3.1)', () => {
  it.each([
    ['4', 4, undefined, undefined],
    ['  4', 4, undefined, undefined],
    ['\n4', 4, undefined, undefined],
    ['+4', 4, undefined, undefined],
    ['004', 4, undefined, undefined],
    ['4294967295', 4294967295, undefined, undefined],
    ['4294967296', undefined, 'OUT_OF_RANGE', undefined],
    ['99999999999', undefined, 'OUT_OF_RANGE', undefined],
    ['4\n  ', undefined, 'TRAILING_WHITESPACE', undefined],
    ['4 ', undefined, 'TRAILING_WHITESPACE', undefined],
    ['4x', undefined, 'TRAILING_GARBAGE', undefined],
    ['1.5', undefined, 'TRAILING_GARBAGE', undefined],
    ['0x10', undefined, 'TRAILING_GARBAGE', undefined],
    ['four', undefined, 'NOT_UNSIGNED', undefined],
    ['- 1', undefined, 'NOT_UNSIGNED', undefined],
    ['+-1', undefined, 'NOT_UNSIGNED', undefined],
    ['', undefined, 'EMPTY', undefined],
    ['  ', undefined, 'EMPTY', undefined],
    // A leading '-' wraps modulo 2^32; libvirt stores the result without complaint.
    ['-1', 4294967295, undefined, 'NEGATIVE_WRAPPED'],
    ['-4294967295', 1, undefined, 'NEGATIVE_WRAPPED'],
    ['-0', 0, undefined, undefined],
    ['-4294967296', undefined, 'OUT_OF_RANGE', undefined],
  ])('<vcpu>%j</vcpu> → value %s, error %s, warning %s', (text, value, code, warning) => {
    const m = read(`  <vcpu>${text}</vcpu>`);
    expect(summary(m.vcpu!.max)).toEqual([value, code, warning]);
    expect(m.vcpu!.max.raw).toBe(text);
    expect(m.vcpu!.max.loc).toMatchObject({ line: 3, column: 3 });
  });

  it('reads the XPath string-value: CDATA counts, comments do not', () => {
    expect(read('  <vcpu><![CDATA[6]]></vcpu>').vcpu!.max.value).toBe(6);
    expect(read('  <vcpu>1<!-- two -->2</vcpu>').vcpu!.max.value).toBe(12);
  });

  it('an empty <vcpu/> is refused (libvirt reads "" and fails), an absent one is no model at all', () => {
    expect(summary(read('  <vcpu/>').vcpu!.max)).toEqual([undefined, 'EMPTY', undefined]);
    expect(read('').vcpu).toBeUndefined();
  });

  it('only the first <vcpu> is read; the others are listed as ignored', () => {
    const m = read('  <vcpu>2</vcpu>\n  <vcpu>8</vcpu>\n  <vcpu>9</vcpu>');
    expect(m.vcpu!.max.value).toBe(2);
    expect(m.ignoredVcpuElements.map((e) => e.path)).toEqual(['/domain/vcpu[2]', '/domain/vcpu[3]']);
  });
});

describe('attributes read with virXMLPropUInt (virStrToLong_uip: no sign, nothing after the digits)', () => {
  it.each([
    ['2', 2, undefined],
    ['+2', 2, undefined],
    [' 2', 2, undefined],
    ['-1', undefined, 'NOT_UNSIGNED'],
    ['-0', undefined, 'NOT_UNSIGNED'],
    ['2 ', undefined, 'TRAILING_WHITESPACE'],
    ['2x', undefined, 'TRAILING_GARBAGE'],
    ['', undefined, 'EMPTY'],
    ['two', undefined, 'NOT_UNSIGNED'],
  ])("<vcpu current=%j> → %s %s", (attr, value, code) => {
    const m = read(`  <vcpu current='${attr}'>4</vcpu>`);
    expect(summary(m.vcpu!.current)).toEqual([value, code, undefined]);
    expect(m.vcpu!.current!.loc).toMatchObject({ line: 3, column: 9 });
  });

  it('positions point at the offending character', () => {
    const m = read(`  <vcpu current='12ab3'>4</vcpu>\n  <cputune><vcpupin vcpu=' -1' cpuset='1'/></cputune>`);
    expect(m.vcpu!.current!.error).toMatchObject({ code: 'TRAILING_GARBAGE', position: 2 });
    expect(m.cputune!.vcpupins[0]!.vcpu!.error).toMatchObject({ code: 'NOT_UNSIGNED', position: 1 });
  });

  it('<vcpus><vcpu>: id and order unsigned, enabled/hotpluggable exactly yes or no', () => {
    const m = read(`  <vcpu>4</vcpu>
  <vcpus>
    <vcpu id='0' enabled='yes' hotpluggable='no' order='1'/>
    <vcpu id='-1' enabled='true'/>
  </vcpus>
  <vcpus>
    <vcpu id='+2' enabled='default' hotpluggable='' order='x'/>
  </vcpus>`);
    const [a, b, c] = m.vcpus!.entries;
    expect([a!.id!.value, a!.enabled!.value, a!.hotpluggable!.value, a!.order!.value]).toEqual([0, true, false, 1]);
    expect([b!.id!.error?.code, b!.enabled!.error?.code]).toEqual(['NOT_UNSIGNED', 'BAD_ENUM']);
    expect([c!.id!.value, c!.enabled!.error?.code, c!.hotpluggable!.error?.code, c!.order!.error?.code]).toEqual([2, 'BAD_ENUM', 'BAD_ENUM', 'NOT_UNSIGNED']);
    expect(m.vcpus!.blocks.map((b) => b.path)).toEqual(['/domain/vcpus[1]', '/domain/vcpus[2]']);
    expect(c!.path).toBe('/domain/vcpus[2]/vcpu');
  });

  it.each([
    ['static', 'static', undefined],
    ['auto', 'auto', undefined],
    ['Auto', undefined, 'BAD_ENUM'],
    ['', undefined, 'BAD_ENUM'],
  ])("<vcpu placement=%j> → %s %s", (attr, value, code) => {
    expect(summary(read(`  <vcpu placement='${attr}'>2</vcpu>`).vcpu!.placement)).toEqual([value, code, undefined]);
  });
});

describe('<vcpu cpuset> and other lists (virBitmapParse, spec §2)', () => {
  it('is never parsed under placement auto', () => {
    const m = read("  <vcpu placement='auto' cpuset='garbage'>2</vcpu>");
    expect(m.vcpu!.cpuset).toMatchObject({ raw: 'garbage', ignored: true, value: undefined });
    expect(m.vcpu!.cpuset!.error).toBeUndefined();
  });

  it('keeps grammar errors with the cpuset code, position and the attribute location', () => {
    const m = read("  <vcpu cpuset='0-3 ^2'>4</vcpu>");
    expect(m.vcpu!.cpuset!.error).toMatchObject({ code: 'CPUSET_SYNTAX', position: 4 });
    expect(m.vcpu!.cpuset!.loc).toMatchObject({ line: 3, column: 9 });
  });

  it('an empty result is a value, not an error (legality depends on the element)', () => {
    const m = read("  <vcpu cpuset='0,^0'>4</vcpu>\n  <cpu><numa><cell cpus='1,^1' memory='1024'/></numa></cpu>");
    expect(m.vcpu!.cpuset!.value!.isEmpty()).toBe(true);
    expect(m.vcpu!.cpuset!.error).toBeUndefined();
    expect(m.cpu!.numa!.cells[0]!.cpus!.value!.isEmpty()).toBe(true);
  });

  it('accepts the C parser\'s whitespace, trailing comma and signed upper bound', () => {
    const m = read("  <vcpu>4</vcpu>\n  <cputune><vcpupin vcpu='0' cpuset=' 0 - 1 , 3 ,'/><emulatorpin cpuset='2-+5'/></cputune>");
    expect(m.cputune!.vcpupins[0]!.cpuset!.value!.toString()).toBe('0-1,3');
    expect(m.cputune!.emulatorpins[0]!.cpuset!.value!.toString()).toBe('2-5');
  });

  it('refuses ids above 16383 with the cpuset module code', () => {
    const m = read("  <vcpu>4</vcpu>\n  <numatune><memory nodeset='16384'/></numatune>");
    expect(m.numatune!.memory!.nodeset!.error!.code).toMatch(/^CPUSET_/);
  });
});

describe('<iothreads>, <iothreadids>, <defaultiothread> (spec §3.3)', () => {
  it.each([
    ['4', 4, undefined],
    ['+4', 4, undefined],
    ['', 0, undefined],
    ['-1', undefined, 'NOT_UNSIGNED'],
    ['4\n', undefined, 'TRAILING_WHITESPACE'],
    ['x', undefined, 'NOT_UNSIGNED'],
  ])('<iothreads>%j</iothreads> → %s %s', (text, value, code) => {
    expect(summary(read(`  <iothreads>${text}</iothreads>`).iothreads)).toEqual([value, code, undefined]);
  });

  it('iothread ids, thread pools (C int) and poll values (unsigned 64-bit)', () => {
    const m = read(`  <iothreadids>
    <iothread id='1' thread_pool_min='-1' thread_pool_max='x'>
      <poll max='18446744073709551615' grow='-1' shrink='18446744073709551616'/>
    </iothread>
    <iothread id='0'/>
  </iothreadids>
  <defaultiothread thread_pool_min='2' thread_pool_max='2147483648'/>`);
    const [a, b] = m.iothreadids!.entries;
    expect(summary(a!.threadPoolMin)).toEqual([-1, undefined, undefined]);
    expect(summary(a!.threadPoolMax)).toEqual([undefined, 'NOT_INTEGER', undefined]);
    expect(summary(a!.poll!.max)).toEqual([18446744073709551615n, undefined, undefined]);
    expect(summary(a!.poll!.grow)).toEqual([undefined, 'NOT_UNSIGNED', undefined]);
    expect(summary(a!.poll!.shrink)).toEqual([undefined, 'OUT_OF_RANGE', undefined]);
    expect(b!.id!.value).toBe(0); // zero parses; refusing it is validate's job (V12)
    expect(summary(m.defaultIOThread!.threadPoolMin)).toEqual([2, undefined, undefined]);
    expect(summary(m.defaultIOThread!.threadPoolMax)).toEqual([undefined, 'OUT_OF_RANGE', undefined]);
  });

  it('collects IOThread references from disks (both spellings) and controllers', () => {
    const m = read(`  <devices>
    <disk type='file'><driver name='qemu' iothread='2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file'><driver name='qemu'><iothreads><iothread id='3'/><iothread id='4'/></iothreads></driver><target dev='vdb' bus='virtio'/></disk>
    <controller type='scsi' model='virtio-scsi'><driver iothread='x'/></controller>
  </devices>`);
    expect(m.iothreadRefs.map((r) => [r.device, r.bus, r.id.value ?? r.id.error?.code])).toEqual([
      ['disk', 'virtio', 2],
      ['disk', 'virtio', 3],
      ['disk', 'virtio', 4],
      ['controller', 'virtio-scsi', 'NOT_UNSIGNED'],
    ]);
  });
});

describe('<cputune> (spec §3.4)', () => {
  it.each([
    ['shares', '0', 0n, undefined],
    ['shares', '-1', undefined, 'NOT_UNSIGNED'],
    ['period', '100000', 100000n, undefined],
    ['period', '-1', undefined, 'NOT_UNSIGNED'],
    ['period', ' 1000 ', undefined, 'TRAILING_WHITESPACE'],
    ['quota', '-1', -1n, undefined],
    ['quota', '+2000', 2000n, undefined],
    ['quota', '1.5', undefined, 'TRAILING_GARBAGE'],
    ['quota', 'max', undefined, 'NOT_INTEGER'],
    ['quota', '9223372036854775808', undefined, 'OUT_OF_RANGE'],
    ['emulator_quota', '-9223372036854775808', -9223372036854775808n, undefined],
    ['iothread_period', '18446744073709551616', undefined, 'OUT_OF_RANGE'],
  ])('<%s>%s</…> → %s %s', (el, text, value, code) => {
    const m = read(`  <vcpu>2</vcpu>\n  <cputune><${el}>${text}</${el}></cputune>`);
    const key = el.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) as 'shares';
    expect(summary(m.cputune![key])).toEqual([value, code, undefined]);
  });

  it('an empty scalar element counts as absent', () => {
    const ct = read('  <vcpu>2</vcpu>\n  <cputune><period></period><quota/></cputune>').cputune!;
    expect([ct.period, ct.quota]).toEqual([undefined, undefined]);
  });

  it('merges list children of two <cputune> blocks, reads scalars from the first occurrence only', () => {
    const m = read(`  <vcpu>4</vcpu>
  <cputune><period>1000</period><vcpupin vcpu='0' cpuset='1'/></cputune>
  <cputune><period>2000</period><quota>3000</quota><vcpupin vcpu='1' cpuset='2'/></cputune>`);
    expect(m.cputune!.vcpupins.map((p) => p.vcpu!.value)).toEqual([0, 1]);
    expect(m.cputune!.period!.value).toBe(1000n);
    // string(./cputune/quota[1]) finds the first <quota> in document order, here in the second block.
    expect(m.cputune!.quota!.value).toBe(3000n);
    expect(m.cputune!.ignoredRepeats.map((r) => r.path)).toEqual(['/domain/cputune[2]/period']);
    expect(m.cputune!.vcpupins[1]!.path).toBe('/domain/cputune[2]/vcpupin');
    expect(m.cputune!.blocks).toHaveLength(2);
  });

  it('sched: scheduler enum without "none"; priority read only for fifo/rr', () => {
    const m = read(`  <vcpu>4</vcpu>
  <cputune>
    <vcpusched vcpus='0' scheduler='fifo' priority='x'/>
    <vcpusched vcpus='1' scheduler='batch' priority='x'/>
    <vcpusched vcpus='2' scheduler='none'/>
    <iothreadsched iothreads='1-2' scheduler='rr' priority='-5'/>
    <emulatorsched scheduler='idle'/>
  </cputune>`);
    const [fifo, batch, none] = m.cputune!.vcpuscheds;
    expect(summary(fifo!.priority)).toEqual([undefined, 'NOT_INTEGER', undefined]);
    expect(batch!.priority).toMatchObject({ raw: 'x', ignored: true });
    expect(batch!.priority!.error).toBeUndefined();
    expect(none!.scheduler!.error!.code).toBe('BAD_ENUM');
    expect(m.cputune!.iothreadscheds[0]).toMatchObject({ kind: 'iothread', priority: { value: -5 } });
    expect(m.cputune!.iothreadscheds[0]!.ids!.value!.toString()).toBe('1-2');
    expect(m.cputune!.emulatorscheds[0]).toMatchObject({ kind: 'emulator', scheduler: { value: 'idle' } });
  });

  it('resctrl: cache and memory-bandwidth entries and monitors', () => {
    const m = read(`  <vcpu>4</vcpu>
  <cputune>
    <cachetune vcpus='0-1'><cache id='0' level='3' type='code' size='3' unit='MiB'/><monitor level='3' vcpus='0'/></cachetune>
    <memorytune vcpus='2'><node id='0' bandwidth='60'/><node id='1' bandwidth='-1'/></memorytune>
  </cputune>`);
    const ct = m.cputune!.cachetunes[0]!;
    expect([ct.vcpus!.value!.toString(), ct.caches[0]!.type!.value, ct.caches[0]!.size!.value, ct.monitors[0]!.level!.value]).toEqual(['0-1', 'code', 3n, 3]);
    expect(m.cputune!.memorytunes[0]!.nodes.map((n) => n.bandwidth!.value ?? n.bandwidth!.error!.code)).toEqual([60, 'NOT_UNSIGNED']);
  });
});

describe('<numatune> and <cpu> (spec §3.5, §3.6)', () => {
  it('reads the first <memory> of the first <numatune>; every block is listed', () => {
    const m = read(`  <numatune><memory mode='bogus' placement='auto'/><memory mode='strict' nodeset='1'/><memnode cellid='0' mode='preferred' nodeset='0'/></numatune>
  <numatune><memory mode='strict' nodeset='2'/></numatune>`);
    expect(m.numatune!.blocks).toHaveLength(2);
    expect(summary(m.numatune!.memory!.mode)).toEqual([undefined, 'BAD_ENUM', undefined]);
    expect(m.numatune!.memory!.placement!.value).toBe('auto');
    expect(m.numatune!.memnodes[0]).toMatchObject({ cellid: { value: 0 }, mode: { value: 'preferred' } });
  });

  it('topology and guest cells, with default cell ids by position', () => {
    const m = read(`  <cpu mode='host-passthrough'>
    <topology sockets='1' dies='1' cores='2' threads='-2'/>
    <numa><cell cpus='0-1' memory='1' unit='GiB'/><cell id='x' memory='512'/></numa>
  </cpu>`);
    expect(m.cpu!.mode!.value).toBe('host-passthrough');
    expect(summary(m.cpu!.topology!.threads)).toEqual([undefined, 'NOT_UNSIGNED', undefined]);
    expect(m.cpu!.numa!.cells.map((c) => [c.index, c.id?.value, c.cpus?.value?.toString()])).toEqual([[0, undefined, '0-1'], [1, undefined, undefined]]);
    expect(m.cpu!.numa!.cells[1]!.id!.error!.code).toBe('NOT_UNSIGNED');
  });
});

describe('host devices (spec §3.7)', () => {
  it.each([
    ['0x1f', 31, undefined],
    ['0X1F', 31, undefined],
    ['010', 8, undefined],
    ['0', 0, undefined],
    ['9', 9, undefined],
    ['08', undefined, 'NOT_UNSIGNED'],
    ['0x', undefined, 'NOT_UNSIGNED'],
    ['-1', undefined, 'NOT_UNSIGNED'],
    ['', undefined, 'EMPTY'],
  ])("PCI slot=%j (strtoul base 0) → %s %s", (slot, value, code) => {
    const m = read(`  <devices><hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='${slot}' function='0'/></source></hostdev></devices>`);
    expect(summary(m.hostdevs[0]!.pci!.slot)).toEqual([value, code, undefined]);
  });

  it('canonical address only when every part parsed and is in range', () => {
    const m = read(`  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='010' function='1'/></source></hostdev>
    <hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0x20' function='0'/></source></hostdev>
    <interface type='hostdev'><source><address type='pci' domain='0' bus='0x81' slot='0' function='0'/></source></interface>
  </devices>`);
    expect(m.hostdevs.map((h) => h.pci?.canonical)).toEqual(['0000:01:08.1', undefined, '0000:81:00.0']);
    expect(m.hostdevs.map((h) => h.via)).toEqual(['hostdev', 'hostdev', 'interface']);
    expect(m.hostdevs[0]!.managed).toMatchObject({ value: true });
  });

  it('a bogus managed= is stored as false; the complaint is a warning, not a refusal', () => {
    const m = read("  <devices><hostdev mode='subsystem' type='usb' managed='maybe'><source><vendor id='0x046d'/><product id='0xc52b'/></source></hostdev></devices>");
    expect(m.hostdevs[0]!.managed).toMatchObject({ raw: 'maybe', value: false, warning: { code: 'BAD_ENUM' } });
    expect(m.hostdevs[0]!.managed!.error).toBeUndefined();
    expect(m.hostdevs[0]!.sourceKey).toBe('usb vendor.id=0x046d product.id=0xc52b');
  });

  it('formatPciAddress writes sysfs form', () => {
    expect(formatPciAddress(0, 0x81, 0x1f, 7)).toBe('0000:81:1f.7');
    expect(formatPciAddress(0x10, 0, 0, 0)).toBe('0010:00:00.0');
  });
});

describe('document level', () => {
  it('reads the definition inside status XML (<domstatus>)', () => {
    const m = readDomainText("<domstatus state='running'>\n  <domain type='kvm'><vcpu>3</vcpu></domain>\n</domstatus>");
    expect(m.vcpu!.max.value).toBe(3);
    expect(m.root.path).toBe('/domstatus/domain');
  });

  it('readDomain works on a parsed document and keeps type, name, arch and machine', () => {
    const m = readDomain(parseDocument("<domain type='kvm'><name>vm1</name><os><type arch='x86_64' machine='pc-q35-9.0'>hvm</type></os></domain>"));
    expect([m.type!.value, m.name!.value, m.arch!.value, m.machine!.value]).toEqual(['kvm', 'vm1', 'x86_64', 'pc-q35-9.0']);
  });

  it('refuses a document that is not a domain with a stable code and location', () => {
    expect(() => readDomainText('<capabilities/>')).toThrow(expect.objectContaining({ code: 'DOMAIN_NOT_A_DOMAIN' }));
  });
});

describe('element paths', () => {
  it('are right for every position, in every read, past the limits of the shared path cache', () => {
    // 80 parents (more prefixes than the cache keeps) with 3 same-name children each, read twice.
    const body = Array.from({ length: 80 }, (_, i) => `<g${i}><x/><x/><x/></g${i}>`).join('');
    for (let round = 0; round < 2; round++) {
      const doc = parseDocument(`<domain>${body}</domain>`);
      const got = doc.root.elements().flatMap((g) => g.elements('x').map((x) => elementPath(x)));
      expect(got).toEqual(Array.from({ length: 80 }, (_, i) => [1, 2, 3].map((n) => `/domain/g${i}/x[${n}]`)).flat());
    }
    const long = 'n'.repeat(300);
    const longDoc = parseDocument(`<domain><${long}><x/><x/></${long}></domain>`);
    expect(longDoc.root.elements()[0]!.elements('x').map((x) => elementPath(x))).toEqual([`/domain/${long}/x[1]`, `/domain/${long}/x[2]`]);
    const pins = Array.from({ length: 3 }, (_, i) => `<vcpupin vcpu='${i}' cpuset='${i}'/>`).join('');
    const model = readDomainText(`<domain><vcpu>3</vcpu><cputune>${pins}</cputune></domain>`);
    expect(model.cputune!.vcpupins.map((p) => p.path)).toEqual(['/domain/cputune/vcpupin[1]', '/domain/cputune/vcpupin[2]', '/domain/cputune/vcpupin[3]']);
  });
});

describe('attribute field locations, asked for after the read', () => {
  // Accepted values keep their attribute's source index and find line and column only when asked (ValueField);
  // refused ones are located during the read. Either way the answer is the attribute name's position.
  const where = (text: string, needle: string, from = 0): { line: number; column: number; offset: number } => naiveLocation(text, text.indexOf(needle, from));

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('every <vcpupin> attribute, in reverse order, with %s line ends', (_, nl) => {
    const pins = Array.from({ length: 40 }, (_, i) => `    <vcpupin ${i % 3 ? '' : nl + '      '}vcpu='${i}' cpuset='${i === 7 ? 'x' : i % 4}'/>`);
    const text = ['<domain type="kvm">', '  <name>t</name>', '  <vcpu>40</vcpu>', '  <cputune>', ...pins, '  </cputune>', '</domain>', ''].join(nl);
    const m = readDomainText(text);
    const found = m.cputune!.vcpupins;
    expect(found).toHaveLength(40);
    for (let i = found.length - 1; i >= 0; i--) {
      const vcpuAt = where(text, `vcpu='${i}'`);
      expect({ ...found[i]!.vcpu!.loc }).toEqual(vcpuAt);
      expect({ ...found[i]!.cpuset!.loc }).toEqual(where(text, 'cpuset=', vcpuAt.offset));
      expect(found[i]!.cpuset!.error?.code).toBe(i === 7 ? 'CPUSET_SYNTAX' : undefined);
    }
  });

  it('JSON of a field carries its location, as it did when the location was a property', () => {
    const text = dom(`  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='1' cpuset='3'/>\n  </cputune>`);
    const f = readDomainText(text).cputune!.vcpupins[0]!.cpuset!;
    expect(JSON.parse(JSON.stringify(f, (_, v: unknown) => (typeof v === 'object' && v && 'ids' in v ? String(v) : v)))).toEqual({ raw: '3', value: '3', loc: where(text, 'cpuset=') });
  });
});
