/**
 * ProcFiles (src/apply/discover.ts): under the real procfs a thread's files
 * are read at the joined path; under any other root every path still goes
 * through Confined, so a symlink planted in a captured tree leads nowhere.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverThreads, processStartTime } from '../../src/apply/index.js';
import { processAlive, ProcFiles, threadComm } from '../../src/apply/discover.js';

const work = mkdtempSync(join(tmpdir(), 'vp-procfiles-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A captured /proc with one process 4242 and its threads 4242 (main) and 4243 (`CPU 0/KVM`). */
function capturedProc(name: string): { proc: string; paths: { proc: string; sys: string; run: string } } {
  const root = join(work, name);
  const proc = join(root, 'proc');
  for (const [tid, comm] of [[4242, 'qemu-system-x86'], [4243, 'CPU 0/KVM']] as const) {
    mkdirSync(join(proc, '4242', 'task', String(tid)), { recursive: true });
    writeFileSync(join(proc, '4242', 'task', String(tid), 'comm'), `${comm}\n`);
  }
  writeFileSync(join(proc, '4242', 'stat'), '4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 2 0 777 0 0\n');
  mkdirSync(join(root, 'sys'));
  mkdirSync(join(root, 'run'));
  return { proc, paths: { proc, sys: join(root, 'sys'), run: join(root, 'run') } };
}

describe('ProcFiles', () => {
  it('reads the live procfs: this process, its threads, its start time', () => {
    const files = new ProcFiles('/proc');
    const tids = readdirSync(`/proc/${process.pid}/task`);
    for (const tid of tids) expect(files.read([String(process.pid), 'task', tid, 'comm'])).toBe(readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8'));
    const live = { proc: '/proc', sys: '/sys', run: '/run' };
    const start = processStartTime(live, process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(processAlive(live, process.pid, start)).toBe(true);
    expect(processAlive(live, process.pid, `${start}0`)).toBe(false);
    // The parent's id names no thread of this process: PID/task/TID does not exist.
    expect(tids).not.toContain(String(process.ppid));
    expect(threadComm(live, process.pid, process.ppid)).toBeUndefined();
  });

  it('reads a captured tree through Confined: the threads and start time it holds', () => {
    const { paths } = capturedProc('plain');
    expect(discoverThreads(paths, 4242).map((t) => [t.tid, t.comm, t.kind])).toEqual([
      [4242, 'qemu-system-x86', 'main'],
      [4243, 'CPU 0/KVM', 'vcpu'],
    ]);
    expect(processStartTime(paths, 4242)).toBe('777');
    expect(threadComm(paths, 4242, 4244)).toBeUndefined();
  });

  it('refuses a comm file of a captured tree that is a symlink out of it (APPLY_PATH_ESCAPE), and reads nothing there', () => {
    const { proc, paths } = capturedProc('planted');
    const outside = join(work, 'outside-comm');
    writeFileSync(outside, 'CPU 9/KVM\n');
    const comm = join(proc, '4242', 'task', '4243', 'comm');
    rmSync(comm);
    symlinkSync(outside, comm);
    expect(() => discoverThreads(paths, 4242)).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
    expect(() => threadComm(paths, 4242, 4243)).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
  });

  it('refuses a thread directory of a captured tree that is a symlink out of it', () => {
    const { proc, paths } = capturedProc('planted-dir');
    const elsewhere = join(work, 'elsewhere-task');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'comm'), 'CPU 9/KVM\n');
    rmSync(join(proc, '4242', 'task', '4243'), { recursive: true });
    symlinkSync(elsewhere, join(proc, '4242', 'task', '4243'));
    expect(() => discoverThreads(paths, 4242)).toThrow(expect.objectContaining({ code: 'APPLY_PATH_ESCAPE' }));
  });
});
