/**
 * virt-pin's IRQ policy in a domain's `<metadata>` (docs/irq-policy.md).
 *
 *   <metadata>
 *     <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' affinity='auto'/>              (document default)
 *     <vp:irq xmlns:vp='https://virt-pin.dev/xmlns/irq/1' hostdev='0000:01:00.0' affinity='2-3'/>
 *   </metadata>
 *
 * or, for `virsh metadata --uri` (one element per namespace), the same
 * `irq` elements inside one `<vp:irqs>` container. Elements are matched by
 * namespace URI, never by prefix. libvirt keeps foreign metadata verbatim.
 */
import { tryParseCpuSet } from '../cpuset/index.js';
import type { XmlDocument, XmlElement } from '../xml/index.js';
import type { IrqPolicySet, PlanDiagnostic } from './types.js';

/** The XML namespace of virt-pin's IRQ policy elements inside `<metadata>`. */
export const IRQ_POLICY_NAMESPACE = 'https://virt-pin.dev/xmlns/irq/1';

/** `DDDD:BB:SS.F` as sysfs names PCI devices (slot ≤ 0x1f, function ≤ 7). Case-insensitive; normalise with toLowerCase. */
export const PCI_ADDRESS_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$/;

export function isPciAddress(text: string): boolean {
  return PCI_ADDRESS_RE.test(text);
}

/** Checks one affinity value; returns a message when it is not `auto`, `native` or a valid cpuset. */
export function checkAffinitySetting(value: string): { ok: true } | { ok: false; message: string } {
  if (value === 'auto' || value === 'native') return { ok: true };
  const r = tryParseCpuSet(value);
  if (!r.ok) return { ok: false, message: `affinity '${value}' is neither auto, native nor a cpuset: ${r.message}` };
  if (r.set.isEmpty()) return { ok: false, message: `affinity '${value}' is an empty cpuset` };
  return { ok: true };
}

function pointer(e: XmlElement): { path: string; line: number; column: number } {
  const parts: string[] = [];
  for (let cur: XmlElement | undefined = e; cur; cur = cur.parent) {
    const parent = cur.parent;
    if (!parent) parts.push(cur.name);
    else {
      const same = parent.elements(cur.name);
      parts.push(same.length > 1 ? `${cur.name}[${same.indexOf(cur) + 1}]` : cur.name);
    }
  }
  return { path: '/' + parts.reverse().join('/'), line: e.location?.line ?? 0, column: e.location?.column ?? 0 };
}

export interface IrqPolicyReadResult {
  policy: IrqPolicySet;
  diagnostics: PlanDiagnostic[];
}

/**
 * Read the IRQ policy elements of a domain document. Problems become
 * diagnostics (IRQ_POLICY_*); a bad entry is left out of the policy.
 */
export function readIrqPolicy(doc: XmlDocument): IrqPolicyReadResult {
  const policy: IrqPolicySet = { devices: [] };
  const diagnostics: PlanDiagnostic[] = [];
  const diag = (code: string, severity: PlanDiagnostic['severity'], message: string, e: XmlElement, attr?: string, hint?: string): void => {
    const loc = (attr ? e.attrLocation(attr) : undefined) ?? e.location;
    diagnostics.push({ code, severity, message, line: loc?.line ?? 0, column: loc?.column ?? 0, ...(hint ? { hint } : {}) });
  };
  const metadata = doc.root.elements('metadata');
  const entries: XmlElement[] = [];
  for (const md of metadata) {
    for (const child of md.elements()) {
      if (child.namespaceURI() !== IRQ_POLICY_NAMESPACE) continue;
      if (child.localName === 'irq') entries.push(child);
      else if (child.localName === 'irqs') {
        for (const inner of child.elements()) {
          if (inner.namespaceURI() === IRQ_POLICY_NAMESPACE && inner.localName === 'irq') entries.push(inner);
          else diag('IRQ_POLICY_UNKNOWN_ELEMENT', 'warning', `<${inner.name}> inside <${child.name}> is not a virt-pin IRQ element; ignored`, inner);
        }
      } else diag('IRQ_POLICY_UNKNOWN_ELEMENT', 'warning', `<${child.name}> is not a virt-pin IRQ element; ignored`, child, undefined, "use <irq> or <irqs>");
    }
  }
  const seen = new Map<string, XmlElement>();
  for (const e of entries) {
    for (const a of e.attributes) {
      if (a.name !== 'hostdev' && a.name !== 'affinity' && !a.name.startsWith('xmlns')) {
        diag('IRQ_POLICY_UNKNOWN_ATTRIBUTE', 'warning', `attribute '${a.name}' of <${e.name}> is not understood; ignored`, e, a.name);
      }
    }
    const affinity = e.attr('affinity');
    if (affinity === undefined) {
      diag('IRQ_POLICY_MISSING_AFFINITY', 'error', `<${e.name}> needs an affinity attribute (auto, native or a cpuset)`, e);
      continue;
    }
    const check = checkAffinitySetting(affinity.trim());
    if (!check.ok) {
      diag('IRQ_POLICY_BAD_CPUSET', 'error', check.message, e, 'affinity', "write 'auto', 'native' or a libvirt cpuset such as '2-5,^3'");
      continue;
    }
    const hostdev = e.attr('hostdev');
    const key = hostdev === undefined ? '(default)' : hostdev.toLowerCase();
    if (hostdev !== undefined && !isPciAddress(hostdev)) {
      diag('IRQ_POLICY_BAD_ADDRESS', 'error', `hostdev '${hostdev}' is not a PCI address of the form DDDD:BB:SS.F`, e, 'hostdev', 'for example 0000:01:00.0');
      continue;
    }
    const first = seen.get(key);
    if (first) {
      diag(
        'IRQ_POLICY_DUPLICATE',
        'error',
        hostdev === undefined ? 'a second document-wide IRQ default; only one is allowed' : `a second IRQ policy for ${key} (first at line ${first.location?.line ?? 0})`,
        e,
      );
      continue;
    }
    seen.set(key, e);
    if (hostdev === undefined) policy.default = { affinity: affinity.trim(), element: pointer(e) };
    else policy.devices.push({ address: key, affinity: affinity.trim(), element: pointer(e) });
  }
  return { policy, diagnostics };
}
