/**
 * `--libvirt VERSION`: which libvirt's behaviour to check for (docs/fidelity.md,
 * LIBVIRT_CHANGES). Without it, the libvirt installed here decides — the
 * client's `virsh --version`, else `libvirtd --version` — and with neither,
 * the newest modelled.
 */
import { spawnSync } from 'node:child_process';
import { formatLibvirtVersion, parseLibvirtVersion } from '../domain/index.js';
import { isVirtPinError } from '../errors.js';
import { UsageError } from './usage.js';

export function libvirtVersionOption(given: string | undefined): string | undefined {
  if (given !== undefined) {
    try {
      return formatLibvirtVersion(parseLibvirtVersion(given));
    } catch (e) {
      if (isVirtPinError(e)) throw new UsageError(`--libvirt: ${e.message}`);
      throw e;
    }
  }
  return localLibvirtVersion();
}

/** The local libvirt's version, or undefined when neither virsh nor libvirtd answers (in at most 3 s each). */
export function localLibvirtVersion(): string | undefined {
  for (const command of ['virsh', 'libvirtd']) {
    const r = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status !== 0 || typeof r.stdout !== 'string') continue;
    try {
      return formatLibvirtVersion(parseLibvirtVersion(r.stdout.trim()));
    } catch {
      /* not a version: try the next source */
    }
  }
  return undefined;
}
