/**
 * Oracle B (issue 5 §3): the TCG domains real libvirtd starts, and how the
 * affinity of their QEMU threads is read back. Deterministic: the same
 * list, in the same order, every run. Host CPUs 0–1 and NUMA node 0 only,
 * so masks are `0`, `1` or `0-1` — enough to tell every precedence rule
 * apart (shared/spec/oracles.md §4.3). Each case names the path it covers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseKernelCpuList } from '../../src/cpuset/index.js';

export interface OracleBCase {
  /** `vpb-NN-slug`: unique, and the `vpb-` prefix is this oracle's alone (cleanup). */
  name: string;
  /** The precedence path(s) the case exists for. */
  path: string;
  xml: string;
  /** Hot-plug up to this many vCPUs with `virsh setvcpus --live` once started. */
  setvcpus?: number;
  /** A placement is auto: libvirt asks numad at start. */
  numad: boolean;
  /** Start with `virsh start --paused` (every 8th case runs, as a control that pausing changes no mask). */
  paused: boolean;
}

interface Spec {
  slug: string;
  path: string;
  max?: number;
  current?: number;
  cpuset?: string;
  placement?: 'auto';
  /** Raw `<vcpus>` children. */
  vcpusElement?: string;
  vcpupins?: Record<number, string>;
  emulatorpin?: string;
  iothreads?: number;
  iothreadids?: number[];
  iothreadpins?: Record<number, string>;
  /** Raw `<numatune>` children. */
  numatune?: string;
  /** One guest NUMA cell holding every vCPU (memnodes need one). */
  cell?: boolean;
  setvcpus?: number;
}

const PIN_CHOICES = [undefined, '0', '1', '0-1'] as const;
const CPUSET_CHOICES = [undefined, '0', '1', '0-1'] as const;

function specs(): Spec[] {
  const out: Spec[] = [];
  // 1. vCPU 0's own pin against <vcpu cpuset> and "all": 16 combinations; vCPU 1, the emulator and the IOThread fall back.
  for (const cpuset of CPUSET_CHOICES) {
    for (const pin of PIN_CHOICES) {
      const fallback = cpuset ? 'cpuset' : 'all';
      out.push({
        slug: `pin${pin ?? 'no'}-set${cpuset ?? 'no'}`.replace(/-(?=\d)/g, '').replace(/,/g, ''),
        path: `vcpu0:${pin ? 'pin' : fallback} vcpu1:${fallback} emulator:${fallback} iothread:${fallback}`,
        ...(cpuset ? { cpuset } : {}),
        ...(pin ? { vcpupins: { 0: pin } } : {}),
        iothreads: 1,
      });
    }
  }
  // 2. <emulatorpin> wins over <vcpu cpuset> and "all" for the emulator only.
  for (const cpuset of [undefined, '0', '1'] as const) {
    for (const pin of ['0', '1', '0-1'] as const) {
      out.push({
        slug: `emu${pin.replace('-', '')}-set${cpuset ?? 'no'}`,
        path: `emulator:pin over ${cpuset ? 'cpuset' : 'all'}; iothread:${cpuset ? 'cpuset' : 'all'} (emulatorpin not inherited)`,
        ...(cpuset ? { cpuset } : {}),
        emulatorpin: pin,
        iothreads: 1,
      });
    }
  }
  // 3. IOThreads: pins, sparse ids, ids libvirt fills in.
  out.push(
    { slug: 'io2-pin2', path: 'iothread:pin (id 2), iothread:all (id 1)', iothreads: 2, iothreadpins: { 2: '1' } },
    { slug: 'io2-pin1-set1', path: 'iothread:pin (id 1), iothread:cpuset (id 2)', cpuset: '1', iothreads: 2, iothreadpins: { 1: '0' } },
    { slug: 'io-sparse73', path: 'iothread:sparse ids 7,3; pin (7), cpuset (3)', cpuset: '0', iothreadids: [7, 3], iothreadpins: { 7: '1' } },
    { slug: 'io-sparse5', path: 'iothread:sparse id 5, all', iothreadids: [5] },
    { slug: 'io-sparse294', path: 'iothread:sparse ids 2,9,4; pins (9, 4), cpuset (2)', cpuset: '1', iothreadids: [2, 9, 4], iothreadpins: { 9: '0', 4: '0-1' } },
    { slug: 'io-autofill', path: 'iothread:ids filled in by libvirt (<iothreads>3 with id 5), pin on a filled id', iothreads: 3, iothreadids: [5], iothreadpins: { 1: '1' } },
    { slug: 'io-emu1', path: 'iothread:all while the emulator is pinned', emulatorpin: '1', iothreads: 2, vcpupins: { 1: '0' } },
  );
  // 4. Offline vCPUs, hot-plugged with `setvcpus --live`: they get what the definition says at hot-plug.
  out.push(
    { slug: 'hp-pin', path: 'hotplug:pin (pin of an offline vCPU kept)', max: 2, current: 1, vcpupins: { 1: '1' }, setvcpus: 2 },
    { slug: 'hp-cpuset', path: 'hotplug:cpuset', max: 2, current: 1, cpuset: '1', setvcpus: 2 },
    { slug: 'hp-all-emu1', path: 'hotplug:all while the emulator (the parent of new threads) is on 1', max: 3, current: 1, emulatorpin: '1', setvcpus: 3 },
    { slug: 'hp-mixed', path: 'hotplug:pin (3), pin wider than cpuset (2), cpuset', max: 4, current: 2, cpuset: '1', vcpupins: { 2: '0-1', 3: '0' }, setvcpus: 4 },
    {
      slug: 'hp-vcpus',
      path: 'hotplug:<vcpus> hotpluggable vCPU enabled at boot (hot-added at start) + one hot-plugged later; pins',
      max: 3,
      current: 2,
      vcpusElement: "<vcpu id='0' enabled='yes' hotpluggable='no' order='1'/><vcpu id='1' enabled='yes' hotpluggable='yes' order='2'/><vcpu id='2' enabled='no' hotpluggable='yes'/>",
      vcpupins: { 1: '0', 2: '1' },
      setvcpus: 3,
    },
    { slug: 'hp-numad', path: 'hotplug:numad (placement auto)', max: 2, current: 1, placement: 'auto', setvcpus: 2 },
  );
  // 5. <numatune> strict (initial affinity from the nodeset, cpuset.mems) and the other modes.
  out.push(
    { slug: 'nt-strict', path: 'numatune:strict nodeset 0, threads all', numatune: "<memory mode='strict' nodeset='0'/>", iothreads: 1 },
    { slug: 'nt-strict-set0', path: 'numatune:strict + cpuset', cpuset: '0', numatune: "<memory mode='strict' nodeset='0'/>", iothreads: 1 },
    { slug: 'nt-strict-pins', path: 'numatune:strict + emulatorpin + vcpupin', emulatorpin: '1', vcpupins: { 0: '0' }, numatune: "<memory mode='strict' nodeset='0'/>" },
    { slug: 'nt-memnode', path: 'numatune:strict + strict memnode of a guest cell', cell: true, vcpupins: { 1: '1' }, numatune: "<memory mode='strict' nodeset='0'/><memnode cellid='0' mode='strict' nodeset='0'/>" },
    { slug: 'nt-restrictive', path: 'numatune:restrictive + vcpupin', vcpupins: { 1: '1' }, numatune: "<memory mode='restrictive' nodeset='0'/>", iothreads: 1 },
    { slug: 'nt-interleave', path: 'numatune:interleave (no cgroup mems) + cpuset', cpuset: '1', numatune: "<memory mode='interleave' nodeset='0'/>" },
  );
  // 6. placement auto with numad (advice on this 1-node host: node 0).
  out.push(
    { slug: 'auto', path: 'placement:auto → numad for every thread', placement: 'auto', iothreads: 1 },
    { slug: 'auto-emu1', path: 'placement:auto + emulatorpin (pin wins)', placement: 'auto', emulatorpin: '1' },
    { slug: 'auto-pin0', path: 'placement:auto + vcpupin (pin wins), iothread numad', placement: 'auto', vcpupins: { 0: '0' }, iothreads: 1 },
    { slug: 'auto-iopin', path: 'placement:auto + iothreadpin', placement: 'auto', iothreads: 2, iothreadpins: { 2: '1' } },
    { slug: 'auto-promoted', path: 'placement:static promoted to auto by <numatune placement=auto>', numatune: "<memory mode='strict' placement='auto'/>", iothreads: 1 },
    { slug: 'auto-mem-pin', path: 'placement:numatune auto but a vcpupin keeps vCPU placement static (all)', vcpupins: { 0: '1' }, numatune: "<memory mode='strict' placement='auto'/>" },
    { slug: 'auto-mem-set1', path: 'placement:numatune auto but a cpuset keeps vCPU placement static (cpuset)', cpuset: '1', numatune: "<memory mode='strict' placement='auto'/>" },
  );
  // 7. Spellings libvirt normalises.
  out.push(
    { slug: 'spell-caret', path: "spelling:cpuset '0-1,^1' = 0", cpuset: '0-1,^1', vcpupins: { 1: '1,1' }, iothreads: 1 },
    { slug: 'spell-space', path: "spelling:cpuset ' 0 , 1 ' = 0-1 (not all: cgroup written)", cpuset: ' 0 , 1 ', emulatorpin: '1-1' },
  );
  return out;
}

function domainXml(name: string, s: Spec): string {
  const max = s.max ?? 2;
  const vattrs = [`placement='${s.placement ?? 'static'}'`, ...(s.cpuset !== undefined ? [`cpuset='${s.cpuset}'`] : []), ...(s.current !== undefined ? [`current='${s.current}'`] : [])];
  const lines = [`<domain type='qemu'>`, `  <name>${name}</name>`, `  <memory unit='MiB'>64</memory>`, `  <vcpu ${vattrs.join(' ')}>${max}</vcpu>`];
  if (s.vcpusElement) lines.push(`  <vcpus>${s.vcpusElement}</vcpus>`);
  if (s.iothreads !== undefined) lines.push(`  <iothreads>${s.iothreads}</iothreads>`);
  if (s.iothreadids) lines.push(`  <iothreadids>${s.iothreadids.map((id) => `<iothread id='${id}'/>`).join('')}</iothreadids>`);
  const tune = [
    ...Object.entries(s.vcpupins ?? {}).map(([v, c]) => `    <vcpupin vcpu='${v}' cpuset='${c}'/>`),
    ...(s.emulatorpin !== undefined ? [`    <emulatorpin cpuset='${s.emulatorpin}'/>`] : []),
    ...Object.entries(s.iothreadpins ?? {}).map(([t, c]) => `    <iothreadpin iothread='${t}' cpuset='${c}'/>`),
  ];
  if (tune.length) lines.push('  <cputune>', ...tune, '  </cputune>');
  if (s.numatune) lines.push(`  <numatune>${s.numatune}</numatune>`);
  if (s.cell) lines.push(`  <cpu><numa><cell id='0' cpus='0-${max - 1}' memory='64' unit='MiB'/></numa></cpu>`);
  lines.push(
    `  <os><type arch='x86_64' machine='pc'>hvm</type></os>`,
    `  <devices>`,
    `    <emulator>/usr/bin/qemu-system-x86_64</emulator>`,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `</domain>`,
    '',
  );
  return lines.join('\n');
}

/** Every Oracle B domain, in a fixed order. */
export function oracleBCases(): OracleBCase[] {
  return specs().map((s, i) => {
    const name = `vpb-${String(i + 1).padStart(2, '0')}-${s.slug}`;
    const numad = s.placement === 'auto' || /placement='auto'/.test(s.numatune ?? '');
    return { name, path: s.path, xml: domainXml(name, s), numad, paused: i % 8 !== 0, ...(s.setvcpus !== undefined ? { setvcpus: s.setvcpus } : {}) };
  });
}

// ---------------------------------------------------------------- reading a QEMU process back

/** What libvirt placed one QEMU thread in: from /proc and the cpuset cgroup. */
export interface ObservedThread {
  tid: number;
  comm: string;
  /** From the comm: `vcpuN`, `iothreadN` or `emulator` (main, call_rcu, IO mon_iothread, …). */
  cls: string;
  /** `Cpus_allowed_list`, canonical. */
  affinity: string;
  /** Last component of the cpuset cgroup path (`emulator`, `vcpu0`, `iothread3`). */
  leaf: string;
  /** The leaf's cpuset.cpus (v2: cpuset.cpus.effective when cpuset.cpus is empty), canonical. */
  cgroupCpus: string;
  cgroupMems: string;
}

export function threadClass(comm: string): string {
  const v = /^CPU (\d+)\/(TCG|KVM)$/.exec(comm);
  if (v) return `vcpu${v[1]}`;
  const io = /^IO iothread(\d+)$/.exec(comm);
  if (io) return `iothread${io[1]}`;
  return 'emulator';
}

/** How this host mounts the cpuset controller. */
export interface CpusetMount {
  version: 1 | 2;
  root: string;
}

export function cpusetMount(): CpusetMount {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
  const v1 = mounts.find((m) => m[2] === 'cgroup' && (m[3] ?? '').split(',').includes('cpuset'));
  if (v1?.[1]) return { version: 1, root: v1[1] };
  const v2 = mounts.find((m) => m[2] === 'cgroup2' && existsSync(`${m[1]}/cgroup.controllers`) && readFileSync(`${m[1]}/cgroup.controllers`, 'utf8').split(/\s+/).includes('cpuset'));
  if (v2?.[1]) return { version: 2, root: v2[1] };
  throw new Error('no cpuset cgroup controller is mounted (v1 cpuset or cgroup2 with cpuset): libvirt cannot place threads, Oracle B cannot run');
}

function readCgroupFile(dir: string, file: string, mount: CpusetMount): string {
  const own = readFileSync(`${dir}/${file}`, 'utf8').trim();
  if (own !== '' || mount.version === 1) return own;
  return readFileSync(`${dir}/${file}.effective`, 'utf8').trim();
}

/** Every thread of a QEMU process, with its affinity and cpuset cgroup. */
export function observeThreads(pid: number, mount: CpusetMount): ObservedThread[] {
  const out: ObservedThread[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const base = `/proc/${pid}/task/${t}`;
    const comm = readFileSync(`${base}/comm`, 'utf8').replace(/\n$/, '');
    const status = readFileSync(`${base}/status`, 'utf8');
    const affinity = parseKernelCpuList(/Cpus_allowed_list:\s*(\S+)/.exec(status)![1]!).toString();
    const lines = readFileSync(`${base}/cgroup`, 'utf8').split('\n');
    const line = mount.version === 1 ? lines.find((l) => l.split(':')[1]?.split(',').includes('cpuset')) : lines.find((l) => l.startsWith('0::'));
    if (!line) throw new Error(`task ${t} of ${pid} has no cpuset cgroup line: ${lines.join(' | ')}`);
    const path = line.split(':').slice(2).join(':');
    const dir = `${mount.root}${path}`;
    out.push({
      tid: Number(t),
      comm,
      cls: threadClass(comm),
      affinity,
      leaf: path.split('/').pop() ?? '',
      cgroupCpus: parseKernelCpuList(readCgroupFile(dir, 'cpuset.cpus', mount)).toString(),
      cgroupMems: parseKernelCpuList(readCgroupFile(dir, 'cpuset.mems', mount)).toString(),
    });
  }
  return out.sort((a, b) => a.tid - b.tid);
}

/** The memory nodes a cpuset cgroup inherits when libvirt leaves cpuset.mems alone (the root's). */
export function rootCpusetMems(mount: CpusetMount): string {
  const file = mount.version === 1 ? 'cpuset.mems' : 'cpuset.mems.effective';
  return parseKernelCpuList(readFileSync(`${mount.root}/${file}`, 'utf8').trim()).toString();
}
