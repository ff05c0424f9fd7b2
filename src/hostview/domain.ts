/**
 * Domain XML text → HostDomain: resolved threads, the IRQ placement its
 * policy asks for, and the memory it binds to host nodes. Pure: the text
 * and the host facts come from the caller.
 */
import { tryParseCpuSet } from '../cpuset/index.js';
import { definitionOf, readDomain, scaledBytes, type LibvirtVersion } from '../domain/index.js';
import { planDocument } from '../plan/index.js';
import { resolve, type HostFacts } from '../resolve/index.js';
import type { PlanHost } from '../plan/index.js';
import { parseDocument, type XmlDocument, type XmlElement } from '../xml/index.js';
import type { DomainIrqClaim, HostDomain, MemoryBinding, Site } from './types.js';

export interface HostDomainOptions {
  /** Shown in findings; defaults to `<name>`. */
  fileName: string;
  host?: HostFacts & Pick<PlanHost, 'pciDevices'>;
  /** The hugepage size `<hugepages/>` without `<page>` means; default 2048 KiB. */
  defaultHugepageKiB?: number;
  /** The libvirt whose behaviour to resolve by (LIBVIRT_CHANGES); default the newest modelled. */
  libvirtVersion?: string | LibvirtVersion;
}

/** Domain XML text → what the host view needs of it (resolved threads, IRQ claims, strict memory). Throws VirtPinError (XML_*) when the text is not well-formed domain XML. */
export function hostDomainFromText(text: string, options: HostDomainOptions): HostDomain {
  const file = options.fileName;
  const doc = parseDocument(text, { fileName: file });
  const model = readDomain(doc);
  const definition = definitionOf(model, { driver: 'qemu', ...(options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {}) });
  const resolved = resolve(definition, options.host, { model, file });
  const name = model.name?.value?.trim() || file;
  const site = (at: { line: number; column: number; path?: string } | undefined): Site => ({
    domain: name,
    file,
    ...(at?.path ? { path: at.path } : {}),
    line: Math.max(1, at?.line ?? model.root.loc.line),
    column: Math.max(1, at?.column ?? model.root.loc.column),
  });

  const irqs: DomainIrqClaim[] = [];
  const runtime = planDocument(text, { fileName: file, ...(options.host ? { host: options.host } : {}), threads: false });
  for (const action of runtime.actions) {
    if (action.kind !== 'irq-affinity') continue;
    const parsed = tryParseCpuSet(action.cpus);
    if (!parsed.ok || parsed.set.isEmpty()) continue;
    const hostdev = definition.hostdevs.find((h) => h.pciAddress === action.target.device);
    const at = action.provenance.element ?? (hostdev ? { line: hostdev.from.loc.line, column: hostdev.from.loc.column, path: hostdev.from.path } : undefined);
    irqs.push({ device: action.target.device, cpus: parsed.set, site: site(at) });
  }

  const memory = memoryBindings(doc, resolved.memory, definition.guestCells, site, options.defaultHugepageKiB ?? 2048);
  return { name, file, resolved, irqs, memory, site: site({ line: model.root.loc.line, column: model.root.loc.column, path: '/domain' }) };
}

const HARD_MODES = new Set(['strict', 'restrictive']);

/**
 * The memory a domain takes from fixed host nodes: guest cells with a
 * strict `<memnode>` from that node set, the rest from a strict global
 * `<numatune><memory>` nodeset. numad placement is left out (unknown until start).
 */
function memoryBindings(
  doc: XmlDocument,
  memory: HostDomain['resolved']['memory'],
  cells: { id: number; memoryKiB?: bigint }[],
  site: (at: { line: number; column: number; path?: string } | undefined) => Site,
  defaultHugepageKiB: number,
): MemoryBinding[] {
  const totalKiB = memoryKiBOf(doc.root.element('memory'));
  if (totalKiB === undefined || totalKiB <= 0) return [];
  const pages = hugepageSizes(doc, defaultHugepageKiB);
  const pageOf = (cell: number | undefined): number | undefined => (cell === undefined ? pages.all : pages.byCell.get(cell) ?? pages.all);
  const out: MemoryBinding[] = [];
  let boundToCells = 0;
  for (const mn of memory.memnodes) {
    if (!HARD_MODES.has(mn.mode)) continue;
    const cell = cells.find((c) => c.id === mn.cellid);
    if (cell?.memoryKiB === undefined) continue;
    const kib = Number(cell.memoryKiB);
    boundToCells += kib;
    const page = pageOf(mn.cellid);
    out.push({ nodes: mn.nodes, kib, mode: mn.mode, site: site(mn.element), ...(page !== undefined ? { hugepageKiB: page } : {}) });
  }
  const nodes = memory.nodes;
  if (memory.mode !== undefined && HARD_MODES.has(memory.mode) && nodes !== undefined && nodes !== 'numad' && !nodes.isEmpty()) {
    const rest = totalKiB - boundToCells;
    // Cells with their own hugepage size keep it; one binding per page size.
    const byPage = new Map<number | undefined, number>();
    const free = cells.filter((c) => !memory.memnodes.some((m) => m.cellid === c.id && HARD_MODES.has(m.mode)));
    if (free.length && free.every((c) => c.memoryKiB !== undefined)) {
      for (const c of free) byPage.set(pageOf(c.id), (byPage.get(pageOf(c.id)) ?? 0) + Number(c.memoryKiB));
    } else if (rest > 0) byPage.set(pageOf(undefined), rest);
    for (const [page, kib] of byPage) {
      if (kib <= 0) continue;
      out.push({ nodes, kib, mode: memory.mode, site: site(memory.element), ...(page !== undefined ? { hugepageKiB: page } : {}) });
    }
  }
  return out;
}

function memoryKiBOf(e: XmlElement | undefined): number | undefined {
  if (!e) return undefined;
  const text = e.text().trim();
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const r = scaledBytes(BigInt(text), e.attr('unit'));
  return 'bytes' in r ? Number(r.bytes / 1024n) : undefined;
}

/** `<memoryBacking><hugepages>`: the page size for all memory, and per guest cell (`<page nodeset>`). */
function hugepageSizes(doc: XmlDocument, defaultKiB: number): { all?: number; byCell: Map<number, number> } {
  const byCell = new Map<number, number>();
  const hp = doc.root.element('memoryBacking')?.element('hugepages');
  if (!hp) return { byCell };
  let all: number | undefined;
  const pages = hp.elements('page');
  if (pages.length === 0) all = defaultKiB;
  for (const p of pages) {
    const size = p.attr('size')?.trim();
    if (!size || !/^\d{1,19}$/.test(size)) continue;
    const r = scaledBytes(BigInt(size), p.attr('unit') ?? 'KiB');
    if (!('bytes' in r)) continue;
    const kib = Number(r.bytes / 1024n);
    const nodeset = p.attr('nodeset');
    if (nodeset === undefined) all = kib;
    else {
      const cells = tryParseCpuSet(nodeset);
      if (cells.ok) for (const c of cells.set) byCell.set(c, kib);
    }
  }
  // Cells a <page nodeset> does not name use the default size.
  if (all === undefined && byCell.size) all = defaultKiB;
  return { ...(all !== undefined ? { all } : {}), byCell };
}

