/**
 * The cpuset cgroup a thread lives in, and widening its `cpuset.cpus` so a
 * new affinity fits (field notes §d3). sched_setaffinity keeps only the CPUs
 * the thread's cpuset allows and fails with EINVAL when none is left;
 * libvirt therefore writes the per-thread cgroup (`…/libvirt/vcpuN`,
 * `emulator`, `iothreadN`) before the affinity. virt-pin does the same when
 * asked (`widenCgroups`), and only for the thread's own (leaf) cgroup: the
 * parents are never changed, only checked.
 *
 * Every path is resolved under `${sys}/fs/cgroup` with Confined: the cgroup
 * path comes from /proc and is never trusted.
 */
import { readFileSync } from 'node:fs';
import { CpuSet, parseKernelCpuList } from '../cpuset/index.js';
import { VirtPinError } from '../errors.js';
import { checkTaskId, Confined, type HostPaths } from './paths.js';

export interface ThreadCgroup {
  version: 1 | 2;
  /** Directory components under `${sys}/fs/cgroup`, mount directory first (`cpuset/machine.slice/…/vcpu0`, or `machine.slice/…` on a v2-only host). */
  rel: string[];
  /** Resolved (real) directory. */
  dir: string;
  /** `cpuset.cpus`: what is configured (empty on v2 = inherit the parent). */
  cpus: CpuSet;
  /** `cpuset.effective_cpus` (v1) / `cpuset.cpus.effective` (v2): what the thread may really use. */
  effective: CpuSet;
}

export const cgroupTree = (paths: HostPaths): Confined => new Confined(`${paths.sys}/fs/cgroup`, { names: 'cgroup' });

const effectiveFile = (version: 1 | 2): string => (version === 1 ? 'cpuset.effective_cpus' : 'cpuset.cpus.effective');

function readList(tree: Confined, parts: string[]): CpuSet | undefined {
  const p = tree.resolve(parts);
  return p ? parseKernelCpuList(readFileSync(p, 'utf8')) : undefined;
}

/** Read a cgroup directory's cpuset; undefined when it has no cpuset files (controller not enabled there) or is gone. */
export function readCgroup(paths: HostPaths, version: 1 | 2, rel: string[]): ThreadCgroup | undefined {
  const tree = cgroupTree(paths);
  const dir = tree.resolve(rel);
  if (!dir) return undefined;
  const cpus = readList(tree, [...rel, 'cpuset.cpus']);
  if (!cpus) return undefined;
  // v1 without the `cpuset.` prefix (mounted with noprefix) is not supported: the files are looked up by their usual names.
  const effective = readList(tree, [...rel, effectiveFile(version)]) ?? cpus;
  return { version, rel, dir, cpus, effective };
}

/** Split `/proc/…/cgroup` lines into (hierarchy, controllers, path components). */
function cgroupLines(text: string): { controllers: string[]; path: string[] }[] {
  const out: { controllers: string[]; path: string[] }[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const path = line.slice(b + 1);
    if (!path.startsWith('/')) continue;
    out.push({ controllers: line.slice(a + 1, b).split(',').filter(Boolean), path: path.split('/').filter(Boolean) });
  }
  return out;
}

/**
 * The cpuset cgroup of a thread, from `${proc}/PID/task/TID/cgroup`: the v1
 * line naming `cpuset` (mounted at `fs/cgroup/cpuset` or at the co-mount's
 * name), else the v2 line (`fs/cgroup`, or `fs/cgroup/unified` on a hybrid
 * host). Undefined when the thread is gone or no cpuset applies to it.
 */
export function threadCgroup(paths: HostPaths, pid: number, tid: number): ThreadCgroup | undefined {
  const file = new Confined(paths.proc).resolve([String(checkTaskId(pid)), 'task', String(checkTaskId(tid)), 'cgroup']);
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = cgroupLines(text);
  const v1 = lines.find((l) => l.controllers.includes('cpuset'));
  if (v1) {
    for (const mount of [...new Set([v1.controllers.join(','), 'cpuset'])]) {
      const cg = readCgroup(paths, 1, [mount, ...v1.path]);
      if (cg) return cg;
    }
    return undefined;
  }
  const v2 = lines.find((l) => l.controllers.length === 0);
  if (!v2) return undefined;
  const tree = cgroupTree(paths);
  const mounts = tree.resolve(['cgroup.controllers']) ? [[]] : tree.resolve(['unified', 'cgroup.controllers']) ? [['unified']] : [];
  for (const m of mounts) {
    const cg = readCgroup(paths, 2, [...m, ...v2.path]);
    if (cg) return cg;
  }
  return undefined;
}

/** A planned change of one cgroup's cpuset.cpus. */
export interface CgroupWidening {
  cgroup: ThreadCgroup;
  /** `cpuset.cpus` to write: the current list plus the CPUs the threads need. */
  cpus: CpuSet;
  /** Labels of the threads that need it. */
  threads: string[];
}

/**
 * Whether (and how) a cgroup must be widened so that `need` fits. Throws
 * APPLY_CGROUP_PARENT when the parent does not allow the CPUs: widening a
 * parent would change what other domains and slices may use, so virt-pin
 * refuses and says which parent to change.
 */
export function planWidening(paths: HostPaths, cg: ThreadCgroup, need: CpuSet, threads: string[]): CgroupWidening | undefined {
  if (need.isSubsetOf(cg.effective)) return undefined;
  const isRoot = cg.version === 1 ? cg.rel.length <= 1 : cg.rel.length === 0 || (cg.rel.length === 1 && cg.rel[0] === 'unified');
  // The root cpuset holds every online CPU: what it lacks cannot be added by writing cgroups.
  if (isRoot) return undefined;
  const tree = cgroupTree(paths);
  const parentRel = cg.rel.slice(0, -1);
  // v1: a child's cpus must be a subset of the parent's cpus; v2: a child gets only what the parent effectively has.
  const parentAllowed = cg.version === 1 ? readList(tree, [...parentRel, 'cpuset.cpus']) : (readList(tree, [...parentRel, 'cpuset.cpus.effective']) ?? readList(tree, [...parentRel, 'cpuset.cpus']));
  const missing = parentAllowed ? need.difference(parentAllowed) : need;
  if (!missing.isEmpty()) {
    const parent = parentRel.length ? tree.lexical(parentRel) : tree.root;
    throw new VirtPinError(
      'APPLY_CGROUP_PARENT',
      `${threads.join(', ')}: CPUs ${need.toString()} need cgroup ${tree.lexical(cg.rel)} widened, but its parent ${parent} allows only ${parentAllowed?.toString() ?? '(unreadable)'} (missing ${missing.toString()})`,
      { hint: 'virt-pin widens only the thread’s own cgroup; widen the parent (machine.slice or the domain scope) first, or pick CPUs it allows' },
    );
  }
  // An empty v2 list means "inherit": widen from what is in force, never narrow.
  return { cgroup: cg, cpus: (cg.cpus.isEmpty() ? cg.effective : cg.cpus).union(need), threads };
}

/** Resolve the `cpuset.cpus` file of a recorded cgroup (state file path), confined; undefined when the cgroup is gone. */
export function cgroupCpusFile(paths: HostPaths, rel: string[]): string | undefined {
  return cgroupTree(paths).resolve([...rel, 'cpuset.cpus']);
}

/** The state-file form of a cgroup path, and back. Components are checked on the way in. */
export function relText(rel: string[]): string {
  return rel.join('/');
}
export function relParts(text: string): string[] | undefined {
  const parts = text.split('/');
  return parts.every((p) => p.length > 0 && p.length <= 255 && p !== '.' && p !== '..' && !/[\0\n]/.test(p)) ? parts : undefined;
}
