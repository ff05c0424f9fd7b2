/**
 * Where libvirt's test corpus lives: vendored in fixtures/libvirt/ (libvirt
 * v10.7.0 tests/, LGPL-2.1-or-later; see its README). VIRT_PIN_CORPUS points
 * the tests at another copy. Tests that read it fail (never skip) when it is
 * missing: a green run must mean the corpus was checked.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function corpusDir(): string {
  const dir = process.env.VIRT_PIN_CORPUS ?? join(repoRoot, 'fixtures', 'libvirt');
  if (!existsSync(join(dir, 'libvirt'))) {
    throw new Error(`libvirt corpus not found at ${dir} (it is part of the repository: fixtures/libvirt; VIRT_PIN_CORPUS overrides it)`);
  }
  return dir;
}

/** Every *.xml file under a directory, sorted, as absolute paths. */
export function xmlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.xml')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The 2,753 domain XML files of the corpus. */
export function corpusXmlFiles(): string[] {
  return xmlFilesUnder(join(corpusDir(), 'libvirt'));
}
