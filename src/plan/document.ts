/**
 * Domain XML text → RuntimePlan: parse, resolve (src/resolve), read the
 * hostdevs and the IRQ policy in `<metadata>`, plan.
 */
import { definitionOf, readDomain, type LibvirtVersion } from '../domain/index.js';
import { resolve, toJSON, type HostFacts } from '../resolve/index.js';
import { parseDocument } from '../xml/index.js';
import { readIrqPolicy } from './irq-policy.js';
import { plan } from './plan.js';
import type { PlanDiagnostic, PlanHost, PlanHostdev, PlanOptions, RuntimePlan } from './types.js';

export interface PlanDocumentOptions {
  fileName?: string;
  /** Host facts; a `HostTopology` from src/host gives the PCI NUMA nodes `auto` needs. */
  host?: HostFacts & Pick<PlanHost, 'pciDevices' | 'pciDevice'>;
  irqOverrides?: PlanOptions['irqOverrides'];
  threads?: boolean;
  /** The libvirt whose behaviour to plan for (LIBVIRT_CHANGES: e.g. isolated CPUs in "all CPUs" from 10.4); default the newest modelled. */
  libvirtVersion?: string | LibvirtVersion;
}

/** Throws VirtPinError (XML_*) only when the text is not well-formed XML. */
export function planDocument(text: string, options: PlanDocumentOptions = {}): RuntimePlan {
  const doc = parseDocument(text, options.fileName !== undefined ? { fileName: options.fileName } : undefined);
  const model = readDomain(doc);
  const def = definitionOf(model, { driver: 'qemu', ...(options.libvirtVersion ? { libvirtVersion: options.libvirtVersion } : {}) });
  const resolved = toJSON(resolve(def, options.host, { model, ...(options.fileName !== undefined ? { file: options.fileName } : {}) }));
  const { policy, diagnostics: policyDiagnostics } = readIrqPolicy(doc);
  const hostdevs: PlanHostdev[] = [];
  const extra: PlanDiagnostic[] = [];
  for (const h of def.hostdevs) {
    if (h.type !== 'pci') continue;
    if (!h.pciAddress) {
      extra.push({
        code: 'IRQ_HOSTDEV_BAD_ADDRESS',
        severity: 'warning',
        message: `PCI ${h.via} without a usable source address; its IRQs are left alone`,
        line: h.from.loc.line,
        column: h.from.loc.column,
      });
      continue;
    }
    hostdevs.push({ address: h.pciAddress, via: h.via, element: { path: h.from.path, line: h.from.loc.line, column: h.from.loc.column } });
  }
  const out = plan(resolved, options.host, {
    hostdevs,
    irqPolicy: policy,
    ...(options.irqOverrides ? { irqOverrides: options.irqOverrides } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  out.diagnostics = [...policyDiagnostics, ...extra, ...out.diagnostics];
  return out;
}
