/** Host facts (CPUs, SMT siblings, NUMA nodes, caches, PCI locality) from capabilities XML, sysfs, node-device XML. */
export type {
  CoreType,
  CoreTypeSource,
  HostCache,
  HostCacheType,
  HostCpu,
  HostNode,
  HostPciDevice,
  HostSource,
  HostTopology,
  PciAddress,
} from './types.js';
export { hostFromCapabilities, pciNumaFromNodedev, type HostXmlOptions } from './capabilities.js';
export { hostFactsFromSysfs, hostFactsFromSysfsOnDemand, hostFromSysfs, pciDeviceNuma, type SysfsHostFacts, type SysfsHostFactsOnDemand } from './sysfs.js';
export { describeHost, hostCounts, type HostCounts } from './describe.js';
