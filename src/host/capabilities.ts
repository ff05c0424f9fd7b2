/**
 * Host topology from libvirt XML: `virsh capabilities` (`<host><topology>
 * <cells>` and `<host><cache>`) and `virsh nodedev-dumpxml` for one PCI
 * device's NUMA node.
 */
import type { ErrorCode } from '../codes.js';
import { CpuSet, MAX_CPUSET_ID, tryParseCpuSet } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import type { HostCache, HostCacheType, HostCpu, HostNode, HostPciDevice, HostTopology } from './types.js';
import { parseHostXml, type HostXmlElement } from './xml-tree.js';

export interface HostXmlOptions {
  /** Used in error messages. */
  fileName?: string;
}

/** libvirt's scaled-integer units (virScaleInteger), as multiples of 1 KiB. */
const UNIT_KIB: Record<string, number> = {
  b: 1 / 1024,
  bytes: 1 / 1024,
  k: 1,
  kib: 1,
  kb: 1000 / 1024,
  m: 1024,
  mib: 1024,
  mb: 1e6 / 1024,
  g: 1024 ** 2,
  gib: 1024 ** 2,
  gb: 1e9 / 1024,
  t: 1024 ** 3,
  tib: 1024 ** 3,
  tb: 1e12 / 1024,
};

const CACHE_TYPES: Record<string, HostCacheType> = { both: 'unified', code: 'instruction', data: 'data' };

/**
 * Parse `virsh capabilities` output. The root may be `<capabilities>`,
 * `<host>` or a bare `<topology>` fragment (as libvirt's documentation
 * shows it). CPUs listed in a cell are online (libvirt lists a cell's online
 * CPUs); a `<cpu>` without `socket_id`/`core_id` (older libvirt, or topology
 * unreadable) gets socket/core −1 and itself as its only sibling.
 */
export function hostFromCapabilities(text: string, options: HostXmlOptions = {}): HostTopology {
  const where = options.fileName ? `${options.fileName}: ` : '';
  const root = parseHostXml(text, 'HOST_CAPS', options.fileName);
  const fail = (code: ErrorCode, message: string, el: HostXmlElement, attr?: string, hint?: string): never => {
    throw new VirtPinError(code, where + message, {
      location: attr === undefined ? el.location : el.attrLocation(attr),
      ...(hint ? { hint } : {}),
    });
  };

  let host: HostXmlElement | undefined;
  let topology: HostXmlElement | undefined;
  if (root.name === 'capabilities') host = root.element('host');
  else if (root.name === 'host') host = root;
  else if (root.name === 'topology') topology = root;
  else {
    fail('HOST_CAPS_NOT_CAPABILITIES', `root element is <${root.name}>; expected <capabilities> (virsh capabilities)`, root);
  }
  if (root.name === 'capabilities' && host === undefined) {
    fail('HOST_CAPS_NO_TOPOLOGY', '<capabilities> has no <host> element', root);
  }
  topology ??= host?.element('topology');
  const cellsEl = topology?.element('cells');
  if (cellsEl === undefined) {
    fail('HOST_CAPS_NO_TOPOLOGY', 'no <host><topology><cells>: the capabilities do not describe host NUMA cells', topology ?? host ?? root, undefined, 'run `virsh capabilities` on the host itself; some drivers (e.g. test) omit the topology');
  }

  const uint = (el: HostXmlElement, attr: string, required: boolean, max = 2 ** 31 - 1): number | undefined => {
    const raw = el.attr(attr);
    if (raw === undefined) {
      if (required) fail('HOST_CAPS_BAD_VALUE', `<${el.name}> has no '${attr}' attribute`, el);
      return undefined;
    }
    const v = /^\s*\d{1,10}\s*$/.test(raw) ? Number(raw) : NaN;
    if (!(v <= max)) fail('HOST_CAPS_BAD_VALUE', `<${el.name} ${attr}='${raw}'>: expected an integer 0..${max}`, el, attr);
    return v;
  };
  const cpuList = (el: HostXmlElement, attr: string): CpuSet | undefined => {
    const raw = el.attr(attr);
    if (raw === undefined) return undefined;
    const r = tryParseCpuSet(raw);
    if (!r.ok) fail('HOST_CAPS_BAD_CPUSET', `<${el.name} ${attr}='${raw}'>: ${r.message}`, el, attr);
    return r.ok ? r.set : undefined;
  };
  const scaledKiB = (el: HostXmlElement, raw: string, unitAttr: string, what: string): number => {
    const unit = (el.attr(unitAttr) ?? 'KiB').toLowerCase();
    const factor = UNIT_KIB[unit];
    if (factor === undefined) fail('HOST_CAPS_BAD_VALUE', `<${el.name}>: unknown unit '${el.attr(unitAttr)}'`, el, unitAttr);
    if (!/^\s*\d{1,19}\s*$/.test(raw)) fail('HOST_CAPS_BAD_VALUE', `<${el.name}>: ${what} '${raw.trim()}' is not a whole number`, el);
    return Math.round(Number(raw) * factor!);
  };

  const cpus: HostCpu[] = [];
  const seenCpu = new Map<number, HostXmlElement>();
  const nodes: (HostNode & { el: HostXmlElement; distanceBySibling?: Map<number, number> })[] = [];
  for (const cell of cellsEl!.elements('cell')) {
    const id = uint(cell, 'id', true)!;
    if (nodes.some((n) => n.id === id)) fail('HOST_CAPS_DUPLICATE_CELL', `cell id ${id} appears twice`, cell, 'id');
    const node: (typeof nodes)[number] = { id, cpus: CpuSet.empty(), el: cell };
    const memory = cell.element('memory');
    if (memory) node.memoryKiB = scaledKiB(memory, memory.text(), 'unit', 'memory');
    const distances = cell.element('distances');
    if (distances) {
      node.distanceBySibling = new Map();
      for (const s of distances.elements('sibling')) node.distanceBySibling.set(uint(s, 'id', true)!, uint(s, 'value', true)!);
    }
    const ids: number[] = [];
    for (const cpuEl of cell.element('cpus')?.elements('cpu') ?? []) {
      const cpuId = uint(cpuEl, 'id', true, MAX_CPUSET_ID)!;
      if (seenCpu.has(cpuId)) fail('HOST_CAPS_DUPLICATE_CPU', `cpu id ${cpuId} is listed twice (first at line ${seenCpu.get(cpuId)!.location.line})`, cpuEl, 'id');
      seenCpu.set(cpuId, cpuEl);
      ids.push(cpuId);
      const cpu: HostCpu = {
        id: cpuId,
        socket: uint(cpuEl, 'socket_id', false) ?? -1,
        core: uint(cpuEl, 'core_id', false) ?? -1,
        node: id,
        siblings: cpuList(cpuEl, 'siblings') ?? CpuSet.of(cpuId),
        online: true,
      };
      const die = uint(cpuEl, 'die_id', false);
      if (die !== undefined) cpu.die = die;
      const cluster = uint(cpuEl, 'cluster_id', false);
      if (cluster !== undefined) cpu.cluster = cluster;
      if (!cpu.siblings.has(cpuId)) {
        fail('HOST_CAPS_BAD_CPUSET', `cpu ${cpuId} is not in its own siblings '${cpuEl.attr('siblings')}'`, cpuEl, 'siblings');
      }
      cpus.push(cpu);
    }
    node.cpus = CpuSet.fromIds(ids);
    nodes.push(node);
  }
  nodes.sort((a, b) => a.id - b.id);
  cpus.sort((a, b) => a.id - b.id);

  const caches: HostCache[] = [];
  for (const bank of host?.element('cache')?.elements('bank') ?? []) {
    const level = uint(bank, 'level', true)!;
    const rawType = bank.attr('type') ?? 'both';
    const type = CACHE_TYPES[rawType];
    if (type === undefined) fail('HOST_CAPS_BAD_VALUE', `<bank type='${rawType}'>: expected both, code or data`, bank, 'type');
    const bankCpus = cpuList(bank, 'cpus');
    if (bankCpus === undefined) fail('HOST_CAPS_BAD_VALUE', `<bank> has no 'cpus' attribute`, bank);
    const size = bank.attr('size');
    const bankId = uint(bank, 'id', false);
    caches.push({
      ...(bankId === undefined ? {} : { id: bankId }),
      level,
      type: type!,
      ...(size === undefined ? {} : { sizeKiB: scaledKiB(bank, size, 'unit', 'size') }),
      cpus: bankCpus!,
    });
  }

  return {
    source: 'capabilities',
    onlineCpus: CpuSet.fromIds(cpus.map((c) => c.id)),
    isolatedCpus: CpuSet.empty(),
    cpus,
    nodes: nodes.map(({ el: _el, distanceBySibling, ...node }) => {
      if (distanceBySibling && nodes.every((n) => distanceBySibling.has(n.id))) {
        node.distances = nodes.map((n) => distanceBySibling.get(n.id)!);
      }
      return node;
    }),
    caches: sortCaches(caches),
    pciDevices: [],
  };
}

/** Caches in a stable order: level, then data < instruction < unified, then lowest CPU. */
export function sortCaches(caches: HostCache[]): HostCache[] {
  const typeOrder: Record<HostCacheType, number> = { data: 0, instruction: 1, unified: 2 };
  return caches.sort(
    (a, b) => a.level - b.level || typeOrder[a.type] - typeOrder[b.type] || (a.cpus.min() ?? -1) - (b.cpus.min() ?? -1),
  );
}

/**
 * A PCI device's address and NUMA node from `virsh nodedev-dumpxml pci_…`
 * (`<capability type='pci'>` with domain/bus/slot/function and
 * `<numa node='N'/>`). `numaNode` is undefined when libvirt printed no
 * `<numa>` (the kernel knows no affinity).
 */
export function pciNumaFromNodedev(text: string, options: HostXmlOptions = {}): HostPciDevice {
  const where = options.fileName ? `${options.fileName}: ` : '';
  const root = parseHostXml(text, 'HOST_NODEDEV', options.fileName);
  if (root.name !== 'device') {
    throw new VirtPinError('HOST_NODEDEV_NOT_DEVICE', `${where}root element is <${root.name}>; expected <device> (virsh nodedev-dumpxml)`, { location: root.location });
  }
  const pci = root.elements('capability').find((c) => c.attr('type') === 'pci');
  if (!pci) {
    throw new VirtPinError('HOST_NODEDEV_NOT_PCI', `${where}<device> has no <capability type='pci'>: not a PCI device`, { location: root.location });
  }
  const part = (name: string, max: number, width: number): string => {
    const el = pci.element(name);
    const raw = el?.text().trim();
    // libvirt prints decimal; accept the 0x form people paste from domain XML too.
    const v = raw === undefined ? NaN : /^0x[0-9a-f]+$/i.test(raw) ? parseInt(raw, 16) : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(v >= 0 && v <= max)) {
      throw new VirtPinError('HOST_NODEDEV_BAD_VALUE', `${where}<${name}> ${raw === undefined ? 'is missing' : `'${raw}' is not 0..${max}`}`, {
        location: (el ?? pci).location,
      });
    }
    return v.toString(16).padStart(width, '0');
  };
  const address = `${part('domain', 0xffff, 4)}:${part('bus', 0xff, 2)}:${part('slot', 0x1f, 2)}.${part('function', 7, 1)}`;
  const numa = pci.element('numa');
  const device: HostPciDevice = { address };
  if (numa) {
    const raw = numa.attr('node');
    if (raw === undefined || !/^\d{1,5}$/.test(raw.trim())) {
      throw new VirtPinError('HOST_NODEDEV_BAD_VALUE', `${where}<numa node='${raw ?? ''}'>: expected a node number`, { location: numa.attrLocation('node') });
    }
    device.numaNode = Number(raw);
  }
  return device;
}
