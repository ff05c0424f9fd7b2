import { describe, expect, it } from 'vitest';
import { CpuSet } from '../../src/cpuset/index.js';
import { hostFromSysfs } from '../../src/host/index.js';
import { plan, planDocument, readIrqPolicy, renderPlanJson, renderPlanShell, renderPlanTable, type RuntimePlan } from '../../src/plan/index.js';
import { parseDocument } from '../../src/xml/index.js';
import { assertPlanSchema, gpuVm, NS, PASSTHROUGH_ROOT } from './support.js';

const host = hostFromSysfs(PASSTHROUGH_ROOT);
const codes = (p: RuntimePlan) => p.diagnostics.map((d) => d.code);
const device = (p: RuntimePlan, addr: string) => p.devices.find((d) => d.address === addr);
const action = (p: RuntimePlan, id: string) => p.actions.find((a) => a.id === id);

describe('plan: threads', () => {
  it('orders vCPUs, IOThreads, emulator, then scheduler actions, all concrete', () => {
    const p = planDocument(gpuVm(''), { host });
    assertPlanSchema(p);
    expect(p.actions.map((a) => a.id)).toEqual(['vcpu0', 'vcpu1', 'vcpu2', 'vcpu3', 'iothread1', 'emulator', 'sched-vcpu0', 'sched-vcpu1']);
    expect(action(p, 'vcpu2')).toMatchObject({ kind: 'thread-affinity', cpus: '10', provenance: { rule: 'vcpupin' } });
    expect(action(p, 'emulator')).toMatchObject({ cpus: '0-1', provenance: { rule: 'emulatorpin' } });
    expect(action(p, 'sched-vcpu1')).toMatchObject({ kind: 'thread-sched', scheduler: 'fifo', priority: 10 });
    expect(p.hostCpus).toBe('0-15');
    expect(p.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it("makes 'all' concrete from the host, and reports the need for host facts without them", () => {
    const resolved = { vcpus: [{ id: 0, online: true, cpus: 'all', source: 'all' }, { id: 1, online: false, cpus: '3', source: 'vcpupin' }], emulator: { cpus: 'all', source: 'all' }, iothreads: [] };
    const p = plan(resolved, { onlineCpus: CpuSet.range(0, 7), isolatedCpus: CpuSet.of(6, 7) });
    assertPlanSchema(p);
    expect(p.actions.map((a) => [a.id, 'cpus' in a ? a.cpus : ''])).toEqual([['vcpu0', '0-5'], ['emulator', '0-5']]);
    const q = plan(resolved, undefined);
    assertPlanSchema(q);
    expect(q.actions).toEqual([]);
    expect(codes(q)).toEqual(['PLAN_NEEDS_HOST', 'PLAN_NEEDS_HOST']);
  });

  it('reports numad masks without advice, offline and bad CPUs', () => {
    const resolved = {
      vcpus: [
        { id: 0, online: true, cpus: 'numad', source: 'numad' },
        { id: 1, online: true, cpus: '6-9', source: 'vcpupin' },
        { id: 2, online: true, cpus: '12', source: 'vcpupin' },
        { id: 3, online: true, cpus: '1-', source: 'vcpupin' },
      ],
      emulator: { cpus: '0', source: 'emulatorpin' },
      iothreads: [],
    };
    const p = plan(resolved, { onlineCpus: '0-7' });
    assertPlanSchema(p);
    expect(codes(p)).toEqual(['PLAN_NEEDS_NUMAD', 'PLAN_OFFLINE_CPUS', 'PLAN_NO_ONLINE_CPU', 'PLAN_BAD_CPUSET']);
    expect(action(p, 'vcpu1')).toMatchObject({ cpus: '6-9' });
    expect(p.actions.map((a) => a.id)).toEqual(['vcpu1', 'emulator']);
  });
});

describe('plan: IRQ policy', () => {
  it('defaults to native: no IRQ action without any policy', () => {
    const p = planDocument(gpuVm(''), { host });
    expect(p.actions.filter((a) => a.kind === 'irq-affinity')).toEqual([]);
    expect(p.devices.map((d) => [d.address, d.policy, d.policySource])).toEqual([
      ['0000:0a:00.0', 'native', 'builtin-default'],
      ['0000:0a:00.1', 'native', 'builtin-default'],
      ['0000:41:00.0', 'native', 'builtin-default'],
      ['0000:03:00.0', 'native', 'builtin-default'],
      ['0000:81:02.1', 'native', 'builtin-default'],
    ]);
  });

  it('auto restricts to the device NUMA node; unknown node → all vCPU CPUs; per-device entries and cpusets win', () => {
    const md = `    <vp:irqs xmlns:vp='${NS}'>
      <vp:irq affinity='auto'/>
      <vp:irq hostdev='0000:0A:00.1' affinity='native'/>
      <vp:irq hostdev='0000:81:02.1' affinity='12-15,^14'/>
    </vp:irqs>`;
    const p = planDocument(gpuVm(md), { host });
    assertPlanSchema(p);
    expect(p.diagnostics).toEqual([]);
    expect(device(p, '0000:0a:00.0')).toMatchObject({ policy: 'auto', cpus: '2-3', numaNode: 0, policySource: 'metadata-default' });
    expect(device(p, '0000:41:00.0')).toMatchObject({ policy: 'auto', cpus: '10-11', numaNode: 1 });
    expect(device(p, '0000:03:00.0')).toMatchObject({ policy: 'auto', cpus: '2-3,10-11' });
    expect(device(p, '0000:03:00.0')?.numaNode).toBeUndefined();
    expect(device(p, '0000:0a:00.1')).toMatchObject({ policy: 'native', policySource: 'metadata-device' });
    expect(device(p, '0000:81:02.1')).toMatchObject({ policy: 'cpuset', cpus: '12-13,15', via: 'interface' });
    const irq = action(p, 'irq-0000:0a:00.0');
    expect(irq).toMatchObject({ kind: 'irq-affinity', provenance: { rule: 'irq-auto', element: { path: '/domain/metadata/vp:irqs/vp:irq[1]' } } });
    expect(p.actions.map((a) => a.id).slice(-4)).toEqual(['irq-0000:0a:00.0', 'irq-0000:41:00.0', 'irq-0000:03:00.0', 'irq-0000:81:02.1']);
  });

  it('auto falls back to all vCPU CPUs when none is on the device node', () => {
    const resolved = { vcpus: [{ id: 0, online: true, cpus: '2-3', source: 'vcpupin' }], emulator: { cpus: '0', source: 'emulatorpin' }, iothreads: [] };
    const p = plan(resolved, host, { hostdevs: [{ address: '0000:41:00.0', via: 'hostdev' }], irqOverrides: { default: 'auto' } });
    assertPlanSchema(p);
    expect(device(p, '0000:41:00.0')).toMatchObject({ policy: 'auto', cpus: '2-3', numaNode: 1, policySource: 'option-default' });
    expect(action(p, 'irq-0000:41:00.0')?.provenance.because).toMatch(/none of them is on host NUMA node 1/);
  });

  it('auto on a numa_node −1 device uses local_cpulist when it narrows', () => {
    const resolved = { vcpus: [{ id: 0, online: true, cpus: '2,9', source: 'vcpupin' }], emulator: { cpus: '0', source: 'emulatorpin' }, iothreads: [] };
    const h = { onlineCpus: '0-15', pciDevices: [{ address: '0000:05:00.0', localCpus: '8-15' }] };
    const p = plan(resolved, h, { hostdevs: [{ address: '0000:05:00.0', via: 'hostdev' }], irqOverrides: { default: 'auto' } });
    expect(device(p, '0000:05:00.0')).toMatchObject({ cpus: '9' });
  });

  it('caller overrides win over metadata, per device and as default', () => {
    const md = `    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`;
    const p = planDocument(gpuVm(md), { host, irqOverrides: { default: 'native', devices: { '0000:41:00.0': '8' } } });
    assertPlanSchema(p);
    expect(p.devices.filter((d) => d.policy !== 'native').map((d) => [d.address, d.cpus, d.policySource])).toEqual([['0000:41:00.0', '8', 'option']]);
  });

  it('diagnoses bad metadata with locations: bad cpuset, bad address, duplicates, unknown hostdev, missing affinity', () => {
    const md = `    <p:irq xmlns:p='${NS}' hostdev='0000:0a:00.0' affinity='3-1'/>
    <p:irq xmlns:p='${NS}' hostdev='../../etc' affinity='auto'/>
    <p:irq xmlns:p='${NS}' affinity='auto'/>
    <p:irq xmlns:p='${NS}' affinity='native'/>
    <p:irq xmlns:p='${NS}' hostdev='0000:41:00.0' affinity='auto'/>
    <p:irq xmlns:p='${NS}' hostdev='0000:41:00.0' affinity='2'/>
    <p:irq xmlns:p='${NS}' hostdev='0000:99:00.0' affinity='2'/>
    <p:irq xmlns:p='${NS}' hostdev='0000:0a:00.1'/>
    <p:irqpolicy xmlns:p='${NS}'/>
    <other:irq xmlns:other='urn:not-virt-pin' hostdev='nonsense' affinity='nonsense'/>`;
    const p = planDocument(gpuVm(md), { host });
    assertPlanSchema(p);
    expect(p.diagnostics.map((d) => [d.code, d.severity, d.line])).toEqual([
      ['IRQ_POLICY_UNKNOWN_ELEMENT', 'warning', 12],
      ['IRQ_POLICY_BAD_CPUSET', 'error', 4],
      ['IRQ_POLICY_BAD_ADDRESS', 'error', 5],
      ['IRQ_POLICY_DUPLICATE', 'error', 7],
      ['IRQ_POLICY_DUPLICATE', 'error', 9],
      ['IRQ_POLICY_MISSING_AFFINITY', 'error', 11],
      ['IRQ_POLICY_UNKNOWN_HOSTDEV', 'warning', 10],
    ]);
    const bad = p.diagnostics[1];
    expect(bad?.column).toBeGreaterThan(40); // points at the affinity attribute
    // The valid entries still count: the default auto and 41:00.0 auto.
    expect(device(p, '0000:41:00.0')).toMatchObject({ policy: 'auto', cpus: '10-11' });
  });

  it('reports offline CPUs in an explicit IRQ cpuset and bad override addresses', () => {
    const resolved = { vcpus: [{ id: 0, online: true, cpus: '1', source: 'vcpupin' }], emulator: { cpus: '0', source: 'emulatorpin' }, iothreads: [] };
    const p = plan(resolved, { onlineCpus: '0-3' }, {
      hostdevs: [{ address: '0000:01:00.0', via: 'hostdev' }, { address: '0000:01:00.1/../x', via: 'hostdev' }],
      irqOverrides: { devices: { '0000:01:00.0': '8-9', '01:00.0': '1' } },
    });
    expect(codes(p)).toEqual(['IRQ_POLICY_BAD_ADDRESS', 'PLAN_NO_ONLINE_CPU', 'IRQ_HOSTDEV_BAD_ADDRESS']);
    expect(p.actions.filter((a) => a.kind === 'irq-affinity')).toEqual([]);
  });

  it('readIrqPolicy matches by namespace URI, not prefix', () => {
    const doc = parseDocument(`<domain><metadata><x:irq xmlns:x='${NS}' hostdev='0000:01:00.0' affinity='auto'/><vp:irq xmlns:vp='urn:other' affinity='auto'/></metadata></domain>`);
    const r = readIrqPolicy(doc);
    expect(r.policy).toMatchObject({ devices: [{ address: '0000:01:00.0', affinity: 'auto' }] });
    expect(r.policy.default).toBeUndefined();
  });
});

describe('plan: renderers', () => {
  const md = `    <vp:irq xmlns:vp='${NS}' affinity='auto'/>`;
  const p = planDocument(gpuVm(md), { host });

  it('JSON round-trips to the same plan', () => {
    expect(JSON.parse(renderPlanJson(p))).toEqual(JSON.parse(JSON.stringify(p)));
  });

  it('table has one row per action and per native device', () => {
    const t = renderPlanTable(p);
    const rows = t.split('\n').filter((l) => /^(affinity|scheduler|irq)/.test(l));
    expect(rows).toHaveLength(p.actions.length + p.devices.filter((d) => d.policy === 'native').length);
    expect(t).toMatch(/^irq auto\s+IRQs of 0000:41:00\.0\s+10-11\s/m);
  });

  it('shell script: bound form has one line per thread and IRQ; unbound form discovers them', () => {
    const bound = renderPlanShell(p, {
      pid: 4242,
      threads: [{ tid: 4250, comm: 'CPU 0/KVM', actionId: 'vcpu0' }, { tid: 4242, comm: 'qemu-system-x86', actionId: 'emulator' }],
      irqs: [{ irq: 130, name: 'vfio-msix[0](0000:41:00.0)', actionId: 'irq-0000:41:00.0' }],
    });
    expect(bound).toContain('taskset -pc 2 4250 >/dev/null  # vCPU 0: CPU 0/KVM');
    expect(bound).toContain('taskset -pc 0-1 4242 >/dev/null');
    expect(bound).toContain('echo 10-11 > /proc/irq/130/smp_affinity_list  # 0000:41:00.0 vfio-msix[0](0000:41:00.0)');
    const unbound = renderPlanShell(p);
    expect(unbound).toContain(`'CPU 3/'*) taskset -pc 11 "$tid"`);
    expect(unbound).toContain(`'IO iothread1') taskset -pc 8 "$tid"`);
    expect(unbound).toContain('/sys/bus/pci/devices/0000:41:00.0/msi_irqs');
    expect(unbound.trimEnd().split('\n').at(-1)).toMatch(/scheduler setting/);
  });
});
