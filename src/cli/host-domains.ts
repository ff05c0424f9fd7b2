/**
 * The CLI side of the host view: host memory facts for `--host`, and the
 * cross-domain findings of several inputs as check diagnostics.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isVirtPinError } from '../errors.js';
import type { HostTopology } from '../host/index.js';
import { crossDomainFindings, hostDomainFromText, hugepagesFromCapabilities, type CrossFinding, type HostDomain, type HostMemoryFacts } from '../hostview/index.js';
import type { Diagnostic } from '../validate/index.js';

/** Node memory from the topology, hugepage pools from the same `--host` source. */
export function loadHostMemory(spec: string | undefined, host: HostTopology | undefined): HostMemoryFacts | undefined {
  if (!spec || !host) return undefined;
  let pools: HostMemoryFacts['nodes'] = [];
  let defaultHugepageKiB: number | undefined;
  if (spec === 'local' || spec === 'sysfs' || spec.startsWith('sysfs:')) {
    const root = spec === 'local' || spec === 'sysfs' ? '/' : spec.slice('sysfs:'.length) || '/';
    pools = host.nodes.map((n) => ({ id: n.id, hugepages: sysfsPools(join(root, 'sys/devices/system/node', `node${n.id}`, 'hugepages')) }));
    const meminfo = readSmall(join(root, 'proc/meminfo'));
    const m = meminfo ? /^Hugepagesize:\s+(\d+)\s+kB/m.exec(meminfo) : null;
    if (m) defaultHugepageKiB = Number(m[1]);
  } else {
    const text = readSmall(spec);
    if (text) pools = hugepagesFromCapabilities(text);
  }
  return {
    nodes: host.nodes.map((n) => ({ id: n.id, ...(n.memoryKiB !== undefined ? { memoryKiB: n.memoryKiB } : {}), hugepages: pools.find((p) => p.id === n.id)?.hugepages ?? [] })),
    ...(defaultHugepageKiB ? { defaultHugepageKiB } : {}),
  };
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').slice(0, 1 << 22);
  } catch {
    return undefined;
  }
}

/** `hugepages-2048kB/nr_hugepages` → { sizeKiB: 2048, count }. Missing directories mean no pools. */
function sysfsPools(dir: string): { sizeKiB: number; count: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { sizeKiB: number; count: number }[] = [];
  for (const name of names) {
    const m = /^hugepages-(\d{1,12})kB$/.exec(name);
    const count = m ? Number(readSmall(join(dir, name, 'nr_hugepages'))?.trim()) : NaN;
    if (m && Number.isSafeInteger(count)) out.push({ sizeKiB: Number(m[1]), count });
  }
  return out.sort((a, b) => a.sizeKiB - b.sizeKiB);
}

export interface HostInput {
  /** File name (or `libvirt:NAME`). */
  file: string;
  text: string;
}

/** Domains that parse; the others already have their XML error as a check diagnostic. */
export function hostDomains(inputs: readonly HostInput[], host: HostTopology | undefined, memory: HostMemoryFacts | undefined, libvirtVersion?: string): HostDomain[] {
  const out: HostDomain[] = [];
  for (const input of inputs) {
    try {
      out.push(hostDomainFromText(input.text, { fileName: input.file, ...(libvirtVersion ? { libvirtVersion } : {}), ...(host ? { host } : {}), ...(memory?.defaultHugepageKiB ? { defaultHugepageKiB: memory.defaultHugepageKiB } : {}) }));
    } catch (e) {
      if (!isVirtPinError(e)) throw e;
    }
  }
  return out;
}

export function findingToDiagnostic(f: CrossFinding): Diagnostic {
  return {
    code: f.code,
    severity: f.severity,
    message: f.message,
    line: f.at.line,
    column: f.at.column,
    ...(f.hint ? { hint: f.hint } : {}),
    spec: 'host',
    rule: f.code,
    ...(f.at.path ? { path: f.at.path } : {}),
    related: f.related.map((r) => ({ file: r.file, line: r.line, column: r.column, ...(r.path ? { path: r.path } : {}), message: r.message })),
  };
}

/** Cross-domain findings as diagnostics, keyed by the file each is reported in. */
export function crossDiagnostics(domains: readonly HostDomain[], options: { overcommitThreshold?: number; memory?: HostMemoryFacts }): Map<string, Diagnostic[]> {
  const byFile = new Map<string, Diagnostic[]>();
  for (const f of crossDomainFindings(domains, options)) {
    const list = byFile.get(f.at.file) ?? [];
    list.push(findingToDiagnostic(f));
    byFile.set(f.at.file, list);
  }
  return byFile;
}
