// Build dist/, which is what the npm package ships:
//   index.js        the library, one ESM bundle (works from require() too)
//   cli.js          an ESM stub that requires cli.cjs (the documented path)
//   cli.cjs         the bin: starts cli-main.cjs from a V8 code cache
//   cli-main.cjs    the CLI, one CommonJS bundle
//   hook.cjs        what libvirt's hook runs: loader of hook-main.cjs
//   hook-main.cjs   `hook exec` and `hook late-irqs` only, CommonJS
//   check-worker.cjs check's worker threads: the checker only
//   xmlbuilder2.cjs xmlbuilder2 and its dependencies, required by the
//                   bundles only when a new XML element is built
//   index.d.ts, types/  declarations reachable from the library entry
//   THIRD-PARTY-LICENSES.txt  licences of the packages bundled into the above
// src/cli/runtime-files.ts lists the files the CLI and hook run from.
//
// The CLI is bundled because cold start matters in a libvirt hook (an
// unbundled fast-xml-parser ESM import alone costs ~40 ms; see
// shared/spec/npm-deps-eval.md §6). It is not split per command (esbuild
// `splitting`, main.ts already imports commands dynamically): that made
// `--version` ~20 ms faster but the hook phases 5-15 ms slower, because the
// hook still reached ~10 chunks and loading each ESM file cost about what
// compiling the unused rest of the bundle saved. What made short runs fast
// instead (bench/coldstart.mjs, issue 15): a separate hook bundle, a V8 code
// cache per command (src/cli/cached-entry.ts), CommonJS bodies (no ESM
// loader, no ESM namespace of node:fs, which loads fs/promises, the fs
// streams and readline), built-ins loaded on first use (lazyBuiltins below)
// and plain stdout/stderr writers (src/cli/plain-stdio.ts).
//
// xmlbuilder2 is a separate file because inlining it (760 kB with
// @oozcitak/dom and js-yaml) cost every start ~10 ms of CPU (`--version`,
// `check`, every hook call) while only `pin`, `import` and `normalize` of
// elements that do not exist yet use it; loaded from node_modules instead
// (~60 files) it cost `pin` ~40 ms more than one bundled file.
//
// No source maps: the bundles are unminified, so stack traces already name
// the real functions and a search finds the line; maps with sourcesContent
// doubled the package, and maps without it point at a src/ the package does
// not ship.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);

// Building needs the devDependencies; say so instead of a module-not-found trace.
const tools = ['esbuild', 'typescript', 'ajv', 'ajv-draft-04', 'fast-xml-parser', 'xmlbuilder2'];
const missing = tools.filter((name) => !(require.resolve.paths(name) ?? []).some((dir) => existsSync(join(dir, name, 'package.json'))));
if (missing.length > 0) {
  console.error(`virt-pin build: missing devDependencies ${missing.join(', ')}; run \`npm ci\` (without --omit=dev) in ${root}`);
  process.exit(1);
}
const esbuild = require('esbuild');
const ts = require('typescript');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// Generated sources (precompiled JSON Schema validators) come first so that
// tsc and esbuild both see them.
const generators = ['scripts/gen-validators.mjs'];
for (const g of generators) {
  if (!existsSync(join(root, g))) continue;
  const r = spawnSync(process.execPath, [join(root, g)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// Type-check and emit declarations only (esbuild writes the JavaScript).
const declDir = mkdtempSync(join(tmpdir(), 'virt-pin-decl-'));
try {
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--emitDeclarationOnly', '--declarationMap', 'false', '--sourceMap', 'false', '--outDir', declDir],
    { cwd: root, stdio: 'inherit' },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  copyReachableDeclarations(declDir, join(dist, 'types'));
} finally {
  rmSync(declDir, { recursive: true, force: true });
}
writeFileSync(join(dist, 'index.d.ts'), "export * from './types/index.js';\n");

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const bundled = new Map(); // package directory → bytes bundled, for the licence file
const common = {
  bundle: true,
  define: { VIRT_PIN_VERSION: JSON.stringify(version), VIRT_PIN_XMLBUILDER2: JSON.stringify('./xmlbuilder2.cjs') },
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // Bundled CJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __vpCreateRequire } from 'node:module'; const require = __vpCreateRequire(import.meta.url);",
  },
};

noteBundled(await esbuild.build({ ...common, entryPoints: [join(root, 'src/index.ts')], outfile: join(dist, 'index.js') }));
// The CLI and the hook: CommonJS bodies (a CommonJS start is a little
// cheaper than an ESM one, and only a CommonJS body can be compiled through
// vm.Script with a code cache), each started by a small loader that uses a
// V8 code cache (src/cli/cached-entry.ts says how). The hook's body holds
// only `hook exec` / `hook late-irqs`.
const commonCjs = {
  ...common,
  format: 'cjs',
  // import.meta.url on first use: building the URL costs a fresh process ~0.35 ms, and only koffi's and
  // node:crypto's createRequire need it.
  define: { ...common.define, 'import.meta.url': '__vpImportMeta.url' },
  banner: { js: "var __vpImportMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  plugins: [lazyBuiltins(), lazyPackages(['fast-xml-parser'])],
};
// check's worker threads start this slim entry, not the whole CLI.
noteBundled(await esbuild.build({ ...commonCjs, entryPoints: [join(root, 'src/cli/check-worker.ts')], outfile: join(dist, 'check-worker.cjs'), plugins: [lazyPackages(['fast-xml-parser'])] }));
for (const [body, loader, entry, exportName, variant] of [
  ['cli-main.cjs', 'cli.cjs', 'src/cli/main.ts', 'main', 'command'],
  ['hook-main.cjs', 'hook.cjs', 'src/cli/hook-entry.ts', 'runHookEntry', 'hook-phase'],
]) {
  noteBundled(await esbuild.build({ ...commonCjs, entryPoints: [join(root, entry)], outfile: join(dist, body) }));
  asciiOnly(join(dist, body));
  await esbuild.build({
    ...commonCjs,
    define: { ...commonCjs.define, ...cachedBody(body, exportName), VIRT_PIN_CACHE_VARIANT: JSON.stringify(variant) },
    banner: { js: '#!/usr/bin/env node' },
    plugins: [],
    entryPoints: [join(root, 'src/cli/cached-entry.ts')],
    outfile: join(dist, loader),
  });
  chmodSync(join(dist, loader), 0o755);
}
// The path every document and test names: an ESM file (the package is
// "type": "module") that only starts the CommonJS loader. The package's bin
// is cli.cjs itself, which spares every run the ESM loader (which loads
// fs/promises and readline on its own).
writeFileSync(join(dist, 'cli.js'), "#!/usr/bin/env node\nimport { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('./cli.cjs');\n", { mode: 0o755 });
chmodSync(join(dist, 'cli.js'), 0o755);
noteBundled(
  await esbuild.build({
    entryPoints: ['xmlbuilder2'],
    absWorkingDir: root,
    outfile: join(dist, 'xmlbuilder2.cjs'),
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  }),
);
writeThirdPartyLicenses();
checkRuntimeFiles();

/** Every file of src/cli/runtime-files.ts was built and is in package.json's `files`; nothing else built beside them is left out. */
function checkRuntimeFiles() {
  const list = [...readFileSync(join(root, 'src/cli/runtime-files.ts'), 'utf8').matchAll(/^\s*'([^']+)',/gm)].map((m) => m[1]);
  const shipped = new Set(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).files);
  for (const file of list) {
    if (!existsSync(join(dist, file))) throw new Error(`src/cli/runtime-files.ts lists ${file}, which the build did not write`);
    if (!shipped.has(`dist/${file}`)) throw new Error(`package.json "files" lacks dist/${file} (src/cli/runtime-files.ts)`);
  }
  for (const file of readdirSync(dist)) {
    if (/\.(c?js)$/.test(file) && file !== 'index.js' && !list.includes(file)) throw new Error(`dist/${file} is built but not in src/cli/runtime-files.ts`);
  }
}

/**
 * Make a bundle pure ASCII, so that its loader can decode it as latin1 (a
 * copy into a one-byte string: 0.6 ms for the 1 MB CLI body) instead of
 * UTF-8 (3.0 ms; and one non-ASCII character makes V8 keep the whole source
 * as a two-byte string, twice the memory). esbuild already escapes every
 * non-ASCII character in strings, templates and regular expressions (its
 * default charset); what it leaves are comments it keeps (those inside
 * class bodies and object literals), where an escape reads as well.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) writeFileSync(file, ascii);
  // The loader's latin1 decoding relies on this; the exact same text must also still be JavaScript.
  if (!/^[\x00-\x7f]*$/.test(ascii)) throw new Error(`${file} is not ASCII`);
  new Script(ascii, { filename: file });
}

/** What src/cli/cached-entry.ts needs to know of the bundle it loads: its name, export, length and content hash. */
function cachedBody(file, exportName) {
  const bytes = readFileSync(join(dist, file));
  return {
    VIRT_PIN_CACHED_BODY: JSON.stringify(file),
    VIRT_PIN_CACHED_EXPORT: JSON.stringify(exportName),
    VIRT_PIN_CACHED_BYTES: String(bytes.length),
    VIRT_PIN_CACHED_SHA256: JSON.stringify(createHash('sha256').update(bytes).digest('hex')),
  };
}

/**
 * Built-ins that a bundle imports for one rarely taken path (child_process
 * for virsh and the late-IRQ waiter, net for QMP, worker_threads for check's
 * pool, crypto for report fingerprints) cost every start their load
 * (child_process alone brings net, dgram and the stream stack). This plugin replaces them with a module of
 * wrappers that require the built-in on first call. Only functions and
 * classes are wrapped: importing anything else from these modules is a
 * build error, which is the signal to load that import eagerly instead.
 */
function lazyBuiltins() {
  return {
  name: 'lazy-builtins',
  setup(build) {
    const lazy = ['child_process', 'net', 'worker_threads', 'dgram', 'crypto'];
    build.onResolve({ filter: new RegExp(`^(node:)?(${lazy.join('|')})$`) }, (args) =>
      // The wrapper module's own require() is the real built-in.
      args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const real = require(`node:${args.path}`);
      const names = Object.keys(real).filter((k) => typeof real[k] === 'function' && /^[A-Za-z_$][\w$]*$/.test(k));
      const lines = [`let loaded; const load = () => (loaded ??= require('node:${args.path}'));`];
      for (const k of names) {
        lines.push(`export function ${k}(...args) { return new.target ? Reflect.construct(load().${k}, args) : load().${k}.apply(this, args); }`);
      }
      return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
    });
  },
  };
}

/**
 * The same for bundled packages that only a rare path uses but whose
 * modules do work when they are loaded: fast-xml-parser parses only
 * capabilities and node-device XML (src/host/xml-tree.ts), yet initialising
 * it (its number tables among them) cost every `check`, `show` and `define`
 * that imports the host module ~2 ms of a ~20 ms start. The package is still
 * bundled; the wrapper requires it, and so runs its module code, on the
 * first call. Exports that are functions or classes, and objects of
 * functions (fast-xml-parser's XMLValidator), are wrapped; anything else is a
 * build error.
 */
function lazyPackages(packages) {
  return {
    name: 'lazy-packages',
    setup(build) {
      const filter = new RegExp(`^(${packages.map((p) => p.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter }, (args) =>
        // The wrapper's own require() resolves to the real package (bundled, initialised on first use).
        // sideEffects: false lets a bundle that never calls the package (the hook's) drop the wrapper and the package.
        args.namespace === 'lazy-package' ? undefined : { path: args.path, namespace: 'lazy-package', sideEffects: false },
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => {
        const real = require(args.path);
        const lines = [`let loaded; const load = () => (loaded ??= require(${JSON.stringify(args.path)}));`];
        for (const [k, v] of Object.entries(real)) {
          if (!/^[A-Za-z_$][\w$]*$/.test(k)) continue;
          if (typeof v === 'function') {
            lines.push(`export function ${k}(...args) { return new.target ? Reflect.construct(load().${k}, args) : load().${k}.apply(this, args); }`);
            // Static methods (XMLParser.getMetaDataSymbol) too.
            for (const m of Object.getOwnPropertyNames(v).filter((m) => typeof v[m] === 'function' && /^[A-Za-z_$][\w$]*$/.test(m))) {
              lines.push(`${k}.${m} = (...args) => load().${k}.${m}(...args);`);
            }
          } else if (v && typeof v === 'object' && Object.values(v).every((f) => typeof f === 'function')) {
            lines.push(`export const ${k} = { ${Object.keys(v).map((f) => `${JSON.stringify(f)}(...args) { return load().${k}[${JSON.stringify(f)}](...args); }`).join(', ')} };`);
          } else {
            throw new Error(`lazyPackages: ${args.path} exports ${k}, which is neither a function nor an object of functions; load the package eagerly`);
          }
        }
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}

/**
 * Copy index.d.ts and every declaration file it reaches through relative
 * imports; report any import of another package, because a user's
 * TypeScript would need that package's types installed.
 */
function copyReachableDeclarations(from, to) {
  const seen = new Set();
  const foreign = new Set();
  const queue = [join(from, 'index.d.ts')];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '').trimEnd() + '\n';
    const info = ts.preProcessFile(text, true, true);
    for (const spec of info.importedFiles.map((f) => f.fileName)) {
      if (!spec.startsWith('.')) {
        foreign.add(`${spec} (${relative(from, file)})`);
        continue;
      }
      const target = resolvePath(dirname(file), spec.replace(/\.js$/, '.d.ts'));
      if (!existsSync(target)) throw new Error(`declarations: ${relative(from, file)} imports ${spec}, which tsc did not emit`);
      queue.push(target);
    }
    for (const ref of [...info.typeReferenceDirectives, ...info.referencedFiles, ...info.libReferenceDirectives]) foreign.add(`/// <reference ${ref.fileName}> (${relative(from, file)})`);
    const out = join(to, relative(from, file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }
  if (foreign.size > 0) throw new Error(`declarations reach outside the package: ${[...foreign].join(', ')}`);
}

function noteBundled(result) {
  for (const [input, info] of Object.entries(result.metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) bundled.set(m[1], (bundled.get(m[1]) ?? 0) + info.bytes);
  }
}

function writeThirdPartyLicenses() {
  const parts = [];
  for (const dir of [...bundled.keys()].sort()) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const licenceFile = readdirSync(join(root, dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenceFile ? readFileSync(join(root, dir, licenceFile), 'utf8').trim() : `License: ${pkg.license}`;
    parts.push(`${pkg.name} ${pkg.version} (${pkg.license})\n${'-'.repeat(60)}\n${text}\n`);
  }
  writeFileSync(
    join(dist, 'THIRD-PARTY-LICENSES.txt'),
    `virt-pin's bundles (dist/*.js, dist/xmlbuilder2.cjs) include code from these packages:\n\n${parts.join('\n')}`,
  );
}
