/**
 * Hugepage pools per host NUMA node from `virsh capabilities`
 * (`<cell><pages unit='KiB' size='2048'>N</pages>`). Pure: text in. The
 * smallest size of a cell is the base page and is not a pool.
 */
import { isVirtPinError } from '../errors.js';
import { parseDocument } from '../xml/index.js';
import type { HostMemoryFacts } from './types.js';

/** Per host NUMA node, its hugepage pools (size in KiB and count) from capabilities XML text; [] when it does not parse. */
export function hugepagesFromCapabilities(text: string): HostMemoryFacts['nodes'] {
  let root;
  try {
    root = parseDocument(text).root;
  } catch (e) {
    if (isVirtPinError(e)) return [];
    throw e;
  }
  const out: HostMemoryFacts['nodes'] = [];
  for (const cell of root.find('host/topology/cells/cell')) {
    const id = Number(cell.attr('id'));
    if (!Number.isInteger(id) || id < 0) continue;
    const pages: { sizeKiB: number; count: number }[] = [];
    for (const p of cell.elements('pages')) {
      const unit = (p.attr('unit') ?? 'KiB').toLowerCase();
      const factor = unit === 'kib' || unit === 'k' ? 1 : unit === 'mib' || unit === 'm' ? 1024 : unit === 'gib' || unit === 'g' ? 1024 * 1024 : undefined;
      const size = Number(p.attr('size'));
      const count = Number(p.text().trim());
      if (factor === undefined || !Number.isSafeInteger(size) || !Number.isSafeInteger(count)) continue;
      pages.push({ sizeKiB: size * factor, count });
    }
    pages.sort((a, b) => a.sizeKiB - b.sizeKiB);
    out.push({ id, hugepages: pages.slice(1) });
  }
  return out;
}
