import { hasChange } from '../../domain/index.js';
import type { Rule } from '../types.js';

/** V27 (QEMU): devices may only name existing IOThreads, and only virtio disks / virtio-scsi controllers take one. */
export const qemuIOThreadRefs: Rule = {
  code: 'QEMU_IOTHREAD_REFERENCE',
  severity: 'error',
  driver: 'qemu',
  spec: 'V27',
  summary: 'a disk/controller names an IOThread that does not exist, or a bus that cannot use one',
  check(ctx) {
    const ids = new Set(ctx.definition.iothreads.map((t) => t.id));
    // The <driver><iothreads> mappings are read by libvirt from 10.0 (disks) and 11.2 (controllers) only (LIBVIRT_CHANGES).
    const read = (r: (typeof ctx.model.iothreadRefs)[number]): boolean =>
      !r.mapping || hasChange(ctx.definition.libvirtVersion, r.device === 'controller' ? 'controller-iothread-mapping' : 'disk-iothread-mapping');
    for (const r of ctx.model.iothreadRefs.filter(read)) {
      const id = r.id.value;
      if (id === undefined) {
        ctx.report(r.id.loc, `iothread='${r.id.raw}' is not an IOThread id`);
        continue;
      }
      if (!ids.has(id)) {
        ctx.report(r.id.loc, `this ${r.device} uses IOThread ${id}, which the domain does not have`, { hint: ids.size ? `the IOThread ids are ${[...ids].join(', ')}` : `add <iothreads>${id}</iothreads>` });
      } else if (r.device === 'disk' && r.bus !== undefined && r.bus !== 'virtio') {
        ctx.report(r.id.loc, `IOThreads are only for virtio disks, not bus='${r.bus}'`);
      } else if (r.device === 'controller' && r.bus !== undefined && r.bus !== 'virtio-scsi') {
        ctx.report(r.id.loc, `IOThreads are only for virtio-scsi controllers, not model='${r.bus}'`);
      }
    }
  },
};
