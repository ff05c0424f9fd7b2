// The applier's cost, measured on real targets:
// - threads: a real QEMU (TCG, -smp 64, debug-threads=on, paused) whose 64
//   vCPU threads and emulator threads a plan pins across this host's CPUs;
//   full apply and restore per thread method, plus the bare per-thread cost
//   of each way to set a thread's affinity, on the same 64 vCPU threads;
// - IRQs: 256 MSI-X vectors of one vfio-pci device in a generated fake
//   /proc + /sys root (bench/fake-irq-host.mjs), planned with `auto`.
// Used by bench/run.mjs; `node bench/applier.mjs` prints the rows alone.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFakeIrqHost } from './fake-irq-host.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** A tmpfs directory when there is one: the hook keeps its state in /run, which is tmpfs. */
function scratchDir(prefix) {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, prefix));
}

// ---------------------------------------------------------------- QEMU

const VCPUS = 64;

/**
 * Start QEMU and wait until all its vCPU threads are named; `stop` always
 * kills it. Default: TCG on the `pc` machine with 64 vCPUs. QEMU 7.2's TCG
 * refuses APIC ids above 254 ("requires kernel irqchip and X2APIC API
 * support") and `pc` allows at most 255 vCPUs, so 256 vCPUs need
 * `{ machine: 'q35', accel: 'kvm' }`; paused (-S), the vCPUs run no guest
 * code under either accelerator.
 */
export async function startQemu(dir, { vcpus: count = VCPUS, machine = 'pc', accel = 'tcg' } = {}) {
  const bin = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));
  if (!bin) throw new Error('qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
  const qmp = join(dir, 'qmp.sock');
  const proc = spawn(bin, ['-machine', machine, '-accel', accel, '-smp', String(count), '-m', '256', '-name', 'bench-vm,debug-threads=on', '-display', 'none', '-nodefaults', '-S', '-qmp', `unix:${qmp},server=on,wait=off`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c) => (stderr += String(c)));
  // Killed on every way out of this process, not only on the normal path.
  const killNow = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  process.once('exit', killNow);
  const stop = async () => {
    process.removeListener('exit', killNow);
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  };
  try {
    const deadline = now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`qemu exited: ${stderr.trim()}`);
      const vcpus = vcpuThreads(proc.pid);
      if (vcpus.length === count && existsSync(qmp)) return { pid: proc.pid, stop, vcpus, qmp };
      if (now() > deadline) throw new Error(`qemu named ${vcpus.length} of ${count} vCPU threads in 60 s: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

/** vCPU thread ids in vCPU order (`CPU n/TCG`, `CPU n/KVM`). */
function vcpuThreads(pid) {
  const out = [];
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const m = /^CPU (\d+)\//.exec(readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8'));
      if (m) out[Number(m[1])] = Number(t);
    } catch {
      // exited meanwhile
    }
  }
  return out.filter((t) => t !== undefined);
}

/** N vCPUs alternating between the first two host CPUs, the emulator on the first: every write is a change from QEMU's inherited 0-N mask. */
export function manyVcpuDomain(cpuA, cpuB, count = VCPUS) {
  const pins = Array.from({ length: count }, (_, i) => `    <vcpupin vcpu='${i}' cpuset='${i % 2 ? cpuB : cpuA}'/>`).join('\n');
  return `<domain type='kvm'>\n  <name>bench-vm</name>\n  <memory unit='MiB'>256</memory>\n  <vcpu placement='static'>${count}</vcpu>\n  <cputune>\n${pins}\n    <emulatorpin cpuset='${cpuA}'/>\n  </cputune>\n  <os><type arch='x86_64'>hvm</type></os>\n</domain>\n`;
}

export function cpusAllowed(pid, tid) {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1];
}

/**
 * Thread rows. Returns { threads, host, rows[] } where each row is
 * { what, ms, perUs, note }.
 */
export async function threadRows(lib, { runs = 5 } = {}) {
  const host = lib.hostFromSysfs('/');
  const online = host.onlineCpus.ids();
  if (online.length < 2) throw new Error('the thread rows need at least two online CPUs (each write must be a real change)');
  const [cpuA, cpuB] = online;
  const all = host.onlineCpus;
  const dir = scratchDir('vp-bench-qemu-');
  const qemu = await startQemu(dir);
  const rows = [];
  try {
    if (!all.equals(lib.parseKernelCpuList(cpusAllowed(qemu.pid, qemu.pid)))) {
      throw new Error(`QEMU started with affinity ${cpusAllowed(qemu.pid, qemu.pid)}, not every online CPU (${all}); run the bench unrestricted`);
    }
    const plan = lib.planDocument(manyVcpuDomain(cpuA, cpuB), { fileName: 'bench-vm.xml', host });
    const errors = plan.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new Error(`the bench plan has errors: ${errors.map((d) => d.code).join(', ')}`);
    const stateDir = join(dir, 'state');
    let targets = 0;

    // Discovery alone (read /proc/PID/task/*/comm, bind the plan's actions to thread ids): part of every apply.
    const bindMs = [];
    for (let i = 0; i < Math.max(runs, 9); i++) {
      const t = now();
      await lib.bindPlan(plan, { pid: qemu.pid, domain: 'bench-vm' });
      bindMs.push(now() - t);
    }
    const bound = await lib.bindPlan(plan, { pid: qemu.pid, domain: 'bench-vm' });
    rows.push({ what: `discover: bind the plan to a ${VCPUS}-vCPU QEMU's ${bound.targets.length} threads (bindPlan)`, ms: median(bindMs), perUs: (median(bindMs) / bound.targets.length) * 1000, note: `median of ${bindMs.length}; reads only` });

    // Full apply + restore (discover threads, snapshot, state file, write, read back), per thread method.
    for (const method of ['ffi', 'taskset']) {
      const applyMs = [];
      const restoreMs = [];
      const n = method === 'taskset' ? Math.min(runs, 3) : Math.max(runs, 9);
      for (let i = 0; i < n; i++) {
        let t = now();
        const report = await lib.apply(plan, { pid: qemu.pid, domain: 'bench-vm', stateDir, threadMethod: method });
        applyMs.push(now() - t);
        if (!report.ok) throw new Error(`apply (${method}) failed: ${report.error?.code} ${report.error?.message}`);
        targets = report.results.length;
        if (report.changed !== targets) throw new Error(`apply (${method}) changed ${report.changed} of ${targets} threads: some were already in force, so the bench would not measure real writes`);
        const vcpu1 = cpusAllowed(qemu.pid, qemu.vcpus[1]);
        if (vcpu1 !== String(cpuB)) throw new Error(`after apply, vCPU 1 runs on ${vcpu1}, not ${cpuB}`);
        t = now();
        const back = await lib.restore('bench-vm', { stateDir, threadMethod: method });
        restoreMs.push(now() - t);
        if (!back.ok || back.results.length !== targets) throw new Error(`restore (${method}) did not put back all ${targets} threads`);
        if (cpusAllowed(qemu.pid, qemu.vcpus[1]) !== all.toString()) throw new Error(`after restore, vCPU 1 runs on ${cpusAllowed(qemu.pid, qemu.vcpus[1])}, not ${all}`);
      }
      const label = method === 'ffi' ? 'sched_setaffinity via koffi (default)' : 'taskset per thread (fallback)';
      rows.push({ what: `apply: ${targets} threads of a ${VCPUS}-vCPU QEMU, ${label}`, ms: median(applyMs), perUs: (median(applyMs) / targets) * 1000, note: `median of ${n}; discover + snapshot + state file + write + read back` });
      rows.push({ what: `restore: the same ${targets} threads, ${label}`, ms: median(restoreMs), perUs: (median(restoreMs) / targets) * 1000, note: `median of ${n}` });
    }

    // The bare mechanism on the same 64 vCPU threads: one affinity change per thread, nothing else.
    const a = lib.CpuSet.of(cpuA);
    const b = lib.CpuSet.of(cpuB);
    const maskFor = (i, round) => ((i + round) % 2 ? b : a);
    const reset = () => {
      for (const tid of qemu.vcpus) ffi.writeThreadAffinity(tid, all);
    };
    const ffi = lib.threadAffinityIo('ffi');
    if (lib.threadMethod('ffi') !== 'ffi') throw new Error('koffi did not load: the default thread method is unavailable here');
    const mechanism = (label, note, fn, n) => {
      const t = [];
      for (let round = 0; round < n; round++) {
        const s = now();
        fn(round);
        t.push(now() - s);
      }
      reset();
      const ms = median(t);
      rows.push({ what: `set ${VCPUS} vCPU threads' affinity: ${label}`, ms, perUs: (ms / VCPUS) * 1000, note });
    };
    mechanism('sched_setaffinity via koffi', 'what apply uses; in-process', (round) => qemu.vcpus.forEach((tid, i) => ffi.writeThreadAffinity(tid, maskFor(i, round))), Math.max(runs, 9));
    const taskset = lib.threadAffinityIo('taskset');
    mechanism('`taskset -pc` per thread', 'apply --thread-method taskset; one process spawn per thread', (round) => qemu.vcpus.forEach((tid, i) => taskset.writeThreadAffinity(tid, maskFor(i, round))), 3);
    mechanism('one sh script of 64 `taskset -pc` lines', 'what `virt-pin plan --format sh` prints; one sh, 64 tasksets', (round) => {
      const script = qemu.vcpus.map((tid, i) => `taskset -pc ${maskFor(i, round)} ${tid} >/dev/null`).join('\n');
      const r = spawnSync('sh', ['-e'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`sh: ${String(r.stderr)}`);
    }, 3);
    mechanism('`taskset -apc` (one call, whole process)', 'one mask for every thread: cannot express per-vCPU pins', (round) => {
      execFileSync('taskset', ['-apc', String(round % 2 ? b : a), String(qemu.pid)], { stdio: 'ignore' });
    }, 5);
    return { targets, vcpus: VCPUS, hostCpus: all.toString(), rows };
  } finally {
    await qemu.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- IRQs

const IRQ_COUNT = 256;

/**
 * IRQ rows on a generated fake root: plan (`auto`), apply and restore 256
 * MSI-X vectors. The files are ordinary tmpfs files, so this measures
 * virt-pin's own work (discovery, confinement, snapshot, state file, read
 * back), not the kernel's IRQ migration.
 */
export async function irqRows(lib, { runs = 5 } = {}) {
  const dir = scratchDir('vp-bench-irq-');
  try {
    const fake = writeFakeIrqHost(join(dir, 'root'), { vectors: IRQ_COUNT });
    const host = lib.hostFromSysfs(fake.root);
    const paths = lib.pathsUnder(fake.root);
    const stateDir = join(dir, 'state');
    const planMs = [];
    let plan;
    for (let i = 0; i < runs; i++) {
      const t = now();
      plan = lib.planDocument(fake.domainXml, { fileName: 'irq-vm.xml', host, threads: false });
      planMs.push(now() - t);
    }
    const action = plan.actions.find((a) => a.kind === 'irq-affinity');
    if (!action || action.policy !== 'auto' || action.cpus !== fake.expectedCpus) throw new Error(`the IRQ plan is not auto → ${fake.expectedCpus}: ${JSON.stringify(action)}`);
    const bindMs = [];
    for (let i = 0; i < runs; i++) {
      const t = now();
      await lib.bindPlan(plan, { domain: 'irq-vm', paths });
      bindMs.push(now() - t);
    }
    const applyMs = [];
    const restoreMs = [];
    for (let i = 0; i < runs; i++) {
      let t = now();
      const r = await lib.apply(plan, { domain: 'irq-vm', paths, stateDir });
      applyMs.push(now() - t);
      if (!r.ok || r.changed !== IRQ_COUNT) throw new Error(`IRQ apply changed ${r.changed} of ${IRQ_COUNT}: ${r.error?.code ?? ''} ${r.error?.message ?? ''}`);
      if (readFileSync(join(fake.root, 'proc', 'irq', String(fake.firstIrq), 'smp_affinity_list'), 'utf8') !== `${fake.expectedCpus}\n`) throw new Error('IRQ apply did not write smp_affinity_list');
      t = now();
      const back = await lib.restore('irq-vm', { paths, stateDir });
      restoreMs.push(now() - t);
      if (!back.ok || back.results.length !== IRQ_COUNT) throw new Error('IRQ restore did not put back every vector');
    }
    const note = `median of ${runs}; fake root on tmpfs (virt-pin's work, not the kernel's)`;
    return {
      irqs: IRQ_COUNT,
      rows: [
        { what: `plan: 1 vfio-pci device with ${IRQ_COUNT} MSI-X vectors, policy auto`, ms: median(planMs), perUs: NaN, note: `median of ${runs}` },
        { what: `discover: the device's ${IRQ_COUNT} IRQs (bindPlan: sysfs msi_irqs, /proc/interrupts)`, ms: median(bindMs), perUs: (median(bindMs) / IRQ_COUNT) * 1000, note: `median of ${runs}; reads only` },
        { what: `apply: ${IRQ_COUNT} IRQs (smp_affinity_list)`, ms: median(applyMs), perUs: (median(applyMs) / IRQ_COUNT) * 1000, note },
        { what: `restore: the same ${IRQ_COUNT} IRQs`, ms: median(restoreMs), perUs: (median(restoreMs) / IRQ_COUNT) * 1000, note },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lib = await import(new URL('../dist/index.js', import.meta.url).href);
  const t = await threadRows(lib);
  const i = await irqRows(lib);
  for (const r of [...t.rows, ...i.rows]) console.log(`${r.ms.toFixed(1).padStart(8)} ms ${Number.isNaN(r.perUs) ? '' : `${r.perUs.toFixed(0).padStart(6)} µs/target`}  ${r.what}`);
}
