/**
 * `--connect URI --all | NAME…`: domains read from libvirt with virsh, for
 * the commands that take domain XML. Read-only, every virsh run bounded in
 * time so a wedged libvirtd cannot hang the command.
 */
import { firstError, quoteArg, runVirsh, virshOf } from '../apply/libvirt-live.js';
import { VirtPinError } from '../errors.js';

export interface LibvirtDomainText {
  /** Shown where a file name would be: `libvirt:NAME`. */
  name: string;
  domain: string;
  text: string;
}

export interface LibvirtReadOptions {
  uri?: string;
  /** `--inactive`: the persistent definition rather than the live XML. */
  inactive?: boolean;
  /** `--all`: every defined domain; `running`: only the running ones. */
  all?: 'defined' | 'running';
  names?: readonly string[];
  timeoutMs?: number;
}

/** Names of the domains libvirt has: all defined ones, or only those running. */
export async function listDomainNames(options: { uri?: string; running?: boolean; timeoutMs?: number }): Promise<string[]> {
  const v = virshOf({ ...(options.uri !== undefined ? { uri: options.uri } : {}), timeoutMs: options.timeoutMs ?? 15_000 });
  const run = await runVirsh(v, options.running ? 'list --name' : 'list --all --name');
  if (run.status !== 0) throw new VirtPinError('LIVE_VIRSH_FAILED', `virsh list failed: ${firstError(run.stderr)}`);
  return run.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

/** The XML of each named domain (or of all), one virsh run per domain. */
export async function readLibvirtDomains(options: LibvirtReadOptions): Promise<LibvirtDomainText[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const v = virshOf({ ...(options.uri !== undefined ? { uri: options.uri } : {}), timeoutMs });
  const names = options.all ? await listDomainNames({ ...(options.uri !== undefined ? { uri: options.uri } : {}), running: options.all === 'running', timeoutMs }) : [...(options.names ?? [])];
  const out: LibvirtDomainText[] = [];
  for (const domain of names) {
    const run = await runVirsh(v, `dumpxml --domain ${quoteArg(domain)}${options.inactive ? ' --inactive' : ''}`);
    if (run.status !== 0 || !run.stdout.trim()) {
      const why = firstError(run.stderr);
      if (/failed to get domain|domain not found|no domain with matching/i.test(why)) throw new VirtPinError('LIVE_DOMAIN_NOT_FOUND', `libvirt at ${v.uri} has no domain '${domain}' (virsh: ${why})`, { hint: 'check the name with virsh list --all' });
      throw new VirtPinError('LIVE_VIRSH_FAILED', `virsh dumpxml ${domain} failed: ${why || 'no output'}`);
    }
    out.push({ name: `libvirt:${domain}`, domain, text: run.stdout });
  }
  return out;
}
