import { describe, expect, it } from 'vitest';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { ElementImpl } from '../../src/xml/tree.js';
import { naiveLocation } from '../support/location.js';

// The scanner keeps an element's attributes packed (name, value, offset) and builds the attribute records from the
// source only when asked, finds an end tag's start and a start tag's closing white space from the source, and gives
// every <x/> one shared empty child list; these tests pin what each says, whichever way it is reached first.
const SOURCE = `<root>\n  <a  x = "1"\ty='&lt;2'\r\n   z="a&#10;b\tc"/>\n  <b/>\n  <c k='v' ></c>\n</root>\n`;

describe('a scanned element', () => {
  it('records give the name, decoded value, raw text, quote, leading white space and span from the source', () => {
    const a = parseDocument(SOURCE).root.element('a')!;
    const recs = a.attributes.map((r) => ({ name: r.name, value: r.value, raw: (r as { raw: string }).raw, quote: r.quote, lead: (r as { lead: string }).lead, text: SOURCE.slice(r.span!.start, r.span!.end) }));
    expect(recs).toEqual([
      { name: 'x', value: '1', raw: '1', quote: '"', lead: '  ', text: 'x = "1"' },
      { name: 'y', value: '<2', raw: '&lt;2', quote: "'", lead: '\t', text: "y='&lt;2'" },
      { name: 'z', value: 'a\nb c', raw: 'a&#10;b\tc', quote: '"', lead: '\r\n   ', text: 'z="a&#10;b\tc"' },
    ]);
    expect(a.attributes).toBe(a.attributes);
    expect(parseDocument(SOURCE).root.element('b')!.attributes).toEqual([]);
  });

  it('values, lookups and locations agree before and after the records are built', () => {
    const doc = parseDocument(SOURCE);
    const a = doc.root.element('a')! as ElementImpl;
    const before = ['x', 'y', 'z', 'w'].map((n) => [a.attr(n), a.attrLocation(n), a.attrIndex(n)]);
    void a.attributes;
    const after = ['x', 'y', 'z', 'w'].map((n) => [a.attr(n), a.attrLocation(n), a.attrIndex(n)]);
    expect(after).toEqual(before);
    expect(before.map(([v]) => v)).toEqual(['1', '<2', 'a\nb c', undefined]);
    expect(a.attrLocation('z')).toMatchObject(naiveLocation(SOURCE, SOURCE.indexOf('z=')));
    expect(a.attrLocation('w')).toEqual(a.location);
    expect(a.attribute('y')?.value).toBe('<2');
  });

  it('an edit keeps every other attribute byte for byte, and a new one takes the quote most attributes use', () => {
    // Three attributes of four are double-quoted; the quotes are counted before any record is built.
    const doc = parseDocument(SOURCE.replace("k='v'", 'k="v"'));
    doc.root.element('b')!.setAttr('n', '4');
    doc.root.element('a')!.setAttr('y', '3');
    doc.root.element('c')!.removeAttr('k');
    expect(serializeDocument(doc)).toBe(`<root>\n  <a  x = "1"\ty='3'\r\n   z="a&#10;b\tc"/>\n  <b n="4"/>\n  <c ></c>\n</root>\n`);
  });

  it('the shared empty lists (attributes of an element without any, children of an <x/>) are never written to', () => {
    const doc = parseDocument('<r><e/><f/><t/></r>');
    doc.root.element('e')!.setAttr('k', '1');
    doc.root.element('e')!.insert({ name: 'child' });
    doc.root.element('t')!.setText('x');
    const f = doc.root.element('f')!;
    expect([f.attributes, f.children]).toEqual([[], []]);
    const g = parseDocument('<r><g/></r>').root.element('g')!;
    expect([g.attributes, g.children]).toEqual([[], []]);
    expect(serializeDocument(doc)).toBe(`<r><e k='1'>\n    <child/>\n  </e><f/><t>x</t></r>`);
  });

  it('end tags and the white space closing a start tag come from the source', () => {
    const src = `<r>\n<a x='1' />\n<b  ></b\t\n>\n<c k="v"\n></c><d/></r>`;
    const doc = parseDocument(src);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => doc.root.element(n)!);
    expect([a, b, c, d].map((e) => e.endTag && src.slice(e.endTag.start, e.endTag.end))).toEqual([undefined, '</b\t\n>', '</c>', undefined]);
    expect(src.slice(doc.root.endTag!.start, doc.root.endTag!.end)).toBe('</r>');
    for (const e of [a, b, c, d]) e.setAttr('n', '2');
    expect(serializeDocument(doc)).toBe(`<r>\n<a x='1' n='2' />\n<b n='2'  ></b\t\n>\n<c k="v" n='2'\n></c><d n='2'/></r>`);
  });
});
