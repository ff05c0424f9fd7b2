/**
 * Real components: a real QEMU process (TCG) for threads, and this
 * machine's own PCI device IRQs. Gated by test/support/components.ts
 * (skipped with the reason outside CI, failed in CI).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, AffinityWriteError, defaultIo, irqAffinityIo, readStateFile, restore, threadMethod, type AffinityIo, type HostPaths } from '../../src/apply/index.js';
import { parseKernelCpuList } from '../../src/cpuset/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { plan, renderPlanShell, type PlanInput, type RuntimePlan } from '../../src/plan/index.js';
import { assertPlanSchema, PASSTHROUGH_ROOT } from '../plan/support.js';
import { copyPassthroughHost, cpusAllowed, startQemu, type Qemu } from './support.js';
import { qmpTransport, queryQmpThreads, queryQmpThreadsThroughNet } from '../../src/apply/qmp.js';
import { describeWith, requireComponents } from '../support/components.js';

let qemu: Qemu;
let work: string;
beforeAll(async () => {
  if (requireComponents(['qemu']).available) qemu = await startQemu();
  work = mkdtempSync(join(tmpdir(), 'vp-live-'));
});
afterAll(async () => {
  await qemu?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const resolved: PlanInput = {
  domain: { name: 'vm' },
  vcpus: [0, 1, 2, 3].map((id) => ({ id, online: true, cpus: id < 2 ? '0' : '1', source: 'vcpupin' })),
  iothreads: [{ id: 1, cpus: '1', source: 'iothreadpin' }],
  emulator: { cpus: '0', source: 'emulatorpin' },
};

function threadsByComm(pid: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
    out.set(comm, [...(out.get(comm) ?? []), Number(t)]);
  }
  return out;
}
const allMasks = (pid: number) => new Map(readdirSync(`/proc/${pid}/task`).map((t) => [Number(t), cpusAllowed(pid, Number(t)).toString()]));

describeWith(['qemu'], 'threads of a real QEMU', () => {
  it('uses the in-process FFI (koffi) path', () => {
    expect(threadMethod()).toBe('ffi');
  });

  it('applies vCPU, IOThread and emulator affinity, reads it back, restores the originals', async () => {
    const p = plan(resolved, { onlineCpus: '0-1' });
    assertPlanSchema(p);
    const original = allMasks(qemu.pid);
    const paths: HostPaths = { proc: '/proc', sys: '/sys', run: work };
    const r = await apply(p, { paths, pid: qemu.pid, stateDir: work });
    expect(r.ok).toBe(true);
    const byComm = threadsByComm(qemu.pid);
    for (const [comm, tids] of byComm) {
      const want = /^CPU [01]\//.test(comm) ? '0' : /^CPU [23]\//.test(comm) ? '1' : comm === 'IO iothread1' ? '1' : '0';
      for (const tid of tids) expect([comm, cpusAllowed(qemu.pid, tid).toString()]).toEqual([comm, want]);
    }
    // Emulator class: the main thread is the last one written.
    const emu = r.results.filter((x) => x.actionId === 'emulator');
    expect(emu.at(-1)?.key).toBe(`thread:${qemu.pid}`);
    expect(r.results.every((x) => x.effective === x.requested)).toBe(true);
    // The bound shell rendering names the same threads.
    const sh = renderPlanShell(p, { pid: qemu.pid, threads: r.binding.targets.filter((t) => t.tid).map((t) => ({ tid: t.tid as number, comm: t.comm ?? '', actionId: t.actionId })), irqs: [] });
    expect(sh.match(/^taskset /gm)).toHaveLength(r.binding.targets.length);
    const again = await apply(p, { paths, pid: qemu.pid, stateDir: work });
    expect(again.changed).toBe(0);
    const back = await restore('vm', { paths, stateDir: work });
    expect(back.ok).toBe(true);
    expect(allMasks(qemu.pid)).toEqual(original);
  });

  it('takes thread ids from QMP query-cpus-fast / query-iothreads', async () => {
    const p = plan(resolved, { onlineCpus: '0-1' });
    const r = await apply(p, { paths: { proc: '/proc', sys: '/sys', run: work }, pid: qemu.pid, qmpSocket: qemu.qmp, stateDir: work, dryRun: true });
    const viaQmp = r.binding.threads.filter((t) => t.via === 'qmp');
    expect(viaQmp.map((t) => [t.kind, t.vcpu ?? t.iothread])).toEqual(expect.arrayContaining([['vcpu', 0], ['vcpu', 3], ['iothread', 'iothread1']]));
    expect(viaQmp).toHaveLength(5);
    expect(r.results.filter((x) => x.status === 'would-change').length).toBeGreaterThan(0);
    expect(readStateFile(r.statePath)).toBeUndefined();
  });

  it('QMP through libc (koffi) and through node:net read the same thread ids', async () => {
    expect(qmpTransport()).toBe('libc');
    const direct = await queryQmpThreads(qemu.qmp);
    const overNet = await queryQmpThreadsThroughNet(qemu.qmp, 3000);
    expect(direct).toEqual(overNet);
    expect(direct.vcpus.map((v) => v.cpuIndex)).toEqual([0, 1, 2, 3]);
    // The ids QMP names are the threads the kernel names CPU N/TCG.
    const byComm = threadsByComm(qemu.pid);
    for (const v of direct.vcpus) expect(byComm.get(`CPU ${v.cpuIndex}/TCG`)).toEqual([v.threadId]);
    expect(direct.iothreads).toEqual([{ id: 'iothread1', threadId: byComm.get('IO iothread1')?.[0] }]);
  });

  it('a thread mask with no allowed CPU is a clear EINVAL error, rolled back', async () => {
    const p = plan({ ...resolved, vcpus: resolved.vcpus.map((v) => (v.id === 3 ? { ...v, cpus: '9' } : v)) }, { onlineCpus: '0-15' });
    const original = allMasks(qemu.pid);
    const r = await apply(p, { paths: { proc: '/proc', sys: '/sys', run: work }, pid: qemu.pid, stateDir: work });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('APPLY_THREAD_CPUSET');
    expect(r.rollback?.failed).toEqual([]);
    expect(allMasks(qemu.pid)).toEqual(original);
  });
});

describeWith(['qemu'], 'fault injection: threads of a real QEMU + IRQs of the captured host', () => {
  const host = hostFromSysfs(PASSTHROUGH_ROOT);
  const mixed = (): RuntimePlan => {
    const p = plan(resolved, host, {
      hostdevs: ['0000:0a:00.0', '0000:0a:00.1', '0000:41:00.0'].map((address) => ({ address, via: 'hostdev' as const })),
      irqOverrides: { default: 'auto', devices: { '0000:41:00.0': '12-15' } },
    });
    assertPlanSchema(p);
    return p;
  };
  const irqLists = (root: string) => [120, 121, 122, 130, 131, 132, 133].map((n) => readFileSync(join(root, `proc/irq/${n}/smp_affinity_list`), 'utf8'));

  function faulty(real: AffinityIo, failAt: number, crash: boolean): { io: AffinityIo; writes: () => number } {
    let n = 0;
    let dead = false;
    const gate = (): void => {
      n++;
      if (dead || n === failAt) {
        dead = crash;
        throw new AffinityWriteError('EFAULT', `injected failure at write ${n}`);
      }
    };
    return {
      io: {
        ...real,
        writeThreadAffinity: (tid, cpus) => (gate(), real.writeThreadAffinity(tid, cpus)),
        writeIrqAffinity: (irq, cpus) => (gate(), real.writeIrqAffinity(irq, cpus)),
      },
      writes: () => n,
    };
  }

  it('for every k, failing the k-th write rolls back everything; a crash leaves a state file restore can use', async () => {
    const fx = copyPassthroughHost();
    try {
      const paths: HostPaths = { proc: '/proc', sys: join(fx.root, 'sys'), run: join(fx.dir, 'run'), irqProc: join(fx.root, 'proc') };
      const stateDir = join(fx.dir, 'state');
      const real = defaultIo(paths.irqProc as string);
      const p = mixed();
      const threads0 = allMasks(qemu.pid);
      const irqs0 = irqLists(fx.root);
      // Count the writes of a clean run first.
      const probe = faulty(real, Infinity, false);
      const ok = await apply(p, { paths, pid: qemu.pid, stateDir, io: probe.io });
      expect(ok.ok).toBe(true);
      const total = probe.writes();
      expect(total).toBeGreaterThanOrEqual(4 + 1 + 2 + 7);
      expect(irqLists(fx.root)).toEqual(['0-1\n', '0-1\n', '0-1\n', '12-15\n', '12-15\n', '12-15\n', '12-15\n']);
      expect((await restore('vm', { paths, stateDir })).ok).toBe(true);
      expect(allMasks(qemu.pid)).toEqual(threads0);

      for (let k = 1; k <= total; k++) {
        const f = faulty(real, k, false);
        const r = await apply(p, { paths, pid: qemu.pid, stateDir, io: f.io });
        expect([k, r.ok, r.error?.code]).toEqual([k, false, 'APPLY_WRITE_FAILED']);
        expect(r.rollback).toEqual({ restored: k - 1, failed: [] });
        expect(allMasks(qemu.pid)).toEqual(threads0);
        expect(irqLists(fx.root)).toEqual(irqs0);
        expect(readStateFile(r.statePath)).toBeUndefined();
      }

      for (const k of [1, Math.ceil(total / 2), total]) {
        const f = faulty(real, k, true); // the process "dies": no write after the k-th succeeds, rollback included
        const r = await apply(p, { paths, pid: qemu.pid, stateDir, io: f.io });
        expect(r.ok).toBe(false);
        expect(r.rollback?.failed).toHaveLength(k - 1);
        const state = readStateFile(r.statePath);
        if (k === 1) {
          // Nothing was changed, so nothing is left to restore.
          expect(state).toBeUndefined();
          continue;
        }
        expect(state?.phase).toBe('applying');
        expect(state?.entries).toHaveLength(total);
        const back = await restore('vm', { paths, stateDir });
        expect(back.ok).toBe(true);
        expect(back.results.filter((x) => x.status === 'restored')).toHaveLength(k - 1);
        expect(allMasks(qemu.pid)).toEqual(threads0);
        expect(irqLists(fx.root)).toEqual(irqs0);
        expect(readStateFile(r.statePath)).toBeUndefined();
      }
    } finally {
      fx.cleanup();
    }
  });
});

describeWith(['root', 'writable-proc-irq'], "this machine's own device IRQs", () => {
  it("leaves a host-driver device's vectors alone (not vfio's); the kernel writer moves a vector and puts it back, a managed one answers EPERM", async () => {
    expect(statSync('/proc/irq').isDirectory()).toBe(true);
    const candidates: { address: string; writable: number[]; readOnly: number[] }[] = [];
    for (const address of readdirSync('/sys/bus/pci/devices')) {
      let msi: string[] = [];
      try {
        msi = readdirSync(`/sys/bus/pci/devices/${address}/msi_irqs`);
      } catch {
        continue;
      }
      const c = { address, writable: [] as number[], readOnly: [] as number[] };
      for (const n of msi.map(Number)) {
        try {
          ((statSync(`/proc/irq/${n}/smp_affinity_list`).mode & 0o200) !== 0 ? c.writable : c.readOnly).push(n);
        } catch {
          /* vector without /proc/irq entry */
        }
      }
      if (c.writable.length) candidates.push(c);
    }
    // Prefer a device with both kinds (a virtio-blk config vector + managed queue vectors here).
    const dev = candidates.find((c) => c.readOnly.length) ?? candidates[0];
    expect(dev, 'a PCI device with a movable MSI vector').toBeDefined();
    if (!dev) return;
    const before = new Map([...dev.writable, ...dev.readOnly].map((n) => [n, readFileSync(`/proc/irq/${n}/smp_affinity_list`, 'utf8').trim()]));
    const online = parseKernelCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
    const target = String(online.max());
    const p = plan({ vcpus: [], iothreads: [], emulator: { cpus: '0', source: 'emulatorpin' } }, { onlineCpus: online }, {
      hostdevs: [{ address: dev.address, via: 'hostdev' }],
      irqOverrides: { devices: { [dev.address]: target } },
      threads: false,
    });
    assertPlanSchema(p);
    const paths: HostPaths = { proc: '/proc', sys: '/sys', run: work };
    // Item 10 of issue 14: a device bound to a host driver (virtio-pci here) is not the guest's: apply leaves every vector alone and says why.
    const r = await apply(p, { paths, stateDir: work, domain: 'host-irq-test' });
    expect(r.ok).toBe(true);
    expect(r.changed).toBe(0);
    for (const n of [...dev.writable, ...dev.readOnly]) {
      expect(r.results.find((x) => x.key === `irq:${n}`)).toMatchObject({ status: 'not-owned', message: expect.stringMatching(/host driver|no driver|no handler|not vfio/) });
    }
    for (const [n, mask] of before) expect([n, readFileSync(`/proc/irq/${n}/smp_affinity_list`, 'utf8').trim()]).toEqual([n, mask]);
    // The kernel writer itself: one write() of the list, read back, put back; a read-only (managed) vector answers EPERM.
    const io = irqAffinityIo('/proc');
    const n = dev.writable[0] as number;
    try {
      io.writeIrqAffinity(n, parseKernelCpuList(target));
      expect(io.readIrqAffinity(n).requested.toString()).toBe(target);
    } finally {
      io.writeIrqAffinity(n, parseKernelCpuList(before.get(n) as string));
    }
    for (const m of dev.readOnly) expect(() => io.writeIrqAffinity(m, parseKernelCpuList(target))).toThrow(expect.objectContaining({ code: 'EPERM' }));
    for (const [m, mask] of before) expect([m, readFileSync(`/proc/irq/${m}/smp_affinity_list`, 'utf8').trim()]).toEqual([m, mask]);
  });

});
