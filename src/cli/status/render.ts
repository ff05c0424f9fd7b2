/**
 * `virt-pin status` output: a human table (drift rows first), JSON
 * (schemas/status.schema.json) and the Prometheus text exposition format
 * for node_exporter's textfile collector (docs/host-view.md).
 */
import { DRIFT_CAUSES, type CrossFinding, type DomainStatus } from '../../hostview/index.js';

export interface StatusReport {
  schemaVersion: 1;
  kind: 'virt-pin-status';
  generatedAt: string;
  intervalSeconds: number;
  drift: boolean;
  domains: DomainStatus[];
  /** Threads (and device IRQs) intended on each host CPU, by kind. */
  claims: { cpu: number; kind: string; count: number }[];
  /** Cross-domain findings over the definitions of the domains shown. */
  conflicts: { code: string; severity: string; message: string; domains: string[] }[];
  errors: { domain: string; code: string; message: string }[];
}

export function reportConflicts(findings: readonly CrossFinding[]): StatusReport['conflicts'] {
  return findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message, domains: f.domains }));
}

export function renderJson(r: StatusReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const SHORT_CAUSE: Record<string, string> = {
  'libvirt-live': 'changed live (virsh … --live)',
  taskset: 'changed outside libvirt (taskset)',
  hotplug: 'vCPU hot-plugged after start',
  'apply-state': 'virt-pin apply never restored',
  irqbalance: 'irqbalance moved it',
  'irq-write': 'smp_affinity_list rewritten',
  unknown: 'differs (cause unknown)',
};

/**
 * Names and comms come from libvirt and /proc: a control character in one
 * (an escape sequence in a domain name) must not reach the terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function table(rows: string[][], indent = '  '): string[] {
  rows = rows.map((r) => r.map(printable));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function renderHuman(r: StatusReport, color: boolean): string {
  const paint = (code: string, s: string): string => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const out: string[] = [];
  for (const d of r.domains) {
    out.push(`${paint('1', printable(d.name))} (pid ${d.pid}): ${d.drift ? paint('31;1', 'DRIFT') : paint('32', 'as intended')}`);
    const rows = [['TID', 'THREAD', 'KIND', 'INTENDED', 'LIBVIRT', 'KERNEL', 'LAST', 'CPU%', 'DRIFT']];
    for (const t of d.threads) {
      rows.push([
        String(t.tid),
        t.target === 'emulator' ? `emulator:${t.comm}` : t.target,
        t.kind,
        t.intended ?? '-',
        t.libvirt ?? '-',
        t.actual ?? '-',
        t.lastCpu === undefined ? '-' : String(t.lastCpu),
        t.cpuPercent === undefined ? '-' : t.cpuPercent.toFixed(1),
        t.drift ? `yes: ${SHORT_CAUSE[t.cause ?? 'unknown']}` : t.note ? `no (${t.note})` : 'no',
      ]);
    }
    const lines = table(rows);
    out.push(paint('2', lines[0]!));
    d.threads.forEach((t, i) => out.push(t.drift ? paint('31', lines[i + 1]!) : lines[i + 1]!));
    if (d.irqs.length) {
      const irqRows = [['DEVICE', 'IRQ', 'POLICY', 'INTENDED', 'SMP AFFINITY', 'EFFECTIVE', 'IRQBALANCE', 'DRIFT']];
      for (const q of d.irqs) {
        irqRows.push([q.device, String(q.irq), q.policy, q.intended ?? '-', q.actual ?? '-', q.effective ?? '-', q.irqbalance ? 'managed' : 'no', q.drift ? `yes: ${SHORT_CAUSE[q.cause ?? 'unknown']}` : q.note ? `no (${q.note})` : 'no']);
      }
      const il = table(irqRows);
      out.push(paint('2', il[0]!));
      d.irqs.forEach((q, i) => out.push(q.drift ? paint('31', il[i + 1]!) : il[i + 1]!));
    }
    for (const n of d.notes) out.push(`  note: ${printable(n)}`);
    const causes = new Set([...d.threads, ...d.irqs].flatMap((x) => (x.drift && x.cause ? [x.cause] : [])));
    for (const c of causes) out.push(`  ${paint('31', SHORT_CAUSE[c]!)}: ${DRIFT_CAUSES[c]}`);
    out.push('');
  }
  for (const c of r.conflicts) out.push(`${paint(c.severity === 'warning' ? '33;1' : '36', c.severity)} ${c.code} ${printable(c.message)}`);
  for (const e of r.errors) out.push(`${paint('31;1', 'error')} ${printable(e.domain)}: ${e.code} ${printable(e.message)}`);
  if (r.conflicts.length || r.errors.length) out.push('');
  return out.join('\n');
}

/** Label values escaped as the exposition format wants: backslash, double quote, newline. */
function label(v: string | number): string {
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** node_exporter textfile collector format (Prometheus text exposition 0.0.4). */
export function renderPrometheus(r: StatusReport): string {
  const out: string[] = [];
  const metric = (name: string, help: string, type: 'gauge', samples: { labels: Record<string, string | number>; value: number }[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${label(v)}`).join(',');
      out.push(`${name}${labels ? `{${labels}}` : ''} ${s.value}`);
    }
  };
  const threadName = (t: DomainStatus['threads'][number]): string => (t.target !== 'emulator' ? t.target : t.kind === 'main' ? 'main' : `${t.kind}-${t.tid}`);
  metric(
    'virt_pin_thread_drift',
    "1 when a QEMU thread's CPU mask differs from what the domain definition intends.",
    'gauge',
    r.domains.flatMap((d) => d.threads.filter((t) => t.kind !== 'kvm-nx').map((t) => ({ labels: { domain: d.name, thread: threadName(t), kind: t.kind }, value: t.drift ? 1 : 0 }))),
  );
  metric(
    'virt_pin_thread_drift_cause',
    'Drifted threads by likely cause (1 per drifted thread).',
    'gauge',
    r.domains.flatMap((d) => d.threads.filter((t) => t.drift).map((t) => ({ labels: { domain: d.name, thread: threadName(t), cause: t.cause ?? 'unknown' }, value: 1 }))),
  );
  metric(
    'virt_pin_irq_drift',
    "1 when a passed-through device's IRQ affinity differs from virt-pin's IRQ policy.",
    'gauge',
    r.domains.flatMap((d) => d.irqs.map((q) => ({ labels: { domain: d.name, device: q.device, irq: q.irq }, value: q.drift ? 1 : 0 }))),
  );
  metric('virt_pin_domain_drift', '1 when any thread or IRQ of the domain drifted.', 'gauge', r.domains.map((d) => ({ labels: { domain: d.name }, value: d.drift ? 1 : 0 })));
  metric('virt_pin_cpu_claims', 'Threads (and device IRQ policies) of the domains shown that are meant to run on the host CPU, by kind.', 'gauge', r.claims.map((c) => ({ labels: { cpu: c.cpu, kind: c.kind }, value: c.count })));
  const byCode = new Map<string, number>();
  for (const c of r.conflicts) byCode.set(c.code, (byCode.get(c.code) ?? 0) + 1);
  metric('virt_pin_conflicts', 'Cross-domain findings (docs/host-view.md) over the definitions of the domains shown, by code.', 'gauge', [...byCode].sort().map(([code, n]) => ({ labels: { code }, value: n })));
  metric('virt_pin_status_errors', 'Domains whose status could not be read.', 'gauge', [{ labels: {}, value: r.errors.length }]);
  metric('virt_pin_status_timestamp_seconds', 'When this status was taken (Unix time).', 'gauge', [{ labels: {}, value: Math.floor(Date.parse(r.generatedAt) / 1000) }]);
  return out.join('\n') + '\n';
}
