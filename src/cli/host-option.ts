/**
 * `--host caps.xml | sysfs[:ROOT] | local`: where host facts come from.
 */
import { readFileSync } from 'node:fs';
import { isVirtPinError } from '../errors.js';
import { hostFromCapabilities, hostFromSysfs, type HostTopology } from '../host/index.js';
import { IoError } from './io.js';
import { UsageError } from './usage.js';

/**
 * Host facts for `--host SPEC`. A host source that cannot be used (no such
 * sysfs tree, a capabilities file the parser refuses) is the environment,
 * not the domain: an IoError, which main prints as one line and exit 2.
 */
export function loadHost(spec: string | undefined): HostTopology | undefined {
  if (spec === undefined) return undefined;
  try {
    return readHost(spec);
  } catch (e) {
    if (isVirtPinError(e)) throw new IoError(`cannot use --host ${spec}: error ${e.code} ${e.message}`);
    throw e;
  }
}

function readHost(spec: string): HostTopology {
  if (spec === '') throw new UsageError('--host needs a value: a capabilities XML file, sysfs[:ROOT] or local');
  if (spec === 'local') return hostFromSysfs('/');
  if (spec === 'sysfs' || spec.startsWith('sysfs:')) {
    const root = spec === 'sysfs' ? '/' : spec.slice('sysfs:'.length);
    return hostFromSysfs(root || '/');
  }
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (e) {
    throw new IoError(`cannot read host capabilities ${spec}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return hostFromCapabilities(text, { fileName: spec });
}

/** A short name for the host source, used in titles: `vfio-desktop (sysfs)`, `caps.xml`, `this host`. */
export function describeHostSource(spec: string): string {
  if (spec === 'local' || spec === 'sysfs') return 'this host';
  if (spec.startsWith('sysfs:')) {
    const root = spec.slice('sysfs:'.length).replace(/\/+$/, '');
    return `${root.split('/').pop() || root} (sysfs)`;
  }
  return spec.split('/').pop() ?? spec;
}
