/** libvirt's CPU/node list grammar and an immutable set type. */
export { CpuSet, MAX_CPUSET_ID, type CpuRange } from './cpuset.js';
export {
  CpuSetError,
  parseCpuSet,
  tryParseCpuSet,
  parseKernelCpuList,
  type CpuSetErrorCode,
  type CpuSetParseError,
  type CpuSetParseResult,
} from './parse.js';
