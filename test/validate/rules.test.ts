/**
 * One failing and one passing domain per rule (ESLint's layout: every rule
 * has its cases). A rule without cases fails the last test.
 */
import { describe, expect, it } from 'vitest';
import { CpuSet } from '../../src/cpuset/index.js';
import { checkDocument, RULES, type Diagnostic } from '../../src/validate/index.js';

const dom = (body: string, type = 'kvm', name = 't'): string =>
  `<domain type='${type}'>\n  <name>${name}</name>\n  <memory>1048576</memory>\n${body}\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n</domain>\n`;
const host = { onlineCpus: CpuSet.range(0, 7), isolatedCpus: CpuSet.range(4, 7), nodes: [{ id: 0, cpus: CpuSet.range(0, 7) }] };

interface Case {
  bad: string;
  /** Line of the reported element/attribute. */
  line: number;
  good: string;
  driver?: 'qemu' | 'generic';
  withHost?: boolean;
  /** Domain type of the bad case (the good one is kvm). */
  type?: string;
  /** `<name>` of the bad case (the good one is t). */
  name?: string;
  /** Use topoHost (SMT siblings, L3 groups, core types, isolated CPUs) as the host. */
  topo?: boolean;
}

/**
 * 16 CPUs, siblings N and N+8; L3 groups 0-3,8-11 and 4-7,12-15; the first
 * group performance cores, the second efficiency cores; CPUs 7 and 15 isolated.
 */
const topoHost = {
  onlineCpus: CpuSet.range(0, 15),
  isolatedCpus: CpuSet.fromIds([7, 15]),
  nodes: [{ id: 0, cpus: CpuSet.range(0, 15) }],
  cpus: Array.from({ length: 16 }, (_, id) => ({ id, siblings: CpuSet.fromIds([id % 8, (id % 8) + 8]), coreType: id % 8 < 4 ? ('performance' as const) : ('efficiency' as const) })),
  caches: [
    { level: 3, type: 'unified', sizeKiB: 16384, cpus: CpuSet.fromIds([0, 1, 2, 3, 8, 9, 10, 11]) },
    { level: 3, type: 'unified', sizeKiB: 16384, cpus: CpuSet.fromIds([4, 5, 6, 7, 12, 13, 14, 15]) },
  ],
};
const pins = (...cpus: number[]): string => cpus.map((c, v) => `    <vcpupin vcpu='${v}' cpuset='${c}'/>`).join('\n');

const CASES: Record<string, Case[]> = {
  DOMAIN_NAME_INVALID: [
    { bad: '  <vcpu>1</vcpu>', name: 'vm&#10;touch /tmp/x', line: 2, good: '  <vcpu>2</vcpu>' },
    { bad: '  <vcpu>1</vcpu>', name: 'web/1', line: 2, good: '  <vcpu>2</vcpu>' },
  ],
  // The namespace rides in on the type attribute: every case shares one <name>, hidden here by xmlns on <domain>.
  DOMAIN_NAME_MISSING: [{ bad: '  <vcpu>1</vcpu>', line: 1, good: '  <vcpu>2</vcpu>', type: "kvm' xmlns='urn:x" }],
  VCPU_COUNT_INVALID: [{ bad: '  <vcpu>4\n  </vcpu>', line: 4, good: '  <vcpu>4</vcpu>' }],
  VCPU_ATTRIBUTE_INVALID: [{ bad: "  <vcpu placement='dynamic'>2</vcpu>", line: 4, good: "  <vcpu placement='auto'>2</vcpu>" }],
  VCPU_CURRENT_ABOVE_MAXIMUM: [{ bad: "  <vcpu current='3'>2</vcpu>", line: 4, good: "  <vcpu current='2'>2</vcpu>" }],
  VCPU_CPUSET_INVALID: [
    { bad: "  <vcpu cpuset='0,^0'>2</vcpu>", line: 4, good: "  <vcpu cpuset='0-1'>2</vcpu>" },
    { bad: "  <vcpu cpuset='3-1'>2</vcpu>", line: 4, good: "  <vcpu placement='auto' cpuset='3-1'>2</vcpu>" },
  ],
  VCPUS_ENTRY_INVALID: [{ bad: "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='2' enabled='no'/></vcpus>", line: 5, good: "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='no'/></vcpus>" }],
  VCPU_OFFLINE_NOT_HOTPLUGGABLE: [{ bad: "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='no' hotpluggable='no'/></vcpus>", line: 5, good: "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='no' hotpluggable='yes'/></vcpus>" }],
  QEMU_VCPUS_LAYOUT: [{ bad: "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='no'/><vcpu id='1' enabled='yes'/></vcpus>", line: 5, good: "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='yes'/><vcpu id='1' enabled='no'/></vcpus>" }],
  QEMU_VCPU_TOPOLOGY: [{ bad: "  <vcpu>4</vcpu>\n  <cpu><topology sockets='1' cores='2' threads='1'/></cpu>", line: 5, good: "  <vcpu>4</vcpu>\n  <cpu><topology sockets='1' cores='2' threads='2'/></cpu>" }],
  TOPOLOGY_OVERFLOW: [{ bad: "  <vcpu>4</vcpu>\n  <cpu><topology sockets='65536' cores='65536' threads='2'/></cpu>", line: 5, good: "  <vcpu>4</vcpu>\n  <cpu><topology sockets='2' cores='2' threads='1'/></cpu>", driver: 'generic' }],
  IOTHREADS_COUNT_INVALID: [{ bad: '  <vcpu>1</vcpu>\n  <iothreads>two</iothreads>', line: 5, good: '  <vcpu>1</vcpu>\n  <iothreads>2</iothreads>' }],
  THREAD_COUNT_LIMIT: [
    { bad: '  <vcpu>1</vcpu>\n  <iothreads>4294967295</iothreads>', line: 5, good: '  <vcpu>1</vcpu>\n  <iothreads>16384</iothreads>' },
    { bad: '  <vcpu>16385</vcpu>', line: 4, good: '  <vcpu>16384</vcpu>' },
  ],
  IOTHREAD_ID_INVALID: [{ bad: "  <vcpu>1</vcpu>\n  <iothreadids><iothread id='1'/><iothread id='1'/></iothreadids>", line: 5, good: "  <vcpu>1</vcpu>\n  <iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>" }],
  IOTHREAD_POOL_INVALID: [{ bad: "  <vcpu>1</vcpu>\n  <iothreadids><iothread id='1' thread_pool_min='2'/></iothreadids>", line: 5, good: "  <vcpu>1</vcpu>\n  <iothreadids><iothread id='1' thread_pool_min='2' thread_pool_max='4'/></iothreadids>" }],
  CPUTUNE_VALUE_INVALID: [{ bad: '  <vcpu>1</vcpu>\n  <cputune>\n    <period>-100000</period>\n  </cputune>', line: 6, good: '  <vcpu>1</vcpu>\n  <cputune>\n    <quota>-1</quota>\n  </cputune>' }],
  CPUTUNE_VALUE_OUT_OF_RANGE: [{ bad: '  <vcpu>1</vcpu>\n  <cputune>\n    <period>999</period>\n  </cputune>', line: 6, good: '  <vcpu>1</vcpu>\n  <cputune>\n    <period>100000</period>\n  </cputune>' }],
  VCPUPIN_INVALID: [
    { bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n    <vcpupin vcpu='0' cpuset='2'/>\n  </cputune>", line: 7, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n    <vcpupin vcpu='1' cpuset='2'/>\n  </cputune>" },
    { bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3-1'/>\n  </cputune>", line: 6, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset=' 1 - 3 , '/>\n  </cputune>" },
  ],
  EMULATORPIN_INVALID: [{ bad: "  <vcpu>1</vcpu>\n  <cputune>\n    <emulatorpin cpuset='0'/>\n    <emulatorpin cpuset='1'/>\n  </cputune>", line: 7, good: "  <vcpu>1</vcpu>\n  <cputune>\n    <emulatorpin cpuset='0'/>\n  </cputune>" }],
  IOTHREADPIN_INVALID: [{ bad: "  <vcpu>1</vcpu>\n  <iothreads>1</iothreads>\n  <cputune>\n    <iothreadpin iothread='2' cpuset='0'/>\n  </cputune>", line: 7, good: "  <vcpu>1</vcpu>\n  <iothreads>2</iothreads>\n  <cputune>\n    <iothreadpin iothread='2' cpuset='0'/>\n  </cputune>" }],
  SCHED_INVALID: [
    { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <vcpusched vcpus='0-4' scheduler='fifo' priority='1'/>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <vcpusched vcpus='0-3' scheduler='fifo' priority='1'/>\n  </cputune>" },
    { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <vcpusched scheduler='batch'/>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <vcpusched vcpus='1' scheduler='batch'/>\n  </cputune>" },
  ],
  RESCTRL_INVALID: [
    // an empty <cachetune> is dropped before the next one is compared with it: only a kept group can overlap
    { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><monitor level='3' vcpus='0-1'/></cachetune>\n    <cachetune vcpus='1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n  </cputune>", line: 7, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'></cachetune>\n    <cachetune vcpus='1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n  </cputune>" },
    { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n    <cachetune vcpus='1-2'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n  </cputune>", line: 7, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n    <cachetune vcpus='2-3'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n  </cputune>" },
  ],
  MEMORYTUNE_NODE_INVALID: [{ bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'>\n      <node id='0' bandwidth='20'/>\n      <node id='0' bandwidth='30'/>\n    </memorytune>\n  </cputune>", line: 8, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'>\n      <node id='0' bandwidth='20'/>\n      <node id='1' bandwidth='30'/>\n    </memorytune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0'/></memorytune>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='0'/></memorytune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='101'/></memorytune>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='100'/></memorytune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='x' bandwidth='10'/></memorytune>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id=' 1' bandwidth='+10'/></memorytune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='10'/></memorytune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='20'/></memorytune>\n  </cputune>", line: 7, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='10'/></memorytune>\n    <memorytune vcpus='0-1'><node id='1' bandwidth='20'/></memorytune>\n  </cputune>" }],
  RESCTRL_MONITOR_INVALID: [{ bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/><monitor vcpus='0'/></cachetune>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/><monitor level='3' vcpus='0'/></cachetune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/>\n      <monitor level='3' vcpus='0'/>\n      <monitor level='3' vcpus='0'/>\n    </cachetune>\n  </cputune>", line: 8, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/>\n      <monitor level='3' vcpus='0'/>\n      <monitor level='3' vcpus='1'/>\n    </cachetune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-3'><cache id='0' level='3' type='both' size='1' unit='MiB'/>\n      <monitor level='3' vcpus='0-1'/>\n      <monitor level='3' vcpus='1-2'/>\n    </cachetune>\n  </cputune>", line: 8, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-3'><cache id='0' level='3' type='both' size='1' unit='MiB'/>\n      <monitor level='3' vcpus='0-3'/>\n      <monitor level='3' vcpus='1-2'/>\n    </cachetune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-5'><cache id='0' level='3' type='both' size='1' unit='MiB'/><monitor level='3' vcpus='4-5'/></cachetune>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-3'><node id='0' bandwidth='10'/><monitor vcpus='1-4'/></memorytune>\n  </cputune>" }, { bad: "  <vcpu>4</vcpu>\n  <cputune>\n    <cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='1' unit='MiB'/><monitor level='2' vcpus='0'/></cachetune>\n  </cputune>", line: 6, good: "  <vcpu>4</vcpu>\n  <cputune>\n    <memorytune vcpus='0-1'><node id='0' bandwidth='10'/><monitor level='2' vcpus='0'/></memorytune>\n  </cputune>" }],
  QEMU_RESCTRL_NEEDS_KVM: [{ bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <cachetune vcpus='0'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n  </cputune>", line: 6, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <cachetune vcpus='1'><cache id='0' level='3' type='both' size='1' unit='MiB'/></cachetune>\n  </cputune>", type: 'qemu' }],
  NUMATUNE_INVALID: [{ bad: "  <vcpu>2</vcpu>\n  <numatune>\n    <memory mode='strict'/>\n  </numatune>", line: 6, good: "  <vcpu>2</vcpu>\n  <numatune>\n    <memory mode='strict' nodeset='0'/>\n  </numatune>" }],
  MEMNODE_INVALID: [{ bad: "  <vcpu>2</vcpu>\n  <numatune>\n    <memory nodeset='0'/>\n    <memnode cellid='0' nodeset='0'/>\n  </numatune>", line: 7, good: "  <vcpu>2</vcpu>\n  <numatune>\n    <memory nodeset='0'/>\n  </numatune>" }],
  NUMATUNE_RESTRICTIVE_MIXED: [{ bad: "  <vcpu>2</vcpu>\n  <numatune>\n    <memory mode='restrictive' nodeset='0'/>\n    <memnode cellid='0' mode='strict' nodeset='0'/>\n  </numatune>\n  <cpu><numa><cell id='0' cpus='0-1' memory='1048576'/></numa></cpu>", line: 6, good: "  <vcpu>2</vcpu>\n  <numatune>\n    <memory mode='restrictive' nodeset='0'/>\n    <memnode cellid='0' mode='restrictive' nodeset='0'/>\n  </numatune>\n  <cpu><numa><cell id='0' cpus='0-1' memory='1048576'/></numa></cpu>" }],
  GUEST_NUMA_INVALID: [{ bad: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa><cell id='0' cpus='0-1' memory='1'/><cell id='1' cpus='1' memory='1'/></numa>\n  </cpu>", line: 6, good: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa><cell id='0' cpus='0' memory='1'/><cell id='1' cpus='1' memory='1'/></numa>\n  </cpu>" }],
  GUEST_NUMA_MEMORY_INVALID: [
    { bad: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa><cell id='0' cpus='0-1'/></numa>\n  </cpu>", line: 6, good: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa><cell id='0' cpus='0-1' memory='0'/></numa>\n  </cpu>" },
    // libvirt reads a cell's memory before it looks at the next cell: the missing memory is its reason, not the overlap below
    { bad: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0'/>\n      <cell id='1' cpus='0-1' memory='10'/>\n    </numa>\n  </cpu>", line: 7, good: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0' memory='10'/>\n      <cell id='1' cpus='1' memory='10'/>\n    </numa>\n  </cpu>" },
    { bad: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa><cell id='0' cpus='0-1' memory='10' unit='zz'/></numa>\n  </cpu>", line: 6, good: "  <vcpu>2</vcpu>\n  <cpu>\n    <numa><cell id='0' cpus='0-1' memory=' 10' unit='MB'/></numa>\n  </cpu>" },
  ],
  HOSTDEV_INVALID: [{ bad: "  <vcpu>1</vcpu>\n  <devices>\n    <hostdev mode='subsystem' type='pci'><source><address domain='0' bus='0x100' slot='0' function='0'/></source></hostdev>\n  </devices>", line: 6, good: "  <vcpu>1</vcpu>\n  <devices>\n    <hostdev mode='subsystem' type='pci'><source><address domain='0' bus='0x10' slot='0' function='0'/></source></hostdev>\n  </devices>" }],
  QEMU_IOTHREAD_REFERENCE: [{ bad: "  <vcpu>1</vcpu>\n  <devices>\n    <disk type='file'><driver name='qemu' iothread='1'/><target dev='vda' bus='virtio'/></disk>\n  </devices>", line: 6, good: "  <vcpu>1</vcpu>\n  <iothreads>1</iothreads>\n  <devices>\n    <disk type='file'><driver name='qemu' iothread='1'/><target dev='vda' bus='virtio'/></disk>\n  </devices>" }],
  FAILS_AT_START: [{ bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpusched vcpus='1' scheduler='fifo' priority='0'/>\n  </cputune>", line: 6, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpusched vcpus='1' scheduler='fifo' priority='1'/>\n  </cputune>" }],
  PIN_SHARED_SINGLE_CPU: [{ bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3'/>\n    <vcpupin vcpu='1' cpuset='3'/>\n  </cputune>", line: 7, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3'/>\n    <vcpupin vcpu='1' cpuset='2'/>\n  </cputune>" }],
  EMULATOR_ON_DEDICATED_CPU: [{ bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3'/>\n    <vcpupin vcpu='1' cpuset='2'/>\n    <emulatorpin cpuset='2-3'/>\n  </cputune>", line: 8, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3'/>\n    <vcpupin vcpu='1' cpuset='2'/>\n    <emulatorpin cpuset='0-1'/>\n  </cputune>" }],
  HOST_CPU_NOT_ONLINE: [{ bad: "  <vcpu>1</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='9'/>\n  </cputune>", line: 6, good: "  <vcpu>1</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3'/>\n  </cputune>", withHost: true }],
  HOST_NODE_MISSING: [{ bad: "  <vcpu>1</vcpu>\n  <numatune>\n    <memory nodeset='1'/>\n  </numatune>", line: 6, good: "  <vcpu>1</vcpu>\n  <numatune>\n    <memory nodeset='0'/>\n  </numatune>", withHost: true }],
  FLOATING_OVER_ISOLATED_CPUS: [{ bad: "  <vcpu>1</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='3-5'/>\n  </cputune>", line: 6, good: "  <vcpu>1</vcpu>\n  <cputune>\n    <vcpupin vcpu='0' cpuset='5'/>\n  </cputune>", withHost: true }],
  GUEST_SMT_MISMATCH: [
    {
      bad: `  <vcpu>2</vcpu>\n  <cpu><topology sockets='1' dies='1' cores='1' threads='2'/></cpu>\n  <cputune>\n${pins(1, 2)}\n  </cputune>`,
      line: 8,
      good: `  <vcpu>2</vcpu>\n  <cpu><topology sockets='1' dies='1' cores='1' threads='2'/></cpu>\n  <cputune>\n${pins(1, 9)}\n  </cputune>`,
      topo: true,
    },
    {
      bad: `  <vcpu>2</vcpu>\n  <cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>\n  <cputune>\n${pins(1, 9)}\n  </cputune>`,
      line: 8,
      good: `  <vcpu>2</vcpu>\n  <cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>\n  <cputune>\n${pins(1, 2)}\n  </cputune>`,
      topo: true,
    },
  ],
  VCPU_ON_HOUSEKEEPING_SIBLING: [
    { bad: `  <vcpu>1</vcpu>\n  <cputune>\n${pins(1)}\n    <emulatorpin cpuset='9'/>\n  </cputune>`, line: 6, good: `  <vcpu>1</vcpu>\n  <cputune>\n${pins(1)}\n    <emulatorpin cpuset='2'/>\n  </cputune>`, topo: true },
  ],
  GUEST_SPANS_L3_GROUPS: [{ bad: `  <vcpu>2</vcpu>\n  <cputune>\n${pins(3, 4)}\n  </cputune>`, line: 6, good: `  <vcpu>2</vcpu>\n  <cputune>\n${pins(2, 3)}\n  </cputune>`, topo: true }],
  GUEST_SPANS_CORE_TYPES: [{ bad: `  <vcpu>2</vcpu>\n  <cputune>\n${pins(3, 4)}\n  </cputune>`, line: 7, good: `  <vcpu>2</vcpu>\n  <cputune>\n${pins(2, 3)}\n  </cputune>`, topo: true }],
  VCPU_ISOLATED_WITHOUT_RT: [
    {
      bad: `  <vcpu>1</vcpu>\n  <cputune>\n${pins(7)}\n  </cputune>`,
      line: 6,
      good: `  <vcpu>1</vcpu>\n  <cputune>\n${pins(7)}\n    <vcpusched vcpus='0' scheduler='fifo' priority='1'/>\n  </cputune>`,
      topo: true,
    },
  ],
  RT_VCPU_NOT_ISOLATED: [
    {
      bad: `  <vcpu>1</vcpu>\n  <cputune>\n${pins(2)}\n    <vcpusched vcpus='0' scheduler='fifo' priority='1'/>\n  </cputune>`,
      line: 6,
      good: `  <vcpu>1</vcpu>\n  <cputune>\n${pins(7)}\n    <vcpusched vcpus='0' scheduler='fifo' priority='1'/>\n  </cputune>`,
      topo: true,
    },
  ],
  CPU_OVERCOMMIT: [{ bad: "  <vcpu cpuset='1'>2</vcpu>", line: 4, good: "  <vcpu cpuset='1-2'>2</vcpu>", topo: true }],
  SILENT_NORMALIZATION: [{ bad: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='5' cpuset='1'/>\n  </cputune>", line: 6, good: "  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='1' cpuset='1'/>\n  </cputune>" }],
};

const run = (c: Case, xml: string): Diagnostic[] =>
  checkDocument(dom(xml, xml === c.bad ? c.type : undefined, xml === c.bad ? c.name : undefined), {
    driver: c.driver ?? 'qemu',
    ...(c.topo ? { host: topoHost } : c.withHost ? { host } : {}),
  });

describe('every rule fires on its bad case, at the right line, and not on the good one', () => {
  for (const rule of RULES) {
    for (const [i, c] of (CASES[rule.code] ?? []).entries()) {
      it(`${rule.code} (${rule.spec}) case ${i + 1}`, () => {
        const bad = run(c, c.bad).filter((d) => d.rule === rule.code);
        expect(bad.length, JSON.stringify(run(c, c.bad))).toBeGreaterThan(0);
        expect(bad[0]!.line).toBe(c.line);
        expect(bad[0]!.severity).toBe(rule.code === 'SILENT_NORMALIZATION' ? 'warning' : rule.severity);
        expect(bad[0]!.message.length).toBeGreaterThan(15);
        expect(run(c, c.good).filter((d) => d.rule === rule.code)).toEqual([]);
      });
    }
  }

  it("a cell without memory is reported first, as libvirt does (not the later cell's overlap)", () => {
    const d = checkDocument(dom("  <vcpu>2</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0'/>\n      <cell id='1' cpus='0-1' memory='10'/>\n    </numa>\n  </cpu>"), { driver: 'generic' }).filter((x) => x.severity === 'error');
    expect(d.map((x) => x.code)).toEqual(['GUEST_NUMA_MEMORY_INVALID', 'GUEST_NUMA_INVALID']);
  });

  it('has cases for every rule', () => {
    expect(RULES.map((r) => r.code).filter((code) => !CASES[code])).toEqual([]);
  });

  it('QEMU-only rules do not run for the generic driver', () => {
    const xml = "  <vcpu>2</vcpu>\n  <vcpus><vcpu id='0' enabled='no'/><vcpu id='1' enabled='yes'/></vcpus>";
    expect(checkDocument(dom(xml)).some((d) => d.code === 'QEMU_VCPUS_LAYOUT' && d.driver === 'qemu')).toBe(true);
    expect(checkDocument(dom(xml), { driver: 'generic' }).some((d) => d.code === 'QEMU_VCPUS_LAYOUT')).toBe(false);
  });

  it('silent normalizations carry their change code and §7 item', () => {
    const d = checkDocument(dom("  <vcpu>2</vcpu>\n  <cputune>\n    <vcpupin vcpu='5' cpuset='1'/>\n  </cputune>"));
    expect(d).toEqual([expect.objectContaining({ code: 'VCPUPIN_OUT_OF_RANGE_DROPPED', severity: 'warning', spec: '§7.1', line: 6, column: 5 })]);
  });

  it('vCPUs sharing one CPU are one finding per CPU, at the second vCPU, naming all of them as ranges', () => {
    // vCPUs 0-3 on CPU 5, 4 and 6 on CPU 2, 5 alone on CPU 1.
    const cpuOf = [5, 5, 5, 5, 2, 1, 2];
    const pins = cpuOf.map((c, v) => `    <vcpupin vcpu='${v}' cpuset='${c}'/>`).join('\n');
    const d = checkDocument(dom(`  <vcpu>7</vcpu>\n  <cputune>\n${pins}\n  </cputune>`)).filter((x) => x.code === 'PIN_SHARED_SINGLE_CPU');
    expect(d.map((x) => [x.line, x.column, x.message])).toEqual([
      [7, 5, '4 vCPUs (0-3) are all pinned to CPU 5 alone and will take turns on it'],
      [12, 5, 'vCPUs 4 and 6 are both pinned to CPU 2 alone and will take turns on it'],
    ]);
    expect(d[0]!.path).toBe('/domain/cputune/vcpupin[2]');
  });

  it('the emulator over many dedicated CPUs names the CPUs and vCPUs as ascending ranges', () => {
    // vCPUs 0-5 on CPUs 0-2 (two each, in the order 0, 3, 1, 4, 2, 5 of the CPUs), the emulator floating over all of them.
    const pins = [0, 1, 2, 0, 1, 2].map((c, v) => `    <vcpupin vcpu='${v}' cpuset='${c}'/>`).join('\n');
    const d = checkDocument(dom(`  <vcpu>6</vcpu>\n  <cputune>\n${pins}\n    <emulatorpin cpuset='0-2,5'/>\n  </cputune>`)).filter((x) => x.code === 'EMULATOR_ON_DEDICATED_CPU');
    expect(d.map((x) => x.message)).toEqual(['the emulator may run on CPUs 0-2, which vCPUs 0-5 are pinned to (emulatorpin)']);
  });

  it('XML that does not parse is one error with the parser code, never a throw', () => {
    expect(checkDocument('<domain>\n<vcpu>2</vcpu>')).toEqual([expect.objectContaining({ code: 'XML_UNCLOSED', severity: 'error', line: 1, column: 1 })]);
    expect(checkDocument('<capabilities/>')).toEqual([expect.objectContaining({ code: 'DOMAIN_NOT_A_DOMAIN' })]);
  });
});
