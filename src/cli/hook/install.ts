/**
 * Installing the qemu hook: one small executable in `HOOKS/qemu.d/`,
 * written atomically (temp file + rename), marked so uninstall only ever
 * removes our own file and install never overwrites somebody else's.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HOOK_MARKER = '# virt-pin qemu hook (installed by `virt-pin hook install`; remove with `virt-pin hook uninstall`)';
export const HOOK_FILE_NAME = 'virt-pin';

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

/** The hook script: exec the CLI with libvirt's arguments, nothing else. */
export function hookScript(nodePath: string, cliPath: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n${HOOK_MARKER}\n# libvirt runs this as: virt-pin NAME OPERATION SUB-OPERATION EXTRA, with the domain XML on stdin.\nexec ${q(nodePath)} ${q(cliPath)} hook exec "$@"\n`;
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

export function installHook(hooksDir: string, nodePath: string, cliPath: string): InstallResult {
  const dir = join(hooksDir, 'qemu.d');
  const path = join(dir, HOOK_FILE_NAME);
  const content = hookScript(nodePath, cliPath);
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

export function uninstallHook(hooksDir: string): { path: string; removed: boolean } {
  const path = join(hooksDir, 'qemu.d', HOOK_FILE_NAME);
  if (!existsSync(path)) return { path, removed: false };
  if (!readFileSync(path, 'utf8').includes(HOOK_MARKER)) {
    throw new HookInstallError(`${path} was not installed by virt-pin; leaving it alone`);
  }
  unlinkSync(path);
  return { path, removed: true };
}
