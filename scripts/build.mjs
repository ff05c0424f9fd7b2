// Build: type-check and emit declarations with tsc, then bundle the library
// entry and the CLI with esbuild. The CLI is bundled because cold start
// matters in a libvirt hook (an unbundled fast-xml-parser ESM import alone
// costs ~40 ms; see shared/spec/npm-deps-eval.md §6). It stays one file:
// splitting it per command (esbuild `splitting`, main.ts already imports
// commands dynamically) made `--version` ~20 ms faster but the hook phases
// 5-15 ms slower, because the hook still reaches ~10 chunks and loading each
// ESM file costs about what compiling the unused rest of the bundle saves.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const esbuild = require('esbuild');

rmSync(join(root, 'dist'), { recursive: true, force: true });
mkdirSync(join(root, 'dist'), { recursive: true });

// Generated sources (precompiled JSON Schema validators) come first so that
// tsc and esbuild both see them.
const generators = ['scripts/gen-validators.mjs'];
for (const g of generators) {
  if (!existsSync(join(root, g))) continue;
  const r = spawnSync(process.execPath, [join(root, g)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Packages left out of the bundles: xmlbuilder2 is loaded lazily (only when a
// new element is built) and must stay a runtime require.
const external = ['xmlbuilder2'];
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const common = {
  bundle: true,
  define: { VIRT_PIN_VERSION: JSON.stringify(version) },
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __vpCreateRequire } from 'node:module'; const require = __vpCreateRequire(import.meta.url);",
  },
};

await esbuild.build({ ...common, entryPoints: [join(root, 'src/index.ts')], outfile: join(root, 'dist/index.js') });
writeFileSync(join(root, 'dist/index.d.ts'), "export * from './lib/index.js';\n");

if (existsSync(join(root, 'src/cli/main.ts'))) {
  await esbuild.build({
    ...common,
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: join(root, 'dist/cli.js'),
    banner: { js: '#!/usr/bin/env node\n' + common.banner.js },
  });
  chmodSync(join(root, 'dist/cli.js'), 0o755);
}
