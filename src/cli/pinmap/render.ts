/**
 * Renderers of the pin map: terminal text (colour on a TTY only), a
 * self-contained SVG, and an HTML page that embeds the SVG next to the
 * thread table. No fonts, scripts or images are fetched.
 */
import { cellLabels, coreTags, sizeText, type PinMap, type PinMapCell } from './model.js';

export interface PinMapTitle {
  guest: string;
  host: string;
}

const ansi = (on: boolean, code: string, s: string): string => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

/** The pin map as terminal text, `virt-pin show`'s output; `color` adds ANSI colours. */
export function renderPinMapText(map: PinMap, title: PinMapTitle, color: boolean): string {
  const s = map.summary;
  const out: string[] = [];
  out.push(
    `${ansi(color, '1', title.guest)} on ${title.host}: ${s.sockets} socket${s.sockets === 1 ? '' : 's'}, ${s.cores} core${s.cores === 1 ? '' : 's'}, ${s.threads} thread${s.threads === 1 ? '' : 's'}, ${s.nodes} NUMA node${s.nodes === 1 ? '' : 's'}`,
  );
  const cellText = (cell: PinMapCell): { plain: string; painted: string } => {
    const labels = cellLabels(cell);
    const flags = `${cell.isolated ? ' iso' : ''}${cell.online ? '' : ' off'}${cell.conflicts.length ? ' !' : ''}`;
    const plain = `cpu ${cell.cpu}${flags}: ${labels.join(' ') || '-'}`;
    const paintLabel = (l: string): string =>
      l.startsWith('v') ? ansi(color, '32', l) : l === 'emu' ? ansi(color, '34', l) : l.startsWith('io') ? ansi(color, '35', l) : ansi(color, '33', l);
    const head = `cpu ${cell.cpu}${flags}`;
    const painted = `${cell.conflicts.length ? ansi(color, '31;1', head) : ansi(color, '2', head)}: ${labels.map(paintLabel).join(' ') || ansi(color, '2', '-')}`;
    return { plain, painted };
  };
  if (map.l3Groups.length > 1) {
    out.push(`L3 groups: ${map.l3Groups.map((g) => `L3#${g.index} CPUs ${g.cpus}${g.sizeKiB !== undefined ? ` (${sizeText(g.sizeKiB)})` : ''}`).join(', ')}`);
  }
  if (map.hybrid) out.push('core types: P performance, E efficiency');
  const tagWidth = Math.max(0, ...map.nodes.flatMap((n) => n.cores.map((c) => coreTags(c).length)));
  for (const node of map.nodes) {
    out.push(`node ${node.id} (CPUs ${node.cpus})`);
    const rows = node.cores.map((core) => ({ core, texts: core.cells.map(cellText) }));
    const widest = Math.max(0, ...rows.flatMap((r) => r.texts.map((t) => t.plain.length)));
    for (const { core, texts } of rows) {
      const cells = texts.map((t, i) => t.painted + (i < texts.length - 1 ? ' '.repeat(widest - t.plain.length) : ''));
      const tags = tagWidth ? ` ${coreTags(core).padEnd(tagWidth)}` : '';
      out.push(`  socket ${core.socket} core ${String(core.core).padStart(3)}${tags}  ${cells.join(' | ')}`);
    }
  }
  for (const sym of map.symbolic) out.push(`  ${sym}`);
  out.push('legend: vN vCPU, emu emulator, ioN IOThread, irq DEV device interrupts; iso isolated, off offline, ! conflict');
  if (map.conflicts.length) {
    out.push(ansi(color, '31;1', `conflicts (${map.conflicts.length}):`));
    for (const c of map.conflicts) out.push(`  ${c}`);
  } else out.push('no conflicts');
  if (map.findings.length) {
    out.push(ansi(color, '33;1', `findings (${map.findings.length}):`));
    for (const f of map.findings) {
      out.push(`  ${f.severity} ${f.code}: ${f.message}`);
      if (f.hint) out.push(`    hint: ${f.hint}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Text and attribute values escaped for SVG/HTML. */
export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Outline colours of cores by L3 group (cycled). */
const L3_COLORS = ['#00897b', '#6d4c41', '#3949ab', '#c0ca33', '#d81b60', '#546e7a'] as const;

const COLORS = { vcpu: '#2e7d32', emu: '#1565c0', io: '#8e24aa', irq: '#ef6c00', conflict: '#c62828' } as const;

/** A standalone SVG picture of the map. */
export function renderPinMapSvg(map: PinMap, title: PinMapTitle): string {
  const cellW = 132;
  const lineH = 15;
  const pad = 10;
  const maxLabels = Math.max(1, ...map.nodes.flatMap((n) => n.cores.flatMap((c) => c.cells.map((cell) => cellLabels(cell).length))));
  const cellH = 24 + lineH * maxLabels;
  const maxSiblings = Math.max(1, ...map.nodes.flatMap((n) => n.cores.map((c) => c.cells.length)));
  const coreW = maxSiblings * cellW + (maxSiblings + 1) * 4;
  const coresPerRow = Math.max(1, Math.min(4, ...map.nodes.map((n) => n.cores.length)));
  const width = pad * 2 + coresPerRow * (coreW + 8);
  const parts: string[] = [];
  let y = pad + 22;
  parts.push(`<text x="${pad}" y="${y}" font-size="16" font-weight="bold">${esc(title.guest)} on ${esc(title.host)}</text>`);
  y += 14;
  for (const node of map.nodes) {
    const rows = Math.ceil(node.cores.length / coresPerRow);
    const nodeH = 26 + rows * (cellH + 16);
    parts.push(`<g class="node" data-node="${node.id}">`);
    parts.push(`<rect x="${pad / 2}" y="${y}" width="${width - pad}" height="${nodeH}" rx="8" fill="#f5f5f5" stroke="#9e9e9e"/>`);
    const nodeL3 = map.l3Groups.length > 1 ? map.l3Groups.filter((g) => g.cpus.intersects(node.cpus)) : [];
    const l3Text = nodeL3.length ? ` · ${nodeL3.map((g) => `L3#${g.index}${g.sizeKiB !== undefined ? ` ${sizeText(g.sizeKiB)}` : ''}`).join(', ')}` : '';
    parts.push(`<text x="${pad}" y="${y + 18}" font-size="13" font-weight="bold">NUMA node ${node.id} · CPUs ${esc(node.cpus.toString())}${esc(l3Text)}</text>`);
    node.cores.forEach((core, i) => {
      const cx = pad + (i % coresPerRow) * (coreW + 8);
      const cy = y + 26 + Math.floor(i / coresPerRow) * (cellH + 16);
      const tags = coreTags(core);
      const l3Color = core.l3 === undefined ? '#bdbdbd' : L3_COLORS[core.l3 % L3_COLORS.length]!;
      parts.push(
        `<g class="core" data-socket="${core.socket}" data-core="${core.core}"${core.l3 !== undefined ? ` data-l3="${core.l3}"` : ''}${core.coreType ? ` data-core-type="${core.coreType}"` : ''}>`,
      );
      parts.push(`<rect x="${cx}" y="${cy}" width="${coreW}" height="${cellH + 8}" rx="5" fill="#ffffff" stroke="${l3Color}" stroke-width="${core.l3 === undefined ? 1 : 3}"/>`);
      if (tags) parts.push(`<text x="${cx + coreW - 6}" y="${cy + 14}" font-size="10" text-anchor="end" fill="${l3Color}" class="core-tags">${esc(tags)}</text>`);
      core.cells.forEach((cell, j) => {
        const x = cx + 4 + j * (cellW + 4);
        const conflict = cell.conflicts.length > 0;
        const fill = !cell.online ? '#eeeeee' : cell.isolated ? '#fff8e1' : '#fafafa';
        parts.push(`<g class="cpu" data-cpu="${cell.cpu}">`);
        if (conflict) parts.push(`<title>${esc(cell.conflicts.join('; '))}</title>`);
        parts.push(
          `<rect x="${x}" y="${cy + 4}" width="${cellW}" height="${cellH}" rx="3" fill="${fill}" stroke="${conflict ? COLORS.conflict : '#e0e0e0'}" stroke-width="${conflict ? 2 : 1}"/>`,
        );
        const flags = `${cell.isolated ? ' isolated' : ''}${cell.online ? '' : ' offline'}`;
        parts.push(`<text x="${x + 5}" y="${cy + 18}" font-size="11" fill="#616161">cpu ${cell.cpu}${flags}</text>`);
        cellLabels(cell).forEach((label, k) => {
          const color = label.startsWith('v') ? COLORS.vcpu : label === 'emu' ? COLORS.emu : label.startsWith('io') ? COLORS.io : COLORS.irq;
          parts.push(
            `<text x="${x + 5}" y="${cy + 18 + lineH * (k + 1)}" font-size="12" font-weight="bold" fill="${color}" class="thread">${esc(label)}</text>`,
          );
        });
        parts.push('</g>');
      });
      parts.push('</g>');
    });
    parts.push('</g>');
    y += nodeH + 10;
  }
  const legend = [
    ['vCPU', COLORS.vcpu],
    ['emulator', COLORS.emu],
    ['IOThread', COLORS.io],
    ['device IRQ', COLORS.irq],
    ['conflict', COLORS.conflict],
  ] as const;
  legend.forEach(([name, color], i) => {
    parts.push(`<rect x="${pad + i * 110}" y="${y + 4}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${pad + i * 110 + 16}" y="${y + 14}" font-size="12">${name}</text>`);
  });
  y += 24;
  if (map.l3Groups.length > 1 || map.hybrid) {
    const note = [map.l3Groups.length > 1 ? 'core outline colour = L3 group (L3#N)' : '', map.hybrid ? 'P performance core, E efficiency core' : ''].filter(Boolean).join('; ');
    parts.push(`<text x="${pad}" y="${y + 12}" font-size="12" fill="#424242">${esc(note)}</text>`);
    y += 16;
  }
  for (const c of [...map.symbolic, ...map.conflicts]) {
    parts.push(`<text x="${pad}" y="${y + 12}" font-size="12" fill="${map.conflicts.includes(c) ? COLORS.conflict : '#424242'}">${esc(c)}</text>`);
    y += 16;
  }
  for (const f of map.findings) {
    parts.push(`<text x="${pad}" y="${y + 12}" font-size="12" fill="${f.severity === 'info' ? '#424242' : COLORS.irq}" class="finding">${esc(`${f.code}: ${f.message}`)}</text>`);
    y += 16;
  }
  const height = y + pad;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** An HTML page: the SVG plus a table of every thread and why it lands where it does. */
export function renderPinMapHtml(
  map: PinMap,
  title: PinMapTitle,
  rows: ReadonlyArray<{ thread: string; cpus: string; why: string }>,
): string {
  const table = rows.map((r) => `<tr><td>${esc(r.thread)}</td><td>${esc(r.cpus)}</td><td>${esc(r.why)}</td></tr>`).join('\n');
  return htmlPage(`${title.guest} · virt-pin pin map`, `${title.guest} on ${title.host}`, renderPinMapSvg(map, title), ['thread', 'host CPUs', 'why'], table);
}

/** The self-contained HTML page both maps use: a heading, the SVG, and a table. `rows` is already escaped markup. */
export function htmlPage(title: string, heading: string, svg: string, columns: readonly string[], rows: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #212121; }
table { border-collapse: collapse; margin-top: 1rem; }
td, th { border: 1px solid #e0e0e0; padding: 0.25rem 0.6rem; text-align: left; font-family: monospace; }
th { background: #f5f5f5; }
</style>
</head>
<body>
<h1>${esc(heading)}</h1>
${svg}
<table>
<thead><tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}
