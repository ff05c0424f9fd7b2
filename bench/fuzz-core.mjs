// The corpus-mutation fuzzer behind `npm run fuzz` (bench/fuzz.mjs) and the
// 10,000-case slice in `npm test` (test/hardening/fuzz.test.ts). Plain ESM
// so that both can use it: the bench passes the built library
// (dist/index.js), the test passes the TypeScript sources.
//
// Every case is a pure function of (seed, index): a seed document from the
// libvirt corpus or fixtures/, and 1–3 mutations chosen by a PRNG seeded
// from both numbers. Any failing case is reproduced by its seed and index
// alone, on any machine with the same corpus.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolvePath(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- PRNG

/** mulberry32: a small, fast 32-bit generator; plenty for choosing mutations. */
export function mulberry32(state) {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for case `index` of run `seed` (murmur3's finalizer mixes the two). */
function caseRandom(seed, index) {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca77) ^ Math.floor(index / 4294967296)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  const next = mulberry32(h ^ (h >>> 16));
  const r = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    /** Picks from [[weight, value], …]. */
    weighted: (table) => {
      let x = next() * table.reduce((n, [w]) => n + w, 0);
      for (const [w, v] of table) if ((x -= w) < 0) return v;
      return table.at(-1)[1];
    },
  };
  return r;
}

// ---------------------------------------------------------------- seeds

/** libvirt's test corpus, vendored in fixtures/libvirt; like test/support/corpus.ts, a missing corpus is an error, never a skip. */
export function corpusDir(root = REPO_ROOT) {
  const dir = process.env.VIRT_PIN_CORPUS ?? join(root, 'fixtures', 'libvirt');
  if (!existsSync(join(dir, 'libvirt'))) {
    throw new Error(`libvirt corpus not found at ${dir} (it is part of the repository: fixtures/libvirt; VIRT_PIN_CORPUS overrides it)`);
  }
  return dir;
}

function xmlFilesUnder(dir, skip = new Set()) {
  const out = [];
  const walk = (d) => {
    // Dirent types do not follow symlinks: fixtures hold deliberately hostile ones.
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, entry.name);
      if (skip.has(p)) continue;
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith('.xml')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Seed documents: every domain XML of the libvirt corpus, then every other XML
 * file under fixtures/ (the vendored corpus in fixtures/libvirt is not taken
 * twice, so the seed order, and with it every seeded case, stays what it was).
 */
export function loadSeeds(root = REPO_ROOT) {
  const corpus = corpusDir(root);
  const files = [...xmlFilesUnder(join(corpus, 'libvirt')), ...xmlFilesUnder(join(root, 'fixtures'), new Set([join(root, 'fixtures', 'libvirt'), corpus]))];
  return files.map((file) => ({ name: relative(root, file), text: readFileSync(file, 'utf8') }));
}

/** Host facts the cases are checked against: none, two sysfs fixtures, and the passthrough host (PCI devices for the IRQ plan). */
export function loadHosts(lib, root = REPO_ROOT) {
  const hosts = [undefined];
  for (const dir of ['fixtures/hosts/vfio-desktop', 'fixtures/hosts/two-socket-smt', 'fixtures/passthrough-host/root']) {
    hosts.push(lib.hostFromSysfs(join(root, dir)));
  }
  return hosts;
}

// ---------------------------------------------------------------- hostile values

const IRQ_NS = 'https://virt-pin.dev/xmlns/irq/1';

/** Numbers libvirt reads with strtoul/strtol: signs, leading zeros, hex, overflow, whitespace, non-ASCII digits. */
const HOSTILE_NUMBERS = [
  '-1', '-0', '+1', '010', '08', '0x10', '1e3', '0', '4294967295', '4294967296', '2147483648', '18446744073709551616',
  '99999999999999999999999999999999', ' 1', '1 ', '1&#10;', '&#x31;', '', ' ', '\u0663', '\uFF11', 'NaN', '16384', '16383', '65536',
];
/**
 * Counts for <vcpu> and <iothreads>. The large ones make the library build
 * up to 16,384 vCPUs (a few hundred ms per case), so they are drawn rarely to
 * keep the run fast; they still come up hundreds of times in a million cases.
 */
const CHEAP_COUNTS = ['0', '1', '2', '4', '8', '08', '010', '-0', '+1', ' 1', '1 ', '1\n  ', '', '0x10', '1e3', '\u0663', '&#x32;', '18446744073709551616', '4294967296'];
const LARGE_COUNTS = ['-1', '16383', '16384', '65536', '2147483648', '4294967295'];
const countValue = (r) => (r.chance(0.015) ? r.pick(LARGE_COUNTS) : r.chance(0.5) ? String(r.int(1, 8)) : r.pick(CHEAP_COUNTS));
/** cpuset/nodeset spellings: the id ceiling, ranges, exclusions, separators. */
const HOSTILE_CPUSETS = [
  '0-4294967295', '0-16384', '0-16383', '16383', '16384', '4294967296', '0--0', '2-+3', '3-1', '0-', '-1', '^1', '0,^0', '^1-2',
  '1,,2', ',', ',1', '1,', ' 1 , 2 ', '1 2', '0-3 ^2', '007', '0x3', '1.5', '١', '0-3,^1,^2,^3', '&#48;-&#51;', '&amp;', '',
];
/** PCI address attribute values with path tricks and out-of-range numbers. */
const HOSTILE_PCI = [
  '..', '../..', '../../../etc', '%2f', '..%2f..%2f', '/etc/passwd', '0x0000/..', '0000:00:02.0/../..', '.', '0x', '0xffff', '0x10000',
  '0x100', '0x20', '0x8', '010', '-1', '0', '0x0000', '0x0a', '\\', 'a b', '0000:0a:00.0', '&#47;', '0x0;rm -rf /',
];
const HOSTILE_MISC = ['&lol;', '&#0;', '&#xD800;', '&#x110000;', '&#38;', '&', '<', '>', '"', "'", '\u0000', '\uD800', '\uFFFE', '\u202E', 'é', 'auto', 'static', 'yes', 'no'];

const CPUSET_ATTRS = new Set(['cpuset', 'nodeset', 'vcpus', 'cpus', 'affinity', 'siblings']);
const NUMBER_ATTRS = new Set(['vcpu', 'iothread', 'id', 'cellid', 'current', 'priority', 'order', 'memory', 'level', 'size', 'thread_pool_min', 'thread_pool_max']);
const PCI_ATTRS = new Set(['domain', 'bus', 'slot', 'function', 'hostdev']);
/** Attributes worth aiming at (weight 6 against 1 for the rest). */
const INTERESTING_ATTRS = new Set([...CPUSET_ATTRS, ...NUMBER_ATTRS, ...PCI_ATTRS, 'placement', 'mode', 'scheduler', 'enabled', 'hotpluggable', 'type', 'managed']);

function cpusetFlood(r) {
  switch (r.int(0, 3)) {
    case 0:
      return '^'.repeat(r.int(2, 5000)) + '1';
    case 1: {
      // Distinct exclusions fragment the set: the worst case for a set rebuilt per '^'.
      const k = r.int(10, 3000);
      const items = ['0-16383'];
      for (let i = 0; i < k; i++) items.push(`^${2 * i + 1}`);
      return items.join(',');
    }
    case 2:
      return Array.from({ length: r.int(10, 3000) }, (_, i) => String(i)).join(',');
    default:
      return '9'.repeat(r.int(11, 20000));
  }
}

function hostileValue(r, attrName) {
  if (r.chance(0.02)) return cpusetFlood(r);
  const family = CPUSET_ATTRS.has(attrName)
    ? r.weighted([[6, HOSTILE_CPUSETS], [2, HOSTILE_NUMBERS], [1, HOSTILE_MISC]])
    : NUMBER_ATTRS.has(attrName)
      ? r.weighted([[6, HOSTILE_NUMBERS], [2, HOSTILE_CPUSETS], [1, HOSTILE_MISC]])
      : PCI_ATTRS.has(attrName)
        ? r.weighted([[6, HOSTILE_PCI], [2, HOSTILE_NUMBERS], [1, HOSTILE_MISC]])
        : r.pick([HOSTILE_NUMBERS, HOSTILE_CPUSETS, HOSTILE_PCI, HOSTILE_MISC]);
  return r.pick(family);
}

const smallNumber = (r) => (r.chance(0.8) ? String(r.int(0, 9)) : r.pick(HOSTILE_NUMBERS));
const someCpuset = (r) => (r.chance(0.6) ? r.pick(['0', '1', '0-3', '2-3', '0-7', '4-7', '1,3', '0-15', '8-15', '2-5,^3']) : hostileValue(r, 'cpuset'));
const somePci = (r) => (r.chance(0.5) ? r.pick(['0x0000', '0x00', '0x01', '0x0a', '0x1f', '0x7', '0x0']) : r.pick(HOSTILE_PCI));
const pciAddress = (r) =>
  r.chance(0.6) ? r.pick(['0000:0a:00.0', '0000:0a:00.1', '0000:41:00.0', '0000:03:00.0', '0000:81:02.1', '0000:00:02.0']) : r.pick(HOSTILE_PCI);

// ---------------------------------------------------------------- locating things without the parser under test

/** Start offsets of start tags (`<name`), found with a regex: the fuzzer must not rely on the parser it tests. */
function startTags(text) {
  const out = [];
  const re = /<([A-Za-z_][-\w.:]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ start: m.index, name: m[1] });
  return out;
}

/** End offset of the element starting at `start` (its matching end tag by counting same-name tags), or -1. */
function elementEnd(text, start, name) {
  const gt = text.indexOf('>', start);
  if (gt === -1) return -1;
  if (text[gt - 1] === '/') return gt + 1;
  const re = new RegExp(`<(/?)${name.replace(/[.]/g, '\\.')}(?=[\\s/>])`, 'g');
  re.lastIndex = gt + 1;
  let depth = 1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const close = text.indexOf('>', m.index);
    if (close === -1) return -1;
    if (m[1]) {
      if (--depth === 0) return close + 1;
    } else if (text[close - 1] !== '/') depth++;
  }
  return -1;
}

function randomElement(r, text) {
  const tags = startTags(text);
  for (let tries = 0; tries < 4 && tags.length; tries++) {
    const t = r.pick(tags);
    const end = elementEnd(text, t.start, t.name);
    if (end > t.start) return { start: t.start, end, name: t.name };
  }
  return undefined;
}

function attributes(text) {
  const out = [];
  const re = /\s([A-Za-z_][-\w.:]*)\s*=\s*(['"])([^'"<]*)\2/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const valueStart = m.index + m[0].length - 1 - m[3].length;
    out.push({ name: m[1].includes(':') ? m[1].slice(m[1].indexOf(':') + 1) : m[1], quote: m[2], valueStart, valueEnd: valueStart + m[3].length });
  }
  return out;
}

/** Where a child of `parent` can go: just after its start tag, or undefined. */
function insideElement(text, parent) {
  const at = text.search(new RegExp(`<${parent}(?=[\\s>])[^>]*[^/]>`));
  return at === -1 ? undefined : text.indexOf('>', at) + 1;
}

/** Inserts `snippet` inside <parent> when there is one, else wraps it in `wrapper(snippet)` just before the root's end tag. */
function insertInto(text, parent, snippet, wrapper) {
  const at = insideElement(text, parent);
  if (at !== undefined) return text.slice(0, at) + snippet + text.slice(at);
  const rootEnd = text.lastIndexOf('</');
  const wrapped = wrapper(snippet);
  return rootEnd === -1 ? text + wrapped : text.slice(0, rootEnd) + wrapped + text.slice(rootEnd);
}

const quoteValue = (v) => `'${v.replace(/'/g, '&apos;')}'`;

// ---------------------------------------------------------------- mutations

function affinitySnippet(r) {
  switch (r.int(0, 8)) {
    case 0:
      return ['cputune', `<vcpupin vcpu=${quoteValue(smallNumber(r))} cpuset=${quoteValue(someCpuset(r))}/>`];
    case 1:
      return ['cputune', `<emulatorpin cpuset=${quoteValue(someCpuset(r))}/>`];
    case 2:
      return ['cputune', `<iothreadpin iothread=${quoteValue(smallNumber(r))} cpuset=${quoteValue(someCpuset(r))}/>`];
    case 3:
      return ['cputune', `<vcpusched vcpus=${quoteValue(someCpuset(r))} scheduler='${r.pick(['fifo', 'rr', 'batch', 'idle', 'other'])}' priority=${quoteValue(smallNumber(r))}/>`];
    case 4:
      return ['cputune', `<cachetune vcpus=${quoteValue(someCpuset(r))}><cache id='0' level='3' type='both' size=${quoteValue(smallNumber(r))} unit='MiB'/></cachetune>`];
    case 5: {
      const name = r.pick(['period', 'quota', 'shares', 'emulator_period', 'iothread_quota']);
      return ['cputune', `<${name}>${r.pick(HOSTILE_NUMBERS)}</${name}>`];
    }
    case 6:
      return ['numatune', `<memory mode='${r.pick(['strict', 'preferred', 'interleave', 'restrictive', 'bogus'])}' ${r.chance(0.3) ? "placement='auto'" : `nodeset=${quoteValue(someCpuset(r))}`}/>`];
    case 7:
      return ['numatune', `<memnode cellid=${quoteValue(smallNumber(r))} mode='strict' nodeset=${quoteValue(someCpuset(r))}/>`];
    default:
      return ['vcpus', `<vcpu id=${quoteValue(smallNumber(r))} enabled='${r.pick(['yes', 'no', 'maybe'])}' hotpluggable='${r.pick(['yes', 'no'])}' order=${quoteValue(smallNumber(r))}/>`];
  }
}

const MUTATIONS = {
  'flip-bytes'(r, text) {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length === 0) return { bytes };
    for (let k = r.int(1, 8); k > 0; k--) {
      const at = r.int(0, bytes.length - 1);
      bytes[at] ^= 1 << r.int(0, 7);
    }
    return { bytes };
  },
  truncate(r, text) {
    return text.slice(0, r.int(0, text.length));
  },
  splice(r, text, seeds) {
    const other = r.pick(seeds).text;
    const cut = (t) => {
      const lt = t.indexOf('<', r.int(0, t.length));
      return r.chance(0.7) && lt !== -1 ? lt : r.int(0, t.length);
    };
    return text.slice(0, cut(text)) + other.slice(cut(other));
  },
  'duplicate-element'(r, text) {
    const el = randomElement(r, text);
    if (!el) return text;
    const copy = text.slice(el.start, el.end);
    return text.slice(0, el.end) + copy.repeat(r.chance(0.9) ? 1 : r.int(2, 10)) + text.slice(el.end);
  },
  'delete-element'(r, text) {
    const el = randomElement(r, text);
    return el ? text.slice(0, el.start) + text.slice(el.end) : text;
  },
  'swap-elements'(r, text) {
    const a = randomElement(r, text);
    const b = randomElement(r, text);
    if (!a || !b) return text;
    const [x, y] = a.start < b.start ? [a, b] : [b, a];
    if (x.end > y.start) return text; // nested or equal: nothing to swap
    return text.slice(0, x.start) + text.slice(y.start, y.end) + text.slice(x.end, y.start) + text.slice(x.start, x.end) + text.slice(y.end);
  },
  'hostile-attribute'(r, text) {
    const attrs = attributes(text);
    if (attrs.length === 0) return text;
    const interesting = attrs.filter((a) => INTERESTING_ATTRS.has(a.name));
    const a = interesting.length && r.chance(0.85) ? r.pick(interesting) : r.pick(attrs);
    const value = hostileValue(r, a.name);
    // Mostly escaped for its quotes, so the hostile value reaches the domain layer.
    const written = r.chance(0.85) ? value.replace(a.quote === "'" ? /'/g : /"/g, a.quote === "'" ? '&apos;' : '&quot;') : value;
    return text.slice(0, a.valueStart) + written + text.slice(a.valueEnd);
  },
  'hostile-text'(r, text) {
    const re = /<(vcpu|iothreads|period|quota|shares|global_quota|emulator_period|memory|currentMemory)(\s[^>]*)?>([^<]*)</g;
    const found = [...text.matchAll(re)];
    if (found.length === 0) return text;
    const m = r.pick(found);
    const start = m.index + m[0].length - 1 - m[3].length;
    const count = m[1] === 'vcpu' || m[1] === 'iothreads';
    return text.slice(0, start) + (count ? countValue(r) : r.pick(HOSTILE_NUMBERS)) + text.slice(start + m[3].length);
  },
  'insert-affinity'(r, text) {
    if (r.chance(0.2)) {
      // Replace <vcpu> (or add one) with hostile attributes and count.
      const attrs = [
        r.chance(0.5) ? `placement='${r.pick(['static', 'auto', 'dynamic'])}'` : '',
        r.chance(0.6) ? `cpuset=${quoteValue(someCpuset(r))}` : '',
        r.chance(0.3) ? `current=${quoteValue(smallNumber(r))}` : '',
      ].filter(Boolean);
      const vcpu = `<vcpu${attrs.map((a) => ' ' + a).join('')}>${countValue(r)}</vcpu>`;
      const m = /<vcpu(\s[^>]*)?>[^<]*<\/vcpu>/.exec(text);
      return m ? text.slice(0, m.index) + vcpu + text.slice(m.index + m[0].length) : insertInto(text, 'domain', vcpu, (s) => s);
    }
    const [parent, snippet] = affinitySnippet(r);
    // Many copies of one snippet find per-element costs; of a short one, so that the case stays cheap.
    const copies = r.chance(0.95) || snippet.length > 300 ? 1 : r.int(2, 200);
    return insertInto(text, parent, snippet.repeat(copies), (s) => `<${parent}>${s}</${parent}>`);
  },
  'insert-hostdev'(r, text) {
    const address = `<address domain=${quoteValue(somePci(r))} bus=${quoteValue(somePci(r))} slot=${quoteValue(somePci(r))} function=${quoteValue(somePci(r))}/>`;
    const dev = r.chance(0.8)
      ? `<hostdev mode='subsystem' type='pci' managed='${r.pick(['yes', 'no', 'bogus'])}'><source>${address}</source></hostdev>`
      : `<interface type='hostdev'><source>${address}</source></interface>`;
    return insertInto(text, 'devices', dev, (s) => `<devices>${s}</devices>`);
  },
  'insert-irq-policy'(r, text) {
    const entries = [];
    for (let k = r.int(1, 4); k > 0; k--) {
      const hostdev = r.chance(0.75) ? ` hostdev=${quoteValue(pciAddress(r))}` : '';
      const affinity = r.chance(0.9) ? ` affinity=${quoteValue(r.chance(0.5) ? r.pick(['auto', 'native']) : someCpuset(r))}` : '';
      entries.push(`<vp:irq${hostdev}${affinity}${r.chance(0.05) ? " extra='1'" : ''}/>`);
    }
    const block = r.chance(0.7) ? `<vp:irqs xmlns:vp='${IRQ_NS}'>${entries.join('')}</vp:irqs>` : entries.map((e) => e.replace('<vp:irq', `<vp:irq xmlns:vp='${IRQ_NS}'`)).join('');
    return insertInto(text, 'metadata', block, (s) => `<metadata>${s}</metadata>`);
  },
  'insert-markup'(r, text) {
    const markup = r.pick([
      '<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
      '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
      '<!ENTITY x "y">', '&x;', '&lol2;', '&#0;', '&#x10FFFF;', '&#xD800;', '&#65;', '&amp;', '&', ']]>', '<', '>',
      '<![CDATA[<vcpupin/>]]>', '<!-- a -- b -->', '<!-- ok -->', '<?pi data?>', "<?xml version='1.0' encoding='latin1'?>", "<?xml version='1.0'?>",
      '\u0000', '\uD800', '\uDC00', '\uFFFE', '\uFEFF', '\u0085', '\r\n', '\r', "<q:x xmlns:q=''/>", '<q:x/>', "<x a='1' a='2'/>", '<1x/>', '</x>', '<x>',
    ]);
    const at = r.chance(0.6) ? Math.max(0, text.indexOf('<', r.int(0, text.length))) : r.int(0, text.length);
    return text.slice(0, at) + markup + text.slice(at);
  },
  'deep-nesting'(r, text) {
    const depth = r.weighted([[4, r.int(2, 126)], [4, r.int(127, 130)], [2, r.int(131, 5000)], [1, 100_000]]);
    const at = insideElement(text, r.pick(['cputune', 'devices', 'metadata', 'domain'])) ?? 0;
    return text.slice(0, at) + '<a>'.repeat(depth) + '</a>'.repeat(depth) + text.slice(at);
  },
  flood(r, text) {
    switch (r.int(0, 4)) {
      case 0: {
        const n = r.int(100, 2000);
        const pins = Array.from({ length: n }, (_, i) => `<vcpupin vcpu='${r.chance(0.9) ? i : 0}' cpuset='${i % 64}'/>`).join('');
        return insertInto(text, 'cputune', pins, (s) => `<cputune>${s}</cputune>`);
      }
      case 1: {
        const n = r.int(17, 2000);
        const attrs = Array.from({ length: n }, (_, i) => ` a${r.chance(0.999) ? i : 0}='${i}'`).join('');
        return text.replace(/<([A-Za-z_][-\w.:]*)(?=[\s/>])/, (m) => m + attrs);
      }
      case 2:
        return text.replace(/(<vcpu[^>]*>)/, `$1${' '.repeat(r.int(1, 100_000))}`);
      case 3: {
        const tune = r.chance(0.5) ? `<cachetune vcpus='${r.pick(['0-1', '0', '1-3'])}'/>` : `<memorytune vcpus='0-1'><node id='0' bandwidth='50'/></memorytune>`;
        return insertInto(text, 'cputune', tune.repeat(r.int(100, 2000)), (s) => `<cputune>${s}</cputune>`);
      }
      default: {
        const value = cpusetFlood(r);
        return insertInto(text, 'cputune', `<emulatorpin cpuset='${value}'/>`, (s) => `<cputune>${s}</cputune>`);
      }
    }
  },
  // Shapes of issue 14's parser items, so the fuzzer keeps covering them.
  'wide-cpusets'(r, text) {
    // Item 7: many elements each naming up to 16,384 ids; cost must follow the ranges, not elements × width.
    const n = r.int(2, r.chance(0.9) ? 200 : 2000);
    const wide = () => r.pick(['0-16383', '0-16383,^7', '1-16383', '16000-16383', '0-8191', `${r.int(0, 16383)}`]);
    switch (r.int(0, 2)) {
      case 0: {
        const cells = Array.from({ length: n }, (_, i) => `<cell id='${i}' cpus='${wide()}' memory='1024'/>`).join('');
        const numa = `<numa>${cells}</numa>`;
        return text.includes('<cpu') ? insertInto(text, 'cpu', numa, (s) => `<cpu>${s}</cpu>`) : insertInto(text, 'domain', `<cpu>${numa}</cpu>`, (s) => s);
      }
      case 1:
        return insertInto(text, 'cputune', Array.from({ length: n }, () => `<vcpusched vcpus='${wide()}' scheduler='fifo' priority='1'/>`).join(''), (s) => `<cputune>${s}</cputune>`);
      default:
        return insertInto(text, 'cputune', Array.from({ length: n }, () => `<iothreadsched iothreads='${wide()}' scheduler='batch'/>`).join(''), (s) => `<cputune>${s}</cputune>`);
    }
  },
  namespaces(r, text) {
    // Item 8: default namespaces on libvirt's elements (libvirt ignores those elements) or on <domain> (libvirt refuses it).
    const ns = r.pick(["xmlns='urn:x'", "xmlns='http://libvirt.org/schemas/domain'", "xmlns=''", "xmlns:q='urn:q'"]);
    if (r.chance(0.3)) return text.replace(/<domain(?=[\s>])/, `<domain ${ns}`);
    if (r.chance(0.5)) {
      const el = randomElement(r, text);
      if (!el) return text;
      const nameEnd = text.slice(el.start + 1).search(/[\s/>]/);
      const at = nameEnd === -1 ? el.start + 1 : el.start + 1 + nameEnd;
      return text.slice(0, at) + ' ' + ns + text.slice(at);
    }
    const [parent, snippet] = affinitySnippet(r);
    const shadow = snippet.replace(/^<([A-Za-z_][-\w.]*)/, `<$1 ${ns}`);
    return insertInto(text, parent, shadow, (s) => `<${parent}>${s}</${parent}>`);
  },
  'line-ends'(r, text) {
    // Item 15: lone CR (old Mac) or CRLF line ends, everywhere or in part.
    const end = r.pick(['\r', '\r\n', '\n\r']);
    if (r.chance(0.6)) return text.replace(/\r?\n/g, end);
    const cut = r.int(0, text.length);
    return text.slice(0, cut) + text.slice(cut).replace(/\r?\n/g, end);
  },
  'xml-declaration'(r, text) {
    // Items 9 and 16: declarations libxml2 refuses or accepts, DOCTYPE hidden in comments and CDATA, leading-zero references.
    const body = text.replace(/^\uFEFF?<\?xml[^?]*\?>/, '');
    switch (r.int(0, 2)) {
      case 0: {
        const decl = r.pick([
          "<?xml version='1.0'?>", "<?xml version = '1.0' ?>", "<?xml version='1.1'?>", '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
          '<?xml?>', "<?xml encoding='UTF-8'?>", "<?xml version='2.0'?>", "<?xml version='1.'?>", "<?xml version='1.0' foo='bar'?>",
          "<?xml version='1.0' standalone='no' encoding='UTF-8'?>", "<?xml version='1.0' standalone='maybe'?>", "<?xml version='1.0'encoding='UTF-8'?>",
          `<?xml version="1.0' encoding='UTF-8'?>`, `<?xml version='1.0' encoding='ISO-8859-1"?>`, "<?xml version='1.0' encoding=''?>", "<?XML version='1.0'?>",
        ]);
        return decl + (r.chance(0.8) ? '\n' : '') + body;
      }
      case 1: {
        const hidden = r.pick(['<!-- <!DOCTYPE domain> -->', '<!--<!DOCTYPE x [<!ENTITY y "z">]>-->']);
        const inMeta = `<metadata><app:x xmlns:app='urn:app'><![CDATA[<!DOCTYPE html>${r.chance(0.5) ? ']]>' : ''}]]></app:x></metadata>`;
        return r.chance(0.5) ? insertInto(text, 'domain', hidden, (s) => s) : insertInto(text, 'domain', inMeta, (s) => s);
      }
      default: {
        const ref = r.pick(['&#x0000000041;', '&#000065;', '&#x000000000000;', '&#x00000110000;', '&#x0000000000000000000000000000031;']);
        return text.replace(/(<name>)/, `$1${ref}`);
      }
    }
  },
};

const MUTATION_WEIGHTS = [
  [8, 'flip-bytes'], [5, 'truncate'], [5, 'splice'], [6, 'duplicate-element'], [6, 'delete-element'], [5, 'swap-elements'],
  [16, 'hostile-attribute'], [6, 'hostile-text'], [16, 'insert-affinity'], [5, 'insert-hostdev'], [5, 'insert-irq-policy'],
  [6, 'insert-markup'], [2, 'deep-nesting'], [1, 'flood'],
  [1, 'wide-cpusets'], [2, 'namespaces'], [2, 'line-ends'], [2, 'xml-declaration'],
];

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Case `index` of run `seed`: a seed document and the mutations applied to
 * it. `text` is what the library gets; `bytes` is set when a byte-level
 * mutation ran (the text is then the strict UTF-8 decoding the CLI does, or
 * undefined when that decoding fails).
 */
export function makeCase(seeds, seed, index) {
  const r = caseRandom(seed, index);
  const seedDoc = r.pick(seeds);
  const mutations = [];
  let text = seedDoc.text;
  let bytes;
  const count = r.weighted([[2, 0], [60, 1], [28, 2], [10, 3]]);
  for (let k = 0; k < count && text !== undefined; k++) {
    const name = r.weighted(MUTATION_WEIGHTS);
    mutations.push(name);
    const out = MUTATIONS[name](r, text, seeds);
    if (typeof out === 'string') text = out;
    else {
      bytes = out.bytes;
      try {
        text = utf8.decode(bytes);
      } catch {
        text = undefined;
      }
    }
  }
  const host = r.int(0, 3);
  const driver = r.chance(0.85) ? 'qemu' : 'generic';
  return { seed, index, seedName: seedDoc.name, mutations, text, bytes, host, driver };
}

/** The bytes a case stands for (what fuzz.mjs writes to a file for a failing case). */
export function caseBytes(fuzzCase) {
  return fuzzCase.text === undefined ? fuzzCase.bytes : Buffer.from(fuzzCase.text, 'utf8');
}

// ---------------------------------------------------------------- known issues

/**
 * Findings of this fuzzer in code outside the hardening work, recorded so
 * that a run stays useful until they are fixed: a case that matches `input`
 * is not run (it would crash the process), a violation that matches
 * `violation(v, text)` is counted as known rather than as a failure. Every run
 * prints how many cases each entry absorbed. Delete an entry once its fix
 * lands; the fuzzer then covers that ground again.
 */
export const KNOWN_ISSUES = [
  {
    id: 'libvirt-empty-memory-redefine',
    where: 'libvirt itself (virsh -c test:///default shows the same)',
    summary: "<vcpu placement='auto'> with <numatune><memory/></numatune> is stored without <numatune>; defining that output again adds <memory mode='strict' placement='auto'/>. normalize mirrors one define, so a second pass differs exactly as libvirt does",
    violation: (v) => v.property === 'normalize-not-idempotent' && /<numatune>(\\n|\s)*<memory mode='strict' placement='auto'\/>/.test(v.detail),
  },
];

// ---------------------------------------------------------------- properties

/**
 * Time a case may take: 50 ms, plus 5 µs per byte of input, plus 60 µs per
 * vCPU and IOThread the definition declares. The library does work per
 * thread, and a 20-byte `<vcpu>16384</vcpu>` declares 16,384 vCPUs; a case
 * runs six pipelines over them (check, resolve, normalize twice with its
 * checks, plan), about 40 µs per thread in all on this machine, so 60 µs
 * leaves room for noise but not for anything quadratic.
 */
export function budgetMs(byteLength, threads = 0) {
  return 50 + 0.005 * byteLength + 0.06 * threads;
}

const describeError = (e) => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : `non-Error thrown: ${String(e)}`);

/**
 * Runs one case through parse, check, resolve, normalize and plan and
 * returns its outcome (`accepted`, or the code that refused it) and the
 * properties it violated:
 * - `foreign-throw`: a stage threw something other than a VirtPinError;
 * - `check-threw`: checkDocument threw at all (it reports bad input as diagnostics);
 * - `check-disagrees`: checkDocument's diagnostic for unparsable text is not the parser's code;
 * - `round-trip`: the text parsed but did not serialize back byte for byte;
 * - `normalize-unparsable` / `normalize-not-idempotent`: normalize's output does not parse, or changes when normalized again;
 * - `time-budget` (only with `options.timing`): slower than budgetMs twice in a row,
 *   measured with `options.clock` (milliseconds; default wall time).
 */
export function runCase(lib, hosts, fuzzCase, options = {}) {
  const clock = options.clock ?? (() => performance.now());
  const known = fuzzCase.text !== undefined ? KNOWN_ISSUES.find((k) => k.input?.(fuzzCase.text)) : undefined;
  if (known) return { outcome: `known-issue:${known.id}`, violations: [], knownViolations: [], elapsedMs: 0 };
  const started = clock();
  const result = evaluate(lib, hosts, fuzzCase);
  let elapsedMs = clock() - started;
  if (options.timing && fuzzCase.text !== undefined) {
    const budget = budgetMs(Buffer.byteLength(fuzzCase.text, 'utf8'), result.threads);
    if (elapsedMs > budget) {
      // Confirm before reporting: a GC pause or a busy neighbour is not a finding.
      const again = clock();
      evaluate(lib, hosts, fuzzCase);
      elapsedMs = Math.min(elapsedMs, clock() - again);
      if (elapsedMs > budget) result.violations.push({ property: 'time-budget', stage: 'all', detail: `${elapsedMs.toFixed(1)} ms > budget ${budget.toFixed(1)} ms` });
    }
  }
  for (const v of result.violations) {
    const issue = KNOWN_ISSUES.find((k) => k.violation?.(v, fuzzCase.text));
    if (issue) v.knownIssue = issue.id;
  }
  const knownViolations = result.violations.filter((v) => v.knownIssue);
  const violations = result.violations.filter((v) => !v.knownIssue);
  return { outcome: result.outcome, violations, knownViolations, elapsedMs };
}

function evaluate(lib, hosts, fuzzCase) {
  const violations = [];
  const { text, driver } = fuzzCase;
  const host = hosts[fuzzCase.host % hosts.length];
  if (text === undefined) return { outcome: 'XML_BAD_ENCODING', violations, threads: 0 };

  const stage = stageRunner(lib, violations);
  const parsed = stage('parse', () => lib.parseDocument(text));
  if (parsed.value) {
    const out = stage('serialize', () => lib.serializeDocument(parsed.value));
    if (out.value !== undefined && out.value !== text) violations.push({ property: 'round-trip', stage: 'serialize', detail: firstDifference(text, out.value) });
  }

  const checked = stage('check', () => lib.checkDocument(text, { driver, ...(host ? { host } : {}) }));
  if (checked.error) violations.push({ property: 'check-threw', stage: 'check', detail: `${checked.error.code} ${checked.error.message}` });
  const diagnostics = checked.value ?? [];
  if (parsed.error && !(diagnostics.length === 1 && diagnostics[0].code === parsed.error.code)) {
    violations.push({ property: 'check-disagrees', stage: 'check', detail: `parser: ${parsed.error.code}; check: ${diagnostics.map((d) => d.code).join(', ')}` });
  }

  let threads = 0;
  if (parsed.value) {
    stage('resolve', () => {
      const model = lib.readDomain(parsed.value);
      const definition = lib.definitionOf(model, { driver });
      threads = definition.maxVcpus + definition.iothreads.length;
      lib.toJSON(lib.resolve(definition, host, { model }));
    });
    checkNormalize(lib, text, driver, violations, stage);
    stage('plan', () => lib.planDocument(text, host ? { host } : {}));
  }

  const refusal = parsed.error ?? diagnostics.find((d) => d.severity === 'error');
  return { outcome: refusal ? refusal.code : 'accepted', violations, threads };
}

/** Runs a stage; returns its value, or the VirtPinError it threw (anything else is recorded as foreign-throw). */
function stageRunner(lib, violations) {
  return (name, fn) => {
    try {
      return { value: fn() };
    } catch (e) {
      if (lib.isVirtPinError(e)) return { error: e };
      violations.push({ property: 'foreign-throw', stage: name, detail: describeError(e) });
      return { foreign: e };
    }
  };
}

/** The normalize properties alone, for property tests: violations other than known issues. */
export function normalizeViolations(lib, text, driver = 'qemu') {
  const violations = [];
  checkNormalize(lib, text, driver, violations, stageRunner(lib, violations));
  return violations.filter((v) => !KNOWN_ISSUES.some((k) => k.violation?.(v, text)));
}

function checkNormalize(lib, text, driver, violations, stage) {
  const first = stage('normalize', () => lib.serializeDocument(lib.normalize(lib.parseDocument(text), { driver })));
  if (first.value === undefined) return;
  const reparsed = stage('normalize', () => lib.parseDocument(first.value));
  if (reparsed.error) {
    violations.push({ property: 'normalize-unparsable', stage: 'normalize', detail: `${reparsed.error.code} ${reparsed.error.message}` });
    return;
  }
  if (!reparsed.value) return;
  const second = stage('normalize', () => lib.serializeDocument(lib.normalize(reparsed.value, { driver })));
  if (second.error) violations.push({ property: 'normalize-not-idempotent', stage: 'normalize', detail: `second pass refused: ${second.error.code} ${second.error.message}` });
  else if (second.value !== undefined && second.value !== first.value) {
    violations.push({ property: 'normalize-not-idempotent', stage: 'normalize', detail: firstDifference(first.value, second.value) });
  }
}

function firstDifference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (s) => JSON.stringify(s.slice(Math.max(0, i - 30), i + 60));
  return `lengths ${a.length}/${b.length}, first difference at ${i}: ${show(a)} vs ${show(b)}`;
}

// ---------------------------------------------------------------- runs

/**
 * Runs cases [from, to) stepping by `step`; counts outcomes and known
 * issues, collects failing cases. `onCase(index)` is called before each case.
 */
export function runRange(lib, hosts, seeds, seed, { from = 0, to, step = 1, timing = false, clock, onCase } = {}) {
  const tally = newTally();
  for (let index = from; index < to; index += step) {
    onCase?.(index);
    const fuzzCase = makeCase(seeds, seed, index);
    const result = runCase(lib, hosts, fuzzCase, { timing, ...(clock ? { clock } : {}) });
    record(tally, fuzzCase, result);
  }
  return tally;
}

/** Running totals of a run (plain data: it crosses worker boundaries). */
export function newTally() {
  return { cases: 0, outcomes: {}, mutations: {}, known: {}, failures: [], slowest: { ms: 0, index: -1 } };
}

export function record(tally, fuzzCase, result) {
  tally.cases++;
  tally.outcomes[result.outcome] = (tally.outcomes[result.outcome] ?? 0) + 1;
  for (const m of fuzzCase.mutations) tally.mutations[m] = (tally.mutations[m] ?? 0) + 1;
  if (result.outcome.startsWith('known-issue:')) tally.known[result.outcome.slice(12)] = (tally.known[result.outcome.slice(12)] ?? 0) + 1;
  for (const v of result.knownViolations) tally.known[v.knownIssue] = (tally.known[v.knownIssue] ?? 0) + 1;
  if (result.elapsedMs > tally.slowest.ms) tally.slowest = { ms: result.elapsedMs, index: fuzzCase.index };
  if (result.violations.length) {
    tally.failures.push({ index: fuzzCase.index, seedName: fuzzCase.seedName, mutations: fuzzCase.mutations, violations: result.violations });
  }
}

/** Adds tally `b` into `a`. */
export function mergeTally(a, b) {
  a.cases += b.cases;
  for (const [k, n] of Object.entries(b.outcomes)) a.outcomes[k] = (a.outcomes[k] ?? 0) + n;
  for (const [k, n] of Object.entries(b.mutations ?? {})) a.mutations[k] = (a.mutations[k] ?? 0) + n;
  for (const [k, n] of Object.entries(b.known)) a.known[k] = (a.known[k] ?? 0) + n;
  a.failures.push(...b.failures);
  if (b.slowest.ms > a.slowest.ms) a.slowest = b.slowest;
  return a;
}
