/**
 * Installing the qemu hook: one small shell wrapper in `HOOKS/qemu.d/`,
 * written atomically (temp file + rename), marked so uninstall only ever
 * removes our own file and install never overwrites somebody else's. The
 * wrapper runs virt-pin's own copy of the CLI (src/cli/hook/copy.ts) and
 * fails open when that copy cannot run: it logs why (stderr for libvirtd's
 * log, `logger` for the system log) and exits 0, except at `prepare begin`
 * when enforce was on at install time — there a refusal is the point, and
 * the wrapper cannot read the JSON configuration without the CLI, so install
 * writes the setting into the wrapper (run `hook install` again after
 * changing it; `hook status` and every hook call say when the two differ).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HOOK_MARKER = '# virt-pin qemu hook (installed by `virt-pin hook install`; remove with `virt-pin hook uninstall`)';
export const HOOK_FILE_NAME = 'virt-pin';
/** The CLI's exit status for "refuse the start" when the wrapper runs it (distinct from Node's own 1 on a crash). */
export const WRAPPED_REFUSAL_STATUS = 100;
/** Wall-clock bound of one hook call, in seconds, unless `hook install --budget` says otherwise. */
export const DEFAULT_BUDGET_SECONDS = 20;

export interface InstallResult {
  path: string;
  /** 'installed', 'updated' or 'unchanged'. */
  action: 'installed' | 'updated' | 'unchanged';
  /**
   * libvirt looks for hooks when the daemon starts: when none existed for
   * the qemu driver before, the daemon must be restarted to notice ours.
   */
  restartNeeded: boolean;
}

export class HookInstallError extends Error {}

export interface WrapperSettings {
  /** Node binary (process.execPath at install time); `node` on PATH when it is gone. */
  node: string;
  /** The installed copy's cli.js. */
  cli: string;
  /** enforce as the configuration said at install time; used only when the CLI cannot run. */
  enforce: boolean;
  /** Hard wall-clock bound of one call (the wrapper kills the CLI after it). */
  budgetSeconds: number;
}

/** Single-quoted for sh: nothing inside is expanded. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The hook script (POSIX sh). */
export function hookScript(w: WrapperSettings): string {
  return `#!/bin/sh
${HOOK_MARKER}
# libvirt runs this as: virt-pin NAME OPERATION SUB-OPERATION EXTRA, with the domain XML on stdin.
# It runs virt-pin's own copy of the CLI; upgrade it by running \`virt-pin hook install\` again.
# When that copy cannot run (node or the copy missing, a crash, over the time budget) this fails
# open: it logs why and exits 0, except at prepare/begin when enforce was on at install time.
node=${shellQuote(w.node)}
cli=${shellQuote(w.cli)}
enforce=${w.enforce ? 1 : 0}
budget=${Math.floor(w.budgetSeconds)}

say() {
  line="virt-pin hook: $(printf '%s' "$name" | tr -d '\\000-\\037\\177') $(printf '%s/%s' "$op" "$subop" | tr -d '\\000-\\037\\177'): $1"
  printf '%s\\n' "$line" >&2
  logger -t virt-pin -p daemon.err -- "$line" </dev/null >/dev/null 2>&1 &
}
name=$1 op=$2 subop=$3
run=$node
[ -x "$run" ] || run=$(command -v node 2>/dev/null) || run=
if [ -z "$run" ]; then
  why="node is missing ($node, and none on PATH)"
elif [ ! -f "$cli" ]; then
  why="the virt-pin CLI is missing ($cli; run virt-pin hook install again)"
else
  # hook.cjs beside the CLI carries only the hook's code (docs/cold-start.md).
  entry=\${cli%/*}/hook.cjs
  [ -f "$entry" ] || entry=$cli
  export VIRT_PIN_HOOK_WRAPPER=1 VIRT_PIN_HOOK_ENFORCE=$enforce VIRT_PIN_HOOK_BUDGET=$budget
  if command -v timeout >/dev/null 2>&1; then
    timeout -s KILL "$budget" "$run" "$entry" hook exec "$@"
  else
    "$run" "$entry" hook exec "$@"
  fi
  status=$?
  case $status in
    0) exit 0 ;;
    ${WRAPPED_REFUSAL_STATUS}) exit 1 ;;
    137) why="the virt-pin CLI was killed (over the $budget s budget, or out of memory)" ;;
    *) why="the virt-pin CLI failed (exit status $status)" ;;
  esac
fi
cat >/dev/null 2>&1
if [ "$op/$subop" = prepare/begin ] && [ "$enforce" = 1 ]; then
  say "$why; refusing the start (enforce was on when the hook was installed)"
  exit 1
fi
say "$why; leaving the domain alone"
exit 0
`;
}

/** The settings of a wrapper `hookScript` wrote, or undefined for anything else. */
export function parseHookScript(text: string): WrapperSettings | undefined {
  if (!text.includes(HOOK_MARKER)) return undefined;
  const value = (key: string): string | undefined => {
    const m = new RegExp(`^${key}=('(?:[^']|'\\\\'')*'|\\d+)$`, 'm').exec(text);
    if (!m) return undefined;
    const v = m[1]!;
    return v.startsWith("'") ? v.slice(1, -1).replace(/'\\''/g, "'") : v;
  };
  const node = value('node');
  const cli = value('cli');
  const enforce = value('enforce');
  const budget = value('budget');
  if (node === undefined || cli === undefined || enforce === undefined || budget === undefined) return undefined;
  return { node, cli, enforce: enforce === '1', budgetSeconds: Number(budget) };
}

function hasOtherQemuHooks(hooksDir: string): boolean {
  if (isExecutable(join(hooksDir, 'qemu'))) return true;
  const dir = join(hooksDir, 'qemu.d');
  if (!existsSync(dir)) return false;
  return readdirSync(dir).some((f) => f !== HOOK_FILE_NAME && isExecutable(join(dir, f)));
}

function isExecutable(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function hookPath(hooksDir: string): string {
  return join(hooksDir, 'qemu.d', HOOK_FILE_NAME);
}

/** The installed wrapper: undefined when there is none; throws when the file there is not ours. */
export function readInstalledHook(hooksDir: string): { path: string; settings: WrapperSettings | undefined } | undefined {
  const path = hookPath(hooksDir);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  if (!text.includes(HOOK_MARKER)) throw new HookInstallError(`${path} was not installed by virt-pin`);
  return { path, settings: parseHookScript(text) };
}

export function installHook(hooksDir: string, settings: WrapperSettings): InstallResult {
  const dir = join(hooksDir, 'qemu.d');
  const path = join(dir, HOOK_FILE_NAME);
  const content = hookScript(settings);
  const ourHookThere = existsSync(path);
  const restartNeeded = !hasOtherQemuHooks(hooksDir) && !ourHookThere;
  if (ourHookThere) {
    const current = readFileSync(path, 'utf8');
    if (!current.includes(HOOK_MARKER)) {
      throw new HookInstallError(`${path} exists and was not installed by virt-pin; refusing to overwrite it (move it away first)`);
    }
    if (current === content) return { path, action: 'unchanged', restartNeeded: false };
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${HOOK_FILE_NAME}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, content, { mode: 0o755, flag: 'wx' });
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file was never created
    }
    throw new HookInstallError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { path, action: ourHookThere ? 'updated' : 'installed', restartNeeded };
}

export function uninstallHook(hooksDir: string): { path: string; removed: boolean; settings?: WrapperSettings } {
  const path = hookPath(hooksDir);
  if (!existsSync(path)) return { path, removed: false };
  const text = readFileSync(path, 'utf8');
  if (!text.includes(HOOK_MARKER)) {
    throw new HookInstallError(`${path} was not installed by virt-pin; leaving it alone`);
  }
  unlinkSync(path);
  const settings = parseHookScript(text);
  return { path, removed: true, ...(settings ? { settings } : {}) };
}
