/**
 * The pin map picture rendered by a real browser (Debian's chromium,
 * installed by .ci/run): the SVG and the HTML page both become a PNG that
 * is not blank. Fails (never skips) without chromium.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { repoRoot } from '../support/corpus.js';
import { runCli } from '../support/cli.js';
import { describeWith, findProgram } from '../support/components.js';

const CHROMIUM = findProgram('chromium') ?? findProgram('chromium-browser');

function screenshot(file: string, png: string): void {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium); the render test needs a real browser');
  const dir = mkdtempSync(join(tmpdir(), 'vp-chromium-'));
  const r = spawnSync(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${dir}`, `--screenshot=${png}`, '--window-size=1200,900', `file://${file}`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (!existsSync(png)) throw new Error(`chromium wrote no screenshot: ${r.stderr}`);
}

/** Distinct colours among the PNG's pixels (8-bit RGB/RGBA, non-interlaced, as Chromium writes). */
function distinctColours(png: Buffer): number {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      const p = a + b - c;
      const pred = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      cur[x] = (line[x]! + pred) & 0xff;
    }
    for (let x = 0; x < stride; x += channels * 7) colours.add((cur[x]! << 16) | (cur[x + 1]! << 8) | cur[x + 2]!);
    cur.copy(prev);
  }
  return colours.size;
}

describeWith(['chromium'], 'pin map pictures in a real browser', () => {
  it('renders the SVG and the HTML page of the bundled example to non-trivial PNGs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vp-render-'));
    const svg = join(dir, 'map.svg');
    const html = join(dir, 'map.html');
    const r = runCli(['show', '--host', `sysfs:${join(repoRoot, 'fixtures/hosts/vfio-desktop')}`, '--svg', svg, '--html', html, join(repoRoot, 'fixtures/examples/gaming-vfio.xml')]);
    expect(r.status).toBe(0);
    for (const file of [svg, html]) {
      const png = `${file}.png`;
      screenshot(file, png);
      expect(statSync(png).size).toBeGreaterThan(10_000);
      // The vCPU green, emulator blue and IOThread purple, text and borders: far more than a blank page's one colour.
      expect(distinctColours(readFileSync(png))).toBeGreaterThan(8);
    }
  });
});
