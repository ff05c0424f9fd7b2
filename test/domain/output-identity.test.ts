/**
 * Performance work must not change a byte of output: check (with and
 * without host facts), resolve's JSON (with and without) and normalize, on
 * every corpus file, hash to the committed reference. The reference was
 * generated from main before the parser and reader were optimized
 * (`node bench/corpus-digest.mjs --write` rewrites it — only for an
 * intended change of output, said so in the commit).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as lib from '../../src/index.js';
import { corpusDigests, decodeDigests, OUTPUTS, REFERENCE } from '../../bench/corpus-digest.mjs';

describe('output identity over the corpus', () => {
  it('check, resolve and normalize output of every corpus file equals the committed reference', () => {
    const reference = decodeDigests(readFileSync(REFERENCE));
    const now = corpusDigests(lib);
    expect(Object.keys(now).length).toBeGreaterThan(2700);
    expect(Object.keys(now).sort()).toEqual(Object.keys(reference).sort());
    const changed: string[] = [];
    for (const [file, d] of Object.entries(now)) for (const k of OUTPUTS) if (d[k] !== reference[file]![k]) changed.push(`${file} ${k}`);
    expect(changed.slice(0, 20), `${changed.length} outputs changed`).toEqual([]);
  });
});
