// The floor of the mechanism, for bench/apply-cli.mjs: what its taskset
// script does, done from one Node process the cheapest way virt-pin could
// do it. It loads koffi's native module and libc the way src/apply/io.ts
// does, then calls sched_setaffinity once per thread. It does no discovery,
// and it neither records nor reads back anything.
//
// argv: LIST:TID pairs, for example `0-1:4242 3:4243` (a kernel CPU list,
// then a thread id). Exits 1 on the first call that fails.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const pkg = join(__dirname, '..', 'node_modules', 'koffi');
const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;
const native = { exports: {} };
process.dlopen(native, join(pkg, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node'));
if (native.exports.version !== version) throw new Error(`koffi's native module is ${native.exports.version}, its package ${version}`);
const setaffinity = native.exports.load('libc.so.6').func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)');

/** A kernel CPU list as a mask of 1024 CPUs (the kernel ignores bits beyond its own CPU count). */
function maskOf(list) {
  const mask = Buffer.alloc(128);
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    for (let c = from; c <= to; c++) mask[c >> 3] |= 1 << (c & 7);
  }
  return mask;
}

const masks = new Map();
for (const arg of process.argv.slice(2)) {
  const at = arg.lastIndexOf(':');
  const list = arg.slice(0, at);
  let mask = masks.get(list);
  if (!mask) masks.set(list, (mask = maskOf(list)));
  if (setaffinity(Number(arg.slice(at + 1)), mask.length, mask) !== 0) {
    process.stderr.write(`sched_setaffinity(${arg}) failed\n`);
    process.exit(1);
  }
}
