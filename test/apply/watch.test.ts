/**
 * watchPlan: late MSI-X vectors on the captured passthrough host (added the
 * way the kernel shows them when a guest driver enables MSI-X), and a real
 * QEMU whose new threads are picked up and whose exit ends the watch.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pathsUnder, readStateFile, restore, watchPlan, type HostPaths, type WatchRound } from '../../src/apply/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { plan, planDocument, type RuntimePlan } from '../../src/plan/index.js';
import { assertPlanSchema, gpuVm, NS, PASSTHROUGH_ROOT } from '../plan/support.js';
import { copyPassthroughHost, cpusAllowed, qmpExecute, startQemu } from './support.js';
import { describeWith } from '../support/components.js';

const host = hostFromSysfs(PASSTHROUGH_ROOT);
const AUTO = `    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`;
/** IRQ actions only: the captured root has no live process to pin threads of. */
function irqPlan(): RuntimePlan {
  const p = planDocument(gpuVm(AUTO), { host, threads: false });
  assertPlanSchema(p);
  return p;
}
/** A safety net, never the expected outcome: each test ends the watch itself or by a condition it asserts. */
const farDeadline = (): number => Date.now() + 60_000;

describe('late MSI-X vectors on the captured passthrough host', () => {
  let fx: ReturnType<typeof copyPassthroughHost>;
  let paths: HostPaths;
  let stateDir: string;
  beforeEach(() => {
    fx = copyPassthroughHost();
    paths = pathsUnder(fx.root);
    stateDir = join(fx.dir, 'state');
  });
  afterEach(() => fx.cleanup());
  const list = (irq: number) => readFileSync(join(fx.root, 'proc', 'irq', String(irq), 'smp_affinity_list'), 'utf8');

  /** What the kernel shows once the guest driver enables MSI-X on the VF: a vector in sysfs, /proc/irq/N, and vfio's handler in /proc/interrupts. */
  function guestEnablesVfVector(irq: number): void {
    const vf = join(fx.root, 'sys/devices/pci0000:80/0000:80:03.0/0000:81:02.1/msi_irqs');
    mkdirSync(vf, { recursive: true });
    writeFileSync(join(vf, String(irq)), 'msix\n');
    mkdirSync(join(fx.root, 'proc/irq', String(irq)));
    writeFileSync(join(fx.root, 'proc/irq', String(irq), 'smp_affinity_list'), '0-15\n');
    appendFileSync(join(fx.root, 'proc/interrupts'), ` ${irq}:${'          0 '.repeat(16)} PCI-MSIX-0000:81:02.1 0-edge vfio-msix[0](0000:81:02.1)\n`);
  }

  it('pins a vector that appears while watching, applies only when something changed, settles, and restore puts back every original', async () => {
    const rounds: WatchRound[] = [];
    let enabled = false;
    const report = await watchPlan(irqPlan(), {
      paths,
      stateDir,
      untilMs: farDeadline(),
      intervalMs: 20,
      settleMs: 300,
      onRound(r) {
        rounds.push(r);
        // Three quiet polls first (the VF has no vector yet, so the watch cannot settle), then the guest driver loads.
        if (!enabled && rounds.filter((x) => !x.applied).length === 3) {
          guestEnablesVfVector(140);
          enabled = true;
        }
      },
    });
    expect(report).toMatchObject({ ok: true, ended: 'settled', pid: 4242, applies: 2 });
    expect(rounds.filter((r) => r.applied).map((r) => r.reason)).toEqual(['start', 'changed']);
    // Polls in between applied nothing: the fingerprint did not move.
    expect(rounds.length).toBeGreaterThan(4);
    const late = rounds.find((r) => r.reason === 'changed')?.report;
    expect(late?.results.filter((x) => x.status === 'changed').map((x) => [x.key, x.requested, x.before])).toEqual([['irq:140', '10-11', '0-15']]);
    expect(report.changed).toBe(9);
    expect(list(140)).toBe('10-11\n');
    const state = readStateFile(join(stateDir, 'gpu-vm.json'));
    expect(state?.phase).toBe('applied');
    expect(state?.entries.map((e) => (e.kind === 'irq' ? `${e.irq}:${e.before}` : ''))).toEqual(['120:0-15', '121:0-15', '122:0-15', '130:0-15', '131:0-15', '132:0-15', '133:0-15', '124:0-15', '140:0-15']);
    const back = await restore('gpu-vm', { paths, stateDir });
    expect(back.ok).toBe(true);
    expect(back.results.filter((x) => x.status === 'restored')).toHaveLength(9);
    for (const n of [120, 121, 122, 124, 130, 131, 132, 133, 140]) expect([n, list(n)]).toEqual([n, '0-15\n']);
  });

  it('item 10: a vector without its vfio handler yet is left alone and keeps the watch from settling; pinned once vfio requests it', async () => {
    const vf = join(fx.root, 'sys/devices/pci0000:80/0000:80:03.0/0000:81:02.1/msi_irqs');
    const rounds: WatchRound[] = [];
    let stage = 0;
    const report = await watchPlan(irqPlan(), {
      paths,
      stateDir,
      untilMs: farDeadline(),
      intervalMs: 20,
      settleMs: 100,
      onRound(r) {
        rounds.push(r);
        if (stage === 0 && r.n === 2) {
          // The vector is allocated (sysfs, /proc/irq/N) but nobody has requested it yet.
          mkdirSync(vf, { recursive: true });
          writeFileSync(join(vf, '140'), 'msix\n');
          mkdirSync(join(fx.root, 'proc/irq/140'));
          writeFileSync(join(fx.root, 'proc/irq/140/smp_affinity_list'), '0-15\n');
          stage = 1;
        } else if (stage === 1 && r.n === 20) {
          // vfio requests it: the handler appears in /proc/interrupts and as a directory under /proc/irq/N.
          appendFileSync(join(fx.root, 'proc/interrupts'), ` 140:${'          0 '.repeat(16)} PCI-MSIX-0000:81:02.1 0-edge vfio-msix[0](0000:81:02.1)\n`);
          mkdirSync(join(fx.root, 'proc/irq/140/vfio-msix[0](0000:81:02.1)'));
          stage = 2;
        }
      },
    });
    const early = rounds.find((r) => r.report?.results.some((x) => x.key === 'irq:140'))?.report;
    expect(early?.results.find((x) => x.key === 'irq:140')).toMatchObject({ status: 'not-owned', message: expect.stringMatching(/no handler/) });
    expect(report.ended).toBe('settled');
    expect(stage).toBe(2); // it did not settle while the vector had no handler (20 polls of 20 ms > settleMs)
    expect(list(140)).toBe('10-11\n');
  });

  it('a device that never gets a vector keeps the watch up to its deadline', async () => {
    const report = await watchPlan(irqPlan(), { paths, stateDir, untilMs: Date.now() + 200, intervalMs: 20, settleMs: 50 });
    expect(report).toMatchObject({ ok: true, ended: 'deadline', applies: 1, changed: 8 });
    expect(report.last?.binding.devices.find((d) => d.address === '0000:81:02.1')?.irqs).toEqual([]);
  });

  it('without a deadline it runs until the QEMU process is gone, leaving what it applied recorded', async () => {
    const report = await watchPlan(irqPlan(), {
      paths,
      stateDir,
      intervalMs: 20,
      onRound(r) {
        if (r.n === 3) rmSync(join(fx.root, 'proc/4242'), { recursive: true }); // QEMU exits
      },
    });
    expect(report).toMatchObject({ ok: true, ended: 'process-exited', pid: 4242, applies: 1 });
    expect(readStateFile(join(stateDir, 'gpu-vm.json'))?.entries).toHaveLength(8);
    expect(list(120)).toBe('2-3\n');
  });

  it('a watch with neither a deadline nor a process to outlive is refused before anything is changed', async () => {
    rmSync(join(fx.root, 'run/libvirt/qemu/gpu-vm.pid'));
    await expect(watchPlan(irqPlan(), { paths, stateDir, intervalMs: 20 })).rejects.toMatchObject({ code: 'WATCH_NO_PROCESS' });
    expect(list(120)).toBe('0-15\n');
    expect(readStateFile(join(stateDir, 'gpu-vm.json'))).toBeUndefined();
  });

  it('an aborted watch stops between rounds', async () => {
    const stop = new AbortController();
    const report = await watchPlan(irqPlan(), { paths, stateDir, intervalMs: 20, signal: stop.signal, onRound: (r) => r.n === 2 && stop.abort() });
    expect(report).toMatchObject({ ok: true, ended: 'aborted', rounds: 2, applies: 1 });
    expect(readStateFile(join(stateDir, 'gpu-vm.json'))?.phase).toBe('applied');
  });
});

describeWith(['qemu'], 'a real QEMU', () => {
  it('binds a thread QEMU creates while watched, and ends when QEMU exits', async () => {
    const qemu = await startQemu();
    const work = mkdtempSync(join(tmpdir(), 'vp-watch-'));
    let stopping: Promise<void> | undefined;
    try {
      const p = plan(
        {
          domain: { name: 'vm' },
          vcpus: [0, 1, 2, 3].map((id) => ({ id, online: true, cpus: id < 2 ? '0' : '1', source: 'vcpupin' })),
          iothreads: [{ id: 1, cpus: '1', source: 'iothreadpin' }],
          emulator: { cpus: '0', source: 'emulatorpin' },
        },
        { onlineCpus: '0-1' },
      );
      const seenNewThread: number[] = [];
      let added = false;
      const report = await watchPlan(p, {
        paths: { proc: '/proc', sys: '/sys', run: work },
        pid: qemu.pid,
        stateDir: work,
        intervalMs: 20,
        onRound(r) {
          if (r.n === 1 && !added) {
            added = true;
            // A new IOThread the plan does not name: emulator-class, so it gets the emulator's CPUs.
            void qmpExecute(qemu.qmp, 'object-add', { 'qom-type': 'iothread', id: 'iothread2' });
          }
          const t = r.report?.binding.targets.find((x) => x.comm === 'IO iothread2');
          if (r.applied && t?.tid && !seenNewThread.length) {
            seenNewThread.push(t.tid);
            expect(t.actionId).toBe('emulator');
            expect(cpusAllowed(qemu.pid, t.tid).toString()).toBe('0');
            stopping ??= qemu.stop();
          }
          if (r.n === 1000 && !seenNewThread.length) stopping ??= qemu.stop(); // give up; the assertions below say why
        },
      });
      expect(report).toMatchObject({ ok: true, ended: 'process-exited', pid: qemu.pid });
      expect(seenNewThread).toHaveLength(1);
      expect(report.applies).toBeGreaterThanOrEqual(2);
      const state = readStateFile(join(work, 'vm.json'));
      expect(state).toMatchObject({ pid: qemu.pid, phase: 'applied' });
      // The process is gone: restore has nothing to write and says so.
      const back = await restore('vm', { paths: { proc: '/proc', sys: '/sys', run: work }, stateDir: work });
      expect(back.ok).toBe(true);
      expect(back.results.every((x) => x.status === 'gone')).toBe(true);
    } finally {
      await (stopping ?? qemu.stop());
      rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
