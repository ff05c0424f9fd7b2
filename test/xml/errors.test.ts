import { describe, expect, it } from 'vitest';
import { parseDocument } from '../../src/xml/index.js';
import { VirtPinError } from '../../src/errors.js';

function refusal(text: string, options = {}): VirtPinError {
  try {
    parseDocument(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(VirtPinError);
    return e as VirtPinError;
  }
  throw new Error(`accepted: ${JSON.stringify(text.slice(0, 80))}`);
}

describe('what the parser refuses, with code and location', () => {
  it.each([
    ['unclosed element', '<domain>\n  <vcpu>2</vcpu>\n', 'XML_UNCLOSED', 1, 1],
    ['unclosed start tag', "<domain type='kvm'", 'XML_UNCLOSED', 1, 1],
    ['mismatched end tag', '<domain>\n  <vcpu>2</cpu>\n</domain>', 'XML_MISMATCHED_TAG', 2, 10],
    ['duplicate attribute', "<domain>\n  <vcpu placement='static' placement='auto'>2</vcpu>\n</domain>", 'XML_DUPLICATE_ATTRIBUTE', 2, 28],
    ['< in an attribute value', "<domain a='x<y'/>", 'XML_BAD_ATTRIBUTE', 1, 13],
    ['unquoted attribute', '<domain a=x/>', 'XML_BAD_ATTRIBUTE', 1, 11],
    ['attribute without value', '<domain a/>', 'XML_BAD_ATTRIBUTE', 1, 9],
    ['attributes not separated', "<domain a='1'b='2'/>", 'XML_BAD_ATTRIBUTE', 1, 14],
    ['undefined entity', '<domain>&nbsp;</domain>', 'XML_UNDEFINED_ENTITY', 1, 9],
    ['bare ampersand', '<domain>a & b</domain>', 'XML_UNDEFINED_ENTITY', 1, 11],
    ['character reference to NUL', '<domain>&#0;</domain>', 'XML_BAD_CHAR_REF', 1, 9],
    ['bad hex reference', '<domain>&#xZZ;</domain>', 'XML_BAD_CHAR_REF', 1, 9],
    ['two roots', '<domain/>\n<domain/>', 'XML_MULTIPLE_ROOTS', 2, 1],
    ['no root', '<?xml version="1.0"?>\n<!-- nothing -->\n', 'XML_NO_ROOT', 1, 1],
    ['text after the root', '<domain/>trailing', 'XML_MALFORMED', 1, 10],
    ['end tag without start', '</domain>', 'XML_MALFORMED', 1, 1],
    ['DOCTYPE', '<!DOCTYPE domain>\n<domain/>', 'XML_DOCTYPE', 1, 1],
    ['NUL character', '<domain>\u0000</domain>', 'XML_ILLEGAL_CHAR', 1, 9],
    ['NUL in an attribute', "<domain name='a\u0000'/>", 'XML_ILLEGAL_CHAR', 1, 16],
    ['lone surrogate', '<domain>\uD800</domain>', 'XML_ILLEGAL_CHAR', 1, 9],
    ['non-UTF-8 declaration', "<?xml version='1.0' encoding='ISO-8859-1'?>\n<domain/>", 'XML_BAD_ENCODING', 1, 21],
    ['unbound element prefix', '<domain><qemu:commandline/></domain>', 'XML_UNBOUND_PREFIX', 1, 10],
    ['unbound attribute prefix', "<domain vp:x='1'/>", 'XML_UNBOUND_PREFIX', 1, 9],
    ['bad qualified name', '<domain><a:b:c/></domain>', 'XML_BAD_NAME', 1, 10],
    ['-- in a comment', '<domain><!-- a -- b --></domain>', 'XML_MALFORMED', 1, 16],
    ['< starting no tag', '<domain>< vcpu/></domain>', 'XML_MALFORMED', 1, 9],
  ])('%s → %s at %i:%i', (_what, text, code, line, column) => {
    const e = refusal(text);
    expect(e.code).toBe(code);
    expect(e.location).toMatchObject({ line, column });
    expect(e.message.length).toBeGreaterThan(10);
  });

  it('names the file only through the caller (fileName) and gives hints for fixable mistakes', () => {
    const e = refusal('<domain>a & b</domain>', { fileName: 'vm.xml' });
    expect(e.hint).toMatch(/&amp;/);
  });

  it('accepts what XML allows: declaration, comments, PIs, CDATA, references, namespaces, BOM', () => {
    const text =
      "\uFEFF<?xml version='1.0' encoding='UTF-8'?>\n<!-- c -->\n<?pi data?>\n<domain xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0' a='&#10;&lt;&quot;'>" +
      "<description><![CDATA[<b>]]> &amp; &#x41;</description><qemu:commandline/><x xml:lang='en'/></domain>\n";
    const doc = parseDocument(text);
    expect(doc.root.attr('a')).toBe('\n<"');
    expect(doc.root.element('description')!.text()).toBe('<b> & A');
    expect(doc.root.element('qemu:commandline')!.namespaceURI()).toBe('http://libvirt.org/schemas/domain/qemu/1.0');
    expect(doc.prolog.map((n) => n.kind)).toEqual(['text', 'pi', 'text', 'comment', 'text', 'pi', 'text']);
    expect(doc.epilog.map((n) => n.kind)).toEqual(['text']);
  });

  it('reads names with characters beyond ASCII wherever XML allows them, and ends a name at the first character it does not', () => {
    // U+00E9 (a start character), U+00B7 and U+0301 (name characters that cannot start one), then ASCII again after them.
    const doc = parseDocument("<domain><m\u00E9ta\u00B7x-1 \u00E9t\u0301\u00E9='1' b='2'/></domain>");
    const el = doc.root.elements()[0]!;
    expect(el.name).toBe('m\u00E9ta\u00B7x-1');
    expect(el.attributes.map((a) => [a.name, a.value])).toEqual([
      ['\u00E9t\u0301\u00E9', '1'],
      ['b', '2'],
    ]);
    expect(refusal('<domain><\u00B7a/></domain>').code).toBe('XML_MALFORMED');
    expect(refusal("<domain a\u00D7b='1'/>").code).toBe('XML_BAD_ATTRIBUTE');
  });
});

describe('hostile input', () => {
  it('refuses billion laughs and XXE before expanding anything (no DOCTYPE at all)', () => {
    const laughs = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<domain>&lol2;</domain>';
    expect(refusal(laughs).code).toBe('XML_DOCTYPE');
    const xxe = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domain>&x;</domain>';
    expect(refusal(xxe).code).toBe('XML_DOCTYPE');
  });

  it('refuses documents over the size cap before scanning', () => {
    const big = `<domain>${' '.repeat(5 * 1024 * 1024)}</domain>`;
    expect(refusal(big).code).toBe('XML_TOO_LARGE');
    expect(refusal('<domain>ééé</domain>', { maxBytes: 20 }).code).toBe('XML_TOO_LARGE');
    expect(() => parseDocument(big, { maxBytes: 8 * 1024 * 1024 })).not.toThrow();
  });

  it('refuses 100,000-deep nesting without overflowing the stack', () => {
    const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    expect(refusal(deep).code).toBe('XML_TOO_DEEP');
    expect(refusal('<a><b><c/></b></a>', { maxDepth: 2 }).code).toBe('XML_TOO_DEEP');
  });

  it('caps the element count', () => {
    expect(refusal(`<domain>${'<x/>'.repeat(20)}</domain>`, { maxElements: 10 }).code).toBe('XML_TOO_MANY_ELEMENTS');
  });

  it('reads 100,000 vcpupin elements in linear time', () => {
    const pins = Array.from({ length: 100_000 }, (_, i) => `<vcpupin vcpu='${i}' cpuset='${i % 64}'/>`).join('\n');
    const doc = parseDocument(`<domain><cputune>\n${pins}\n</cputune></domain>`, { maxBytes: 16 * 1024 * 1024 });
    expect(doc.root.find('cputune/vcpupin')).toHaveLength(100_000);
  });
});
