/**
 * libvirt's test driver as an oracle (shared/spec/oracles.md §3): many
 * domains per `virsh -c test:///default` process (state lives in the
 * process), each framed by an `echo` marker so stdout and stderr (both
 * line-buffered through stdbuf) can be split per case.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface VirshCase {
  /** Domain name inside the XML (unique within a batch). */
  name: string;
  xml: string;
}

export interface VirshResult {
  defined: boolean;
  /** libvirt's error for a refused define. */
  error?: string;
  dumpxml?: string;
  /** `virsh vcpupin NAME`: vCPU id → CPU list as printed (CPUs ≥ 8 are not shown by the test driver). */
  vcpupin?: Map<number, string>;
  emulatorpin?: string;
  /** `virsh iothreadinfo NAME`: IOThread id → CPU list. */
  iothreads?: Map<number, string>;
}

/** Fails loudly when virsh is missing: these tests must never pass by skipping. */
export function requireVirsh(): string {
  const r = spawnSync('virsh', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error('virsh is not installed: .ci/run installs libvirt-clients (apt-get install libvirt-clients); the oracle tests need it');
  }
  return r.stdout.trim();
}

/**
 * Cases per virsh process: all of them would make a command line too long
 * for exec, and a batch of 400 (4,401 commands) once died of SIGABRT in
 * mid-batch under a loaded full run and passed alone; a crash of the oracle
 * itself then costs one short batch, run once more, not the suite.
 */
const CASES_PER_PROCESS = 100;

/** `uri`: another connection than the test driver (qemu:///system for libvirtd; run under the system lock). */
export function runVirshBatch(cases: readonly VirshCase[], options: { queries?: boolean; validate?: boolean; uri?: string } = {}): Map<string, VirshResult> {
  const dir = mkdtempSync(join(tmpdir(), 'virt-pin-oracle-'));
  try {
    const results = new Map<string, VirshResult>();
    for (let start = 0; start < cases.length; start += CASES_PER_PROCESS) {
      const chunk = cases.slice(start, start + CASES_PER_PROCESS);
      const commands: string[] = [];
      chunk.forEach((c, i) => {
        const file = join(dir, `${start + i}.xml`);
        writeFileSync(file, c.xml);
        commands.push(`echo @@CASE ${c.name}@@`, `define ${options.validate ? '--validate ' : ''}${file}`, 'echo @@XML@@', `dumpxml ${c.name}`);
        if (options.queries !== false) commands.push('echo @@VCPUPIN@@', `vcpupin ${c.name}`, 'echo @@EMU@@', `emulatorpin ${c.name}`, 'echo @@IO@@', `iothreadinfo ${c.name}`);
        commands.push(`undefine ${c.name}`);
      });
      commands.push('echo @@END@@');
      for (const [name, r] of parseBatch(runMerged(commands, options.uri ?? 'test:///default'), chunk)) results.set(name, r);
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One virsh process with all commands as one ';'-separated argument (reading
 * them from stdin would make virsh echo prompts). stdout and stderr are
 * merged in order (both line-buffered), so an error lands inside its case's
 * frame. A virsh that stops short of the last command (killed by a signal,
 * or exiting early) is run once more: every case of a batch defines and
 * undefines its own domain, so a second run gives the same answers; a
 * second failure throws, with virsh's status and signal.
 */
function runMerged(commands: string[], uri: string): string {
  let last = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const r = spawnSync('sh', ['-c', 'stdbuf -oL -eL virsh -q -c "$2" "$1" 2>&1', 'sh', commands.join('; '), uri], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, LC_ALL: 'C' },
    });
    if (r.error) throw r.error;
    if (r.stdout.includes('@@END@@')) return r.stdout;
    last = `exit status ${r.status ?? 'none'}, signal ${r.signal ?? 'none'}: ${r.stdout.slice(-500)}`;
    process.stderr.write(`oracle-virsh: virsh stopped short of a batch of ${commands.length} commands (attempt ${attempt} of 2; ${last.slice(0, 200)})\n`);
  }
  throw new Error(`virsh did not finish the batch twice (${commands.length} commands; ${last})`);
}

function parseBatch(out: string, cases: readonly VirshCase[]): Map<string, VirshResult> {
  const results = new Map<string, VirshResult>();
  const chunks = out.split(/@@CASE ([^@\s]+)@@/);
  for (let k = 1; k < chunks.length; k += 2) {
    const name = chunks[k]!;
    const body = chunks[k + 1]!.split('@@END@@')[0]!;
    const [defPart = '', rest = ''] = body.split('@@XML@@');
    const defineError = /error: (?!Failed to define)(.*)/.exec(defPart);
    if (/error: Failed to define/.test(defPart)) {
      results.set(name, { defined: false, error: defineError?.[1]?.trim() ?? defPart.trim() });
      continue;
    }
    const [xmlPart = '', afterXml = ''] = rest.split('@@VCPUPIN@@');
    const res: VirshResult = { defined: true, dumpxml: xmlPart.trim() };
    if (afterXml) {
      const [pinPart = '', afterPin = ''] = afterXml.split('@@EMU@@');
      const [emuPart = '', ioPart = ''] = afterPin.split('@@IO@@');
      res.vcpupin = table(pinPart);
      res.emulatorpin = emuPart.trim();
      res.iothreads = table(ioPart);
    }
    results.set(name, res);
  }
  for (const c of cases) if (!results.has(c.name)) throw new Error(`virsh output has no result for ${c.name}`);
  return results;
}

/** ` 0   0-1` lines → id → list (an empty list when the test driver prints nothing for CPUs ≥ 8). */
function table(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split('\n')) {
    const r = /^\s*(\d+)\s*(\S*)\s*$/.exec(line);
    if (r) m.set(Number(r[1]), r[2]!);
  }
  return m;
}
