/**
 * New elements are checked with xmlbuilder2 before the tree adopts them
 * (loaded on first use only — importing it costs ~100 ms, which a hook
 * cannot pay on every run): it refuses names and content XML cannot hold.
 * This module knows nothing of the document tree; tree.ts builds the new
 * nodes itself, in the document's style.
 */
import { createRequire } from 'node:module';
import { VirtPinError } from '../errors.js';
import type { ElementSpec } from './types.js';

interface Builder {
  ele(name: string, attrs?: Record<string, string>): Builder;
  txt(text: string): Builder;
  up(): Builder;
  end(options: { headless: boolean; prettyPrint: boolean }): string;
}
let createBuilder: (() => Builder) | undefined;

/** Set by scripts/build.mjs: the bundles load xmlbuilder2 from their own dist/xmlbuilder2.cjs. */
declare const VIRT_PIN_XMLBUILDER2: string | undefined;

function builder(): Builder {
  if (!createBuilder) {
    const require = createRequire(import.meta.url);
    const from = typeof VIRT_PIN_XMLBUILDER2 === 'string' ? VIRT_PIN_XMLBUILDER2 : 'xmlbuilder2';
    createBuilder = (require(from) as { create: () => Builder }).create;
  }
  return createBuilder();
}

/** A spec's attributes as [name, value] pairs in order, undefined values left out. */
export function attrsOf(spec: ElementSpec): [string, string][] {
  const a = spec.attrs;
  if (!a) return [];
  const list = Array.isArray(a) ? (a as ReadonlyArray<readonly [string, string]>) : Object.entries(a as Record<string, string | number | undefined>);
  return list.filter((x): x is [string, string | number] => x[1] !== undefined).map(([k, v]) => [k, String(v)]);
}

/** Throws XML_EDIT_BAD_SPEC when xmlbuilder2 cannot build `spec`. */
export function checkSpec(spec: ElementSpec): void {
  // Namespace prefixes bound in the target document are declared on a wrapper
  // so xmlbuilder2 accepts prefixed names; the wrapper itself is dropped.
  const root = builder().ele('virt-pin-fragment', { 'xmlns:vp-any': 'urn:virt-pin:fragment' });
  // xmlbuilder2 judges names; values and text are checked character by
  // character by tree.ts. So a leaf whose name and attribute names were
  // already judged is not built again: normalize's <vcpus> of 16,383
  // identical <vcpu> leaves costs one, not 16,383 (the fuzzer's time budget).
  const judged = new Set<string>();
  const add = (b: Builder, s: ElementSpec): void => {
    if (s.children && s.text !== undefined) {
      throw new VirtPinError('XML_EDIT_BAD_SPEC', `<${s.name}>: give children or text, not both`);
    }
    const pairs = attrsOf(s);
    if (!s.children?.length) {
      const shape = [s.name, s.text !== undefined ? '#text' : '', ...pairs.map(([k]) => k)].join('\u0000');
      if (judged.has(shape)) return;
      judged.add(shape);
    }
    const attrs = Object.fromEntries(pairs);
    const prefix = s.name.includes(':') ? s.name.slice(0, s.name.indexOf(':')) : undefined;
    if (prefix && attrs[`xmlns:${prefix}`] === undefined) attrs[`xmlns:${prefix}`] = 'urn:virt-pin:bound-in-document';
    const e = b.ele(s.name, attrs);
    if (s.text !== undefined) e.txt(s.text);
    for (const c of s.children ?? []) add(e, c);
  };
  try {
    add(root, spec);
    root.end({ headless: true, prettyPrint: false });
  } catch (e) {
    if (e instanceof VirtPinError) throw e;
    throw new VirtPinError('XML_EDIT_BAD_SPEC', `cannot build <${spec.name}>: ${(e as Error).message}`);
  }
}
