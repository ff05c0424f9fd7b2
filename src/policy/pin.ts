/**
 * Pin with verification: refuse a domain with errors, plan the placement,
 * write it, then resolve the written XML back and insist it gives exactly
 * the planned masks and passes check. `virt-pin pin` and `define --pin`
 * are this function plus file handling.
 */
import { CpuSet } from '../cpuset/index.js';
import { definitionOf, readDomain, toLibvirtVersion, type DomainModel, type LibvirtVersion } from '../domain/index.js';
import { VirtPinError } from '../errors.js';
import type { HostTopology } from '../host/index.js';
import { resolve, type ResolvedModel } from '../resolve/index.js';
import { checkDocument, firstError } from '../validate/index.js';
import { parseDocument, serializeDocument, type XmlDocument } from '../xml/index.js';
import { unifiedDiff } from './diff.js';
import { planPlacement } from './planner.js';
import type { PinPlacement, PinPolicy, PlannerGuest } from './types.js';
import { writePlacement } from './write.js';

export interface PinDomainOptions {
  /** Names the input in error locations and in the diff header. Default `domain.xml`. */
  fileName?: string;
  /** The libvirt whose rules judge the input and the result (LIBVIRT_CHANGES); default the newest modelled. */
  libvirtVersion?: string | LibvirtVersion;
}

export interface PinDomainResult {
  /** The pinned domain XML: the input with only the affinity elements changed. */
  text: string;
  /** A unified diff from the input to `text` (empty when nothing changed). */
  diff: string;
  /** The pinned domain as libvirt's parser reads it. */
  model: DomainModel;
  /** The pinned domain resolved on `host`: where every thread may now run. */
  resolved: ResolvedModel;
  /** The planner's decisions, with `explanation` lines. */
  placement: PinPlacement;
}

/**
 * Pin one domain for a host. Throws a VirtPinError: `PIN_INPUT_INVALID`
 * when the input has errors libvirt would refuse (located at the first),
 * the planner's codes when the policy cannot be met on this host, and
 * `PIN_RESULT_INVALID` (a bug) when the written XML does not resolve to the
 * plan.
 */
export function pinDomain(text: string, host: HostTopology, policy: PinPolicy = {}, options: PinDomainOptions = {}): PinDomainResult {
  const fileName = options.fileName ?? 'domain.xml';
  const libvirtVersion = toLibvirtVersion(options.libvirtVersion);
  const version = libvirtVersion ? { libvirtVersion } : {};
  const doc = parseDocument(text, { fileName });
  const before = checkDocument(text, { fileName, ...version }).filter((d) => d.severity === 'error');
  if (before.length) {
    const first = firstError(before)!;
    throw new VirtPinError('PIN_INPUT_INVALID', `the domain has ${before.length} error${before.length === 1 ? '' : 's'} libvirt would refuse; first: ${first.code} ${first.message}`, {
      location: { line: first.line, column: first.column, offset: 0 },
      hint: 'run virt-pin check and fix them first',
    });
  }
  const placement = planPlacement(guestOf(doc, libvirtVersion), host, policy);
  writePlacement(doc, placement);
  const out = serializeDocument(doc);
  // The planner shares on purpose when asked, for real-time layouts, or when the guest took every CPU (--reserve none).
  const guestCpus = placement.vcpuPins.reduce((a, b) => a.union(b), CpuSet.empty());
  const { model, resolved } = verify(out, placement, host, policy.realtime !== undefined || policy.emulator === 'share' || placement.emulator.isSubsetOf(guestCpus), libvirtVersion);
  return { text: out, diff: unifiedDiff(text, out, fileName, `${fileName} (pinned)`), model, resolved, placement };
}

/** The guest shape the planner needs, from the domain as libvirt reads it. */
export function guestOf(doc: XmlDocument, libvirtVersion?: LibvirtVersion): PlannerGuest {
  const model = readDomain(doc);
  const def = definitionOf(model, { driver: 'qemu', ...(libvirtVersion ? { libvirtVersion } : {}) });
  const memText = doc.root.element('memory');
  const unit = memText?.attr('unit') ?? 'KiB';
  const scale: Record<string, number> = { KiB: 1, k: 1, KB: 1000 / 1024, MiB: 1024, M: 1024, MB: 1e6 / 1024, GiB: 1024 ** 2, G: 1024 ** 2, GB: 1e9 / 1024, b: 1 / 1024, bytes: 1 / 1024 };
  const memoryKiB = memText && /^\s*\d+\s*$/.test(memText.text()) ? Math.round(Number(memText.text()) * (scale[unit] ?? 1)) : undefined;
  return {
    vcpus: def.maxVcpus,
    threadsPerCore: model.cpu?.topology?.threads?.value ?? 1,
    ...(model.cpu?.topology ? { topologyDeclared: true } : {}),
    iothreadIds: def.iothreads.map((t) => t.id),
    hostdevs: def.hostdevs.flatMap((h) => (h.pciAddress ? [h.pciAddress] : [])),
    ...(memoryKiB !== undefined ? { memoryKiB } : {}),
  };
}

/** Resolve the written XML back and insist it gives exactly the planned masks and no errors. */
function verify(out: string, placement: PinPlacement, host: HostTopology, emulatorMayShare: boolean, libvirtVersion: LibvirtVersion | undefined): { model: DomainModel; resolved: ResolvedModel } {
  const version = libvirtVersion ? { libvirtVersion } : {};
  const diagnostics = checkDocument(out, { host, ...version });
  // Asked for: 'share' floats the emulator over the vCPUs' CPUs; realtime puts it beside vCPU 0 (kvm-realtime layout).
  const errors = diagnostics.filter((d) => d.severity === 'error' || d.code === 'PIN_SHARED_SINGLE_CPU' || (!emulatorMayShare && d.code === 'EMULATOR_ON_DEDICATED_CPU'));
  if (errors.length) throw new VirtPinError('PIN_RESULT_INVALID', `internal: the pinned domain fails check: ${errors[0]!.code} ${errors[0]!.message}`);
  const doc = parseDocument(out);
  const model = readDomain(doc);
  const resolved = resolve(definitionOf(model, { driver: 'qemu', ...version }), host, { model });
  resolved.vcpus.forEach((v, i) => {
    if (v.cpus.toString() !== placement.vcpuPins[i]!.toString()) throw new VirtPinError('PIN_RESULT_INVALID', `internal: vCPU ${i} resolves to ${v.cpus} instead of ${placement.vcpuPins[i]}`);
  });
  if (resolved.emulator.cpus.toString() !== placement.emulator.toString()) throw new VirtPinError('PIN_RESULT_INVALID', `internal: the emulator resolves to ${resolved.emulator.cpus} instead of ${placement.emulator}`);
  return { model, resolved };
}
