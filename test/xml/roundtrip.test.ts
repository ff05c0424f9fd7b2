import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { parseDocument, serializeDocument, type XmlElement } from '../../src/xml/index.js';
import { corpusDir, corpusXmlFiles } from '../support/corpus.js';

/** Corpus files that are not well-formed XML on purpose, and the code each must be refused with. */
const NOT_WELL_FORMED: Record<string, string> = {
  'libvirt/tests/qemuxmlconfdata/broken-xml-invalid.xml': 'XML_UNCLOSED',
};

describe('lossless round trip over the libvirt corpus', () => {
  const files = corpusXmlFiles();

  it('has the whole corpus', () => {
    expect(files.length).toBe(2753);
  });

  it('serializes every well-formed file byte-identical and refuses the broken ones with their code', () => {
    const differ: string[] = [];
    const refused: Record<string, string> = {};
    for (const file of files) {
      const rel = relative(corpusDir(), file);
      const text = readFileSync(file, 'utf8');
      try {
        const doc = parseDocument(text, { fileName: rel });
        if (serializeDocument(doc) !== text) differ.push(rel);
      } catch (e) {
        refused[rel] = (e as { code: string }).code;
      }
    }
    expect(differ).toEqual([]);
    expect(refused).toEqual(NOT_WELL_FORMED);
    console.log(`round trip: ${files.length - Object.keys(refused).length} of ${files.length} corpus files byte-identical, ${Object.keys(refused).length} refused as not well-formed`);
  });

  it("agrees with fast-xml-parser's element offsets (captureMetaData) on every file", () => {
    const parser = new XMLParser({
      preserveOrder: true,
      captureMetaData: true,
      ignoreAttributes: false,
      processEntities: false,
      htmlEntities: false,
      ignoreDeclaration: false,
      ignorePiTags: false,
      commentPropName: '#comment',
      cdataPropName: '#cdata',
    });
    const meta = (XMLParser as unknown as { getMetaDataSymbol(): symbol }).getMetaDataSymbol();
    let compared = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      let doc;
      try {
        doc = parseDocument(text);
      } catch {
        continue;
      }
      // Walk both trees in document order and compare the start offsets of elements.
      const ours: number[] = [];
      const walk = (e: XmlElement): void => {
        ours.push(e.span!.start);
        for (const c of e.elements()) walk(c);
      };
      walk(doc.root);
      const theirs: number[] = [];
      const walkFxp = (nodes: Record<string | symbol, unknown>[]): void => {
        for (const node of nodes) {
          const key = Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#comment' && k !== '#cdata' && !k.startsWith('?'));
          if (key === undefined) continue;
          const m = node[meta] as { startIndex?: number } | undefined;
          if (m?.startIndex !== undefined) theirs.push(m.startIndex);
          walkFxp(node[key] as Record<string | symbol, unknown>[]);
        }
      };
      walkFxp(parser.parse(text) as Record<string | symbol, unknown>[]);
      expect(theirs, file).toEqual(ours);
      compared++;
    }
    expect(compared).toBe(2752);
  });
});

describe('attribute values', () => {
  it('numbers keep their exact text (leading zeros, signs, past 16383), shared or not', () => {
    const values = ['0', '7', '12', '16383', '16384', '007', '00', '+3', '-1', '99999', '123456', '1 ', ' 2', '4\t'];
    for (let round = 0; round < 2; round++) {
      const doc = parseDocument(`<d>${values.map((v, i) => `<x a${i}='${v}'/>`).join('')}</d>`);
      const got = doc.root.elements('x').map((x, i) => x.attr(`a${i}`));
      expect(got).toEqual(values.map((v) => v.replace(/\t/g, ' ')));
    }
  });
});
