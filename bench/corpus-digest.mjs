// Output identity over the corpus: for every domain XML of the libvirt
// corpus, a sha256 of what `check`, `resolve` (JSON) and `normalize` produce,
// with and without host facts. test/domain/output-identity.test.ts compares
// the sources against the committed reference (fixtures/corpus-digest.tsv.gz);
// performance work must leave every digest unchanged.
//
//   node bench/corpus-digest.mjs [--lib PATH] [--write]   digests of dist/ (or PATH); --write rewrites the reference
//
// Plain ESM like fuzz-core.mjs: the test passes the TypeScript sources, this
// script the build.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve as resolvePath } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { corpusDir, REPO_ROOT } from './fuzz-core.mjs';

export const REFERENCE = join(REPO_ROOT, 'fixtures', 'corpus-digest.tsv.gz');

/** 48 bits of sha256 per output: plenty to notice a change, and the reference stays small. */
const sha = (value) => createHash('sha256').update(typeof value === 'string' ? value : JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).digest('hex').slice(0, 12);
export const OUTPUTS = ['check', 'checkHost', 'resolve', 'resolveHost', 'normalize'];
const outcome = (fn) => {
  try {
    return fn();
  } catch (e) {
    return { threw: e?.code ?? String(e), message: e?.message, location: e?.location };
  }
};

export function corpusFiles(root = REPO_ROOT) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSorted(d)) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith('.xml')) out.push(p);
    }
  };
  walk(join(corpusDir(root), 'libvirt'));
  return out;
}

function readdirSorted(d) {
  return readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** { relative path: { check, checkHost, resolve, resolveHost, normalize } } as 12-hex-digit sha256 prefixes. */
export function corpusDigests(lib, root = REPO_ROOT) {
  const host = lib.hostFromSysfs(join(root, 'fixtures', 'hosts', 'two-socket-smt'));
  const base = join(corpusDir(root), 'libvirt');
  const digests = {};
  for (const file of corpusFiles(root)) {
    const text = readFileSync(file, 'utf8');
    digests[relative(base, file)] = {
      check: sha(outcome(() => lib.checkDocument(text))),
      checkHost: sha(outcome(() => lib.checkDocument(text, { host }))),
      resolve: sha(outcome(() => lib.toJSON(lib.resolveDocument(text)))),
      resolveHost: sha(outcome(() => lib.toJSON(lib.resolveDocument(text, { host })))),
      normalize: sha(outcome(() => lib.serializeDocument(lib.normalize(lib.parseDocument(text))))),
    };
  }
  return digests;
}


/** The reference format: gzip of one line per file, `path<TAB>digest…` in OUTPUTS order. */
export function encodeDigests(digests) {
  const lines = Object.entries(digests).map(([file, d]) => [file, ...OUTPUTS.map((k) => d[k])].join('\t'));
  return gzipSync(`${lines.join('\n')}\n`, { level: 9 });
}

export function decodeDigests(buffer) {
  const digests = {};
  for (const line of gunzipSync(buffer).toString('utf8').split('\n')) {
    if (!line) continue;
    const [file, ...values] = line.split('\t');
    digests[file] = Object.fromEntries(OUTPUTS.map((k, i) => [k, values[i]]));
  }
  return digests;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--lib');
  const lib = await import(at === -1 ? join(REPO_ROOT, 'dist', 'index.js') : resolvePath(process.argv[at + 1]));
  const digests = corpusDigests(lib);
  if (process.argv.includes('--write')) {
    writeFileSync(REFERENCE, encodeDigests(digests));
    process.stdout.write(`wrote ${relative(REPO_ROOT, REFERENCE)}: ${Object.keys(digests).length} files\n`);
  } else {
    process.stdout.write(`${JSON.stringify(digests).replace(/\},"/g, '},\n"')}\n`);
  }
}
