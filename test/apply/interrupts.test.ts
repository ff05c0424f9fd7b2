/**
 * readInterrupts steps over the per-CPU counts with one expression per line
 * (src/apply/discover.ts); it must read every line as splitting all of its
 * fields did, and finish in time on lines built to make an expression
 * backtrack.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { pathsUnder, readInterrupts, type InterruptLine } from '../../src/apply/index.js';

const root = mkdtempSync(join(tmpdir(), 'virt-pin-interrupts-'));
mkdirSync(join(root, 'proc'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The reading before: every field of a numbered line split at \s+, the first ncpu of them dropped. */
function bySplitting(text: string): Map<number, InterruptLine> {
  const lines = text.split('\n');
  const ncpu = (lines[0] ?? '').trim().split(/\s+/).filter((c) => /^CPU\d+$/.test(c)).length;
  const out = new Map<number, InterruptLine>();
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+):(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined || !/^(0|[1-9]\d{0,6})$/.test(m[1])) continue;
    const rest = m[2].trim().split(/\s+/).slice(ncpu);
    out.set(Number(m[1]), { irq: Number(m[1]), text: rest.join(' '), actions: rest.slice(2).join(' ') });
  }
  return out;
}

function read(text: string): Map<number, InterruptLine> {
  writeFileSync(join(root, 'proc', 'interrupts'), text);
  return readInterrupts(pathsUnder(root));
}

describe('readInterrupts', () => {
  it('reads a real layout: counts skipped, chip and type kept in text, action names (shared ones too) in actions', () => {
    const text = [
      '           CPU0       CPU1       CPU2       CPU3',
      '   0:         44          0          0          0   IO-APIC    2-edge      timer',
      '  16:          0          0         12          0   IO-APIC   16-fasteoi   ehci_hcd:usb1, i801_smbus',
      ' 140:       9281          0          0          0  IR-PCI-MSIX-0000:01:00.0    0-edge      vfio-msix[0](0000:01:00.0)',
      ' NMI:          0          0          0          0   Non-maskable interrupts',
      ' 141:          3          0',
      '',
    ].join('\n');
    const got = read(text);
    expect([...got.keys()]).toEqual([0, 16, 140, 141]);
    expect(got.get(16)).toEqual({ irq: 16, text: 'IO-APIC 16-fasteoi ehci_hcd:usb1, i801_smbus', actions: 'ehci_hcd:usb1, i801_smbus' });
    expect(got.get(140)?.actions).toBe('vfio-msix[0](0000:01:00.0)');
    expect(got.get(141)).toEqual({ irq: 141, text: '', actions: '' });
    expect(got).toEqual(bySplitting(text));
  });

  it('reads any file as splitting every field did (property)', () => {
    const token = fc.constantFrom('0', '12', '4294967295', 'IO-APIC', '2-edge', 'vfio-msix[3](0000:0a:00.0)', 'eth0,', 'x\u00e9', 'NMI:', '7:', '');
    const space = fc.constantFrom(' ', '  ', '\t', '\u00a0', '\r', '\u2028', '\v');
    const line = fc.tuple(fc.constantFrom('', ' ', '  ', '\r'), fc.constantFrom('0', '9', '16', '0140', '12345678', 'ERR', ''), fc.constantFrom(':', ''), fc.array(fc.tuple(space, token), { maxLength: 12 })).map(([lead, n, colon, rest]) => lead + n + colon + rest.map(([s, t]) => s + t).join(''));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(line, { maxLength: 12 }), (ncpu, lines) => {
        const header = Array.from({ length: ncpu }, (_, i) => `CPU${i}`).join('   ');
        const text = [header, ...lines].join('\n');
        expect(read(text)).toEqual(bySplitting(text));
      }),
      { numRuns: 500 },
    );
  });

  it('a line that could make the expression backtrack (a carriage return after 300 one-digit counts, 256 CPUs) is read at once', () => {
    const header = Array.from({ length: 256 }, (_, i) => `CPU${i}`).join(' ');
    const bad = `  5:${' 1'.repeat(300)}\r`;
    const run = `  6:${'1'.repeat(5000)} chip edge name\u2028`;
    const text = [header, ...Array.from({ length: 200 }, () => bad), run, '  7: 1 2 chip edge ok', ''].join('\n');
    // Linear work is milliseconds; an expression that backtracked through 300 fields here would not return.
    const got = read(text);
    expect(got).toEqual(bySplitting(text));
    expect([...got.keys()]).toEqual([7]);
  });
});
