import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKernelCpuList, type CpuSet } from '../../src/cpuset/index.js';
import { NS, repoRoot } from '../plan/support.js';

export const FIXTURE = join(repoRoot, 'fixtures', 'passthrough-host');

/** A writable copy of the passthrough root, with the read-only modes git cannot keep and the "outside" targets of its hostile links. */
export function copyPassthroughHost(): { dir: string; root: string; outsideSentinel: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vp-host-'));
  const root = join(dir, 'root');
  cpSync(join(FIXTURE, 'root'), root, { recursive: true, verbatimSymlinks: true });
  for (const rel of readFileSync(join(FIXTURE, 'readonly.txt'), 'utf8').split('\n').filter(Boolean)) chmodSync(join(root, rel), 0o444);
  mkdirSync(join(dir, 'outside-dev', 'msi_irqs'), { recursive: true });
  writeFileSync(join(dir, 'outside-dev', 'msi_irqs', '120'), 'msix\n');
  writeFileSync(join(dir, 'outside-dev', 'irq'), '0\n');
  mkdirSync(join(dir, 'outside-irq'), { recursive: true });
  const outsideSentinel = join(dir, 'outside-irq', 'smp_affinity_list');
  writeFileSync(outsideSentinel, 'SENTINEL\n');
  return { dir, root, outsideSentinel, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every regular file under a directory with its content (to prove what changed). */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

export function cpusAllowed(pid: number, tid: number): CpuSet {
  const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no Cpus_allowed_list for ${tid}`);
  return parseKernelCpuList(m[1]);
}

export interface Qemu {
  pid: number;
  qmp: string;
  proc: ChildProcess;
  stop: () => Promise<void>;
}

/** A real QEMU (TCG, 4 vCPUs, IOThread iothread1, debug-threads=on, paused), ready when its vCPU threads are named. */
export async function startQemu(): Promise<Qemu> {
  const bin = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].find((p) => existsSync(p));
  if (!bin) throw new Error('qemu-system-x86_64 is not installed (apt-get install qemu-system-x86); these tests need a real QEMU');
  const dir = mkdtempSync(join(tmpdir(), 'vp-qemu-'));
  const qmp = join(dir, 'qmp.sock');
  const proc = spawn(bin, ['-accel', 'tcg', '-smp', '4', '-m', '64', '-object', 'iothread,id=iothread1', '-name', 'vm,debug-threads=on', '-display', 'none', '-nodefaults', '-S', '-qmp', `unix:${qmp},server=on,wait=off`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c) => (stderr += String(c)));
  const pid = proc.pid;
  if (!pid) throw new Error('qemu did not start');
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`qemu exited: ${stderr}`);
    try {
      const comms = readdirSync(`/proc/${pid}/task`).map((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8'));
      if (comms.filter((c) => c.startsWith('CPU ')).length === 4 && comms.some((c) => c.startsWith('IO iothread1')) && existsSync(qmp)) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`qemu threads did not appear: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async (): Promise<void> => {
    // A QEMU killed by a signal has signalCode set and exitCode still null: it is gone, don't wait for it.
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { pid, qmp, proc, stop };
}

/** One QMP command on a fresh connection (the monitor takes one client at a time); its `return`, or a rejection. */
export function qmpExecute(socket: string, execute: string, args?: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socket);
    let buf = '';
    let sent = 0;
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`QMP ${execute}: no answer`))), 5000);
    sock.on('error', (e) => (clearTimeout(timer), reject(e)));
    sock.on('data', (chunk) => {
      buf += String(chunk);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        if ('event' in msg) continue;
        if ('error' in msg) return clearTimeout(timer), sock.destroy(), reject(new Error(`QMP ${execute}: ${JSON.stringify(msg.error)}`));
        if (sent === 0) sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        else if (sent === 1) sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
        else return clearTimeout(timer), sock.end(), resolve(msg.return);
        sent++;
      }
    });
  });
}

/** A small domain: two vCPU pins, one PCI hostdev at BUS (slot 0, function 0), an IRQ policy for it. */
/** (issue 14's reproductions) */
export function dom(name: string, bus: string, policy: string): string {
  const esc = name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');
  return `<domain type='kvm'>
  <name>${esc}</name>
  <metadata><vp:irq xmlns:vp='${NS}' affinity='${policy}'/></metadata>
  <memory unit='GiB'>1</memory>
  <vcpu placement='static'>2</vcpu>
  <cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='0'/></cputune>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='${bus}' slot='0x00' function='0x0'/></source></hostdev>
  </devices>
</domain>`;
}
