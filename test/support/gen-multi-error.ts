/**
 * Domains with several independent faults for the "which error does libvirt
 * report" oracle (test/oracle/test-driver.test.ts): a valid base domain
 * with every affinity element (vCPUs, IOThreads, pins, scheduler, a
 * cachetune, a memorytune, two guest NUMA cells, numatune), into which two
 * or three faults from different places are written. <cputune>'s children
 * and the NUMA cells come in a random order, as libvirt does not read the
 * document top to bottom: every <cachetune> before any <memorytune>, all of
 * <cputune> before <cpu><numa>, and some checks only after parsing.
 * Seeded (mulberry32): the same seed gives the same domains.
 */
import { rng } from './gen-domain.js';

export interface MultiErrorDomain {
  name: string;
  xml: string;
  /** The faults written into it (FAULTS names). */
  faults: string[];
}

/** The domain being built: each part is a list of XML lines or attributes. */
interface Parts {
  type: string;
  name: string;
  vcpuAttrs: string[];
  vcpuText: string;
  vcpus: string[];
  iothreads: string;
  iothreadids: string[];
  cputune: Record<string, string[]>;
  cachetuneExtra: string[];
  memorytuneExtra: string[];
  cells: string[][];
  topology?: string;
  numatune: string[];
  devices: string[];
}

interface Fault {
  name: string;
  /** Faults on one slot exclude each other (they would edit the same thing). */
  slot: string;
  apply(p: Parts): void;
}

const CELL = (id: number, cpus: string, memory = " memory='65536' unit='KiB'"): string[] => [`id='${id}'`, `cpus='${cpus}'`, memory.trim()];

function base(name: string): Parts {
  return {
    type: 'kvm',
    name,
    vcpuAttrs: ["placement='static'"],
    vcpuText: '4',
    vcpus: [],
    iothreads: '2',
    iothreadids: [],
    cputune: {
      vcpupin: ["<vcpupin vcpu='0' cpuset='0'/>", "<vcpupin vcpu='1' cpuset='1'/>"],
      emulatorpin: ["<emulatorpin cpuset='2'/>"],
      iothreadpin: ["<iothreadpin iothread='1' cpuset='3'/>"],
      vcpusched: ["<vcpusched vcpus='0' scheduler='fifo' priority='1'/>"],
      values: [],
      cachetune: ["<cache id='0' level='3' type='both' size='3' unit='MiB'/>"],
      memorytune: ["<node id='0' bandwidth='50'/>"],
    },
    cachetuneExtra: [],
    memorytuneExtra: [],
    cells: [CELL(0, '0-1'), CELL(1, '2-3')],
    numatune: ["<memory mode='strict' nodeset='0'/>"],
    devices: [],
  };
}

const PCI = (bus: string): string => `<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='${bus}' slot='0x00' function='0x0'/></source></hostdev>`;

/** Every fault, with the libvirt check it trips (docs/validation.md, LIBVIRT_ORDER). */
export const FAULTS: readonly Fault[] = [
  { name: 'vcpu-count', slot: 'vcpu-text', apply: (p) => void (p.vcpuText = '4x') },
  { name: 'vcpu-zero', slot: 'vcpu-text', apply: (p) => void (p.vcpuText = '0') },
  { name: 'vcpu-current', slot: 'vcpu-current', apply: (p) => void p.vcpuAttrs.push("current='x'") },
  { name: 'vcpu-placement', slot: 'vcpu-placement', apply: (p) => void (p.vcpuAttrs[0] = "placement='bogus'") },
  { name: 'vcpu-cpuset', slot: 'vcpu-cpuset', apply: (p) => void p.vcpuAttrs.push("cpuset='3-1'") },
  { name: 'vcpu-current-above', slot: 'vcpu-current', apply: (p) => void p.vcpuAttrs.push("current='6'") },
  { name: 'vcpus-entry', slot: 'vcpus', apply: (p) => void (p.vcpus = ["<vcpu id='0' enabled='yes' hotpluggable='no'/>", "<vcpu id='7' enabled='yes'/>"]) },
  {
    name: 'vcpus-offline-fixed',
    slot: 'vcpus',
    apply: (p) => void (p.vcpus = ["<vcpu id='0' enabled='yes' hotpluggable='no'/>", "<vcpu id='1' enabled='yes' hotpluggable='no'/>", "<vcpu id='2' enabled='yes' hotpluggable='no'/>", "<vcpu id='3' enabled='no' hotpluggable='no'/>"]),
  },
  { name: 'iothreads-count', slot: 'iothreads', apply: (p) => void (p.iothreads = 'two') },
  { name: 'iothread-duplicate', slot: 'iothreadids', apply: (p) => void (p.iothreadids = ["<iothread id='1'/>", "<iothread id='1'/>"]) },
  { name: 'iothread-pool', slot: 'iothreadids', apply: (p) => void (p.iothreadids = ["<iothread id='1' thread_pool_min='2' thread_pool_max='1'/>"]) },
  { name: 'period-syntax', slot: 'period', apply: (p) => void p.cputune.values!.push('<period>fast</period>') },
  { name: 'period-range', slot: 'period', apply: (p) => void p.cputune.values!.push('<period>10</period>') },
  // Written before <period>: libvirt checks the period first whatever the document's order.
  { name: 'quota-range', slot: 'quota', apply: (p) => void p.cputune.values!.unshift('<quota>5</quota>') },
  { name: 'quota-syntax', slot: 'quota', apply: (p) => void p.cputune.values!.unshift('<quota>lots</quota>') },
  { name: 'iothreadsched-scheduler', slot: 'iothreadsched', apply: (p) => void (p.cputune.iothreadsched = ["<iothreadsched iothreads='2' scheduler='odd'/>"]) },
  { name: 'vcpupin-cpuset', slot: 'vcpupin', apply: (p) => void (p.cputune.vcpupin![1] = "<vcpupin vcpu='1' cpuset='5-2'/>") },
  { name: 'vcpupin-duplicate', slot: 'vcpupin', apply: (p) => void p.cputune.vcpupin!.push("<vcpupin vcpu='0' cpuset='2'/>") },
  { name: 'emulatorpin-cpuset', slot: 'emulatorpin', apply: (p) => void (p.cputune.emulatorpin = ["<emulatorpin cpuset='6-4'/>"]) },
  { name: 'emulatorpin-twice', slot: 'emulatorpin', apply: (p) => void p.cputune.emulatorpin!.push("<emulatorpin cpuset='1'/>") },
  { name: 'iothreadpin-unknown', slot: 'iothreadpin', apply: (p) => void (p.cputune.iothreadpin = ["<iothreadpin iothread='9' cpuset='3'/>"]) },
  { name: 'vcpusched-scheduler', slot: 'vcpusched', apply: (p) => void (p.cputune.vcpusched = ["<vcpusched vcpus='0' scheduler='bogus'/>"]) },
  { name: 'vcpusched-overlap', slot: 'vcpusched', apply: (p) => void p.cputune.vcpusched!.push("<vcpusched vcpus='0-1' scheduler='batch'/>") },
  { name: 'cache-unit', slot: 'cache', apply: (p) => void (p.cputune.cachetune = ["<cache id='0' level='3' type='both' size='3' unit='x'/>"]) },
  { name: 'cache-collide', slot: 'cache', apply: (p) => void p.cputune.cachetune!.push("<cache id='0' level='3' type='code' size='1' unit='MiB'/>") },
  { name: 'cache-monitor-level', slot: 'cache-monitor', apply: (p) => void p.cputune.cachetune!.push("<monitor vcpus='0-1'/>") },
  { name: 'cache-monitor-twice', slot: 'cache-monitor', apply: (p) => void p.cputune.cachetune!.push("<monitor level='3' vcpus='0'/>", "<monitor level='3' vcpus='0'/>") },
  { name: 'cachetune-overlap', slot: 'cachetune-extra', apply: (p) => void p.cachetuneExtra.push("<cachetune vcpus='1-2'><cache id='1' level='3' type='both' size='1' unit='MiB'/></cachetune>") },
  { name: 'cachetune-identical', slot: 'cachetune-extra', apply: (p) => void p.cachetuneExtra.push("<cachetune vcpus='0-1'><cache id='1' level='3' type='both' size='1' unit='MiB'/></cachetune>") },
  // A second tune with the vCPUs of the other kind's tune (libvirt merges them into one group), with a fault of its own.
  { name: 'cachetune2-unit', slot: 'cachetune-extra', apply: (p) => void p.cachetuneExtra.push("<cachetune vcpus='2-3'><cache id='1' level='3' type='both' size='1' unit='zz'/></cachetune>") },
  { name: 'memorytune2-monitor', slot: 'memorytune-extra', apply: (p) => void p.memorytuneExtra.push("<memorytune vcpus='0-1'><node id='1' bandwidth='10'/><monitor vcpus='3'/></memorytune>") },
  { name: 'node-bandwidth', slot: 'node', apply: (p) => void (p.cputune.memorytune = ["<node id='0' bandwidth='101'/>"]) },
  { name: 'node-no-bandwidth', slot: 'node', apply: (p) => void (p.cputune.memorytune = ["<node id='0'/>"]) },
  { name: 'node-duplicate', slot: 'node', apply: (p) => void p.cputune.memorytune!.push("<node id='0' bandwidth='20'/>") },
  { name: 'membw-monitor-outside', slot: 'membw-monitor', apply: (p) => void p.cputune.memorytune!.push("<monitor vcpus='0'/>") },
  { name: 'memorytune-overlap', slot: 'memorytune-extra', apply: (p) => void p.memorytuneExtra.push("<memorytune vcpus='1-2'><node id='1' bandwidth='10'/></memorytune>") },
  { name: 'cell0-no-memory', slot: 'cell0', apply: (p) => void (p.cells[0] = CELL(0, '0-1', '')) },
  { name: 'cell1-no-memory', slot: 'cell1', apply: (p) => void (p.cells[1] = CELL(1, '2-3', '')) },
  { name: 'cell1-id', slot: 'cell1', apply: (p) => void (p.cells[1] = CELL(5, '2-3')) },
  { name: 'cell1-overlap', slot: 'cell1', apply: (p) => void (p.cells[1] = CELL(1, '1-3')) },
  { name: 'cell1-duplicate-id', slot: 'cell1', apply: (p) => void (p.cells[1] = CELL(0, '2-3')) },
  { name: 'cell1-cpus', slot: 'cell1', apply: (p) => void (p.cells[1] = CELL(1, '3-2')) },
  { name: 'cell1-beyond', slot: 'cell1', apply: (p) => void (p.cells[1] = CELL(1, '2-5')) },
  { name: 'cell0-memory-unit', slot: 'cell0', apply: (p) => void (p.cells[0] = CELL(0, '0-1', " memory='64' unit='parsec'")) },
  { name: 'numatune-mode', slot: 'numatune-memory', apply: (p) => void (p.numatune[0] = "<memory mode='bogus' nodeset='0'/>") },
  { name: 'numatune-nodeset', slot: 'numatune-memory', apply: (p) => void (p.numatune[0] = "<memory mode='strict' nodeset='1-0'/>") },
  { name: 'memnode-cellid', slot: 'memnode', apply: (p) => void p.numatune.push("<memnode cellid='5' mode='restrictive' nodeset='0'/>") },
  { name: 'memnode-nodeset', slot: 'memnode2', apply: (p) => void p.numatune.push("<memnode cellid='1' mode='strict' nodeset='1-0'/>") },
  // libvirt 9.0 checks this per <memnode> while parsing it; 10.7 when validating.
  {
    name: 'restrictive-mixed',
    slot: 'numatune-memory',
    apply: (p) => {
      p.numatune[0] = "<memory mode='restrictive' nodeset='0'/>";
      p.numatune.push("<memnode cellid='0' mode='strict' nodeset='0'/>");
    },
  },
  { name: 'name-slash', slot: 'name', apply: (p) => void (p.name = `${p.name}/x`) },
  { name: 'name-newline', slot: 'name', apply: (p) => void (p.name = `${p.name}\n`) },
  { name: 'hostdev-bus', slot: 'hostdev', apply: (p) => void p.devices.push(PCI('0x100')) },
  { name: 'hostdev-twice', slot: 'hostdev', apply: (p) => void p.devices.push(PCI('0x03'), PCI('0x03')) },
  { name: 'topology-overflow', slot: 'topology', apply: (p) => void (p.topology = "<topology sockets='65536' dies='1' cores='65536' threads='2'/>") },
];

/** Faults only the QEMU driver refuses (its post-parse callback and validation), for libvirtd. */
export const QEMU_FAULTS: readonly Fault[] = [
  {
    name: 'qemu-vcpu0-offline',
    slot: 'vcpus',
    apply: (p) => void (p.vcpus = ["<vcpu id='0' enabled='no' hotpluggable='yes'/>", "<vcpu id='1' enabled='yes' hotpluggable='yes'/>", "<vcpu id='2' enabled='yes' hotpluggable='yes'/>", "<vcpu id='3' enabled='yes' hotpluggable='yes'/>"]),
  },
  { name: 'qemu-topology', slot: 'topology', apply: (p) => void (p.topology = "<topology sockets='1' dies='1' cores='2' threads='1'/>") },
  { name: 'qemu-resctrl-tcg', slot: 'type', apply: (p) => void (p.type = 'qemu') },
  {
    name: 'qemu-iothread-reference',
    slot: 'disk',
    apply: (p) => void p.devices.unshift("<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='9'/><source file='/nonexistent/vp.img'/><target dev='vda' bus='virtio'/></disk>"),
  },
];

/** `qemu`: a domain libvirtd's QEMU driver can define (machine type, emulator, no balloon). */
function render(p: Parts, order: { cputune: string[]; cellsReversed: boolean; qemu?: boolean }): string {
  const ct = (key: string): string[] => {
    if (key === 'cachetune') return [`<cachetune vcpus='0-1'>${p.cputune.cachetune!.join('')}</cachetune>`, ...p.cachetuneExtra];
    if (key === 'memorytune') return [`<memorytune vcpus='2-3'>${p.cputune.memorytune!.join('')}</memorytune>`, ...p.memorytuneExtra];
    return p.cputune[key]!;
  };
  const cells = p.cells.map((c) => `<cell ${c.filter(Boolean).join(' ')}/>`);
  if (order.cellsReversed) cells.reverse();
  return [
    `<domain type='${p.type}'>`,
    `  <name>${p.name}</name>`,
    "  <memory unit='KiB'>131072</memory>",
    `  <vcpu ${p.vcpuAttrs.join(' ')}>${p.vcpuText}</vcpu>`,
    ...(p.vcpus.length ? [`  <vcpus>${p.vcpus.join('')}</vcpus>`] : []),
    `  <iothreads>${p.iothreads}</iothreads>`,
    ...(p.iothreadids.length ? [`  <iothreadids>${p.iothreadids.join('')}</iothreadids>`] : []),
    '  <cputune>',
    ...order.cputune.flatMap(ct).map((l) => `    ${l}`),
    '  </cputune>',
    `  <numatune>${p.numatune.join('')}</numatune>`,
    `  <os>\n    <type arch='x86_64'${order.qemu ? " machine='pc'" : ''}>hvm</type>\n  </os>`,
    `  <cpu>${p.topology ?? ''}<numa>${cells.join('')}</numa></cpu>`,
    ...(order.qemu
      ? [`  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${p.devices.join('')}<memballoon model='none'/></devices>`]
      : p.devices.length
        ? [`  <devices>${p.devices.join('')}</devices>`]
        : []),
    '</domain>',
    '',
  ].join('\n');
}

/** The base domain with the named faults (none: libvirt must accept it, or the faults prove nothing), in document order. */
export function domainWith(name: string, faults: readonly string[] = [], options: { qemu?: boolean } = {}): string {
  const p = base(name);
  for (const f of faults) [...FAULTS, ...QEMU_FAULTS].find((x) => x.name === f)!.apply(p);
  return render(p, { cputune: Object.keys(p.cputune), cellsReversed: false, ...options });
}

/**
 * `count` domains, each with 2 or 3 faults on different slots, <cputune>
 * children and cells in random order. `qemu`: for libvirtd's QEMU driver,
 * one of its own faults in every domain and the others drawn from all;
 * `exclude` leaves faults out.
 */
export function generateMultiErrorDomains(seed: number, count: number, options: { qemu?: boolean; exclude?: readonly string[] } = {}): MultiErrorDomain[] {
  const r = rng(seed);
  const pool = [...FAULTS, ...(options.qemu ? QEMU_FAULTS : [])].filter((f) => !options.exclude?.includes(f.name));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: MultiErrorDomain[] = [];
  for (let i = 0; i < count; i++) {
    const name = `m${seed}-${i}`;
    const p = base(name);
    // For the QEMU driver one fault is always its own, so each domain weighs a QEMU check against others.
    const chosen: Fault[] = options.qemu ? [pick(QEMU_FAULTS)] : [];
    const want = r() < 0.5 ? 2 : 3;
    while (chosen.length < want) {
      const f = pick(pool);
      if (!chosen.some((c) => c.slot === f.slot)) chosen.push(f);
    }
    for (const f of chosen) f.apply(p);
    const keys = Object.keys(p.cputune);
    for (let k = keys.length - 1; k > 0; k--) {
      const j = Math.floor(r() * (k + 1));
      [keys[k], keys[j]] = [keys[j]!, keys[k]!];
    }
    out.push({ name, xml: render(p, { cputune: keys, cellsReversed: r() < 0.3, ...(options.qemu ? { qemu: true } : {}) }), faults: chosen.map((f) => f.name) });
  }
  return out;
}
