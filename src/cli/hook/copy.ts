/**
 * The hook's own copy of the CLI: `hook install` copies the CLI's files
 * (RUNTIME_FILES: the loaders, the bundles, check's worker, xmlbuilder2)
 * and koffi, the one package it loads at run time, when it is installed,
 * into `LIB/<version>/`, so the hook keeps working when the tree it was
 * installed from moves, is upgraded or was an npx cache. The wrapper runs
 * cli.cjs; its V8 code caches are written beside it by the first runs (as
 * root, into this root-owned directory; docs/cold-start.md). The bundles'
 * third-party licence file goes along.
 *
 * The copy is built in a temporary directory beside the target, probed (the
 * copied CLI must run and load its koffi), then renamed into place; an
 * identical copy is left as it is. Every directory from LIB up must be owned
 * by root or the installing user and not writable by others (a root-owned
 * sticky directory such as /tmp is allowed), because libvirtd runs the copy
 * as root.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { RUNTIME_FILES } from '../runtime-files.js';

export const DEFAULT_LIB_DIR = '/usr/local/lib/virt-pin';
export const MANIFEST_NAME = 'install.json';
/** What the wrapper runs: the CLI's CommonJS loader (src/cli/cached-entry.ts), beside the rest of RUNTIME_FILES. */
export const CLI_NAME = 'cli.cjs';
const LICENCE_FILES = ['THIRD-PARTY-LICENSES.txt'];

export class CopyError extends Error {}

export interface CopyManifest {
  kind: 'virt-pin-hook-copy';
  version: string;
  /** Where `hook install` ran from (informational). */
  source: string;
  /** sha256 of every copied file, by path relative to the copy. */
  files: Record<string, string>;
  /** Whether koffi was copied (else thread writes use taskset/chrt). */
  koffi: boolean;
}

export interface CopyResult {
  dir: string;
  cli: string;
  action: 'installed' | 'updated' | 'unchanged';
  manifest: CopyManifest;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Refuse a directory chain another user could change under root's feet. */
export function assertSecureDir(dir: string): void {
  const uid = process.geteuid?.() ?? 0;
  let at = realpathSync(dir);
  for (;;) {
    const st = statSync(at);
    if (!st.isDirectory()) throw new CopyError(`${at} is not a directory`);
    if (st.uid !== 0 && st.uid !== uid) throw new CopyError(`${at} is owned by uid ${st.uid}, neither root nor the installing user: refusing to install a hook libvirtd runs as root there`);
    const sharedWritable = (st.mode & 0o022) !== 0;
    const rootSticky = st.uid === 0 && (st.mode & 0o1000) !== 0;
    if (sharedWritable && !rootSticky) throw new CopyError(`${at} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): refusing to install a hook libvirtd runs as root there`);
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
}

/** koffi as the source CLI loads it: the package dir and the files it really loaded (index.js and one native binary). */
function locateKoffi(cliPath: string): { dir: string; files: string[] } | undefined {
  const req = createRequire(cliPath);
  let entry: string;
  try {
    entry = req.resolve('koffi');
    req('koffi');
  } catch {
    return undefined; // not installed (optional) or unloadable here: the copy goes without it
  }
  let dir = dirname(entry);
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const loaded = Object.keys(req.cache).filter((f) => f.startsWith(dir + sep));
  const files = new Set(['package.json', ...loaded.map((f) => relative(dir, f))]);
  for (const licence of ['LICENSE.txt', 'LICENSE']) if (existsSync(join(dir, licence))) files.add(licence);
  return { dir, files: [...files].sort() };
}

export function readManifest(copyDir: string): CopyManifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(copyDir, MANIFEST_NAME), 'utf8')) as CopyManifest;
    return m && m.kind === 'virt-pin-hook-copy' && typeof m.files === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Every file the manifest lists is there with its recorded hash. */
export function verifyCopy(copyDir: string, manifest: CopyManifest): string[] {
  const problems: string[] = [];
  for (const [file, hash] of Object.entries(manifest.files)) {
    try {
      if (sha256(readFileSync(join(copyDir, file))) !== hash) problems.push(`${file} differs from what was installed`);
    } catch (e) {
      problems.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return problems;
}

export interface ProbeResult {
  ok: boolean;
  /** What the copied CLI said (`hook probe`), or why it did not run. */
  detail: string;
  koffi?: boolean;
  version?: string;
}

/** Run the copy the way the wrapper will: `node CLI hook probe`, bounded. */
export function probeCopy(nodePath: string, cliPath: string): ProbeResult {
  const r = spawnSync(nodePath, [cliPath, 'hook', 'probe'], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, detail: `${nodePath} did not run: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  if (r.status !== 0) return { ok: false, detail: `exit status ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' | ')}` };
  try {
    const said = JSON.parse(r.stdout) as { version: string; koffi: boolean };
    return { ok: true, detail: `virt-pin ${said.version}, koffi ${said.koffi ? 'loaded' : 'not present (thread writes use taskset/chrt)'}`, koffi: said.koffi, version: said.version };
  } catch {
    return { ok: false, detail: `unexpected probe output: ${r.stdout.slice(0, 200)}` };
  }
}

/** Copy the running CLI (`cliPath`) into `libDir/<version>/`. */
export function installCopy(libDir: string, cliPath: string, version: string, nodePath: string): CopyResult {
  if (!/^[0-9A-Za-z.+_-]{1,64}$/.test(version) || version === '.' || version === '..') throw new CopyError(`version '${version}' is not usable as a directory name`);
  libDir = resolve(libDir);
  try {
    mkdirSync(libDir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new CopyError(`cannot create ${libDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  assertSecureDir(libDir);
  const target = join(libDir, version);
  const koffi = locateKoffi(cliPath);
  const contents = new Map<string, Uint8Array>();
  // The CLI is several files (src/cli/runtime-files.ts); all of them go, side by side.
  for (const f of RUNTIME_FILES) contents.set(f, readFileSync(join(dirname(cliPath), f)));
  // cli.js is an ES module; outside its package it needs a package.json saying so.
  contents.set('package.json', Buffer.from(`${JSON.stringify({ name: 'virt-pin-hook', version, private: true, type: 'module' }, null, 2)}\n`));
  // The bundle carries third-party code: its licence file goes with it.
  for (const f of LICENCE_FILES) if (existsSync(join(dirname(cliPath), f))) contents.set(f, readFileSync(join(dirname(cliPath), f)));
  for (const f of koffi?.files ?? []) contents.set(join('node_modules', 'koffi', f), readFileSync(join(koffi!.dir, f)));
  const manifest: CopyManifest = {
    kind: 'virt-pin-hook-copy',
    version,
    source: cliPath,
    files: Object.fromEntries([...contents].map(([f, b]) => [f, sha256(b)])),
    koffi: koffi !== undefined,
  };
  const existing = existsSync(target) ? readManifest(target) : undefined;
  if (existsSync(target) && !existing) throw new CopyError(`${target} exists and was not installed by virt-pin; refusing to replace it (move it away first)`);
  if (existing && JSON.stringify(existing.files) === JSON.stringify(manifest.files) && verifyCopy(target, existing).length === 0) {
    return { dir: target, cli: join(target, CLI_NAME), action: 'unchanged', manifest: existing };
  }
  const tmp = mkdtempSync(join(libDir, `.${version}.tmp-`));
  try {
    for (const [file, bytes] of contents) {
      mkdirSync(dirname(join(tmp, file)), { recursive: true, mode: 0o755 });
      writeFileSync(join(tmp, file), bytes, { mode: 0o644, flag: 'wx' });
    }
    writeFileSync(join(tmp, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
    chmodSync(tmp, 0o755);
    const probe = probeCopy(nodePath, join(tmp, CLI_NAME));
    if (!probe.ok) throw new CopyError(`the copied CLI does not run: ${probe.detail}`);
    if (koffi && !probe.koffi) throw new CopyError('the copied CLI does not load its copy of koffi');
    if (existsSync(target)) {
      // Same version, other bytes (a rebuild): swap. Between the two renames (microseconds) the wrapper finds no
      // CLI and fails open (docs/hook.md).
      const old = `${tmp}.old`;
      renameSync(target, old);
      try {
        renameSync(tmp, target);
      } catch (e) {
        renameSync(old, target); // put the previous copy back rather than leave none
        throw e;
      }
      rmSync(old, { recursive: true, force: true });
      return { dir: target, cli: join(target, CLI_NAME), action: 'updated', manifest };
    }
    renameSync(tmp, target);
    return { dir: target, cli: join(target, CLI_NAME), action: 'installed', manifest };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof CopyError) throw e;
    throw new CopyError(`cannot install the CLI into ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Remove a copy `installCopy` made (it must carry our manifest). */
export function removeCopy(copyDir: string): boolean {
  if (!existsSync(copyDir)) return false;
  if (!lstatSync(copyDir).isDirectory() || !readManifest(copyDir)) throw new CopyError(`${copyDir} was not installed by virt-pin; leaving it alone`);
  rmSync(copyDir, { recursive: true, force: true });
  return true;
}
