/**
 * A CommonJS loader that starts a bundle from a V8 code cache: dist/cli.cjs
 * runs dist/cli-main.cjs and dist/hook.cjs runs dist/hook-main.cjs this way
 * (the build defines the VIRT_PIN_CACHED_* constants below). Compiling the
 * bundle is a large part of a short run's start (`check one.xml`, a hook
 * call); with the cache V8 deserializes the functions an earlier run of the
 * same command compiled instead of parsing and compiling them again.
 *
 * - Node ≥ 22: module.enableCompileCache(DIR/compile-cache) and a plain
 *   require(); Node keys and checks that cache itself.
 * - Node 20: vm.Script with cachedData. V8 checks only the source's length,
 *   not its content, so the cache file is named by the SHA-256 of the
 *   bundle's content (computed by the build, which writes the bundle and this
 *   loader together), the Node version and the architecture: a rebuilt
 *   bundle never meets an old cache. A bundle whose length is not the one
 *   the build recorded is run without a cache. Hashing the bundle here
 *   instead costs more than the cache saves: node:crypto or node:zlib
 *   (CRC-32) take 3-10 ms to load, a hash in JavaScript 3-5 ms per call.
 * - The cache lives beside the bundle. It is read only when it and its
 *   directory belong to root or to this user and no one else can write
 *   them (the hook runs as root: a cache anyone could plant is code anyone
 *   could run), and written only into such a directory, atomically, after
 *   the run (so it holds every function the run compiled). A missing,
 *   unreadable, untrusted or rejected cache is ignored silently: the bundle
 *   is compiled from source as without one.
 * - VIRT_PIN_CODE_CACHE=0 turns it off (README: the only files a plain run
 *   writes are these caches).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { isPartialRun } from './code-cache-mark.js';
import { usePlainStdio } from './plain-stdio.js';

declare const VIRT_PIN_CACHED_BODY: string;
declare const VIRT_PIN_CACHED_EXPORT: string;
declare const VIRT_PIN_CACHED_BYTES: number;
declare const VIRT_PIN_CACHED_SHA256: string;
/** 'command': the CLI's first argument; 'hook-phase': the hook's operation. */
declare const VIRT_PIN_CACHE_VARIANT: 'command' | 'hook-phase';

const HOOK_PHASES = new Set(['prepare', 'started', 'stopped', 'release', 'reconnect']);

/** Which cache a run uses, from a bounded set of names: never from a domain name or another free-form argument. */
function cacheVariant(argv: readonly string[]): string {
  if (VIRT_PIN_CACHE_VARIANT === 'hook-phase') {
    const args = argv[0] === 'hook' ? argv.slice(1) : argv;
    if (args[0] !== 'exec') return args[0] === 'late-irqs' ? 'late-irqs' : 'other';
    return `exec-${HOOK_PHASES.has(args[2] ?? '') ? args[2] : 'other'}`;
  }
  // `check --help` must not write the `check` cache: holding only the help's functions, it would leave
  // every later `check` compiling most of its code (measured: 1.44x instead of 1.31x node -e 0).
  const end = argv.indexOf('--');
  if (argv.slice(0, end < 0 ? argv.length : end).some((a) => a === '--help' || a === '-h')) return 'help';
  return /^[a-z][a-z-]{0,19}$/.test(argv[0] ?? '') ? argv[0]! : 'other';
}

type Entry = (argv: readonly string[], selfPath: string) => Promise<number>;


/** Cache files larger than this are not read (a real one is a few hundred kB). */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const dir = __dirname;
const bodyPath = join(dir, VIRT_PIN_CACHED_BODY);

function trusted(st: { uid: number; mode: number }): boolean {
  const uid = process.geteuid?.() ?? -1;
  return (st.uid === 0 || st.uid === uid) && (st.mode & 0o022) === 0;
}

function readTrustedCache(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    if (!trusted(statSync(dir))) return undefined;
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || !trusted(st) || st.size > MAX_CACHE_BYTES) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeCache(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    const st = statSync(dir);
    if (!trusted(st) || st.uid !== (process.geteuid?.() ?? -1)) return; // only into a directory of our own
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    writeSync(fd, data);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
  }
}

function loadWithScriptCache(): Record<string, unknown> {
  const source = readFileSync(bodyPath);
  const asBuilt = source.length === VIRT_PIN_CACHED_BYTES;
  // One cache per command (per hook phase): a cache holds the functions of
  // the run that wrote it, and a `--version` cache would leave `check`
  // compiling nearly all of its code. Only runs that end with status 0 or 1 write one, so a
  // mistyped command (status 2) leaves no file behind.
  const command = cacheVariant(process.argv.slice(2));
  const base = join(dir, `${VIRT_PIN_CACHED_BODY}.${VIRT_PIN_CACHED_SHA256.slice(0, 32)}-${process.version}-${process.arch}.${command}`);
  // A run that stopped short of the command's usual work (a hook call with nothing to apply) marks itself
  // partial (src/cli/code-cache-mark.ts): its cache is kept apart and used only until a full run writes the full one.
  const fullPath = `${base}.v8cache`;
  const partialPath = `${base}.partial.v8cache`;
  let cachedData = asBuilt ? readTrustedCache(fullPath) : undefined;
  const loadedFull = cachedData !== undefined;
  if (asBuilt && !loadedFull) cachedData = readTrustedCache(partialPath);
  // The build makes the body pure ASCII (scripts/build.mjs asciiOnly): latin1 decodes it as UTF-8 would, ~5x faster.
  const script = new Script(Module.wrap(source.toString(asBuilt ? 'latin1' : 'utf8')), { filename: bodyPath, ...(cachedData ? { cachedData } : {}) });
  if (asBuilt) {
    const usable = cachedData !== undefined && script.cachedDataRejected !== true;
    // Written at exit so that the cache holds everything this run compiled.
    process.once('exit', (code) => {
      if (code !== 0 && code !== 1) return;
      const partial = isPartialRun();
      if (partial ? usable : usable && loadedFull) return;
      try {
        writeCache(partial ? partialPath : fullPath, script.createCachedData());
      } catch {
        // no cache this time
      }
    });
  }
  const module = { exports: {} as Record<string, unknown>, filename: bodyPath, id: bodyPath };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, bodyPath, dir);
  return module.exports;
}

/** VIRT_PIN_CODE_CACHE=0 turns the cache off: nothing is read or written beside the bundle. */
const cacheOff = process.env.VIRT_PIN_CODE_CACHE === '0';

function load(): Record<string, unknown> {
  if (cacheOff) return require(bodyPath) as Record<string, unknown>;
  const enable = (Module as unknown as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (typeof enable === 'function') {
    try {
      if (trusted(statSync(dir))) enable(join(dir, 'compile-cache'));
    } catch {
      // no cache
    }
    return require(bodyPath) as Record<string, unknown>;
  }
  return loadWithScriptCache();
}

usePlainStdio();
const entry = load()[VIRT_PIN_CACHED_EXPORT] as Entry;
entry(process.argv.slice(2), __filename).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`virt-pin: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
