/**
 * Three views of a plan: JSON (the data), a table for people, and a shell
 * script of `taskset` / `echo > /proc/irq/N/smp_affinity_list` lines for
 * people who want to read before running.
 */
import type { PlanAction, RuntimePlan, ThreadTarget } from './types.js';

/** The plan as JSON text (schemas/plan.schema.json). */
export function renderPlanJson(p: RuntimePlan): string {
  return JSON.stringify(p, null, 2) + '\n';
}

function targetText(a: PlanAction): string {
  if (a.kind === 'irq-affinity') return `IRQs of ${a.target.device}`;
  const t: ThreadTarget = a.target;
  return t.thread === 'vcpu' ? `vCPU ${t.id}` : t.thread === 'iothread' ? `IOThread ${t.id}` : 'emulator';
}

function valueText(a: PlanAction): string {
  if (a.kind === 'thread-sched') return a.priority !== undefined ? `${a.scheduler} ${a.priority}` : a.scheduler;
  return a.cpus;
}

/** Fixed-width table: ACTION, TARGET, SETTING, WHY; then devices left native and diagnostics. */
export function renderPlanTable(p: RuntimePlan): string {
  const rows: string[][] = [['ACTION', 'TARGET', 'SETTING', 'WHY']];
  for (const a of p.actions) {
    const kind = a.kind === 'thread-affinity' ? 'affinity' : a.kind === 'thread-sched' ? 'scheduler' : `irq ${a.policy}`;
    rows.push([kind, targetText(a), valueText(a), a.provenance.because]);
  }
  for (const d of p.devices) if (d.policy === 'native') rows.push(['irq native', `IRQs of ${d.address}`, '(unchanged)', `policy native (${d.policySource})`]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join('  ').trimEnd());
  const head = `Runtime plan for ${p.domain.name ?? '(unnamed domain)'} on host CPUs ${p.hostCpus || '(unknown)'}`;
  const diags = p.diagnostics.map((d) => `${d.severity}: ${d.code}: ${d.message}${d.line ? ` (line ${d.line})` : ''}`);
  return [head, '', ...lines, ...(diags.length ? ['', ...diags] : [])].join('\n') + '\n';
}

/** Concrete targets found on a live host (src/apply's binding satisfies it). */
export interface ShellBinding {
  pid: number;
  threads: readonly { tid: number; comm: string; actionId: string }[];
  irqs: readonly { irq: number; name?: string; actionId: string }[];
}

/**
 * One shell word for POSIX sh: bare when it is made only of characters no
 * shell treats specially (so `taskset -pc 2-3` stays readable), otherwise
 * single-quoted, where nothing is special but the quote itself.
 */
function q(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Text for a `#` comment: a comment ends at a newline, so a domain name or
 * thread name with one could start a command line in a script run as root.
 * Every control character (C0, DEL, C1) and the Unicode line and paragraph
 * separators become `\xNN`/`\uNNNN` escapes, so the comment stays one line
 * and the terminal that shows the script is not driven by it.
 */
function comment(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n > 0xff ? `\\u${n.toString(16).padStart(4, '0')}` : `\\x${n.toString(16).padStart(2, '0')}`;
  });
}

/** A number printed into the script: only ever decimal digits. */
function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a thread or IRQ number: ${n}`);
  return String(n);
}

/**
 * A POSIX shell script. With a binding (thread ids and IRQ numbers found on
 * the live host) it is one line per thread and IRQ; without, it finds them
 * itself from a QEMU pid given as $1, the same way src/apply does (thread
 * names from debug-threads=on, MSI vectors from sysfs).
 */
export function renderPlanShell(p: RuntimePlan, binding?: ShellBinding): string {
  // Everything that comes from the domain, the plan file or /proc is either quoted with q() or confined to a comment().
  const out: string[] = ['#!/bin/sh', `# virt-pin runtime plan for ${comment(p.domain.name ?? '(unnamed domain)')}; review before running (as root).`, 'set -e'];
  const sched = p.actions.filter((a) => a.kind === 'thread-sched');
  if (binding) {
    out.push(`# QEMU pid ${int(binding.pid)}`);
    for (const a of p.actions) {
      if (a.kind === 'thread-affinity') {
        for (const t of binding.threads.filter((x) => x.actionId === a.id)) out.push(`taskset -pc ${q(a.cpus)} ${int(t.tid)} >/dev/null  # ${comment(`${targetText(a)}: ${t.comm}`)}`);
      } else if (a.kind === 'irq-affinity') {
        for (const i of binding.irqs.filter((x) => x.actionId === a.id)) {
          out.push(`echo ${q(a.cpus)} > /proc/irq/${int(i.irq)}/smp_affinity_list  # ${comment(`${a.target.device}${i.name ? ` ${i.name}` : ''}`)}`);
        }
      }
    }
  } else {
    out.push('PID=${1:?usage: $0 QEMU_PID}', '', '# thread name (QEMU -name ...,debug-threads=on) -> plan action', 'for task in /proc/"$PID"/task/*; do', '  tid=${task##*/}', '  comm=$(cat "$task/comm")', '  case "$comm" in');
    let emulator: string | undefined;
    for (const a of p.actions) {
      if (a.kind !== 'thread-affinity') continue;
      const t = a.target;
      if (t.thread === 'vcpu') out.push(`    ${q(`CPU ${t.id}/`)}*) taskset -pc ${q(a.cpus)} "$tid" >/dev/null ;;`);
      else if (t.thread === 'iothread') out.push(`    ${q(`IO iothread${t.id}`)}) taskset -pc ${q(a.cpus)} "$tid" >/dev/null ;;`);
      else emulator = a.cpus;
    }
    if (emulator !== undefined) {
      out.push(`    *) [ "$tid" = "$PID" ] || taskset -pc ${q(emulator)} "$tid" >/dev/null ;;`);
      out.push('  esac', 'done', '# the main thread last, as libvirt does', `taskset -pc ${q(emulator)} "$PID" >/dev/null`);
    } else out.push('    *) ;;', '  esac', 'done');
    for (const a of p.actions) {
      if (a.kind !== 'irq-affinity') continue;
      const dev = q(`/sys/bus/pci/devices/${a.target.device}`);
      out.push('', `# ${comment(`${targetText(a)} (${a.policy})`)}`, `for irq in $(ls ${dev}/msi_irqs 2>/dev/null) $(cat ${dev}/irq); do`);
      out.push(`  [ "$irq" -gt 0 ] && [ -d /proc/irq/"$irq" ] && { echo ${q(a.cpus)} > /proc/irq/"$irq"/smp_affinity_list || echo "IRQ $irq: not movable (kernel-managed?)" >&2; }`, 'done');
    }
  }
  if (sched.length) out.push('', `# ${sched.length} scheduler setting${sched.length === 1 ? '' : 's'} (chrt): not part of this script; virt-pin apply sets ${sched.length === 1 ? 'it' : 'them'} and restore puts ${sched.length === 1 ? 'it' : 'them'} back.`);
  return out.join('\n') + '\n';
}
