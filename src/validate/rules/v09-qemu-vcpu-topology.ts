import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

/** V9 (QEMU): at least one online vCPU; topology product equals the maximum; >255 x86 vCPUs need q35 + an EIM IOMMU. */
export const qemuVcpuTopology: Rule = {
  code: 'QEMU_VCPU_TOPOLOGY',
  severity: 'error',
  driver: 'qemu',
  spec: 'V9',
  summary: 'QEMU: no online vCPU, topology product ≠ maximum, >255 x86 vCPUs without q35 + EIM IOMMU',
  check(ctx) {
    const { model, definition: d } = ctx;
    const at = model.vcpu ?? model.root;
    if (d.maxVcpus > 0 && !d.vcpus.some((v) => v.online)) {
      ctx.report(at, 'the domain has no online vCPU; QEMU needs at least vCPU 0', { hint: 'give <vcpu> a count of at least 1' });
    }
    const t = model.cpu?.topology;
    if (t && d.maxVcpus > 0) {
      // libvirt before 10.1 does not read clusters at all (LIBVIRT_CHANGES 'topology-clusters').
      const clusters = hasChange(d.libvirtVersion, 'topology-clusters') ? t.clusters : undefined;
      const parts = [t.sockets, t.dies, clusters, t.cores, t.threads].map((f, i) => f?.value ?? (i === 1 || i === 2 ? 1 : undefined));
      if (parts.every((p) => p !== undefined && p > 0)) {
        const product = parts.reduce((a, b) => a! * b!, 1)!;
        if (product !== d.maxVcpus && product <= 0xffffffff) {
          const ignored = t.clusters && !clusters ? ' (libvirt before 10.1 does not read clusters)' : '';
          ctx.report(t, `the topology gives ${parts.join('×')} = ${product} vCPUs but <vcpu> says ${d.maxVcpus}${ignored}`, {
            hint: ignored ? `make sockets×dies×cores×threads equal ${d.maxVcpus}` : `make sockets×dies×clusters×cores×threads equal ${d.maxVcpus}`,
          });
        }
      }
    }
    const arch = model.arch?.value;
    // pSeries hot-plugs whole cores: the online count must be a multiple of threads per core.
    const threads = t?.threads?.value;
    if (arch?.startsWith('ppc64') && threads && threads > 1) {
      const online = d.vcpus.filter((v) => v.online).length;
      if (online % threads !== 0) ctx.report(at, `${online} online vCPUs is not a multiple of the hot-plug granularity ${threads} (threads per core)`, { hint: `bring vCPUs online in groups of ${threads}` });
    }
    if ((arch === 'x86_64' || arch === 'i686') && d.maxVcpus > 255) {
      const q35 = /q35/.test(model.machine?.value ?? '');
      // From 10.10 define adds the IOMMU, or turns eim on in an intel one that leaves it out (LIBVIRT_CHANGES 'iommu-eim-added').
      const added = q35 && hasChange(d.libvirtVersion, 'iommu-eim-added') && (!model.iommu || (model.iommu.model === 'intel' && model.iommu.eim === undefined));
      const eim = added || (model.iommu?.eim === 'on' && model.iommu.model === 'intel');
      if (!q35 || !eim) {
        ctx.report(at, `${d.maxVcpus} vCPUs on x86 need a q35 machine and <iommu model='intel'><driver intremap='on' eim='on'/></iommu>`, { hint: 'use a q35 machine type and add the IOMMU with EIM' });
      }
    }
  },
};
