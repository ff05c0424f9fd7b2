/**
 * `virt-pin show` with several domains: one map, labels NAME:vN, a colour
 * per domain, a legend, the cross-domain conflicts flagged on their CPUs;
 * the SVG and HTML render in a real browser (Debian's chromium; see
 * test/support/components.ts for what happens without it).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { describeWith, findProgram } from '../support/components.js';

const caps = 'fixtures/hosts/two-socket-smt.caps.xml';
const dir = 'fixtures/host-view';

describe('virt-pin show over several domains', () => {
  it('draws every domain on one text map with NAME: labels, a legend and flagged conflicts', () => {
    const r = runCli(['show', '--host', caps, dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('3 domains on two-socket-smt.caps.xml');
    expect(r.stdout).toMatch(/cpu 4 !: alpha:v2 bravo:v0/);
    expect(r.stdout).toMatch(/cpu 0 !: alpha:emu charlie:v0-1/);
    expect(r.stdout).toMatch(/cpu 2 !: alpha:v0 bravo:irq 3b:00\.0/);
    expect(r.stdout).toMatch(/cpu 3: alpha:v1 /);
    expect(r.stdout).toContain('legend: alpha, bravo, charlie;');
    expect(r.stdout).toContain('cross-domain conflicts (7):');
    // Files named one by one give the same map as their directory.
    const files = ['alpha', 'bravo', 'charlie'].map((n) => join(dir, `${n}.xml`));
    expect(runCli(['show', '--host', caps, ...files]).stdout).toBe(r.stdout);
  });

  it('a single file keeps the single-domain map', () => {
    const r = runCli(['show', '--host', caps, join(dir, 'alpha.xml')]);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('alpha:');
    expect(r.stdout).toMatch(/^alpha on /);
  });

  it('a file that is not domain XML stops it with the parser error', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'vp-showmany-'));
    try {
      const bad = join(tmp, 'bad.xml');
      writeFileSync(bad, '<domain');
      const r = runCli(['show', '--host', caps, join(dir, 'alpha.xml'), bad]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/bad\.xml:\d+:\d+: error XML_/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describeWith(['chromium'], 'virt-pin show over several domains, in a real browser', () => {
  it('the SVG and HTML have a colour per domain and render in chromium', () => {
    const chromium = findProgram('chromium') ?? findProgram('chromium-browser')!;
    const tmp = mkdtempSync(join(tmpdir(), 'vp-showmany-'));
    try {
      const svg = join(tmp, 'map.svg');
      const html = join(tmp, 'map.html');
      expect(runCli(['show', '--host', caps, '--svg', svg, '--html', html, dir]).status).toBe(0);
      const text = readFileSync(svg, 'utf8');
      const colourOf = (name: string) => new RegExp(`fill="(#[0-9a-f]{6})" class="thread" data-domain="${name}"`).exec(text)?.[1];
      const colours = ['alpha', 'bravo', 'charlie'].map(colourOf);
      expect(new Set(colours).size).toBe(3);
      expect(text).toContain('data-conflicts="CROSS_DEDICATED_SHARED CROSS_CPU_OVERCOMMIT"');
      expect(text).toMatch(/class="legend">charlie</);
      expect(readFileSync(html, 'utf8')).toContain('<td>CROSS_IRQ_ON_DEDICATED</td>');
      for (const file of [svg, html]) {
        const png = `${file}.png`;
        spawnSync(
          chromium,
          ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(tmp, 'profile')}`, `--screenshot=${png}`, '--window-size=1300,900', `file://${file}`],
          { encoding: 'utf8', timeout: 60_000 },
        );
        expect(existsSync(png), `chromium wrote no screenshot of ${file}`).toBe(true);
        expect(readFileSync(png).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
        expect(statSync(png).size).toBeGreaterThan(20_000);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the live host map (pure)', () => {
  it('draws threads where the kernel allows them, * where they ran last, drift marked on its CPUs', async () => {
    const { hostFromCapabilities } = await import('../../src/host/index.js');
    const { buildLiveHostMap, renderHostMapText, renderHostMapSvg } = await import('../../src/cli/hostview-map.js');
    const host = hostFromCapabilities(readFileSync(join('fixtures/hosts', 'two-socket-smt.caps.xml'), 'utf8'));
    const map = buildLiveHostMap(host, [
      {
        name: 'web',
        pid: 10,
        drift: true,
        notes: [],
        threads: [
          { tid: 10, comm: 'qemu-system-x86', kind: 'main', target: 'emulator', intended: '0', actual: '0', lastCpu: 0, drift: false },
          { tid: 11, comm: 'CPU 0/KVM', kind: 'vcpu', target: 'vcpu0', intended: '2', actual: '3', lastCpu: 3, drift: true, cause: 'taskset' },
        ],
        irqs: [{ device: '0000:3b:00.0', irq: 40, policy: 'cpuset', intended: '1', actual: '1', irqbalance: false, drift: false }],
      },
    ]);
    const text = renderHostMapText(map, 'test', false);
    expect(text.split('\n')[0]).toBe('1 domain on test, live');
    expect(text).toMatch(/cpu 0: web:emu\*/);
    expect(text).toMatch(/cpu 3 !: ✗web:v0\*/);
    expect(text).toMatch(/cpu 1: web:irq 40/);
    expect(text).toContain('web: vcpu0 runs on 3, intended 2 (taskset)');
    expect(renderHostMapSvg(map, 'test')).toMatch(/fill="#c62828" class="thread" data-domain="web">✗web:v0\*</);
  });
});
