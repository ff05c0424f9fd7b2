/**
 * One sentence per thread answering "why may this thread run there?":
 * `vCPU 3 → 8-11 from <vcpu cpuset='8-11'> at line 12, because vCPU 3 has no <vcpupin>.`
 */
import { VirtPinError } from '../errors.js';
import type { ResolvedModel, ResolvedThread } from './types.js';

/** `vcpu N`, `emulator`, `iothread N` (case-insensitive; the space is optional). */
export type ExplainTarget = string;

/** One sentence on why a thread (`vcpu 3`, `emulator`, `iothread 1`) may run where it may; throws RESOLVE_BAD_TARGET / RESOLVE_UNKNOWN_THREAD. */
export function explain(resolved: ResolvedModel, target: ExplainTarget): string {
  const t = target.trim().toLowerCase();
  let m: RegExpExecArray | null;
  if ((m = /^vcpu\s*(\d+)$/.exec(t))) {
    const id = Number(m[1]);
    const v = resolved.vcpus.find((x) => x.id === id);
    if (!v) throw unknown(target, `the domain has vCPUs 0-${resolved.maxVcpus - 1}`);
    const who = `vCPU ${id}${v.online ? '' : ' (offline; on hot-plug)'}`;
    return sentence(who, v, `<vcpupin vcpu='${id}' cpuset='${cpusText(v)}'>`);
  }
  if (t === 'emulator') return sentence('the emulator', resolved.emulator, `<emulatorpin cpuset='${cpusText(resolved.emulator)}'>`);
  if ((m = /^iothread\s*(\d+)$/.exec(t))) {
    const id = Number(m[1]);
    const io = resolved.iothreads.find((x) => x.id === id);
    if (!io) {
      const ids = resolved.iothreads.map((x) => x.id).join(', ');
      throw unknown(target, ids ? `the domain's IOThread ids are ${ids}` : 'the domain has no IOThreads');
    }
    return sentence(`IOThread ${id}`, io, `<iothreadpin iothread='${id}' cpuset='${cpusText(io)}'>`);
  }
  throw new VirtPinError('RESOLVE_BAD_TARGET', `cannot explain '${target}'`, { hint: "name a thread: 'vcpu N', 'emulator' or 'iothread N'" });
}

function unknown(target: string, hint: string): VirtPinError {
  return new VirtPinError('RESOLVE_UNKNOWN_THREAD', `there is no thread '${target}' in this domain`, { hint });
}

function cpusText(t: ResolvedThread): string {
  return typeof t.cpus === 'string' ? t.cpus : t.cpus.toString();
}

function sentence(who: string, t: ResolvedThread, ownPin: string): string {
  const cpus = cpusText(t);
  const at = t.provenance.element ? ` at line ${t.provenance.element.line}` : '';
  let origin: string;
  switch (t.source) {
    case 'vcpupin':
    case 'emulatorpin':
    case 'iothreadpin':
      origin = `${cpus} from ${ownPin}${at}`;
      break;
    case 'vcpu-cpuset':
      origin = `${cpus} from <vcpu cpuset='${cpus}'>${at}`;
      break;
    case 'numad':
      origin = `${cpus === 'numad' ? 'the CPUs of the numad-advised nodes' : `${cpus} (the CPUs of the numad-advised nodes)`} from ${t.provenance.element ? `${elementName(t.provenance.element.path)}${at}` : 'numad advice'}`;
      break;
    case 'all':
      origin = cpus === 'all' ? 'all host CPUs' : `${cpus} (all host CPUs)`;
      break;
  }
  return `${who} → ${origin}, because ${t.provenance.because}.`;
}

function elementName(path: string): string {
  const last = path.split('/').pop() ?? path;
  return `<${last.replace(/\[\d+\]$/, '')}>`;
}
