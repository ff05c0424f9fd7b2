/** Every rule, in report order (spec catalogue first, then §7, then lints). */
import type { Rule } from '../types.js';
import { domainName } from './domain-name.js';
import { domainNameMissing } from './domain-name-missing.js';
import { vcpuCount } from './v01-vcpu-count.js';
import { vcpuAttributes } from './v02-vcpu-attributes.js';
import { currentAboveMaximum } from './v03-current-above-maximum.js';
import { vcpuCpuset } from './v04-vcpu-cpuset.js';
import { vcpusEntries } from './v05-vcpus-entries.js';
import { offlineNotHotpluggable } from './v06-offline-not-hotpluggable.js';
import { qemuVcpusOrder } from './v08-qemu-vcpus-order.js';
import { qemuVcpuTopology } from './v09-qemu-vcpu-topology.js';
import { topologyOverflow } from './v10-topology-overflow.js';
import { iothreadsCount } from './v11-iothreads-count.js';
import { iothreadIds } from './v12-iothread-ids.js';
import { threadPool } from './v13-thread-pool.js';
import { bandwidthSyntax } from './v14-bandwidth-syntax.js';
import { bandwidthRange } from './v15-bandwidth-range.js';
import { vcpupin } from './v16-vcpupin.js';
import { emulatorpin } from './v17-emulatorpin.js';
import { iothreadpin } from './v18-iothreadpin.js';
import { sched } from './v19-sched.js';
import { resctrl } from './v20-resctrl.js';
import { memorytuneNodes } from './v20-memorytune-nodes.js';
import { resctrlMonitors } from './v20-resctrl-monitors.js';
import { qemuResctrlKvm } from './v21-qemu-resctrl-kvm.js';
import { numatune } from './v22-numatune.js';
import { memnode } from './v23-memnode.js';
import { restrictive } from './v24-restrictive.js';
import { guestNuma } from './v25-guest-numa.js';
import { guestNumaMemory } from './v25-guest-numa-memory.js';
import { hostdev } from './v26-hostdev.js';
import { qemuIOThreadRefs } from './v27-qemu-iothread-refs.js';
import { silentNormalization } from './s7-silent-normalization.js';
import { threadCountLimit } from './limit-thread-count.js';
import { startFailures } from './start-failures.js';
import { sharedDedicated } from './lint-shared-dedicated.js';
import { emulatorOnDedicated } from './lint-emulator-on-dedicated.js';
import { hostCpusAvailable } from './lint-host-cpus.js';
import { hostNodesAvailable } from './lint-host-nodes.js';
import { isolatedFloating } from './lint-isolated-floating.js';
import { guestSmtMismatch } from './lint-guest-smt-mismatch.js';
import { vcpuBesideHousekeeping } from './lint-vcpu-beside-housekeeping.js';
import { guestSpansL3 } from './lint-guest-spans-l3.js';
import { guestSpansCoreTypes } from './lint-guest-spans-core-types.js';
import { isolatedWithoutRealtime } from './lint-isolated-without-rt.js';
import { realtimeNotIsolated } from './lint-realtime-not-isolated.js';
import { cpuOvercommit } from './lint-cpu-overcommit.js';

/** Every validation rule, in report order (docs/validation.md is generated from it). */
export const RULES: readonly Rule[] = [
  domainName,
  domainNameMissing,
  vcpuCount,
  vcpuAttributes,
  currentAboveMaximum,
  vcpuCpuset,
  vcpusEntries,
  offlineNotHotpluggable,
  qemuVcpusOrder,
  qemuVcpuTopology,
  topologyOverflow,
  iothreadsCount,
  iothreadIds,
  threadPool,
  bandwidthSyntax,
  bandwidthRange,
  vcpupin,
  emulatorpin,
  iothreadpin,
  sched,
  resctrl,
  memorytuneNodes,
  resctrlMonitors,
  qemuResctrlKvm,
  numatune,
  memnode,
  restrictive,
  guestNuma,
  guestNumaMemory,
  hostdev,
  qemuIOThreadRefs,
  threadCountLimit,
  silentNormalization,
  startFailures,
  sharedDedicated,
  emulatorOnDedicated,
  hostCpusAvailable,
  hostNodesAvailable,
  isolatedFloating,
  guestSmtMismatch,
  vcpuBesideHousekeeping,
  guestSpansL3,
  guestSpansCoreTypes,
  isolatedWithoutRealtime,
  realtimeNotIsolated,
  cpuOvercommit,
];
