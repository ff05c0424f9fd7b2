/**
 * plan(): resolved model + host facts + IRQ policy → RuntimePlan. Pure.
 */
import { CpuBitmap } from '../cpuset/cpuset.js';
import { CpuSet, tryParseCpuSet } from '../cpuset/index.js';
import { checkAffinitySetting, isPciAddress } from './irq-policy.js';
import type {
  InputThread,
  IrqAffinityAction,
  IrqPolicySource,
  PlanAction,
  PlanDevice,
  PlanDiagnostic,
  PlanHost,
  PlanInput,
  PlanOptions,
  PlanProvenance,
  PlanScheduler,
  RuntimePlan,
  ThreadAffinityAction,
  ThreadSchedAction,
  ThreadTarget,
} from './types.js';

const SCHEDULERS: readonly string[] = ['batch', 'idle', 'fifo', 'rr'];

function setOf(v: { toString(): string } | string | undefined): CpuSet | undefined {
  if (v === undefined) return undefined;
  const text = String(v).trim();
  if (text === '') return CpuSet.empty();
  const r = tryParseCpuSet(text);
  return r.ok ? r.set : undefined;
}

function targetLabel(t: ThreadTarget): string {
  return t.thread === 'emulator' ? 'emulator' : `${t.thread}${t.id}`;
}

function describe(t: ThreadTarget): string {
  return t.thread === 'vcpu' ? `vCPU ${t.id}` : t.thread === 'iothread' ? `IOThread ${t.id}` : 'the emulator threads';
}

/**
 * Build the runtime plan. Never throws for bad input: problems are
 * diagnostics, and the action they concern is left out.
 */
export function plan(resolved: PlanInput, host: PlanHost | undefined, options: PlanOptions = {}): RuntimePlan {
  const diagnostics: PlanDiagnostic[] = [];
  const report = (code: string, severity: PlanDiagnostic['severity'], message: string, at?: { line: number; column: number }, hint?: string): void => {
    diagnostics.push({ code, severity, message, line: at?.line ?? 0, column: at?.column ?? 0, ...(hint ? { hint } : {}) });
  };

  const online = setOf(host?.onlineCpus);
  if (host && !online) report('PLAN_BAD_HOST', 'error', `host online CPU list '${String(host.onlineCpus)}' is not a cpuset`);
  const isolated = setOf(host?.isolatedCpus) ?? CpuSet.empty();
  const numadCpus = setOf(resolved.placement?.numadCpus);

  // Every vCPU of a large domain usually carries the same mask text: parse it
  // and compare it with the online CPUs once per distinct text, not per thread.
  const parsedMasks = new Map<string, CpuSet | undefined>();
  let allCpus: CpuSet | undefined;
  const offlineParts = new Map<CpuSet, CpuSet>();
  const onlineParts = new Map<CpuSet, CpuSet>();
  const parseMask = (mask: string): CpuSet | undefined => {
    if (!parsedMasks.has(mask)) parsedMasks.set(mask, setOf(mask));
    return parsedMasks.get(mask);
  };

  /** A concrete CPU set for a resolved mask, or undefined after reporting why not. */
  const concrete = (mask: string, what: string, at?: { line: number; column: number }): CpuSet | undefined => {
    let set: CpuSet | undefined;
    if (mask === 'all') {
      if (!online) {
        report('PLAN_NEEDS_HOST', 'error', `${what} may use all host CPUs, but no host facts were given`, at, 'pass --host');
        return undefined;
      }
      if (!allCpus) {
        allCpus = online.difference(isolated);
        if (allCpus.isEmpty()) allCpus = online;
      }
      set = allCpus;
    } else if (mask === 'numad') {
      if (!numadCpus) {
        report('PLAN_NEEDS_NUMAD', 'error', `${what} follows numad's advice, which is only known when the domain starts`, at, 'plan against the running domain (its live XML has the advised nodeset)');
        return undefined;
      }
      set = numadCpus;
    } else {
      set = parseMask(mask);
      if (!set) {
        report('PLAN_BAD_CPUSET', 'error', `${what}: '${mask}' is not a cpuset`, at);
        return undefined;
      }
    }
    if (online) {
      let off = offlineParts.get(set);
      if (off === undefined) offlineParts.set(set, (off = set.difference(online)));
      if (off.equals(set)) {
        report('PLAN_NO_ONLINE_CPU', 'error', `${what}: none of CPUs ${set.toString()} is online on this host (online: ${online.toString()})`, at);
        return undefined;
      }
      if (!off.isEmpty()) {
        let used = onlineParts.get(set);
        if (used === undefined) onlineParts.set(set, (used = set.intersect(online)));
        report('PLAN_OFFLINE_CPUS', 'warning', `${what}: CPUs ${off.toString()} are not online here; the kernel will use ${used.toString()}`, at);
      }
    }
    return set;
  };

  const provenanceOf = (t: InputThread, fallback: string): PlanProvenance => {
    const p = t.provenance;
    if (p) return { rule: p.rule, ...(p.element ? { element: { ...p.element } } : {}), because: p.because };
    return { rule: t.source, because: fallback };
  };

  const threadActions: ThreadAffinityAction[] = [];
  const schedActions: ThreadSchedAction[] = [];
  const vcpuCpus: CpuSet[] = [];
  const addThread = (target: ThreadTarget, t: InputThread): void => {
    const what = describe(target);
    const set = concrete(t.cpus, what, t.provenance?.element);
    if (set) {
      if (target.thread === 'vcpu') vcpuCpus.push(set);
      if (options.threads !== false) {
        threadActions.push({
          id: targetLabel(target),
          kind: 'thread-affinity',
          target,
          cpus: set.toString(),
          provenance: provenanceOf(t, `${what}: ${t.source}`),
        });
      }
    }
    if (t.sched && options.threads !== false) {
      if (!SCHEDULERS.includes(t.sched.scheduler)) {
        report('PLAN_BAD_SCHEDULER', 'error', `${what}: unknown scheduler '${t.sched.scheduler}'`, t.sched.provenance?.element);
        return;
      }
      const sp = t.sched.provenance;
      schedActions.push({
        id: `sched-${targetLabel(target)}`,
        kind: 'thread-sched',
        target,
        scheduler: t.sched.scheduler as PlanScheduler,
        ...(t.sched.priority !== undefined ? { priority: t.sched.priority } : {}),
        provenance: sp
          ? { rule: sp.rule, ...(sp.element ? { element: { ...sp.element } } : {}), because: sp.because }
          : { rule: 'sched', because: `${what}: scheduler ${t.sched.scheduler}` },
      });
    }
  };

  for (const v of [...resolved.vcpus].sort((a, b) => a.id - b.id)) if (v.online) addThread({ thread: 'vcpu', id: v.id }, v);
  for (const t of [...resolved.iothreads].sort((a, b) => a.id - b.id)) addThread({ thread: 'iothread', id: t.id }, t);
  addThread({ thread: 'emulator' }, resolved.emulator);

  // ---- device IRQs
  const devices: PlanDevice[] = [];
  const irqActions: IrqAffinityAction[] = [];
  // A bitmap of the distinct sets, not a union per vCPU (thousands of vCPUs share one set).
  const vcpuBitmap = new CpuBitmap();
  for (const set of new Set(vcpuCpus)) vcpuBitmap.add(set);
  const allVcpuCpus = vcpuBitmap.toSet();
  const policy = options.irqPolicy ?? { devices: [] };
  const overrides = options.irqOverrides ?? {};
  const overrideDevices = new Map<string, string>();
  for (const [addr, value] of Object.entries(overrides.devices ?? {})) {
    if (!isPciAddress(addr)) {
      report('IRQ_POLICY_BAD_ADDRESS', 'error', `IRQ override for '${addr}': not a PCI address of the form DDDD:BB:SS.F`);
      continue;
    }
    const c = checkAffinitySetting(value);
    if (!c.ok) report('IRQ_POLICY_BAD_CPUSET', 'error', `IRQ override for ${addr}: ${c.message}`);
    else overrideDevices.set(addr.toLowerCase(), value);
  }
  let overrideDefault = overrides.default;
  if (overrideDefault !== undefined) {
    const c = checkAffinitySetting(overrideDefault);
    if (!c.ok) {
      report('IRQ_POLICY_BAD_CPUSET', 'error', `IRQ default override: ${c.message}`);
      overrideDefault = undefined;
    }
  }
  const metaDevices = new Map(policy.devices.map((d) => [d.address.toLowerCase(), d] as const));
  const hostdevs = options.hostdevs ?? [];
  const known = new Set<string>();
  for (const h of hostdevs) {
    if (!isPciAddress(h.address)) {
      report('IRQ_HOSTDEV_BAD_ADDRESS', 'error', `hostdev address '${h.address}' is not DDDD:BB:SS.F; its IRQs are left alone`, h.element);
      continue;
    }
    const address = h.address.toLowerCase();
    if (known.has(address)) continue;
    known.add(address);
    const meta = metaDevices.get(address);
    let setting: string;
    let source: IrqPolicySource;
    let element = h.element;
    if (overrideDevices.has(address)) {
      setting = overrideDevices.get(address) as string;
      source = 'option';
    } else if (meta) {
      setting = meta.affinity;
      source = 'metadata-device';
      element = meta.element ?? element;
    } else if (overrideDefault !== undefined) {
      setting = overrideDefault;
      source = 'option-default';
    } else if (policy.default) {
      setting = policy.default.affinity;
      source = 'metadata-default';
      element = policy.default.element ?? element;
    } else {
      setting = 'native';
      source = 'builtin-default';
    }
    const hostDevice = host?.pciDevice ? host.pciDevice(address) : host?.pciDevices?.find((d) => d.address.toLowerCase() === address);
    const numaNode = hostDevice?.numaNode !== undefined && hostDevice.numaNode >= 0 ? hostDevice.numaNode : undefined;
    const device: PlanDevice = { address, via: h.via, policy: 'native', policySource: source, ...(numaNode !== undefined ? { numaNode } : {}) };
    devices.push(device);
    const sourceText = source === 'builtin-default' ? 'no IRQ policy is set (default native)' : `IRQ policy '${setting}' (${source})`;
    if (setting === 'native') continue;
    let cpus: CpuSet | undefined;
    let because: string;
    if (setting === 'auto') {
      if (allVcpuCpus.isEmpty()) {
        report('IRQ_AUTO_NO_VCPU_CPUS', 'error', `${address}: policy auto needs the vCPUs' CPUs, which are not known`, element);
        continue;
      }
      let local: CpuSet | undefined;
      let localWhy = '';
      if (numaNode !== undefined) {
        const node = host?.nodes?.find((n) => n.id === numaNode);
        local = setOf(node?.cpus);
        localWhy = `host NUMA node ${numaNode}`;
      } else {
        const lc = setOf(hostDevice?.localCpus);
        // numa_node −1 (common on desktops): local_cpulist still narrows it when the platform says more than "everything".
        if (lc && online && !online.isSubsetOf(lc)) {
          local = lc;
          localWhy = `the device's local CPUs`;
        }
      }
      const restricted = local ? allVcpuCpus.intersect(local) : CpuSet.empty();
      if (local && !restricted.isEmpty()) {
        cpus = restricted;
        because = `${sourceText}: the vCPUs' CPUs (${allVcpuCpus.toString()}) on ${localWhy} (${local.toString()})`;
      } else {
        cpus = allVcpuCpus;
        because = local
          ? `${sourceText}: the vCPUs' CPUs; none of them is on ${localWhy} (${local.toString()}), so all of them`
          : `${sourceText}: the vCPUs' CPUs (the device's NUMA node is unknown)`;
      }
    } else {
      cpus = concrete(setting, `IRQ policy of ${address}`, element);
      if (!cpus) continue;
      if (online) cpus = cpus.intersect(online);
      because = sourceText;
    }
    device.policy = setting === 'auto' ? 'auto' : 'cpuset';
    device.cpus = cpus.toString();
    irqActions.push({
      id: `irq-${address}`,
      kind: 'irq-affinity',
      target: { device: address, via: h.via },
      policy: device.policy,
      cpus: cpus.toString(),
      provenance: { rule: `irq-${device.policy}`, ...(element ? { element: { ...element } } : {}), because },
    });
  }
  for (const d of policy.devices) {
    if (!known.has(d.address.toLowerCase())) {
      report('IRQ_POLICY_UNKNOWN_HOSTDEV', 'warning', `IRQ policy names ${d.address}, which is not a PCI hostdev of this domain`, d.element, 'check the address against <hostdev><source><address>');
    }
  }
  for (const addr of overrideDevices.keys()) {
    if (!known.has(addr)) report('IRQ_POLICY_UNKNOWN_HOSTDEV', 'warning', `IRQ override names ${addr}, which is not a PCI hostdev of this domain`);
  }

  const actions: PlanAction[] = [...threadActions, ...schedActions, ...irqActions];
  return {
    schemaVersion: 1,
    kind: 'virt-pin-runtime-plan',
    domain: resolved.domain?.name !== undefined ? { name: resolved.domain.name } : {},
    hostCpus: online?.toString() ?? '',
    actions,
    devices,
    diagnostics,
  };
}
