/**
 * The libvirt version a command judges by: `--libvirt VERSION`, else the
 * local libvirt's (libvirtVersionOption), refused up front when virt-pin
 * does not model it (older than 8.0), so no command starts on a version the
 * library would refuse per file.
 */
import { toLibvirtVersion } from '../domain/index.js';
import { isVirtPinError } from '../errors.js';
import { libvirtVersionOption } from './libvirt-option.js';
import { UsageError } from './usage.js';

export function libvirtVersionArg(given: string | undefined): string | undefined {
  const version = libvirtVersionOption(given);
  if (version === undefined) return undefined;
  try {
    toLibvirtVersion(version);
  } catch (e) {
    if (!isVirtPinError(e)) throw e;
    const whose = given === undefined ? `the local libvirt (virsh --version) is ${version}: ` : '';
    throw new UsageError(`--libvirt: ${whose}${e.message}${e.hint ? `; ${e.hint}` : ''}`);
  }
  return version;
}
