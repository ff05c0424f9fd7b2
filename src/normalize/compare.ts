/**
 * A canonical text of an element subtree for comparing documents by
 * meaning: attributes sorted, whitespace-only text and comments ignored,
 * text trimmed. Two elements libvirt would treat the same compare equal.
 */
import type { ElementSpec, XmlDocument, XmlElement } from '../xml/index.js';

/** The canonical text of an element subtree: attributes sorted, whitespace-only text and comments ignored. */
export function canonicalOf(e: XmlElement): string {
  const attrs = e.attributes.map((a) => `${a.name}=${JSON.stringify(a.value)}`).sort();
  const kids = e.elements().map(canonicalOf);
  const text = e.text().trim();
  return `<${e.name}${attrs.length ? ' ' + attrs.join(' ') : ''}>${kids.join('')}${kids.length ? '' : text}</${e.name}>`;
}

export function canonicalOfSpec(s: ElementSpec): string {
  const list = s.attrs === undefined ? [] : Array.isArray(s.attrs) ? (s.attrs as ReadonlyArray<readonly [string, string]>) : Object.entries(s.attrs).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as const);
  const attrs = list.map(([k, v]) => `${k}=${JSON.stringify(v)}`).sort();
  const kids = (s.children ?? []).map(canonicalOfSpec);
  return `<${s.name}${attrs.length ? ' ' + attrs.join(' ') : ''}>${kids.join('')}${kids.length ? '' : (s.text ?? '').trim()}</${s.name}>`;
}

/**
 * The affinity elements of a document as comparable text, one line per
 * element: `<vcpu>`, `<vcpus>`, `<iothreads>`, `<iothreadids>`,
 * `<defaultiothread>`, `<cputune>`, `<numatune>` and the guest NUMA cells.
 */
export function affinitySubtrees(doc: XmlDocument): string {
  const root = doc.root.name === 'domstatus' ? (doc.root.element('domain') ?? doc.root) : doc.root;
  const lines: string[] = [];
  for (const name of ['vcpu', 'vcpus', 'iothreads', 'iothreadids', 'defaultiothread', 'cputune', 'numatune']) {
    for (const e of root.elements(name)) lines.push(canonicalOf(e));
  }
  for (const cell of root.find('cpu/numa/cell')) {
    // Only the attributes normalize owns; cells carry other settings (memAccess, distances) it leaves alone.
    const own = ['id', 'cpus', 'memory', 'unit'].map((k) => (cell.attr(k) !== undefined ? `${k}=${JSON.stringify(cell.attr(k))}` : '')).filter(Boolean);
    lines.push(`<cell ${own.join(' ')}>`);
  }
  return lines.join('\n');
}
