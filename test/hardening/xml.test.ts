/**
 * Issue 14, parser and document items: one test per item, named after it.
 * Each failed on the main this was branched from.
 */
import { describe, expect, it } from 'vitest';
import { checkDocument, parseDocument, resolveDocument } from '../../src/index.js';
import { domain } from './support.js';

const MiB = 1024 * 1024;

/** Lines from `line(0)`, `line(1)`, … until the next would pass `budget` characters. */
function fill(line: (i: number) => string, budget: number): string {
  const out: string[] = [];
  let len = 0;
  for (let i = 0; ; i++) {
    const l = line(i);
    if (len + l.length + 1 > budget) break;
    out.push(l);
    len += l.length + 1;
  }
  return out.join('\n');
}

/** Best of `runs` wall-clock timings of `fn`, in ms (the best is the least disturbed by other load). */
function bestOf(runs: number, fn: () => unknown): number {
  let best = Infinity;
  for (let k = 0; k < runs; k++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

describe('item 7: cost follows input size, not element count × cpuset width', () => {
  // Each shape is a 4 MiB document; checking (and resolving) it may cost a
  // bounded multiple of parsing it. Before, the first took minutes: 2,000
  // cells took 5 s, and the cost grew with cells × 16,384.
  const budget = 4 * MiB - 1024;
  const RATIO = 20;
  const shapes: Record<string, string> = {
    "<cell cpus='0-16383'> × 78,000": domain(`  <cpu>\n    <numa>\n${fill((i) => `      <cell id='${i}' cpus='0-16383' memory='1024'/>`, budget - 600)}\n    </numa>\n  </cpu>`, '16384'),
    "one cell of 8,192 odd vCPUs, then one-vCPU cells": domain(
      `  <cpu>\n    <numa>\n      <cell id='0' cpus='${Array.from({ length: 8192 }, (_, i) => 2 * i + 1).join(',')}' memory='1'/>\n${fill((i) => `      <cell id='${i + 1}' cpus='${(i * 2) % 16384}' memory='1024'/>`, budget - 48_000)}\n    </numa>\n  </cpu>`,
      '16384',
    ),
    "<vcpusched vcpus='0-16383'> × 66,000": domain(`  <cputune>\n${fill(() => "    <vcpusched vcpus='0-16383' scheduler='fifo' priority='1'/>", budget - 600)}\n  </cputune>`, '16384'),
    '<iothreadsched> groups overlapping late in the list': domain(
      `  <iothreads>16384</iothreads>\n  <cputune>\n${fill((i) => `    <iothreadsched iothreads='${i % 2 ? '1-16383' : '16000-16383'}' scheduler='fifo' priority='1'/>`, budget - 600)}\n  </cputune>`,
      '16384',
    ),
  };
  for (const [name, text] of Object.entries(shapes)) {
    it(`${name}: check and resolve within ${RATIO}× the parse of the same 4 MiB`, () => {
      expect(text.length).toBeGreaterThan(3.9 * MiB);
      expect(text.length).toBeLessThanOrEqual(4 * MiB);
      const parse = bestOf(2, () => parseDocument(text));
      const check = bestOf(1, () => expect(checkDocument(text).length).toBeGreaterThan(0));
      const resolve = bestOf(1, () => resolveDocument(text));
      expect(check, `check ${check.toFixed(0)} ms vs parse ${parse.toFixed(0)} ms`).toBeLessThan(RATIO * parse);
      expect(resolve, `resolve ${resolve.toFixed(0)} ms vs parse ${parse.toFixed(0)} ms`).toBeLessThan(RATIO * parse);
    }, 240_000);
  }
});
