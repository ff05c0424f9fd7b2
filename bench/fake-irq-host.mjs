// A generated /proc + /sys root for the IRQ rows of the bench: a two-node,
// 16-CPU host (node 0 = CPUs 0-7, node 1 = 8-15) with one vfio-pci device
// on node 1 that has N MSI-X vectors, in the kernel's file formats (as
// fixtures/passthrough-host/generate.mjs writes them), and a domain that
// passes the device through with the `auto` IRQ policy.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const NCPU = 16;
const DEVICE = '0000:41:00.0';
const BRIDGE = 'pci0000:40/0000:40:01.1';
const FIRST_IRQ = 200;

/**
 * Writes the tree under `root` and returns the domain XML to plan with.
 * vCPUs 0-3 run on CPUs 4-7 (node 0), 4-7 on CPUs 8-11 (node 1): `auto`
 * gives the device's vectors the vCPUs' CPUs on its node, 8-11.
 */
export function writeFakeIrqHost(root, { vectors }) {
  const put = (rel, text) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  const all = `0-${NCPU - 1}`;
  for (const f of ['online', 'present', 'possible']) put(`sys/devices/system/cpu/${f}`, `${all}\n`);
  put('sys/devices/system/node/online', '0-1\n');
  put('sys/devices/system/node/node0/cpulist', '0-7\n');
  put('sys/devices/system/node/node1/cpulist', '8-15\n');

  const dev = `sys/devices/${BRIDGE}/${DEVICE}`;
  put(`${dev}/numa_node`, '1\n');
  put(`${dev}/local_cpulist`, '8-15\n');
  put(`${dev}/irq`, '0\n');
  put(`${dev}/driver_name`, 'vfio-pci\n');
  // The bound driver as the kernel shows it: virt-pin moves only vectors of a device bound to vfio-pci.
  put('sys/bus/pci/drivers/vfio-pci/uevent', '');
  symlinkSync(`${'../'.repeat(dev.split('/').length - 1)}bus/pci/drivers/vfio-pci`, join(root, dev, 'driver'));
  const irqs = Array.from({ length: vectors }, (_, i) => FIRST_IRQ + i);
  for (const n of irqs) put(`${dev}/msi_irqs/${n}`, 'msix\n');
  mkdirSync(join(root, 'sys/bus/pci/devices'), { recursive: true });
  symlinkSync(`../../../devices/${BRIDGE}/${DEVICE}`, join(root, 'sys/bus/pci/devices', DEVICE));

  const header = ' '.repeat(5) + Array.from({ length: NCPU }, (_, c) => `CPU${c}`.padStart(11)).join('') + '\n';
  const line = (n, i) => `${String(n).padStart(4)}:` + Array.from({ length: NCPU }, (_, c) => String((n * 7 + c * 13) % 97).padStart(11)).join('') + `  PCI-MSIX-${DEVICE} ${`${i}-edge`.padEnd(10)} vfio-msix[${i}](${DEVICE})\n`;
  put('proc/interrupts', header + irqs.map(line).join(''));
  put('proc/irq/default_smp_affinity', 'ffff\n');
  for (const n of irqs) {
    put(`proc/irq/${n}/smp_affinity_list`, `${all}\n`);
    put(`proc/irq/${n}/smp_affinity`, 'ffff\n');
    put(`proc/irq/${n}/effective_affinity_list`, `${n % NCPU}\n`);
    put(`proc/irq/${n}/node`, '1\n');
  }

  const [bus, slotFn] = [DEVICE.slice(5, 7), DEVICE.slice(8)];
  const pins = Array.from({ length: 8 }, (_, i) => `    <vcpupin vcpu='${i}' cpuset='${i + 4}'/>`).join('\n');
  const domainXml = `<domain type='kvm'>
  <name>irq-vm</name>
  <metadata>
    <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' affinity='auto'/>
  </metadata>
  <memory unit='GiB'>4</memory>
  <vcpu placement='static'>8</vcpu>
  <cputune>
${pins}
  </cputune>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x${bus}' slot='0x${slotFn.slice(0, 2)}' function='0x${slotFn.slice(3)}'/></source>
    </hostdev>
  </devices>
</domain>
`;
  return { root, domainXml, device: DEVICE, firstIrq: FIRST_IRQ, expectedCpus: '8-11' };
}
