/**
 * `pin --others SRC…`: the host CPUs other domains hold as dedicated (a
 * vCPU pinned alone to the CPU), the host-level claim Nova makes, so a new
 * guest is placed around them. SRC is a domain XML file, a directory of
 * them, or a libvirt URI (`qemu:///system`: every defined domain there).
 */
import { CpuSet } from '../cpuset/index.js';
import { isVirtPinError } from '../errors.js';
import type { HostTopology } from '../host/index.js';
import { dedicatedCpus, hostDomainFromText } from '../hostview/index.js';
import { expandInputs, IoError } from './io.js';
import { readDomainInput } from './domain-input.js';
import { readLibvirtDomains } from './libvirt-domains.js';

export interface OthersClaim {
  /** CPUs dedicated to other domains. */
  taken: CpuSet;
  /** CPU → the domains holding it. */
  holders: Map<number, string[]>;
}

export async function loadOthers(sources: readonly string[], host: HostTopology, selfName: string | undefined): Promise<OthersClaim> {
  const texts: { file: string; text: string }[] = [];
  for (const src of sources) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
      try {
        for (const d of await readLibvirtDomains({ uri: src, inactive: true, all: 'defined' })) texts.push({ file: d.name, text: d.text });
      } catch (e) {
        if (isVirtPinError(e)) throw new IoError(`--others ${src}: ${e.code} ${e.message}`);
        throw e;
      }
    } else for (const { path } of expandInputs([src])) texts.push({ file: path, text: readDomainInput(path).text });
  }
  const holders = new Map<number, string[]>();
  for (const { file, text } of texts) {
    let d;
    try {
      d = hostDomainFromText(text, { fileName: file, host });
    } catch (e) {
      if (isVirtPinError(e)) throw new IoError(`--others ${file}: not domain XML (${e.code} ${e.message})`);
      throw e;
    }
    // Re-pinning a guest must not avoid its own CPUs.
    if (selfName !== undefined && d.name === selfName) continue;
    for (const cpu of dedicatedCpus(d).keys()) holders.set(cpu, [...new Set([...(holders.get(cpu) ?? []), d.name])]);
  }
  return { taken: CpuSet.fromIds(holders.keys()), holders };
}

/** `alpha (2-3), bravo (4)`: who holds which of `cpus`. */
export function describeHolders(claim: OthersClaim, cpus: CpuSet = claim.taken): string {
  const byDomain = new Map<string, number[]>();
  for (const c of cpus) for (const name of claim.holders.get(c) ?? []) byDomain.set(name, [...(byDomain.get(name) ?? []), c]);
  return [...byDomain].map(([name, ids]) => `${name} (${CpuSet.fromIds(ids)})`).join(', ');
}
