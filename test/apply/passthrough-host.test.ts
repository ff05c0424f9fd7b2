import { chmodSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hostFromSysfs } from '../../src/host/index.js';
import { apply, AffinityWriteError, bindPlan, discoverDeviceIrqs, discoverThreads, irqAffinityIo, pathsUnder, readLibvirtPid, readStateFile, restore, type AffinityIo, type HostPaths } from '../../src/apply/index.js';
import { Confined } from '../../src/apply/paths.js';
import { planDocument, type RuntimePlan } from '../../src/plan/index.js';
import { assertPlanSchema, gpuVm, NS, PASSTHROUGH_ROOT } from '../plan/support.js';
import { copyPassthroughHost, snapshotTree } from './support.js';

const host = hostFromSysfs(PASSTHROUGH_ROOT);
/** IRQ actions only (threads: false), so the fake root needs no live process. */
function irqPlan(metadata: string, extraDevices = ''): RuntimePlan {
  const p = planDocument(gpuVm(metadata, extraDevices), { host, threads: false });
  assertPlanSchema(p);
  return p;
}
const AUTO = `    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`;

let fx: ReturnType<typeof copyPassthroughHost>;
let paths: HostPaths;
beforeEach(() => {
  fx = copyPassthroughHost();
  paths = pathsUnder(fx.root);
});
afterEach(() => fx.cleanup());
const list = (irq: number) => readFileSync(join(fx.root, 'proc', 'irq', String(irq), 'smp_affinity_list'), 'utf8');

describe('discovery on a captured passthrough host', () => {
  it('classifies every QEMU thread, including vhost and the NX recovery worker', () => {
    expect(readLibvirtPid(paths, 'gpu-vm')).toBe(4242);
    const threads = discoverThreads(paths, 4242);
    expect(threads.map((t) => [t.tid, t.kind, t.vcpu ?? t.iothread ?? null])).toEqual([
      [4242, 'main', null], [4243, 'other', null], [4250, 'vcpu', 0], [4251, 'vcpu', 1], [4252, 'vcpu', 2], [4253, 'vcpu', 3],
      [4260, 'iothread', 'iothread1'], [4261, 'other', null], [4270, 'vhost', null], [4271, 'kvm-nx', null], [4272, 'other', null],
    ]);
    const viaQmp = discoverThreads(paths, 4242, { vcpus: [{ cpuIndex: 3, threadId: 4250 }], iothreads: [] });
    expect(viaQmp.find((t) => t.tid === 4250)).toMatchObject({ kind: 'vcpu', vcpu: 3, via: 'qmp' });
  });

  it('finds MSI-X, MSI and vfio-intx vectors, cross-checked with /proc/interrupts', () => {
    const gpu = discoverDeviceIrqs(paths, '0000:0a:00.0');
    expect(gpu).toMatchObject({ present: true, numaNode: 0 });
    expect(gpu.irqs).toEqual([
      { irq: 120, kind: 'msix', name: 'vfio-msix[0](0000:0a:00.0)', confirmed: true, ownership: 'vfio' },
      { irq: 121, kind: 'msix', name: 'vfio-msix[1](0000:0a:00.0)', confirmed: true, ownership: 'vfio' },
    ]);
    // The INTx line in `irq` serves a host USB controller: never touched.
    expect(gpu.notes.join()).toMatch(/INTx line 16 is not requested by 0000:0a:00.0 \(it serves ehci_hcd:usb1\)/);
    expect(discoverDeviceIrqs(paths, '0000:0A:00.1').irqs.map((i) => [i.irq, i.kind])).toEqual([[122, 'msi']]);
    const vf = discoverDeviceIrqs(paths, '0000:81:02.1');
    expect(vf).toMatchObject({ present: true, numaNode: 1, irqs: [] });
    expect(discoverDeviceIrqs(paths, '0000:09:00.0')).toMatchObject({ present: false, irqs: [] });
  });

  it('ignores msi_irqs names and irq files that are not plain decimal IRQ numbers', () => {
    const r = discoverDeviceIrqs(paths, '0000:67:00.0');
    expect(r.irqs).toEqual([]);
    expect(r.notes.filter((n) => /not a decimal IRQ number/.test(n))).toHaveLength(6);
  });
});

describe('applying IRQ affinity on the captured host', () => {
  it('auto policy: NUMA-local vCPU CPUs per device, read back, state file, restore', async () => {
    const p = irqPlan(AUTO);
    const stateDir = join(fx.dir, 'state');
    const r = await apply(p, { paths, stateDir });
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => [x.key, x.status, x.requested, x.before])).toEqual([
      ['irq:120', 'changed', '2-3', '0-15'],
      ['irq:121', 'changed', '2-3', '0-15'],
      ['irq:122', 'changed', '2-3', '0-15'],
      ['irq:130', 'changed', '10-11', '0-15'],
      ['irq:131', 'changed', '10-11', '0-15'],
      ['irq:132', 'changed', '10-11', '0-15'],
      ['irq:133', 'changed', '10-11', '0-15'],
      ['irq:124', 'changed', '2-3,10-11', '0-15'],
    ]);
    expect(r.results.find((x) => x.key === 'irq:130')?.effective).toBe('2'); // effective_affinity_list as the (captured) kernel reports it
    expect(list(130)).toBe('10-11\n');
    expect(list(16)).toBe('0-15\n');
    expect(r.notes.join('\n')).toMatch(/0000:81:02.1: no IRQs yet/);
    const state = readStateFile(r.statePath);
    expect(state).toMatchObject({ name: 'gpu-vm', phase: 'applied', pid: 0 });
    expect(state?.entries.map((e) => (e.kind === 'irq' ? [e.irq, e.before, e.name] : []))).toContainEqual([122, '0-15', 'vfio-msi[0](0000:0a:00.1)']);
    // Re-applying the same plan writes nothing.
    const again = await apply(p, { paths, stateDir, io: { writeIrqAffinity: () => { throw new Error('no write expected'); } } });
    expect(again.changed).toBe(0);
    expect(again.results.every((x) => x.status === 'unchanged')).toBe(true);
    const back = await restore('gpu-vm', { paths, stateDir });
    expect(back.ok).toBe(true);
    expect(back.results.filter((x) => x.status === 'restored')).toHaveLength(8);
    for (const n of [120, 121, 122, 124, 130, 131, 132, 133]) expect(list(n)).toBe('0-15\n');
    expect(readStateFile(r.statePath)).toBeUndefined();
  });

  it('late vectors: a second apply pins the new ones and keeps the first snapshot', async () => {
    const p = irqPlan(AUTO);
    const stateDir = join(fx.dir, 'state');
    await apply(p, { paths, stateDir });
    // The guest enables MSI-X on the VF: vector 140 appears in sysfs, /proc/irq and /proc/interrupts.
    const vf = join(fx.root, 'sys/devices/pci0000:80/0000:80:03.0/0000:81:02.1/msi_irqs');
    mkdirSync(vf, { recursive: true });
    writeFileSync(join(vf, '140'), 'msix\n');
    mkdirSync(join(fx.root, 'proc/irq/140'));
    writeFileSync(join(fx.root, 'proc/irq/140/smp_affinity_list'), '0-15\n');
    appendFileSync(join(fx.root, 'proc/interrupts'), ` 140:${'          0 '.repeat(16)} PCI-MSIX-0000:81:02.1 0-edge vfio-msix[0](0000:81:02.1)\n`);
    const r = await apply(p, { paths, stateDir });
    expect(r.results.filter((x) => x.status === 'changed').map((x) => [x.key, x.requested])).toEqual([['irq:140', '10-11']]);
    const state = readStateFile(r.statePath);
    expect(state?.entries.map((e) => (e.kind === 'irq' ? e.irq : 0))).toEqual([120, 121, 122, 130, 131, 132, 133, 124, 140]);
    expect(state?.entries.every((e) => e.before === '0-15')).toBe(true);
  });

  it('kernel-managed IRQs are skipped and reported; a host driver\'s IRQs are not the guest\'s; --strict fails and rolls back', async () => {
    const md = `    <vp:irq xmlns:vp='${NS}' hostdev='0000:02:00.0' affinity='4-5'/>\n    <vp:irq xmlns:vp='${NS}' hostdev='0000:0a:00.0' affinity='4-5'/>`;
    const extra = `<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='2' slot='0' function='0'/></source></hostdev>`;
    const p = irqPlan(md, extra);
    const stateDir = join(fx.dir, 'state');
    chmodSync(join(fx.root, 'proc/irq/121/smp_affinity_list'), 0o444); // a managed vfio vector
    const r = await apply(p, { paths, stateDir });
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => [x.key, x.status])).toEqual([['irq:50', 'not-owned'], ['irq:51', 'not-owned'], ['irq:52', 'not-owned'], ['irq:120', 'changed'], ['irq:121', 'managed-skipped']]);
    expect(r.results.find((x) => x.key === 'irq:50')?.message).toMatch(/host driver nvme, not vfio-pci/);
    await restore('gpu-vm', { paths, stateDir });
    const strict = await apply(p, { paths, stateDir, strict: true });
    expect(strict.ok).toBe(false);
    expect(strict.error?.code).toBe('APPLY_IRQ_MANAGED');
    expect(strict.results.find((x) => x.key === 'irq:120')?.status).toBe('rolled-back');
    expect(list(120)).toBe('0-15\n');
    expect(list(50)).toBe('0-15\n');
    expect(readStateFile(strict.statePath)).toBeUndefined();
  });


  it('ENOSPC names the CPUs; EBUSY is retried; EAGAIN past the bound fails', async () => {
    const p = irqPlan(AUTO);
    const real = irqAffinityIo(paths.proc);
    const stateDir = join(fx.dir, 'state');
    const failing = (irq: number, code: string, times: number): Partial<AffinityIo> => {
      let left = times;
      return {
        writeIrqAffinity(n, cpus) {
          if (n === irq && left > 0) {
            left--;
            throw new AffinityWriteError(code, `write ${n}: ${code}`);
          }
          real.writeIrqAffinity(n, cpus);
        },
      };
    };
    const nospc = await apply(p, { paths, stateDir, io: failing(130, 'ENOSPC', 1) });
    expect(nospc.error).toMatchObject({ code: 'APPLY_IRQ_NO_VECTOR' });
    expect(nospc.error?.message).toMatch(/CPU\(s\) 10-11 have no free interrupt vector/);
    for (const n of [120, 121, 122, 130]) expect(list(n)).toBe('0-15\n');
    const busy = await apply(p, { paths, stateDir, io: failing(121, 'EBUSY', 2), retry: { attempts: 3, delayMs: 1 } });
    expect(busy.ok).toBe(true);
    expect(list(121)).toBe('2-3\n');
    await restore('gpu-vm', { paths, stateDir });
    const again = await apply(p, { paths, stateDir, io: failing(121, 'EAGAIN', 5), retry: { attempts: 3, delayMs: 1 } });
    expect(again.error?.code).toBe('APPLY_IRQ_BUSY');
    expect(list(120)).toBe('0-15\n');
  });

  it('restore leaves a recycled IRQ alone', async () => {
    const p = irqPlan(AUTO);
    const stateDir = join(fx.dir, 'state');
    await apply(p, { paths, stateDir });
    // IRQ 121 is freed by the GPU and given to another device.
    const ints = readFileSync(join(fx.root, 'proc/interrupts'), 'utf8').replace('vfio-msix[1](0000:0a:00.0)', 'xhci_hcd');
    writeFileSync(join(fx.root, 'proc/interrupts'), ints);
    rmSync(join(fx.root, 'sys/devices/pci0000:00/0000:00:01.1/0000:0a:00.0/msi_irqs/121'));
    const back = await restore('gpu-vm', { paths, stateDir });
    expect(back.results.find((x) => x.key === 'irq:121')).toMatchObject({ status: 'reused' });
    expect(list(121)).toBe('2-3\n');
    expect(list(120)).toBe('0-15\n');
  });
});

describe('hostile input never reaches outside the roots', () => {
  it('refuses a sysfs device link leading outside, a /proc/irq symlink outside, path tricks in XML and names', async () => {
    const before = snapshotTree(fx.dir);
    expect(() => discoverDeviceIrqs(paths, '0000:66:00.0')).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
    expect(() => discoverDeviceIrqs(paths, '0000:0a:00.0/../../../../etc')).toThrow(expect.objectContaining({ code: 'APPLY_BAD_PCI_ADDRESS' }));
    expect(() => readLibvirtPid(paths, '../../etc/passwd')).toThrow(expect.objectContaining({ code: 'APPLY_BAD_DOMAIN_NAME' }));
    expect(() => readLibvirtPid(paths, 'bad-vm')).toThrow(expect.objectContaining({ code: 'APPLY_BAD_PIDFILE' }));
    symlinkSync('../../../../outside-irq/smp_affinity_list', join(fx.root, 'run/libvirt/qemu/evil.pid'));
    expect(() => readLibvirtPid(paths, 'evil')).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
    // /proc/irq/125 is a symlink to outside-irq/: the writer refuses it.
    expect(() => irqAffinityIo(paths.proc).writeIrqAffinity(125, (host.onlineCpus))).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
    // Device 0000:68:00.0 has vector 125: discovery drops it (no /proc/irq/125 inside the root is reachable).
    const md = `    <vp:irq xmlns:vp='${NS}' hostdev='0000:68:00.0' affinity='1'/>`;
    const extra = `<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='0x68' slot='0' function='0'/></source></hostdev>
    <hostdev mode='subsystem' type='pci'><source><address domain='../..' bus='0x0a/../..' slot='0' function='0'/></source></hostdev>`;
    const p = planDocument(gpuVm(md, extra), { host, threads: false });
    assertPlanSchema(p);
    expect(p.diagnostics.map((d) => d.code)).toContain('IRQ_HOSTDEV_BAD_ADDRESS');
    await expect(bindPlan(p, { paths })).rejects.toMatchObject({ code: 'APPLY_PATH_ESCAPE' });
    // A plan edited by hand to carry a path in a device address is refused before any path is built.
    const forged = JSON.parse(JSON.stringify(irqPlan(AUTO))) as RuntimePlan;
    const a = forged.actions.find((x) => x.kind === 'irq-affinity');
    if (a?.kind === 'irq-affinity') a.target.device = '../../../../etc';
    await expect(apply(forged, { paths, stateDir: join(fx.dir, 'state') })).rejects.toMatchObject({ code: 'APPLY_BAD_PCI_ADDRESS' });
    expect(snapshotTree(fx.dir)).toEqual(before);
    expect(readFileSync(fx.outsideSentinel, 'utf8')).toBe('SENTINEL\n');
  });

  it('refuses plans with errors and things that are not plans', async () => {
    const bad = planDocument(gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='99-'/>`), { host, threads: false });
    await expect(apply(bad, { paths })).rejects.toMatchObject({ code: 'APPLY_PLAN_HAS_ERRORS' });
    await expect(apply({ kind: 'x' } as unknown as RuntimePlan, { paths })).rejects.toMatchObject({ code: 'APPLY_NOT_A_PLAN' });
    writeFileSync(join(fx.dir, 'bad.json'), '{"kind":"virt-pin-state","schemaVersion":1,"name":"x","pid":1,"entries":[{"kind":"irq","irq":"1/../..","device":"x","before":"0"}]}');
    expect(() => readStateFile(join(fx.dir, 'bad.json'))).toThrow(expect.objectContaining({ code: 'APPLY_STATE_INVALID' }));
  });

  it('Confined keeps a resolved parent directory, yet every last component is checked afresh: a symlink there leading outside is refused', () => {
    const sys = new Confined(paths.sys);
    const dev = ['bus', 'pci', 'devices', '0000:0a:00.0'];
    const msi = sys.resolve([...dev, 'msi_irqs', '120']);
    expect(msi).toBe(join(realpathSync(fx.root), 'sys/devices/pci0000:00/0000:00:01.1/0000:0a:00.0/msi_irqs/120'));
    // After the parent (msi_irqs) was resolved and kept: a sibling that is a symlink out of the root, and one to a file inside.
    const real = join(realpathSync(fx.root), 'sys/devices/pci0000:00/0000:00:01.1/0000:0a:00.0/msi_irqs');
    mkdirSync(join(fx.dir, 'outside-sys'), { recursive: true });
    writeFileSync(join(fx.dir, 'outside-sys', '999'), 'msix\n');
    symlinkSync(join(fx.dir, 'outside-sys', '999'), join(real, '999'));
    symlinkSync('120', join(real, '998'));
    expect(() => sys.resolve([...dev, 'msi_irqs', '999'])).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
    expect(sys.resolve([...dev, 'msi_irqs', '998'])).toBe(msi);
    // A component that vanished after its parent was kept is missing, not a stale answer.
    rmSync(join(real, '120'));
    expect(sys.resolve([...dev, 'msi_irqs', '120'])).toBeUndefined();
    // The kept parent is never a path's own answer: a device whose link now leads outside is refused.
    expect(sys.resolve(dev)).toBe(join(realpathSync(fx.root), 'sys/devices/pci0000:00/0000:00:01.1/0000:0a:00.0'));
    rmSync(join(fx.root, 'sys/bus/pci/devices/0000:0a:00.0'));
    symlinkSync(join(fx.dir, 'outside-sys'), join(fx.root, 'sys/bus/pci/devices/0000:0a:00.0'));
    expect(() => sys.resolve(dev)).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
  });

  it('Confined keeps resolved directories for at most a second: a long-lived root (the late-IRQ waiter) walks a replaced directory afresh', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const proc = new Confined(paths.proc);
      expect(proc.resolve(['irq', '120', 'smp_affinity_list'])).toBeDefined(); // keeps irq/120
      // irq/120 becomes a link to a directory outside the root.
      const outside = join(fx.dir, 'outside-irq-120');
      mkdirSync(outside);
      writeFileSync(join(outside, 'smp_affinity_list'), '0-15\n');
      rmSync(join(fx.root, 'proc/irq/120'), { recursive: true });
      symlinkSync(outside, join(fx.root, 'proc/irq/120'));
      vi.setSystemTime(Date.now() + 1001);
      expect(() => proc.resolve(['irq', '120', 'smp_affinity_list'])).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
    } finally {
      vi.useRealTimers();
    }
  });
});
