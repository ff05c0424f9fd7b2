import type { Rule } from '../types.js';

/**
 * Spec §7: everything libvirt changes or drops without an error, as a
 * warning at the element. One rule, one code per kind of change (the
 * change codes of DomainDefinition.changes).
 */
export const silentNormalization: Rule = {
  code: 'SILENT_NORMALIZATION',
  severity: 'warning',
  spec: '§7',
  summary: 'libvirt silently drops or changes what you wrote (one code per kind of change)',
  check(ctx) {
    for (const c of ctx.definition.changes) {
      ctx.report(c.from, c.message, { code: c.code, hint: hintFor(c.code), spec: `§7.${c.specItem}` });
    }
  },
};

function hintFor(code: string): string {
  switch (code) {
    case 'VCPUPIN_OUT_OF_RANGE_DROPPED':
      return 'remove the pin, or raise <vcpu>';
    case 'VCPUPIN_OFFLINE_DROPPED':
      return 'this driver cannot keep pins of offline vCPUs';
    case 'VCPU_CPUSET_IGNORED_AUTO':
      return "drop the cpuset, or use placement='static' if you meant it";
    case 'NUMATUNE_NODESET_IGNORED_AUTO':
      return "drop the nodeset, or use placement='static'";
    case 'PLACEMENT_PROMOTED_AUTO':
      return "numad will choose the CPUs; pin something or set numatune placement='static' to keep static placement";
    case 'NUMATUNE_IMPLICIT_AUTO':
      return "write <numatune><memory mode='strict' placement='auto'/></numatune> to make it explicit";
    case 'NUMATUNE_MODE_DEFAULTED':
      return "write mode='strict' to make it explicit";
    case 'SCHED_GROUP_EXPLODED':
      return 'nothing to do: libvirt writes one element per thread';
    default:
      return 'run virt-pin normalize to see the XML libvirt will store';
  }
}
