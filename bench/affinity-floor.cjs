// The floor of the mechanism, for bench/apply-cli.mjs: what its taskset
// script does, done from one Node process the cheapest way virt-pin could
// do it. It loads koffi's native module and libc the way src/apply/io.ts
// does, then calls sched_setaffinity once per thread. It does no discovery,
// and it neither records nor reads back anything.
//
// With `--safe PID` first, it also does per thread the reads virt-pin's
// apply does to stay root-safe and restorable: the thread's name under
// /proc/PID/task/TID/comm (the thread is the process's only while that
// exists; restore compares the name, docs/security.md), its affinity before
// (what rollback and restore put back) and after (that the write took).
// With `--safe-back PID`, what virt-pin's restore reads: the name, and the
// affinity before (a thread already as recorded is not written; here it is
// written anyway). That is the floor of a safe applier; it still does no
// planning, no thread discovery, no lock and no state file.
//
// argv: [--safe PID | --safe-back PID] LIST:TID pairs, for example `0-1:4242 3:4243` (a
// kernel CPU list, then a thread id). Exits 1 on the first call that fails.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const pkg = join(__dirname, '..', 'node_modules', 'koffi');
const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
const native = { exports: {} };
process.dlopen(native, join(pkg, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node'));
if (native.exports.version !== version) throw new Error(`koffi's native module is ${native.exports.version}, its package ${version}`);
const libc = native.exports.load('libc.so.6');
const setaffinity = libc.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');
const getaffinity = libc.func('int sched_getaffinity(int pid, size_t size, _Out_ uint8_t *mask)');

/** A kernel CPU list as a mask of 1024 CPUs (the kernel ignores bits beyond its own CPU count). */
function maskOf(list) {
  const mask = Buffer.alloc(128);
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let c = from; c <= to; c++) mask[c >> 3] |= 1 << (c & 7);
  }
  return mask;
}

const args = process.argv.slice(2);
const safePid = args[0] === '--safe' || args[0] === '--safe-back' ? args[1] : undefined;
const readAfter = args[0] === '--safe';
const pairs = safePid === undefined ? args : args.slice(2);
const masks = new Map();
const before = Buffer.alloc(128);
const after = Buffer.alloc(128);
const fail = (what) => {
  process.stderr.write(`${what} failed\n`);
  process.exit(1);
};
for (const arg of pairs) {
  const at = arg.lastIndexOf(':');
  const list = arg.slice(0, at);
  const tid = Number(arg.slice(at + 1));
  let mask = masks.get(list);
  if (!mask) masks.set(list, (mask = maskOf(list)));
  if (safePid !== undefined) {
    // The thread is the process's own only while /proc/PID/task/TID exists; its name is what a restore compares.
    if (readFileSync(`/proc/${safePid}/task/${tid}/comm`, 'latin1').length === 0) fail(`reading thread ${tid}'s name`);
    if (getaffinity(tid, before.length, before) !== 0) fail(`sched_getaffinity(${tid})`);
  }
  if (setaffinity(tid, mask.length, mask) !== 0) fail(`sched_setaffinity(${arg})`);
  if (readAfter && getaffinity(tid, after.length, after) !== 0) fail(`sched_getaffinity(${tid}) after the write`);
}
