import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { corpusDir, corpusXmlFiles } from '../support/corpus.js';

/** Lines of `after` that are not in `before` and vice versa (a crude line diff, enough to bound an edit). */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  return { removed: a.slice(head, a.length - tail), added: b.slice(head, b.length - tail) };
}

const domain = `<domain type='kvm'>
  <name>vm</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static' cpuset="0-3">4</vcpu>
  <cputune>
    <vcpupin vcpu='0' cpuset='1'/>
    <vcpupin vcpu='1' cpuset='2'/>
  </cputune>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <metadata>
    <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' hostdev='0000:01:00.0' affinity='auto'/>
  </metadata>
</domain>
`;

describe('editing changes only what it touches', () => {
  it('setAttr rewrites one start tag, keeping the other attributes and their quotes', () => {
    const doc = parseDocument(domain);
    doc.root.element('vcpu')!.setAttr('cpuset', '0-7');
    const out = serializeDocument(doc);
    expect(changedLines(domain, out)).toEqual({ removed: [`  <vcpu placement='static' cpuset="0-3">4</vcpu>`], added: [`  <vcpu placement='static' cpuset="0-7">4</vcpu>`] });
    expect(doc.modified).toBe(true);
  });

  it('setAttr with the same value is not an edit; an unedited document is its source', () => {
    const doc = parseDocument(domain);
    doc.root.element('vcpu')!.setAttr('placement', 'static');
    expect(doc.modified).toBe(false);
    expect(serializeDocument(doc)).toBe(domain);
  });

  it('new attributes use the document quote and escape what they must', () => {
    const doc = parseDocument(domain);
    doc.root.element('name')!.setAttr('note', `it's <a> & "b"\n`);
    expect(serializeDocument(doc)).toContain(`<name note='it&apos;s &lt;a> &amp; "b"&#10;'>vm</name>`);
    expect(parseDocument(serializeDocument(doc)).root.element('name')!.attr('note')).toBe(`it's <a> & "b"\n`);
  });

  it('removeAttr removes the attribute and the space before it', () => {
    const doc = parseDocument(domain);
    expect(doc.root.element('vcpu')!.removeAttr('cpuset')).toBe(true);
    expect(doc.root.element('vcpu')!.removeAttr('cpuset')).toBe(false);
    expect(serializeDocument(doc)).toContain(`  <vcpu placement='static'>4</vcpu>\n`);
  });

  it('insert without a position follows libvirt order and sibling indentation', () => {
    const doc = parseDocument(domain);
    const cputune = doc.root.element('cputune')!;
    cputune.insert({ name: 'emulatorpin', attrs: { cpuset: '0' } });
    cputune.insert({ name: 'shares', text: '2048' });
    doc.root.insert({ name: 'numatune', children: [{ name: 'memory', attrs: [['mode', 'strict'], ['nodeset', '0']] }] });
    const out = serializeDocument(doc);
    expect(out).toContain(`  <cputune>
    <shares>2048</shares>
    <vcpupin vcpu='0' cpuset='1'/>
    <vcpupin vcpu='1' cpuset='2'/>
    <emulatorpin cpuset='0'/>
  </cputune>
  <numatune>
    <memory mode='strict' nodeset='0'/>
  </numatune>
  <os>`);
  });

  it('inserting into a self-closing element opens it; removing the last child closes it', () => {
    const doc = parseDocument(`<domain>\n  <cputune/>\n</domain>\n`);
    const ct = doc.root.element('cputune')!;
    const pin = ct.insert({ name: 'emulatorpin', attrs: { cpuset: '1' } });
    expect(serializeDocument(doc)).toBe(`<domain>\n  <cputune>\n    <emulatorpin cpuset='1'/>\n  </cputune>\n</domain>\n`);
    ct.remove(pin);
    expect(serializeDocument(doc)).toBe(`<domain>\n  <cputune/>\n</domain>\n`);
  });

  it('empty elements share no children: giving one children or text leaves the other empty ones empty', () => {
    const doc = parseDocument(`<domain>\n  <cputune/>\n  <numatune/>\n  <name/>\n</domain>\n`);
    doc.root.element('cputune')!.insert({ name: 'emulatorpin', attrs: { cpuset: '1' } });
    doc.root.element('name')!.setText('vm');
    expect(doc.root.element('numatune')!.children).toEqual([]);
    expect(serializeDocument(doc)).toBe(`<domain>\n  <cputune>\n    <emulatorpin cpuset='1'/>\n  </cputune>\n  <numatune/>\n  <name>vm</name>\n</domain>\n`);
  });

  it('remove takes the element with its line; replace keeps the position', () => {
    const doc = parseDocument(domain);
    const ct = doc.root.element('cputune')!;
    ct.remove(ct.elements('vcpupin')[0]!);
    ct.replace(ct.elements('vcpupin')[0]!, { name: 'vcpupin', attrs: [['vcpu', '1'], ['cpuset', '3']] });
    expect(changedLines(domain, serializeDocument(doc))).toEqual({
      removed: [`    <vcpupin vcpu='0' cpuset='1'/>`, `    <vcpupin vcpu='1' cpuset='2'/>`],
      added: [`    <vcpupin vcpu='1' cpuset='3'/>`],
    });
  });

  it('keeps CRLF, tabs and double quotes of the document in new elements', () => {
    const text = '<domain type="kvm">\r\n\t<name>x</name>\r\n\t<vcpu>2</vcpu>\r\n</domain>\r\n';
    const doc = parseDocument(text);
    doc.root.insert({ name: 'cputune', children: [{ name: 'emulatorpin', attrs: { cpuset: '0-1' } }] });
    expect(serializeDocument(doc)).toBe('<domain type="kvm">\r\n\t<name>x</name>\r\n\t<vcpu>2</vcpu>\r\n\t<cputune>\r\n\t\t<emulatorpin cpuset="0-1"/>\r\n\t</cputune>\r\n</domain>\r\n');
  });

  it('edits namespaced metadata and keeps its namespace', () => {
    const doc = parseDocument(domain);
    const irq = doc.root.findFirst('metadata/vp:irq')!;
    expect(irq.namespaceURI()).toBe('https://virt-pin.dev/xmlns/irq/1');
    irq.setAttr('affinity', '2-3');
    const meta = doc.root.element('metadata')!;
    expect(() => meta.insert({ name: 'vp:irq', attrs: [['hostdev', '0000:01:00.1']] })).toThrow(expect.objectContaining({ code: 'XML_UNBOUND_PREFIX' }));
    meta.insert({ name: 'vp:irq', attrs: [['xmlns:vp', 'https://virt-pin.dev/xmlns/irq/1'], ['hostdev', '0000:01:00.1'], ['affinity', 'native']] });
    const out = serializeDocument(doc);
    expect(out).toContain(`<vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' hostdev='0000:01:00.0' affinity='2-3'/>\n    <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' hostdev='0000:01:00.1' affinity='native'/>`);
    expect(parseDocument(out).root.find('metadata/vp:irq')).toHaveLength(2);
  });

  it('refuses names that are not XML names and children of another parent', () => {
    const doc = parseDocument(domain);
    expect(() => doc.root.element('vcpu')!.setAttr('a b', '1')).toThrow(expect.objectContaining({ code: 'XML_BAD_NAME' }));
    expect(() => doc.root.insert({ name: '1bad' })).toThrow(expect.objectContaining({ code: 'XML_EDIT_BAD_SPEC' }));
    const pin = doc.root.findFirst('cputune/vcpupin')!;
    expect(() => doc.root.remove(pin)).toThrow(expect.objectContaining({ code: 'XML_EDIT_NOT_A_CHILD' }));
  });

  it('on every corpus domain with <cputune>, an edited vcpupin/emulatorpin changes only its own lines', () => {
    let edited = 0;
    for (const file of corpusXmlFiles()) {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('<cputune>')) continue;
      let doc;
      try {
        doc = parseDocument(text);
      } catch {
        continue;
      }
      const ct = doc.root.element('cputune');
      if (!ct || doc.root.name !== 'domain') continue;
      const pin = ct.element('vcpupin');
      let expectedRemoved: number;
      if (pin) {
        pin.setAttr('cpuset', '0-1');
        expectedRemoved = 1;
      } else {
        ct.insert({ name: 'emulatorpin', attrs: { cpuset: '0' } });
        expectedRemoved = 0;
      }
      const out = serializeDocument(doc);
      const diff = changedLines(text, out);
      const rel = relative(corpusDir(), file);
      expect(diff.removed.length, rel).toBeLessThanOrEqual(expectedRemoved);
      expect(diff.added.length, rel).toBe(1);
      expect(diff.added[0], rel).toMatch(pin ? /<vcpupin .*cpuset=.0-1./ : /^\s*<emulatorpin cpuset='0'\/>$/);
      expect(serializeDocument(parseDocument(out)), rel).toBe(out);
      edited++;
    }
    expect(edited).toBe(35); // every corpus file with a <cputune>
    console.log(`corpus edit: ${edited} domains with <cputune> edited with a one-line diff`);
  });
});
