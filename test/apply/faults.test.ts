/**
 * Faults (issue 9) and the per-domain lock. Each fault is provoked for real
 * where this machine allows it — a real QEMU killed or its IOThread deleted
 * between two writes, a vector directory removed from the captured host,
 * read-only and full tmpfs mounts under the state file, two concurrent
 * processes — and must leave the host restored or untouched with a clear
 * code. Gated on QEMU and root by test/support/components.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, AffinityWriteError, apply, defaultIo, irqAffinityIo, lockPath, pathsUnder, readStateFile, restore, type HostIo, type HostPaths } from '../../src/apply/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { plan, planDocument, type PlanInput, type RuntimePlan } from '../../src/plan/index.js';
import { assertPlanSchema, gpuVm, NS, PASSTHROUGH_ROOT, repoRoot } from '../plan/support.js';
import { copyPassthroughHost, cpusAllowed, qmpExecute, snapshotTree, startQemu, type Qemu } from './support.js';
import { describeWith } from '../support/components.js';

const host = hostFromSysfs(PASSTHROUGH_ROOT);
const IRQS = [120, 121, 122, 124, 130, 131, 132, 133];
const irqLists = (root: string) => IRQS.map((n) => readFileSync(join(root, `proc/irq/${n}/smp_affinity_list`), 'utf8'));
const allMasks = (pid: number) => new Map(readdirSync(`/proc/${pid}/task`).map((t) => [Number(t), cpusAllowed(pid, Number(t)).toString()]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** support.ts's stop() waits for an exit that already happened when QEMU was killed by a signal: clean up by hand then. */
async function stopQemu(q: Qemu): Promise<void> {
  if (q.proc.exitCode === null && q.proc.signalCode === null) await q.stop();
  else rmSync(dirname(q.qmp), { recursive: true, force: true });
}

/** IRQ actions only, on the captured passthrough host (no process needed). */
function irqPlan(): RuntimePlan {
  const p = planDocument(gpuVm(`    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`), { host, threads: false });
  assertPlanSchema(p);
  return p;
}

/** Threads of the real QEMU (TCG, 4 vCPUs, iothread1) plus the captured host's device IRQs. */
function mixedPlan(): RuntimePlan {
  const resolved: PlanInput = {
    domain: { name: 'vm' },
    vcpus: [0, 1, 2, 3].map((id) => ({ id, online: true, cpus: id < 2 ? '0' : '1', source: 'vcpupin' })),
    iothreads: [{ id: 1, cpus: '1', source: 'iothreadpin' }],
    emulator: { cpus: '0', source: 'emulatorpin' },
  };
  const p = plan(resolved, host, { hostdevs: ['0000:0a:00.0', '0000:0a:00.1', '0000:41:00.0'].map((address) => ({ address, via: 'hostdev' as const })), irqOverrides: { default: 'auto' } });
  assertPlanSchema(p);
  return p;
}

function mountTmpfs(dir: string, options: string): () => void {
  mkdirSync(dir, { recursive: true });
  // Needs root (CI runs as root); a failure here is a failure of the test, not a skip.
  // mode=0700: a tmpfs root is 1777 by default, and virt-pin refuses a state directory others can write (issue 14 item 4).
  execFileSync('mount', ['-t', 'tmpfs', '-o', `mode=0700,${options}`, 'tmpfs', dir]);
  return () => execFileSync('umount', [dir]);
}

async function until(what: string, ok: () => boolean, limitMs = 20_000): Promise<void> {
  for (const end = Date.now() + limitMs; !ok(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describeWith(['qemu', 'root'], 'faults during apply (issue 9)', () => {
  let fx: ReturnType<typeof copyPassthroughHost>;
  beforeAll(() => {
    fx = copyPassthroughHost();
  });
  afterAll(() => fx?.cleanup());
  const fresh = (): { root: string; paths: HostPaths; stateDir: string; cleanup: () => void } => {
    const f = copyPassthroughHost();
    return { root: f.root, paths: pathsUnder(f.root), stateDir: join(f.dir, 'state'), cleanup: f.cleanup };
  };
  const mixedPaths = (root: string, dir: string): HostPaths => ({ proc: '/proc', sys: join(root, 'sys'), run: join(dir, 'run'), irqProc: join(root, 'proc') });

  it('process gone mid-apply: QEMU killed between two thread writes → APPLY_PROCESS_GONE, nothing left behind', async () => {
    const qemu: Qemu = await startQemu();
    const f = fresh();
    try {
      const paths = mixedPaths(f.root, f.stateDir);
      const irqs0 = irqLists(f.root);
      const real = defaultIo(join(f.root, 'proc'));
      let writes = 0;
      const io: Partial<HostIo> = {
        writeThreadAffinity: async (tid, cpus) => {
          real.writeThreadAffinity(tid, cpus);
          if (++writes === 2) {
            const exited = new Promise((r) => qemu.proc.once('exit', r));
            qemu.proc.kill('SIGKILL');
            await exited;
          }
        },
      };
      const r = await apply(mixedPlan(), { paths, pid: qemu.pid, stateDir: f.stateDir, io });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('APPLY_PROCESS_GONE');
      expect(r.error?.message).toContain(`process ${qemu.pid} exited during apply`);
      expect(r.results.slice(0, 3).map((x) => x.status)).toEqual(['vanished', 'vanished', 'failed']);
      expect(r.results.slice(3).every((x) => x.status === 'not-reached')).toBe(true);
      expect(r.rollback).toEqual({ restored: 0, failed: [] });
      expect(irqLists(f.root)).toEqual(irqs0);
      expect(readStateFile(r.statePath)).toBeUndefined();
      expect(existsSync(lockPath(f.stateDir, 'vm'))).toBe(false);
    } finally {
      await stopQemu(qemu);
      f.cleanup();
    }
  });

  it('process gone mid-apply, then a later IRQ fails: the IRQs are rolled back, the dead threads are reported, not retried', async () => {
    const qemu: Qemu = await startQemu();
    const f = fresh();
    try {
      const paths = mixedPaths(f.root, f.stateDir);
      const irqs0 = irqLists(f.root);
      const real = irqAffinityIo(join(f.root, 'proc'));
      let irqWrites = 0;
      const io: Partial<HostIo> = {
        writeIrqAffinity: async (irq, cpus) => {
          irqWrites++;
          if (irqWrites === 4) throw new AffinityWriteError('ENOSPC', `write ${irq}: ENOSPC`);
          real.writeIrqAffinity(irq, cpus);
          if (irqWrites === 2) {
            const exited = new Promise((r) => qemu.proc.once('exit', r));
            qemu.proc.kill('SIGKILL');
            await exited;
          }
        },
      };
      const r = await apply(mixedPlan(), { paths, pid: qemu.pid, stateDir: f.stateDir, io });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('APPLY_IRQ_NO_VECTOR');
      expect(r.results.filter((x) => x.key.startsWith('thread:')).every((x) => x.status === 'vanished')).toBe(true);
      expect(r.results.filter((x) => x.key.startsWith('irq:')).map((x) => x.status).slice(0, 4)).toEqual(['rolled-back', 'rolled-back', 'rolled-back', 'failed']);
      expect(r.rollback).toEqual({ restored: 3, failed: [] });
      expect(irqLists(f.root)).toEqual(irqs0);
      expect(readStateFile(r.statePath)).toBeUndefined();
    } finally {
      await stopQemu(qemu);
      f.cleanup();
    }
  });

  it('thread gone: the IOThread is deleted (QMP object-del) just before its write → APPLY_THREAD_GONE, the vCPU changes rolled back', async () => {
    const qemu: Qemu = await startQemu();
    const f = fresh();
    try {
      const paths = mixedPaths(f.root, f.stateDir);
      const ioTid = Number(readdirSync(`/proc/${qemu.pid}/task`).find((t) => readFileSync(`/proc/${qemu.pid}/task/${t}/comm`, 'utf8').trim() === 'IO iothread1'));
      const masks0 = allMasks(qemu.pid);
      const irqs0 = irqLists(f.root);
      const real = defaultIo(join(f.root, 'proc'));
      const io: Partial<HostIo> = {
        writeThreadAffinity: async (tid, cpus) => {
          if (tid === ioTid) {
            await qmpExecute(qemu.qmp, 'object-del', { id: 'iothread1' });
            await until('the IOThread to exit', () => !existsSync(`/proc/${qemu.pid}/task/${ioTid}`));
          }
          real.writeThreadAffinity(tid, cpus);
        },
      };
      const r = await apply(mixedPlan(), { paths, pid: qemu.pid, stateDir: f.stateDir, io });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('APPLY_THREAD_GONE');
      expect(r.error?.message).toMatch(/^iothread1 \(IO iothread1, tid \d+\): the thread exited \(ESRCH\)/);
      expect(r.results.filter((x) => x.actionId.startsWith('vcpu')).map((x) => x.status)).toEqual(['rolled-back', 'rolled-back', 'rolled-back', 'rolled-back']);
      expect(r.rollback).toEqual({ restored: 4, failed: [] });
      masks0.delete(ioTid);
      expect(allMasks(qemu.pid)).toEqual(masks0);
      expect(irqLists(f.root)).toEqual(irqs0);
      expect(readStateFile(r.statePath)).toBeUndefined();
    } finally {
      await stopQemu(qemu);
      f.cleanup();
    }
  });

  it('IRQ disappears between discovery and write: skipped as vanished and kept out of the state file; --strict rolls back with APPLY_IRQ_GONE', async () => {
    const f = fresh();
    try {
      const real = irqAffinityIo(f.paths.proc);
      const vanishing = (irq: number): Partial<HostIo> => ({
        writeIrqAffinity: (n, cpus) => {
          if (n === irq) rmSync(join(f.root, 'proc/irq', String(n)), { recursive: true, force: true }); // the guest freed the vector
          real.writeIrqAffinity(n, cpus);
        },
      });
      const strict = await apply(irqPlan(), { paths: f.paths, stateDir: f.stateDir, io: vanishing(122), strict: true });
      expect(strict.ok).toBe(false);
      expect(strict.error?.code).toBe('APPLY_IRQ_GONE');
      expect(strict.results.filter((x) => x.status === 'rolled-back').map((x) => x.key)).toEqual(['irq:120', 'irq:121']);
      for (const n of [120, 121, 124, 130]) expect(readFileSync(join(f.root, `proc/irq/${n}/smp_affinity_list`), 'utf8')).toBe('0-15\n');
      expect(readStateFile(strict.statePath)).toBeUndefined();

      const r = await apply(irqPlan(), { paths: f.paths, stateDir: f.stateDir, io: vanishing(121) });
      expect(r.ok).toBe(true);
      expect(r.results.find((x) => x.key === 'irq:121')).toMatchObject({ status: 'vanished', message: expect.stringMatching(/disappeared before it was written/) });
      expect(r.results.filter((x) => x.status === 'changed').map((x) => x.key)).toEqual(['irq:120', 'irq:130', 'irq:131', 'irq:132', 'irq:133', 'irq:124']);
      expect(readStateFile(r.statePath)?.entries.map((e) => (e.kind === 'irq' ? e.irq : 0))).toEqual([120, 130, 131, 132, 133, 124]);
      const back = await restore('gpu-vm', { paths: f.paths, stateDir: f.stateDir });
      expect(back.ok).toBe(true);
      for (const n of [120, 124, 130, 131, 132, 133]) expect(readFileSync(join(f.root, `proc/irq/${n}/smp_affinity_list`), 'utf8')).toBe('0-15\n');
    } finally {
      f.cleanup();
    }
  });

  it('state file unwritable (read-only mount) → APPLY_STATE_UNWRITABLE, nothing changed', async () => {
    const f = fresh();
    const ro = join(f.stateDir, '..', 'ro');
    const unmount = mountTmpfs(ro, 'ro,size=64k');
    try {
      const before = snapshotTree(f.root);
      for (const stateDir of [ro, join(ro, 'virt-pin')]) {
        await expect(apply(irqPlan(), { paths: f.paths, stateDir })).rejects.toMatchObject({ code: 'APPLY_STATE_UNWRITABLE', message: expect.stringMatching(/EROFS.*nothing was changed/) });
      }
      expect(snapshotTree(f.root)).toEqual(before);
    } finally {
      unmount();
      f.cleanup();
    }
  });

  it('disk full (4 KiB tmpfs: the lock fits, the state file does not) → APPLY_STATE_UNWRITABLE (ENOSPC), nothing changed, no temp file left', async () => {
    const f = fresh();
    const full = join(f.stateDir, '..', 'full');
    const unmount = mountTmpfs(full, 'size=4k');
    try {
      const before = snapshotTree(f.root);
      await expect(apply(irqPlan(), { paths: f.paths, stateDir: full })).rejects.toMatchObject({ code: 'APPLY_STATE_UNWRITABLE', message: expect.stringContaining('ENOSPC') });
      expect(snapshotTree(f.root)).toEqual(before);
      expect(readdirSync(full)).toEqual([]);
    } finally {
      unmount();
      f.cleanup();
    }
  });

  it('disk full only for the final state write (8 KiB tmpfs) → applied with a warning; the applying-phase file still restores', async () => {
    const f = fresh();
    const full = join(f.stateDir, '..', 'full');
    const unmount = mountTmpfs(full, 'size=8k');
    try {
      const r = await apply(irqPlan(), { paths: f.paths, stateDir: full });
      expect(r.ok).toBe(true);
      expect(r.warnings.join('\n')).toMatch(/ENOSPC; the file still records every original setting \(phase 'applying'\), so restore works/);
      expect(readStateFile(r.statePath)).toMatchObject({ phase: 'applying' });
      expect(readFileSync(join(f.root, 'proc/irq/130/smp_affinity_list'), 'utf8')).toBe('10-11\n');
      expect(readdirSync(full)).toEqual(['gpu-vm.json']);
      const back = await restore('gpu-vm', { paths: f.paths, stateDir: full });
      expect(back.ok).toBe(true);
      expect(irqLists(f.root).every((l) => l === '0-15\n')).toBe(true);
      expect(readdirSync(full)).toEqual([]);
    } finally {
      unmount();
      f.cleanup();
    }
  });

  it('state file corrupt → restore refuses with APPLY_STATE_INVALID and changes nothing; apply refuses to merge into it', async () => {
    const f = fresh();
    try {
      const r = await apply(irqPlan(), { paths: f.paths, stateDir: f.stateDir });
      expect(r.ok).toBe(true);
      const text = readFileSync(r.statePath, 'utf8');
      for (const corrupt of [
        text.slice(0, text.length >> 1), // torn write from another tool
        text.replace('"before": "0-15"', '"before": "0-15; rm -rf /"'),
        JSON.stringify({ ...JSON.parse(text), entries: [{ kind: 'cgroup', path: 'cpuset/../../../etc', version: 1, before: '0', after: '0-1' }] }),
      ]) {
        writeFileSync(r.statePath, corrupt);
        const before = snapshotTree(f.root);
        await expect(restore('gpu-vm', { paths: f.paths, stateDir: f.stateDir })).rejects.toMatchObject({ code: 'APPLY_STATE_INVALID' });
        expect(snapshotTree(f.root)).toEqual(before);
        expect(readFileSync(r.statePath, 'utf8')).toBe(corrupt);
        expect(existsSync(lockPath(f.stateDir, 'gpu-vm'))).toBe(false);
      }
      const g = fresh();
      try {
        mkdirSync(g.stateDir, { recursive: true });
        writeFileSync(join(g.stateDir, 'gpu-vm.json'), '{"kind":"virt-pin-state"');
        const before = snapshotTree(g.root);
        await expect(apply(irqPlan(), { paths: g.paths, stateDir: g.stateDir })).rejects.toMatchObject({ code: 'APPLY_STATE_INVALID' });
        expect(snapshotTree(g.root)).toEqual(before);
      } finally {
        g.cleanup();
      }
    } finally {
      f.cleanup();
    }
  });
});

// ---------------------------------------------------------------- the lock

describe('one apply or restore per domain at a time (NAME.lock)', () => {
  let bundleDir: string;
  beforeAll(async () => {
    // The child processes run the applier from a bundle of the current sources (dist/ may be stale or mid-build).
    bundleDir = mkdtempSync(join(tmpdir(), 'vp-lock-'));
    const esbuild = await import('esbuild');
    await esbuild.build({
      stdin: { contents: `export { apply, restore } from './src/apply/apply.ts';\nexport { irqAffinityIo } from './src/apply/io.ts';\n`, resolveDir: repoRoot, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: join(bundleDir, 'applier.mjs'),
      logLevel: 'silent',
    });
    writeFileSync(
      join(bundleDir, 'child.mjs'),
      `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { apply, irqAffinityIo, restore } from './applier.mjs';
const a = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const real = irqAffinityIo(a.paths.proc);
let n = 0;
// Hold the lock in the middle of the apply: before write number holdAt, say so and wait for the go file.
const io = a.holdAt ? { async writeIrqAffinity(irq, cpus) { if (++n === a.holdAt) { writeFileSync(a.marker, String(process.pid)); while (!existsSync(a.go)) await sleep(20); } real.writeIrqAffinity(irq, cpus); } } : undefined;
try {
  const r = a.restore ? await restore(a.name, { paths: a.paths, stateDir: a.stateDir }) : await apply(a.plan, { paths: a.paths, stateDir: a.stateDir, ...(io ? { io } : {}) });
  process.stdout.write(JSON.stringify({ ok: r.ok, changed: r.changed }));
} catch (e) {
  process.stdout.write(JSON.stringify({ thrown: { code: e.code, message: e.message } }));
}
`,
    );
  });
  afterAll(() => {
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  function runChild(args: Record<string, unknown>): { pid: number; done: Promise<{ code: number | null; out: Record<string, unknown> }>; kill: () => void } {
    const file = join(bundleDir, `args-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(args));
    const child = spawn(process.execPath, [join(bundleDir, 'child.mjs'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.stderr.on('data', (c) => (err += String(c)));
    const done = new Promise<{ code: number | null; out: Record<string, unknown> }>((resolve, reject) =>
      child.once('exit', (code, signal) => {
        if (signal) return resolve({ code: null, out: {} });
        try {
          resolve({ code, out: JSON.parse(out) as Record<string, unknown> });
        } catch {
          reject(new Error(`child printed '${out}' / '${err}'`));
        }
      }),
    );
    return { pid: child.pid as number, done, kill: () => child.kill('SIGKILL') };
  }

  it('two processes: a second apply and a restore get APPLY_LOCKED naming the holder; once it is done both work', async () => {
    const f = copyPassthroughHost();
    try {
      const paths = pathsUnder(f.root);
      const stateDir = join(f.dir, 'state');
      const marker = join(f.dir, 'holding');
      const go = join(f.dir, 'go');
      const common = { paths, stateDir, plan: irqPlan(), name: 'gpu-vm' };
      const holder = runChild({ ...common, holdAt: 3, marker, go });
      await until('the first apply to hold the lock', () => existsSync(marker) && readFileSync(marker, 'utf8') !== ''); // created, then written: wait for the pid
      expect(readFileSync(marker, 'utf8')).toBe(String(holder.pid));
      expect(JSON.parse(readFileSync(lockPath(stateDir, 'gpu-vm'), 'utf8'))).toMatchObject({ pid: holder.pid });

      const second = await runChild(common).done;
      expect(second.out.thrown).toMatchObject({ code: 'APPLY_LOCKED', message: expect.stringContaining(`pid ${holder.pid}`) });
      const restoring = await runChild({ ...common, restore: true }).done;
      expect(restoring.out.thrown).toMatchObject({ code: 'APPLY_LOCKED', message: expect.stringContaining(`pid ${holder.pid}`) });
      // Nothing the refused processes did is visible: the holder's first two writes only.
      expect(irqLists(f.root).filter((l) => l !== '0-15\n')).toEqual(['2-3\n', '2-3\n']);

      writeFileSync(go, '');
      expect((await holder.done).out).toEqual({ ok: true, changed: 8 });
      expect(existsSync(lockPath(stateDir, 'gpu-vm'))).toBe(false);
      expect((await runChild(common).done).out).toEqual({ ok: true, changed: 0 });
      expect((await runChild({ ...common, restore: true }).done).out).toMatchObject({ ok: true });
      expect(irqLists(f.root).every((l) => l === '0-15\n')).toBe(true);
    } finally {
      f.cleanup();
    }
  });

  it('the lock of a killed process is stale: restore takes it over and finishes the interrupted apply', async () => {
    const f = copyPassthroughHost();
    try {
      const paths = pathsUnder(f.root);
      const stateDir = join(f.dir, 'state');
      const marker = join(f.dir, 'holding');
      const holder = runChild({ paths, stateDir, plan: irqPlan(), name: 'gpu-vm', holdAt: 3, marker, go: join(f.dir, 'never') });
      await until('the apply to hold the lock', () => existsSync(marker) && readFileSync(marker, 'utf8') !== ''); // created, then written: wait for the pid
      holder.kill();
      await holder.done;
      expect(JSON.parse(readFileSync(lockPath(stateDir, 'gpu-vm'), 'utf8'))).toMatchObject({ pid: holder.pid });
      expect(readStateFile(join(stateDir, 'gpu-vm.json'))).toMatchObject({ phase: 'applying' });
      const back = await restore('gpu-vm', { paths, stateDir });
      expect(back.ok).toBe(true);
      expect(back.results.filter((x) => x.status === 'restored').map((x) => x.key)).toEqual(['irq:121', 'irq:120']);
      expect(irqLists(f.root).every((l) => l === '0-15\n')).toBe(true);
      expect(readdirSync(stateDir)).toEqual([]);
    } finally {
      f.cleanup();
    }
  });

  it('in one process: a held lock refuses apply; a foreign lock file is APPLY_LOCK_INVALID; release removes only our own lock', async () => {
    const f = copyPassthroughHost();
    try {
      const paths = pathsUnder(f.root);
      const stateDir = join(f.dir, 'state');
      const path = lockPath(stateDir, 'gpu-vm');
      const held = acquireLock(path);
      await expect(apply(irqPlan(), { paths, stateDir })).rejects.toMatchObject({ code: 'APPLY_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
      // Someone replaces the lock file: our release must not delete theirs.
      writeFileSync(path, JSON.stringify({ pid: 1, startTime: 'x', nonce: 'theirs', since: 'now' }));
      held.release();
      expect(existsSync(path)).toBe(true);
      writeFileSync(path, 'not a lock\n');
      const before = snapshotTree(f.root);
      await expect(apply(irqPlan(), { paths, stateDir })).rejects.toMatchObject({ code: 'APPLY_LOCK_INVALID' });
      expect(snapshotTree(f.root)).toEqual(before);
      rmSync(path);
      expect((await apply(irqPlan(), { paths, stateDir })).ok).toBe(true);
      expect(readdirSync(stateDir)).toEqual(['gpu-vm.json']);
    } finally {
      f.cleanup();
    }
  });
});
