/**
 * The files in dist/ that running the CLI or the hook needs, beside each
 * other in one directory: what `hook install` copies to its stable location
 * and what the npm package must ship (scripts/build.mjs checks both against
 * this list). The V8 code caches (*.v8cache, compile-cache/) are not in it:
 * each copy's loader writes its own beside it on first use.
 */
export const RUNTIME_FILES = [
  'cli.js', // starts cli.cjs (the path the documentation names)
  'cli.cjs', // the bin: code-cache loader of cli-main.cjs
  'cli-main.cjs', // every command
  'check-worker.cjs', // check's worker threads
  'hook.cjs', // what libvirt's hook runs: code-cache loader of hook-main.cjs
  'hook-main.cjs', // hook exec / hook late-irqs only
  'xmlbuilder2.cjs', // loaded when a new XML element is built
] as const;
