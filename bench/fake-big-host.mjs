// A generated sysfs tree of a large two-socket server for the bench: CPUs
// with SMT siblings, topology and four cache levels each (the files
// hostFromSysfs reads per CPU), two NUMA nodes, and PCI devices linked from
// bus/pci/devices as the kernel links them. Only the layout matters here;
// the contents follow the kernel's formats.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Writes `${root}/sys/…`; returns the PCI addresses it created. */
export function writeFakeBigHost(root, { cpus = 256, pciDevices = 200 } = {}) {
  const put = (rel, text) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const cpuDir = 'sys/devices/system/cpu';
  for (const f of ['online', 'present', 'possible']) put(`${cpuDir}/${f}`, `0-${cpus - 1}\n`);
  const cores = cpus / 2; // two threads per core: CPU c and c + cores are siblings
  const perSocket = cores / 2;
  const socketCpus = (s) => `${s * perSocket}-${(s + 1) * perSocket - 1},${cores + s * perSocket}-${cores + (s + 1) * perSocket - 1}`;
  put('sys/devices/system/node/online', '0-1\n');
  for (const n of [0, 1]) {
    put(`sys/devices/system/node/node${n}/cpulist`, `${socketCpus(n)}\n`);
    put(`sys/devices/system/node/node${n}/meminfo`, `Node ${n} MemTotal:       263852820 kB\n`);
    put(`sys/devices/system/node/node${n}/distance`, n ? '21 10\n' : '10 21\n');
  }
  for (let c = 0; c < cpus; c++) {
    const core = c % cores;
    const socket = Math.floor(core / perSocket);
    const siblings = `${core},${core + cores}`;
    const topo = `${cpuDir}/cpu${c}/topology`;
    put(`${topo}/physical_package_id`, `${socket}\n`);
    put(`${topo}/core_id`, `${core % perSocket}\n`);
    put(`${topo}/die_id`, '0\n');
    put(`${topo}/cluster_id`, `${core}\n`);
    put(`${topo}/core_cpus_list`, `${siblings}\n`);
    put(`${topo}/thread_siblings_list`, `${siblings}\n`);
    const caches = [
      [1, 'Data', siblings, '48K'],
      [1, 'Instruction', siblings, '32K'],
      [2, 'Unified', siblings, '2048K'],
      [3, 'Unified', socketCpus(socket), '107520K'],
    ];
    caches.forEach(([level, type, shared, size], i) => {
      const dir = `${cpuDir}/cpu${c}/cache/index${i}`;
      put(`${dir}/level`, `${level}\n`);
      put(`${dir}/type`, `${type}\n`);
      put(`${dir}/shared_cpu_list`, `${shared}\n`);
      put(`${dir}/size`, `${size}\n`);
    });
    symlinkSync(`../../node/node${socket}`, join(root, cpuDir, `cpu${c}`, `node${socket}`));
  }
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  const addresses = [];
  for (let i = 0; i < pciDevices; i++) {
    const address = `0000:${(i >> 3).toString(16).padStart(2, '0')}:${(i & 7).toString(16).padStart(2, '0')}.0`;
    const dir = `sys/devices/pci0000:00/${address}`;
    put(`${dir}/numa_node`, `${i % 2}\n`);
    put(`${dir}/local_cpulist`, `${socketCpus(i % 2)}\n`);
    symlinkSync(`../../../devices/pci0000:00/${address}`, join(root, 'sys/bus/pci/devices', address));
    addresses.push(address);
  }
  return { root, addresses };
}
