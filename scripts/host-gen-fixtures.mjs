#!/usr/bin/env node
/**
 * Writes the host fixtures under fixtures/hosts/: sysfs trees in the exact
 * kernel formats (every file ends with '\n', CPU lists in cpulist format,
 * masks in the kernel's %*pb format, node meminfo with the kernel's column
 * layout, PCI devices linked from sys/bus/pci/devices into sys/devices as
 * the kernel does), plus libvirt capabilities XML for two of the machines,
 * formatted as libvirt 10 prints them, from the same model.
 *
 *   node scripts/host-gen-fixtures.mjs                  # synthetic machines
 *   node scripts/host-gen-fixtures.mjs --capture-local  # also re-capture this machine as this-vm
 *
 * Re-capturing this-vm changes what test/host expects of it; do it only to
 * refresh the capture on purpose.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(repo, 'fixtures', 'hosts');

// ---------------------------------------------------------------- formats

/** Kernel cpulist (`%*pbl`): ascending ranges, e.g. "0-7,16-23". */
function cpulist(ids) {
  const s = [...new Set(ids)].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Kernel mask (`%*pb`) over nbits: 32-bit hex words, most significant first; the first word only as wide as needed. */
function cpumask(ids, nbits) {
  const words = [];
  for (let w = 0; w * 32 < nbits; w++) {
    let v = 0;
    for (const id of ids) if (id >= w * 32 && id < w * 32 + 32) v |= 1 << (id - w * 32);
    words.push(v >>> 0);
  }
  const top = nbits % 32 || 32;
  return words
    .reverse()
    .map((v, i) => v.toString(16).padStart(i === 0 ? Math.ceil(top / 4) : 8, '0'))
    .join(',');
}

/** `Node %d MemTotal:       %8lu kB` and friends (drivers/base/node.c). */
function nodeMeminfo(node, totalKiB) {
  const line = (label, v) => `Node ${node} ${label.padEnd(15)} ${String(v).padStart(8)} kB\n`;
  const free = Math.floor(totalKiB * 0.9);
  return (
    line('MemTotal:', totalKiB) +
    line('MemFree:', free) +
    line('MemUsed:', totalKiB - free) +
    `Node ${node} HugePages_Total:     0\n` +
    `Node ${node} HugePages_Free:      0\n` +
    `Node ${node} HugePages_Surp:      0\n`
  );
}

// ---------------------------------------------------------------- model

/**
 * A machine: cores listed in topology order. Each core: socket, die,
 * coreId, node, l3 (group key), threads (CPU ids, first = primary).
 */
function buildMachine(spec) {
  const cpus = [];
  spec.cores.forEach((core, coreIndex) => {
    for (const id of core.threads) {
      cpus.push({ id, socket: core.socket, die: core.die, cluster: core.cluster ?? coreIndex, core: core.coreId, node: core.node, l3: core.l3, coreIndex, siblings: core.threads });
    }
  });
  cpus.sort((a, b) => a.id - b.id);
  const nbits = spec.possible ?? cpus.length;
  return { ...spec, cpus, nbits };
}

/**
 * Intel-style numbering: all first threads, then all second threads (siblings N and N+total cores).
 * `l3Of` returns a machine-wide L3 instance number (also the cache `id`).
 */
function intelCores({ sockets, coresPerSocket, threads, nodeOf = (s) => s, l3Of = (s) => s }) {
  const total = sockets * coresPerSocket;
  const cores = [];
  for (let s = 0; s < sockets; s++) {
    for (let c = 0; c < coresPerSocket; c++) {
      const first = s * coresPerSocket + c;
      cores.push({
        socket: s,
        die: 0,
        coreId: c,
        node: nodeOf(s, c),
        l3: l3Of(s, c),
        threads: Array.from({ length: threads }, (_, t) => first + t * total),
      });
    }
  }
  return cores;
}

const MACHINES = [
  buildMachine({
    name: 'two-socket-smt',
    description: '2 sockets × 8 cores × 2 threads, Intel numbering (siblings N and N+16), one NUMA node per socket',
    cores: intelCores({ sockets: 2, coresPerSocket: 8, threads: 2 }),
    nodes: [
      { id: 0, memKiB: 32768000 },
      { id: 1, memKiB: 32768000 },
    ],
    distances: [
      [10, 21],
      [21, 10],
    ],
    cache: { l1d: 32, l1i: 32, l2: 1024, l3: 20480 },
    pci: [
      { address: '0000:00:01.0', parent: 'pci0000:00', class: '0x060400', vendor: '0x8086', device: '0x2030', node: 0 },
      { address: '0000:01:00.0', parent: 'pci0000:00/0000:00:01.0', class: '0x030000', vendor: '0x10de', device: '0x1e87', node: 0 },
      { address: '0000:80:01.0', parent: 'pci0000:80', class: '0x060400', vendor: '0x8086', device: '0x2030', node: 1 },
      { address: '0000:81:00.0', parent: 'pci0000:80/0000:80:01.0', class: '0x020000', vendor: '0x8086', device: '0x1572', node: 1 },
    ],
    caps: { vendor: 'Intel', model: 'Skylake-Server-IBRS' },
  }),
  buildMachine({
    name: 'desktop-smt',
    description: '1 socket, 8 cores, SMT2 with adjacent siblings (0-1, 2-3, …), one node, GPU without NUMA affinity',
    cores: Array.from({ length: 8 }, (_, c) => ({ socket: 0, die: 0, coreId: c, node: 0, l3: 0, threads: [2 * c, 2 * c + 1] })),
    nodes: [{ id: 0, memKiB: 32803148 }],
    distances: [[10]],
    cache: { l1d: 32, l1i: 32, l2: 512, l3: 32768 },
    pci: [
      { address: '0000:00:01.1', parent: 'pci0000:00', class: '0x060400', vendor: '0x1022', device: '0x1483', node: -1 },
      { address: '0000:01:00.0', parent: 'pci0000:00/0000:00:01.1', class: '0x030000', vendor: '0x1002', device: '0x73bf', node: -1 },
    ],
  }),
  buildMachine({
    name: 'amd-multi-ccx',
    description: '1 socket, 2 CCDs × 2 CCX × 4 cores, SMT2 (siblings N and N+16), L3 per CCX, NPS1 (one node)',
    cores: intelCores({ sockets: 1, coresPerSocket: 16, threads: 2, nodeOf: () => 0, l3Of: (_s, c) => Math.floor(c / 4) }),
    nodes: [{ id: 0, memKiB: 65536000 }],
    distances: [[10]],
    cache: { l1d: 32, l1i: 32, l2: 512, l3: 16384 },
    caps: { vendor: 'AMD', model: 'EPYC-Rome' },
  }),
  buildMachine({
    name: 'vfio-desktop',
    description: '1 socket, 8 cores, SMT2 with Intel numbering (siblings N and N+8), one node, a GPU (01:00.0) with its HDMI audio function (01:00.1); the host of fixtures/examples/gaming-vfio.xml',
    cores: intelCores({ sockets: 1, coresPerSocket: 8, threads: 2, nodeOf: () => 0, l3Of: () => 0 }),
    nodes: [{ id: 0, memKiB: 32768000 }],
    distances: [[10]],
    cache: { l1d: 32, l1i: 32, l2: 256, l3: 16384 },
    pci: [
      { address: '0000:00:01.0', parent: 'pci0000:00', class: '0x060400', vendor: '0x8086', device: '0x1901', node: -1 },
      { address: '0000:01:00.0', parent: 'pci0000:00/0000:00:01.0', class: '0x030000', vendor: '0x10de', device: '0x2484', node: -1 },
      { address: '0000:01:00.1', parent: 'pci0000:00/0000:00:01.0', class: '0x040300', vendor: '0x10de', device: '0x228b', node: -1 },
    ],
    caps: { vendor: 'Intel', model: 'Skylake-Client-IBRS' },
  }),
  buildMachine({
    name: 'isolated',
    description: '1 socket, 8 cores SMT2 (siblings N and N+8), isolcpus=2-7,10-15 nohz_full=2-7,10-15',
    cores: intelCores({ sockets: 1, coresPerSocket: 8, threads: 2, nodeOf: () => 0, l3Of: () => 0 }),
    nodes: [{ id: 0, memKiB: 16384000 }],
    distances: [[10]],
    cache: { l1d: 48, l1i: 32, l2: 1280, l3: 24576 },
    isolated: [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15],
    nohzFull: [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15],
  }),
];

// ---------------------------------------------------------------- sysfs

function writeTree(m) {
  const root = join(outDir, m.name);
  rmSync(root, { recursive: true, force: true });
  const put = (rel, content) => {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content.endsWith('\n') ? content : content + '\n');
  };
  const link = (rel, target) => {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(target, p);
  };
  const all = m.cpus.map((c) => c.id);
  const cpuDir = 'sys/devices/system/cpu';
  put(`${cpuDir}/online`, cpulist(all));
  put(`${cpuDir}/possible`, cpulist(Array.from({ length: m.nbits }, (_, i) => i)));
  put(`${cpuDir}/present`, cpulist(all));
  put(`${cpuDir}/offline`, '');
  put(`${cpuDir}/kernel_max`, '8191');
  put(`${cpuDir}/isolated`, cpulist(m.isolated ?? []));
  if (m.nohzFull) put(`${cpuDir}/nohz_full`, cpulist(m.nohzFull));
  put(`${cpuDir}/smt/active`, m.cpus.some((c) => c.siblings.length > 1) ? '1' : '0');
  put(`${cpuDir}/smt/control`, m.cpus.some((c) => c.siblings.length > 1) ? 'on' : 'notsupported');

  const where = (pred) => m.cpus.filter(pred).map((c) => c.id);
  const lineSize = 64;
  for (const cpu of m.cpus) {
    const d = `${cpuDir}/cpu${cpu.id}`;
    // cpu0 is not hot-pluggable on x86: no online file.
    if (cpu.id !== 0) put(`${d}/online`, '1');
    link(`${d}/node${cpu.node}`, `../../node/node${cpu.node}`);
    const t = `${d}/topology`;
    const groups = {
      thread_siblings: cpu.siblings,
      core_cpus: cpu.siblings,
      core_siblings: where((c) => c.socket === cpu.socket),
      package_cpus: where((c) => c.socket === cpu.socket),
      die_cpus: where((c) => c.socket === cpu.socket && c.die === cpu.die),
      cluster_cpus: where((c) => c.socket === cpu.socket && c.cluster === cpu.cluster),
    };
    put(`${t}/physical_package_id`, String(cpu.socket));
    put(`${t}/die_id`, String(cpu.die));
    put(`${t}/cluster_id`, String(cpu.cluster));
    put(`${t}/core_id`, String(cpu.core));
    // Every *_list file; of the masks only the two long-standing ones (the lists carry the same facts).
    for (const [name, ids] of Object.entries(groups)) {
      if (name === 'thread_siblings' || name === 'core_siblings') put(`${t}/${name}`, cpumask(ids, m.nbits));
      put(`${t}/${name}_list`, cpulist(ids));
    }
    const levels = [
      { level: 1, type: 'Data', size: m.cache.l1d, ways: 8, shared: cpu.siblings, id: cpu.coreIndex },
      { level: 1, type: 'Instruction', size: m.cache.l1i, ways: 8, shared: cpu.siblings, id: cpu.coreIndex },
      { level: 2, type: 'Unified', size: m.cache.l2, ways: 16, shared: cpu.siblings, id: cpu.coreIndex },
      { level: 3, type: 'Unified', size: m.cache.l3, ways: 16, shared: where((c) => c.l3 === cpu.l3), id: cpu.l3 },
    ];
    levels.forEach((c, k) => {
      const cd = `${d}/cache/index${k}`;
      put(`${cd}/level`, String(c.level));
      put(`${cd}/type`, c.type);
      put(`${cd}/size`, `${c.size}K`);
      put(`${cd}/id`, String(c.id));
      put(`${cd}/coherency_line_size`, String(lineSize));
      put(`${cd}/shared_cpu_list`, cpulist(c.shared));
      put(`${cd}/shared_cpu_map`, cpumask(c.shared, m.nbits));
    });
  }

  const nodeDir = 'sys/devices/system/node';
  const nodeIds = m.nodes.map((n) => n.id);
  for (const f of ['online', 'possible', 'has_cpu', 'has_memory', 'has_normal_memory']) put(`${nodeDir}/${f}`, cpulist(nodeIds));
  m.nodes.forEach((n, i) => {
    const d = `${nodeDir}/node${n.id}`;
    const ids = where((c) => c.node === n.id);
    put(`${d}/cpulist`, cpulist(ids));
    put(`${d}/cpumap`, cpumask(ids, m.nbits));
    put(`${d}/distance`, m.distances[i].join(' '));
    put(`${d}/meminfo`, nodeMeminfo(n.id, n.memKiB));
  });

  for (const dev of m.pci ?? []) {
    const d = `sys/devices/${dev.parent}/${dev.address}`;
    const local = dev.node >= 0 ? where((c) => c.node === dev.node) : all;
    put(`${d}/numa_node`, String(dev.node));
    put(`${d}/local_cpulist`, cpulist(local));
    put(`${d}/local_cpus`, cpumask(local, m.nbits));
    put(`${d}/class`, dev.class);
    put(`${d}/vendor`, dev.vendor);
    put(`${d}/device`, dev.device);
    link(`sys/bus/pci/devices/${dev.address}`, `../../../devices/${dev.parent}/${dev.address}`);
  }
  writeFileSync(join(root, 'README'), `${m.description}\nGenerated by scripts/host-gen-fixtures.mjs; do not edit by hand.\n`);
}

// ---------------------------------------------------------------- capabilities

/** libvirt's virFormatIntPretty: the largest unit that divides the size exactly. */
function prettyKiB(kib) {
  if (kib % (1024 * 1024) === 0) return [kib / (1024 * 1024), 'GiB'];
  if (kib % 1024 === 0) return [kib / 1024, 'MiB'];
  return [kib, 'KiB'];
}

/** libvirt's canonical bitmap format (ranges, comma-separated). */
const libvirtList = cpulist;

function writeCaps(m) {
  const sockets = new Set(m.cpus.map((c) => c.socket)).size;
  const threads = Math.max(...m.cpus.map((c) => c.siblings.length));
  const cores = m.cpus.length / threads / sockets;
  const out = [];
  out.push('<capabilities>', '', '  <host>');
  out.push('    <uuid>4c4c4544-0042-3510-8052-b4c04f4e3332</uuid>');
  out.push('    <cpu>', '      <arch>x86_64</arch>', `      <model>${m.caps.model}</model>`, `      <vendor>${m.caps.vendor}</vendor>`);
  out.push(`      <topology sockets='${sockets}' dies='1' clusters='1' cores='${cores}' threads='${threads}'/>`);
  out.push("      <feature name='ht'/>", "      <feature name='invtsc'/>");
  out.push("      <pages unit='KiB' size='4'/>", "      <pages unit='KiB' size='2048'/>", "      <pages unit='KiB' size='1048576'/>", '    </cpu>');
  out.push('    <power_management>', '      <suspend_mem/>', '    </power_management>', "    <iommu support='yes'/>");
  out.push('    <migration_features>', '      <live/>', '      <uri_transports>', '        <uri_transport>tcp</uri_transport>', '        <uri_transport>rdma</uri_transport>', '      </uri_transports>', '    </migration_features>');
  out.push('    <topology>', `      <cells num='${m.nodes.length}'>`);
  m.nodes.forEach((n, i) => {
    const cpus = m.cpus.filter((c) => c.node === n.id);
    out.push(`        <cell id='${n.id}'>`, `          <memory unit='KiB'>${n.memKiB}</memory>`);
    out.push(`          <pages unit='KiB' size='4'>${Math.floor(n.memKiB / 4)}</pages>`, "          <pages unit='KiB' size='2048'>0</pages>", "          <pages unit='KiB' size='1048576'>0</pages>");
    out.push('          <distances>');
    m.nodes.forEach((o, j) => out.push(`            <sibling id='${o.id}' value='${m.distances[i][j]}'/>`));
    out.push('          </distances>', `          <cpus num='${cpus.length}'>`);
    for (const c of cpus) {
      out.push(`            <cpu id='${c.id}' socket_id='${c.socket}' die_id='${c.die}' cluster_id='${c.cluster}' core_id='${c.core}' siblings='${libvirtList(c.siblings)}'/>`);
    }
    out.push('          </cpus>', '        </cell>');
  });
  out.push('      </cells>', '    </topology>', '    <cache>');
  const banks = new Map();
  for (const c of m.cpus) {
    if (!banks.has(c.l3)) banks.set(c.l3, { id: c.l3, cpus: [] });
    banks.get(c.l3).cpus.push(c.id);
  }
  for (const b of [...banks.values()].sort((x, y) => x.id - y.id)) {
    const [size, unit] = prettyKiB(m.cache.l3);
    out.push(`      <bank id='${b.id}' level='3' type='both' size='${size}' unit='${unit}' cpus='${libvirtList(b.cpus)}'/>`);
  }
  out.push('    </cache>');
  out.push('    <secmodel>', '      <model>none</model>', '      <doi>0</doi>', '    </secmodel>');
  out.push('  </host>', '', '</capabilities>', '');
  writeFileSync(join(outDir, `${m.name}.caps.xml`), out.join('\n'));
}

// ---------------------------------------------------------------- capture

/** Copy this machine's topology files (contents only, same layout and links) into fixtures/hosts/this-vm. */
function captureLocal() {
  const src = '/';
  const root = join(outDir, 'this-vm');
  rmSync(root, { recursive: true, force: true });
  const copy = (rel) => {
    const from = join(src, rel);
    if (!existsSync(from)) return;
    let content;
    try {
      content = readFileSync(from);
    } catch {
      return; // unreadable attribute (permissions): leave it out, as a missing optional file
    }
    const to = join(root, rel);
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, content);
  };
  const list = (rel) => (existsSync(join(src, rel)) ? readdirSync(join(src, rel)).sort() : []);
  const cpuDir = 'sys/devices/system/cpu';
  for (const f of ['online', 'possible', 'present', 'offline', 'isolated', 'kernel_max', 'nohz_full', 'smt/active', 'smt/control']) copy(`${cpuDir}/${f}`);
  for (const cpu of list(cpuDir).filter((n) => /^cpu\d+$/.test(n))) {
    copy(`${cpuDir}/${cpu}/online`);
    for (const f of list(`${cpuDir}/${cpu}/topology`)) copy(`${cpuDir}/${cpu}/topology/${f}`);
    for (const idx of list(`${cpuDir}/${cpu}/cache`).filter((n) => /^index\d+$/.test(n))) {
      for (const f of list(`${cpuDir}/${cpu}/cache/${idx}`).filter((n) => n !== 'uevent')) copy(`${cpuDir}/${cpu}/cache/${idx}/${f}`);
    }
    for (const n of list(`${cpuDir}/${cpu}`).filter((n) => /^node\d+$/.test(n))) {
      mkdirSync(join(root, cpuDir, cpu), { recursive: true });
      symlinkSync(readlinkSync(join(src, cpuDir, cpu, n)), join(root, cpuDir, cpu, n));
    }
  }
  const nodeDir = 'sys/devices/system/node';
  for (const f of ['online', 'possible', 'has_cpu', 'has_memory', 'has_normal_memory']) copy(`${nodeDir}/${f}`);
  for (const node of list(nodeDir).filter((n) => /^node\d+$/.test(n))) {
    for (const f of ['cpulist', 'cpumap', 'distance', 'meminfo']) copy(`${nodeDir}/${node}/${f}`);
  }
  const pciDir = 'sys/bus/pci/devices';
  for (const dev of list(pciDir)) {
    const target = readlinkSync(join(src, pciDir, dev));
    const devRel = join(pciDir, target); // e.g. sys/devices/pci0000:00/0000:00:01.0
    for (const f of ['numa_node', 'local_cpulist', 'local_cpus', 'class', 'vendor', 'device']) {
      // sysfs sizes are fake (4096): read the attribute, never copyFile it.
      copy(join(devRel, f));
    }
    mkdirSync(join(root, pciDir), { recursive: true });
    symlinkSync(target, join(root, pciDir, dev));
  }
  writeFileSync(join(root, 'README'), `Captured from a real VM's /sys by scripts/host-gen-fixtures.mjs --capture-local on ${new Date().toISOString().slice(0, 10)}.\n`);
}

mkdirSync(outDir, { recursive: true });
for (const m of MACHINES) {
  writeTree(m);
  if (m.caps) writeCaps(m);
}
if (process.argv.includes('--capture-local')) captureLocal();
console.log(`wrote ${MACHINES.map((m) => m.name).join(', ')}${process.argv.includes('--capture-local') ? ', this-vm' : ''} under ${outDir}`);
