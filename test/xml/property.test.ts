import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDocument, serializeDocument } from '../../src/xml/index.js';
import { naiveLocation } from '../support/location.js';

// Well-formed documents with odd but legal spellings: both quote styles,
// spaces around '=', references, comments, CDATA, CRLF, self-closing and
// empty elements.
const name = fc.constantFrom('vcpu', 'cputune', 'vcpupin', 'x', 'a.b', 'q-1');
const attrValue = fc.constantFrom('0-3', '', '&amp;', '&#10;', '&lt;x', "it's", 'a&quot;b', ' spaced ');
const attr = fc.tuple(fc.constantFrom('cpuset', 'vcpu', 'id', 'mode'), attrValue, fc.constantFrom("'", '"'), fc.constantFrom('=', ' = '));
const text = fc.constantFrom('', '\n  ', 'text', ' 4 ', '&amp;&lt;', '\r\n', '<!-- c -->', '<![CDATA[<x>]]>', '<?pi d?>');

const element: fc.Memo<string> = fc.memo((depth) =>
  fc
    .tuple(name, fc.uniqueArray(attr, { selector: (a) => a[0], maxLength: 3 }), fc.boolean(), depth > 1 ? fc.array(fc.oneof(text, element(depth - 1)), { maxLength: 4 }) : fc.array(text, { maxLength: 2 }))
    .map(([n, attrs, selfClose, kids]) => {
      const a = attrs.map(([k, v, q, eq]) => ` ${k}${eq}${q}${q === '"' ? v.replace(/"/g, '&quot;') : v.replace(/'/g, '&apos;')}${q}`).join('');
      return selfClose && kids.length === 0 ? `<${n}${a}/>` : `<${n}${a}>${kids.join('')}</${n}>`;
    }),
);

describe('parse ∘ serialize is the identity (property)', () => {
  it('for generated well-formed documents', () => {
    fc.assert(
      fc.property(fc.constantFrom('', "<?xml version='1.0'?>\n", '\uFEFF'), element(4), fc.constantFrom('', '\n', '\r\n'), (prolog, body, end) => {
        const doc = `${prolog}${body}${end}`;
        expect(serializeDocument(parseDocument(doc))).toBe(doc);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('document.locate (property)', () => {
  // locate() walks a cursor forward and binary-searches behind it: any order of lookups must give the same answers.
  it('gives the line and column of any index, whatever the order of the lookups', () => {
    fc.assert(
      fc.property(element(3), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }), (body, nl, picks) => {
        const text = `<r>${nl}${body.replace(/\n/g, nl)}${nl}  ${body}${nl}</r>`;
        const doc = parseDocument(text);
        for (const p of picks) {
          const offset = p % (text.length + 1);
          expect(doc.locate(offset)).toEqual(naiveLocation(text, offset));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
