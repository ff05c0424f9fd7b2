/**
 * `virt-pin hook status`: what is installed where, whether the wrapper's
 * target exists and runs, and the configuration as the hook will read it
 * (validated: a typo is an error here, not a silent fallback).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG_PATH, loadHookConfig, type HookConfig } from './config.js';
import { probeCopy, readManifest, verifyCopy } from './copy.js';
import { HookInstallError, hookPath, readInstalledHook } from './install.js';

export interface StatusReport {
  ok: boolean;
  text: string;
}

export function hookStatus(hooksDir: string): StatusReport {
  const lines: string[] = [];
  let ok = true;
  const bad = (line: string): void => {
    ok = false;
    lines.push(line);
  };
  const configPath = process.env.VIRT_PIN_CONFIG ?? DEFAULT_CONFIG_PATH;
  let config: HookConfig | undefined;
  try {
    config = loadHookConfig(configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }

  let installed;
  try {
    installed = readInstalledHook(hooksDir);
  } catch (e) {
    if (!(e instanceof HookInstallError)) throw e;
    bad(`hook:      error: ${e.message}`);
  }
  if (installed === undefined && ok) bad(`hook:      error: not installed (${hookPath(hooksDir)}); run 'virt-pin hook install'`);
  if (installed) {
    const w = installed.settings;
    if (!w) bad(`hook:      error: ${installed.path} is virt-pin's but from an older version (no stable copy); run 'virt-pin hook install' again`);
    else {
      lines.push(`hook:      ${installed.path}`);
      // The wrapper runs hook.cjs beside the CLI when the copy has it (src/cli/hook/install.ts).
      const entry = existsSync(join(dirname(w.cli), 'hook.cjs')) ? join(dirname(w.cli), 'hook.cjs') : w.cli;
      lines.push(`runs:      ${w.node} ${entry} hook exec NAME OPERATION SUB-OPERATION`);
      const copyDir = dirname(w.cli);
      const manifest = readManifest(copyDir);
      if (!manifest) bad(`copy:      error: ${copyDir} is missing or not a virt-pin copy; the hook fails open (logs, exits 0${w.enforce ? ', refuses at prepare/begin' : ''}) until 'virt-pin hook install' runs again`);
      else {
        const problems = verifyCopy(copyDir, manifest);
        const st = statSync(copyDir);
        const owner = st.uid === 0 ? 'owned by root' : `owned by uid ${st.uid}, not root`;
        if (problems.length) bad(`copy:      error: ${copyDir}: ${problems.join('; ')}`);
        else lines.push(`copy:      ${copyDir}: virt-pin ${manifest.version}, ${Object.keys(manifest.files).length} files intact, ${owner}; installed from ${manifest.source}`);
        if (st.uid !== 0) lines.push('           warning: libvirtd runs this copy as root; install as root so only root can change it');
        const probe = probeCopy(w.node, w.cli);
        if (probe.ok) lines.push(`probe:     runs: ${probe.detail}`);
        else bad(`probe:     error: does not run: ${probe.detail}`);
      }
      lines.push(`budget:    ${w.budgetSeconds} s per call (then the call is killed and fails open)`);
      const enforceNow = config?.enforce;
      const mismatch = enforceNow !== undefined && enforceNow !== w.enforce;
      const enforceLine = `enforce:   when the CLI cannot run: ${w.enforce ? 'refuse at prepare/begin' : 'never refuse'} (written at install)`;
      if (mismatch) bad(`${enforceLine}; error: the configuration says enforce ${enforceNow ? 'on' : 'off'}: run 'virt-pin hook install' again`);
      else lines.push(enforceLine);
    }
  }

  if (config) {
    let exists = true;
    try {
      statSync(configPath);
    } catch {
      exists = false;
    }
    lines.push(`config:    ${configPath}: ${exists ? 'valid' : 'not present, so the defaults'}`);
    lines.push(`effective: ${JSON.stringify(config)}`);
  } else {
    try {
      loadHookConfig(configPath);
    } catch (e) {
      bad(`config:    error: ${(e as Error).message}`);
      lines.push('effective: every hook call logs this error as a warning and uses the defaults, with enforce as installed');
    }
  }
  return { ok, text: `${lines.join('\n')}\n` };
}
