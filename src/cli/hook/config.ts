/**
 * The hook's configuration: one JSON file (default /etc/virt-pin/config.json,
 * or $VIRT_PIN_CONFIG), described by schemas/config.schema.json. A missing
 * file means the defaults; a broken one is an error the hook reports and
 * survives (it never blocks a guest start because of its own config unless
 * enforcement is on).
 */
import { toLibvirtVersion } from '../../domain/libvirt-version.js';
import { isVirtPinError } from '../../errors.js';
import { readFileSync } from 'node:fs';

export interface HookConfig {
  /** Refuse `prepare begin` when check finds errors. */
  enforce: boolean;
  /** IRQ policy for hostdevs the domain's metadata does not mention. */
  irqPolicy: 'native' | 'auto';
  /** Where state files live (one per domain). */
  stateDir: string;
  /** Also re-pin threads beyond what libvirt did (emulator helper threads). */
  threads: boolean;
  /** Upper bound of the detached waiter for late MSI-X vectors, in seconds. */
  waitIrqsSeconds: number;
  /**
   * The libvirt release whose rules the hook judges and plans by (docs/fidelity.md), as
   * MAJOR.MINOR[.MICRO]; unset: the newest modelled (10.7). Set it to the libvirtd the hook
   * runs under (`libvirtd --version`): the hook itself never spawns a process to ask.
   */
  libvirtVersion?: string;
}

export const DEFAULT_CONFIG: Readonly<HookConfig> = {
  enforce: false,
  irqPolicy: 'native',
  stateDir: '/run/virt-pin',
  threads: false,
  waitIrqsSeconds: 30,
};

export const DEFAULT_CONFIG_PATH = '/etc/virt-pin/config.json';

export class ConfigError extends Error {}

export function loadHookConfig(path: string = process.env.VIRT_PIN_CONFIG ?? DEFAULT_CONFIG_PATH): HookConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULT_CONFIG };
    throw new ConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  return { ...DEFAULT_CONFIG, ...checkConfig(raw, path) };
}

/** Validate by hand (the hook's cold start has no room for a schema compiler); mirrors schemas/config.schema.json. */
export function checkConfig(raw: unknown, where: string): Partial<HookConfig> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: the configuration must be a JSON object`);
  const out: Partial<HookConfig> = {};
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case '$schema':
        break;
      case 'enforce':
      case 'threads':
        if (typeof value !== 'boolean') throw new ConfigError(`${where}: '${key}' must be true or false`);
        out[key] = value;
        break;
      case 'irqPolicy':
        if (value !== 'native' && value !== 'auto') throw new ConfigError(`${where}: 'irqPolicy' must be 'native' or 'auto'`);
        out.irqPolicy = value;
        break;
      case 'stateDir':
        if (typeof value !== 'string' || !value.startsWith('/')) throw new ConfigError(`${where}: 'stateDir' must be an absolute path`);
        out.stateDir = value;
        break;
      case 'libvirtVersion': {
        if (typeof value !== 'string') throw new ConfigError(`${where}: 'libvirtVersion' must be a libvirt version such as "9.0"`);
        try {
          toLibvirtVersion(value);
        } catch (e) {
          if (isVirtPinError(e)) throw new ConfigError(`${where}: 'libvirtVersion': ${e.message}`);
          throw e;
        }
        out.libvirtVersion = value;
        break;
      }
      case 'waitIrqsSeconds':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 600) {
          throw new ConfigError(`${where}: 'waitIrqsSeconds' must be a number of seconds from 0 to 600`);
        }
        out.waitIrqsSeconds = value;
        break;
      default:
        throw new ConfigError(`${where}: unknown setting '${key}' (known: enforce, irqPolicy, libvirtVersion, stateDir, threads, waitIrqsSeconds)`);
    }
  }
  return out;
}
