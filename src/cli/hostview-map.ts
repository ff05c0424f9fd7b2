/**
 * `virt-pin show` with several domains: one pin map of the host with every
 * domain's threads (labels `NAME:v3`, `NAME:emu`, `NAME:io1`), a colour per
 * domain, a legend, and the cross-domain conflicts (docs/host-view.md)
 * flagged on their CPUs. Text, SVG and HTML, like the single-domain map.
 */
import { CpuSet } from '../cpuset/index.js';
import type { HostTopology } from '../host/index.js';
import type { CrossFinding, DomainStatus, HostDomain } from '../hostview/index.js';
import type { ResolvedThread } from '../resolve/index.js';
import { esc, htmlPage } from './pinmap/render.js';
import { printable } from './terminal-text.js';

export interface HostMapLabel {
  domain: number;
  text: string;
  /** show --live: the thread drifted (drawn red, marked ✗). */
  drift?: boolean;
}

export interface HostMapCell {
  cpu: number;
  online: boolean;
  isolated: boolean;
  labels: HostMapLabel[];
  /** Codes of the cross-domain findings on this CPU. */
  conflicts: string[];
}

export interface HostMap {
  domains: string[];
  nodes: { id: number; cpus: CpuSet; cores: { socket: number; core: number; cells: HostMapCell[] }[] }[];
  /** Findings, one line each. */
  conflicts: string[];
  /** Threads whose CPUs are chosen at start (numad), per domain. */
  symbolic: string[];
  /** show --live: drawn from what runs, not from the definitions. */
  live?: boolean;
}

function cpusOf(d: HostDomain, t: ResolvedThread): CpuSet | undefined {
  if (t.cpus === 'numad') return undefined;
  if (t.cpus === 'all') return d.resolved.allCpus === 'all' ? undefined : d.resolved.allCpus;
  return t.cpus;
}

export function buildHostMap(host: HostTopology, domains: readonly HostDomain[], findings: readonly CrossFinding[]): HostMap {
  const cells = new Map<number, HostMapCell>();
  for (const c of host.cpus) cells.set(c.id, { cpu: c.id, online: c.online, isolated: host.isolatedCpus.has(c.id), labels: [], conflicts: [] });
  const symbolic: string[] = [];
  domains.forEach((d, i) => {
    const perCpu = new Map<number, { vcpus: number[]; emu: boolean; io: number[]; irq: string[] }>();
    const at = (cpu: number) => {
      let e = perCpu.get(cpu);
      if (!e) perCpu.set(cpu, (e = { vcpus: [], emu: false, io: [], irq: [] }));
      return e;
    };
    for (const v of d.resolved.vcpus) {
      const cpus = cpusOf(d, v);
      if (!cpus) symbolic.push(`${d.name}:v${v.id}: numad (chosen when the guest starts)`);
      else for (const c of cpus) at(c).vcpus.push(v.id);
    }
    const emu = cpusOf(d, d.resolved.emulator);
    if (emu) for (const c of emu) at(c).emu = true;
    for (const io of d.resolved.iothreads) for (const c of cpusOf(d, io) ?? CpuSet.empty()) at(c).io.push(io.id);
    for (const irq of d.irqs) for (const c of irq.cpus) at(c).irq.push(irq.device.replace(/^0000:/, ''));
    for (const [cpu, e] of perCpu) {
      const cell = cells.get(cpu);
      if (!cell) continue;
      if (e.vcpus.length) cell.labels.push({ domain: i, text: `${d.name}:v${CpuSet.fromIds(e.vcpus)}` });
      if (e.emu) cell.labels.push({ domain: i, text: `${d.name}:emu` });
      if (e.io.length) cell.labels.push({ domain: i, text: `${d.name}:io${CpuSet.fromIds(e.io)}` });
      for (const dev of e.irq) cell.labels.push({ domain: i, text: `${d.name}:irq ${dev}` });
    }
  });
  const conflicts: string[] = [];
  for (const f of findings) {
    if (f.severity !== 'warning' && f.code !== 'CROSS_CPU_OVERCOMMIT') continue;
    conflicts.push(`${f.code} ${f.message}`);
    if (!f.cpus) continue;
    for (const c of CpuSet.fromIds(parseIds(f.cpus))) {
      const cell = cells.get(c);
      if (cell && !cell.conflicts.includes(f.code)) cell.conflicts.push(f.code);
    }
  }
  const nodeOf = new Map<number, number>();
  for (const n of host.nodes) for (const c of n.cpus) nodeOf.set(c, n.id);
  const nodeIds = [...new Set(host.cpus.map((c) => c.node ?? nodeOf.get(c.id) ?? 0))].sort((a, b) => a - b);
  const nodes = nodeIds.map((id) => {
    const inNode = host.cpus.filter((c) => (c.node ?? nodeOf.get(c.id) ?? 0) === id).sort((a, b) => a.id - b.id);
    const byCore = new Map<string, { socket: number; core: number; cells: HostMapCell[] }>();
    for (const c of inNode) {
      const key = c.siblings.union(CpuSet.of(c.id)).toString();
      let core = byCore.get(key);
      if (!core) byCore.set(key, (core = { socket: c.socket, core: c.core, cells: [] }));
      core.cells.push(cells.get(c.id)!);
    }
    return { id, cpus: CpuSet.fromIds(inNode.map((c) => c.id)), cores: [...byCore.values()] };
  });
  return { domains: domains.map((d) => d.name), nodes, conflicts, symbolic };
}

/**
 * show --live: the map of what runs — each thread on the CPUs the kernel
 * allows it now, `*` on the CPU it last ran on, drifted threads and IRQs
 * marked ✗ (their CPUs flagged). Threads of one kind are not merged here:
 * each keeps its own mark.
 */
export function buildLiveHostMap(host: HostTopology, statuses: readonly DomainStatus[]): HostMap {
  const base = buildHostMap(host, [], []);
  const cells = new Map<number, HostMapCell>();
  for (const n of base.nodes) for (const core of n.cores) for (const cell of core.cells) cells.set(cell.cpu, cell);
  const conflicts: string[] = [];
  statuses.forEach((d, i) => {
    for (const t of d.threads) {
      if (!t.actual) continue;
      const name = t.target === 'emulator' ? (t.kind === 'main' ? 'emu' : `emu:${t.comm}`) : t.target.replace(/^vcpu/, 'v').replace(/^iothread/, 'io');
      for (const cpu of parseIds(t.actual)) {
        const cell = cells.get(cpu);
        if (!cell) continue;
        cell.labels.push({ domain: i, text: `${t.drift ? '✗' : ''}${d.name}:${name}${t.lastCpu === cpu ? '*' : ''}`, ...(t.drift ? { drift: true } : {}) });
        if (t.drift && !cell.conflicts.includes('drift')) cell.conflicts.push('drift');
      }
      if (t.drift) conflicts.push(`${d.name}: ${t.target === 'emulator' ? `thread ${t.tid} (${t.comm})` : t.target} runs on ${t.actual}, intended ${t.intended ?? '?'} (${t.cause ?? 'unknown'})`);
    }
    for (const q of d.irqs) {
      for (const cpu of q.actual ? parseIds(q.actual) : []) {
        const cell = cells.get(cpu);
        if (!cell) continue;
        cell.labels.push({ domain: i, text: `${q.drift ? '✗' : ''}${d.name}:irq ${q.irq}`, ...(q.drift ? { drift: true } : {}) });
        if (q.drift && !cell.conflicts.includes('drift')) cell.conflicts.push('drift');
      }
      if (q.drift) conflicts.push(`${d.name}: IRQ ${q.irq} of ${q.device} goes to ${q.actual}, policy ${q.intended ?? '?'} (${q.cause ?? 'unknown'})`);
    }
  });
  return { domains: statuses.map((d) => d.name), nodes: base.nodes, conflicts, symbolic: [], live: true };
}

function parseIds(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
  });
}

/** ANSI colours per domain (cycled), and SVG colours. */
const ANSI = ['32', '34', '35', '33', '36', '92', '94', '95'];
const PALETTE = ['#2e7d32', '#1565c0', '#8e24aa', '#ef6c00', '#00838f', '#6d4c41', '#ad1457', '#283593'];
const CONFLICT = '#c62828';

/** Names come from libvirt and /proc: no control character of theirs reaches the terminal. */

export function renderHostMapText(map: HostMap, hostName: string, color: boolean): string {
  const ansi = (code: string, s: string): string => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const out: string[] = [`${map.domains.length} domain${map.domains.length === 1 ? '' : 's'} on ${hostName}${map.live ? ', live' : ''}`];
  for (const node of map.nodes) {
    out.push(`node ${node.id} (CPUs ${node.cpus})`);
    const texts = node.cores.map((core) =>
      core.cells.map((cell) => {
        const flags = `${cell.isolated ? ' iso' : ''}${cell.online ? '' : ' off'}${cell.conflicts.length ? ' !' : ''}`;
        const head = `cpu ${cell.cpu}${flags}`;
        const plain = `${head}: ${cell.labels.map((l) => printable(l.text)).join(' ') || '-'}`;
        const painted = `${cell.conflicts.length ? ansi('31;1', head) : ansi('2', head)}: ${cell.labels.map((l) => ansi(l.drift ? '31;1' : ANSI[l.domain % ANSI.length]!, printable(l.text))).join(' ') || ansi('2', '-')}`;
        return { plain, painted };
      }),
    );
    const widest = Math.max(0, ...texts.flat().map((t) => t.plain.length));
    node.cores.forEach((core, i) => {
      const row = texts[i]!.map((t, j) => t.painted + (j < texts[i]!.length - 1 ? ' '.repeat(widest - t.plain.length) : ''));
      out.push(`  socket ${core.socket} core ${String(core.core).padStart(3)}  ${row.join(' | ')}`);
    });
  }
  for (const s of map.symbolic) out.push(`  ${printable(s)}`);
  out.push(
    map.live
      ? `legend: ${map.domains.map((d, i) => ansi(ANSI[i % ANSI.length]!, printable(d))).join(', ')}; NAME:vN vCPU, NAME:emu main thread, NAME:emu:COMM helper, NAME:ioN IOThread, NAME:irq N device IRQ on the CPUs the kernel allows now; * ran there last; ✗ drifted (! on its CPUs)`
      : `legend: ${map.domains.map((d, i) => ansi(ANSI[i % ANSI.length]!, printable(d))).join(', ')}; NAME:vN vCPU, NAME:emu emulator, NAME:ioN IOThread, NAME:irq DEV device interrupts; ! cross-domain conflict`,
  );
  const what = map.live ? 'drift' : 'cross-domain conflicts';
  if (map.conflicts.length) {
    out.push(ansi('31;1', `${what} (${map.conflicts.length}):`));
    for (const c of map.conflicts) out.push(`  ${printable(c)}`);
  } else out.push(`no ${what}`);
  return out.join('\n') + '\n';
}


export function renderHostMapSvg(map: HostMap, hostName: string): string {
  const lineH = 15;
  const pad = 10;
  const longest = Math.max(8, ...map.nodes.flatMap((n) => n.cores.flatMap((c) => c.cells.flatMap((cell) => cell.labels.map((l) => l.text.length)))));
  const cellW = Math.min(260, 24 + longest * 7.3);
  const maxLabels = Math.max(1, ...map.nodes.flatMap((n) => n.cores.flatMap((c) => c.cells.map((cell) => cell.labels.length))));
  const cellH = 24 + lineH * maxLabels;
  const maxSiblings = Math.max(1, ...map.nodes.flatMap((n) => n.cores.map((c) => c.cells.length)));
  const coreW = maxSiblings * cellW + (maxSiblings + 1) * 4;
  const coresPerRow = Math.max(1, Math.min(4, ...map.nodes.map((n) => n.cores.length)));
  const width = Math.round(pad * 2 + coresPerRow * (coreW + 8));
  const parts: string[] = [];
  let y = pad + 22;
  parts.push(`<text x="${pad}" y="${y}" font-size="16" font-weight="bold">${esc(`${map.domains.length} domain${map.domains.length === 1 ? '' : 's'} on ${hostName}${map.live ? ', live (* ran there last, ✗ drifted)' : ''}`)}</text>`);
  y += 14;
  for (const node of map.nodes) {
    const rows = Math.ceil(node.cores.length / coresPerRow);
    const nodeH = 26 + rows * (cellH + 16);
    parts.push(`<g class="node" data-node="${node.id}">`);
    parts.push(`<rect x="${pad / 2}" y="${y}" width="${width - pad}" height="${nodeH}" rx="8" fill="#f5f5f5" stroke="#9e9e9e"/>`);
    parts.push(`<text x="${pad}" y="${y + 18}" font-size="13" font-weight="bold">NUMA node ${node.id} · CPUs ${esc(node.cpus.toString())}</text>`);
    node.cores.forEach((core, i) => {
      const cx = pad + (i % coresPerRow) * (coreW + 8);
      const cy = y + 26 + Math.floor(i / coresPerRow) * (cellH + 16);
      parts.push(`<rect x="${cx}" y="${cy}" width="${coreW}" height="${cellH + 8}" rx="5" fill="#ffffff" stroke="#bdbdbd"/>`);
      core.cells.forEach((cell, j) => {
        const x = cx + 4 + j * (cellW + 4);
        const conflict = cell.conflicts.length > 0;
        const fill = !cell.online ? '#eeeeee' : cell.isolated ? '#fff8e1' : '#fafafa';
        parts.push(`<g class="cpu" data-cpu="${cell.cpu}"${conflict ? ` data-conflicts="${esc(cell.conflicts.join(' '))}"` : ''}>`);
        if (conflict) parts.push(`<title>${esc(cell.conflicts.join(', '))}</title>`);
        parts.push(`<rect x="${x}" y="${cy + 4}" width="${cellW}" height="${cellH}" rx="3" fill="${fill}" stroke="${conflict ? CONFLICT : '#e0e0e0'}" stroke-width="${conflict ? 2 : 1}"/>`);
        parts.push(`<text x="${x + 5}" y="${cy + 18}" font-size="11" fill="#616161">cpu ${cell.cpu}${cell.isolated ? ' isolated' : ''}${cell.online ? '' : ' offline'}${conflict ? ' !' : ''}</text>`);
        cell.labels.forEach((l, k) => {
          parts.push(`<text x="${x + 5}" y="${cy + 18 + lineH * (k + 1)}" font-size="12" font-weight="bold" fill="${l.drift ? CONFLICT : PALETTE[l.domain % PALETTE.length]}" class="thread" data-domain="${esc(map.domains[l.domain]!)}">${esc(l.text)}</text>`);
        });
        parts.push('</g>');
      });
    });
    parts.push('</g>');
    y += nodeH + 10;
  }
  let lx = pad;
  for (const [i, name] of map.domains.entries()) {
    parts.push(`<rect x="${lx}" y="${y + 4}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${y + 14}" font-size="12" class="legend">${esc(name)}</text>`);
    lx += 30 + name.length * 7.3;
  }
  parts.push(`<rect x="${lx}" y="${y + 4}" width="12" height="12" fill="none" stroke="${CONFLICT}" stroke-width="2"/>`);
  parts.push(`<text x="${lx + 16}" y="${y + 14}" font-size="12">${map.live ? 'drift' : 'cross-domain conflict'}</text>`);
  y += 24;
  for (const c of [...map.symbolic, ...map.conflicts]) {
    parts.push(`<text x="${pad}" y="${y + 12}" font-size="12" fill="${map.conflicts.includes(c) ? CONFLICT : '#424242'}">${esc(c)}</text>`);
    y += 16;
  }
  const height = y + pad;
  const w = Math.max(width, pad * 2 + Math.max(0, ...[...map.symbolic, ...map.conflicts].map((c) => c.length * 7.3)));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.round(w)}" height="${height}" viewBox="0 0 ${Math.round(w)} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

export function renderHostMapHtml(map: HostMap, hostName: string, findings: readonly CrossFinding[]): string {
  const rows = findings
    .map((f) => `<tr><td>${esc(f.code)}</td><td>${esc(f.severity)}</td><td>${esc(`${f.at.file}:${f.at.line}`)}</td><td>${esc(f.related.map((r) => `${r.file}:${r.line}`).join(', '))}</td><td>${esc(f.message)}</td></tr>`)
    .join('\n');
  return htmlPage(`${hostName} · virt-pin host map`, `${map.domains.join(', ')} on ${hostName}`, renderHostMapSvg(map, hostName), ['code', 'severity', 'at', 'also', 'finding'], rows);
}
