/**
 * `virt-pin show` over several domains (files, directories, or `--connect
 * URI --all|NAME…`): one map of the host with every domain on it.
 */
import { statSync, writeFileSync } from 'node:fs';
import { isVirtPinError } from '../errors.js';
import { crossDomainFindings, domainStatus, hostDomainFromText, type DomainStatus } from '../hostview/index.js';
import { defaultLibvirtUri } from '../apply/libvirt-live.js';
import { LIVE_PATHS } from '../apply/paths.js';
import { join } from 'node:path';
import { observeDomain, sourcesFromLibvirt } from './status/collect.js';
import { readDomainInput, withInputErrors } from './domain-input.js';
import { loadHostMemory } from './host-domains.js';
import { describeHostSource, loadHost } from './host-option.js';
import { buildHostMap, buildLiveHostMap, renderHostMapHtml, renderHostMapSvg, renderHostMapText } from './hostview-map.js';
import { expandInputs, IoError } from './io.js';
import { readLibvirtDomains } from './libvirt-domains.js';
import { EXIT_OK, UsageError } from './usage.js';

export interface ShowManyOptions {
  host: string;
  /** Draw what runs (status facts) instead of the definitions. */
  live?: boolean;
  connect?: string;
  all?: boolean;
  svg?: string;
  html?: string;
  color: boolean;
  /** The libvirt release whose rules resolve the definitions (--libvirt). */
  libvirtVersion?: string;
}

/** Several inputs, a directory, or libvirt: the multi-domain map applies. */
export function wantsManyDomains(positionals: readonly string[], connect: string | undefined): boolean {
  if (connect !== undefined || positionals.length > 1) return true;
  try {
    return positionals.length === 1 && positionals[0] !== '-' && statSync(positionals[0]!).isDirectory();
  } catch {
    return false;
  }
}

export async function showMany(positionals: readonly string[], o: ShowManyOptions): Promise<number> {
  if (o.live) return showLive(positionals, o, loadHost(o.host)!);
  if (o.all && o.connect === undefined) throw new UsageError('--all reads domains from libvirt: give --connect URI too');
  if (o.connect !== undefined && !o.all && positionals.length === 0) throw new UsageError('--connect needs --all or domain names');
  const host = loadHost(o.host)!;
  let inputs: { file: string; text: string }[];
  if (o.connect !== undefined) {
    try {
      inputs = (await readLibvirtDomains({ uri: o.connect, inactive: true, ...(o.all ? { all: 'defined' as const } : { names: positionals }) })).map((d) => ({ file: d.name, text: d.text }));
    } catch (e) {
      if (isVirtPinError(e)) throw new IoError(`${e.code} ${e.message}`);
      throw e;
    }
  } else inputs = expandInputs(positionals).map(({ path }) => ({ file: path, text: readDomainInput(path).text }));
  const memory = loadHostMemory(o.host, host);
  // A file that is not domain XML stops the command with its parser error, as single-domain show does.
  const domains = inputs.map((i) => withInputErrors(i.file, () => hostDomainFromText(i.text, { fileName: i.file, host, ...(o.libvirtVersion ? { libvirtVersion: o.libvirtVersion } : {}), ...(memory?.defaultHugepageKiB ? { defaultHugepageKiB: memory.defaultHugepageKiB } : {}) })));
  const findings = crossDomainFindings(domains, memory ? { memory } : {});
  const map = buildHostMap(host, domains, findings);
  const hostName = describeHostSource(o.host);
  process.stdout.write(renderHostMapText(map, hostName, o.color));
  const write = (path: string, text: string): void => {
    try {
      writeFileSync(path, text);
    } catch (e) {
      throw new IoError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  if (o.svg !== undefined) write(o.svg, renderHostMapSvg(map, hostName));
  if (o.html !== undefined) write(o.html, renderHostMapHtml(map, hostName, findings));
  return EXIT_OK;
}

/** show --live: the running domains' threads where the kernel lets them run now, and where they ran last. */
async function showLive(names: readonly string[], o: ShowManyOptions, host: ReturnType<typeof loadHost> & object): Promise<number> {
  const uri = o.connect ?? defaultLibvirtUri();
  const statuses: DomainStatus[] = [];
  try {
    const sources = await sourcesFromLibvirt(uri, names.length ? names : undefined, 10_000);
    for (const s of sources) statuses.push(domainStatus((await observeDomain(s, { paths: { ...LIVE_PATHS }, host, uri, ...(o.libvirtVersion ? { libvirtVersion: o.libvirtVersion } : {}), stateDir: join(LIVE_PATHS.run, 'virt-pin'), timeoutMs: 10_000 })).input));
  } catch (e) {
    if (isVirtPinError(e)) throw new IoError(`${e.code} ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    throw e;
  }
  const map = buildLiveHostMap(host, statuses);
  const hostName = describeHostSource(o.host);
  process.stdout.write(renderHostMapText(map, hostName, o.color));
  const write = (path: string, text: string): void => {
    try {
      writeFileSync(path, text);
    } catch (e) {
      throw new IoError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  if (o.svg !== undefined) write(o.svg, renderHostMapSvg(map, hostName));
  if (o.html !== undefined) write(o.html, renderHostMapHtml(map, hostName, []));
  return EXIT_OK;
}
