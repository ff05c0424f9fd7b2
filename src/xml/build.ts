/**
 * New elements: built and name-checked with xmlbuilder2 (loaded on first
 * use only — importing it costs ~100 ms, which a hook cannot pay on every
 * run), then re-read into the document's own tree so the printer writes
 * them in the document's style (quote character, indentation, newlines).
 */
import { createRequire } from 'node:module';
import { VirtPinError } from '../errors.js';
import type { ElementSpec } from './types.js';
import { scanDocument } from './scan.js';
import { DocumentImpl, ElementImpl, escapeAttr, escapeText, type AttrRecord } from './tree.js';

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

function attrsOf(spec: ElementSpec): [string, string][] {
  const a = spec.attrs;
  if (!a) return [];
  const list = Array.isArray(a) ? (a as ReadonlyArray<readonly [string, string]>) : Object.entries(a as Record<string, string | number | undefined>);
  return list.filter((x): x is [string, string | number] => x[1] !== undefined).map(([k, v]) => [k, String(v)]);
}

export function buildFragment(doc: DocumentImpl, spec: ElementSpec): ElementImpl {
  // Namespace prefixes bound in the target document are declared on a wrapper
  // so xmlbuilder2 accepts prefixed names; the wrapper itself is dropped.
  const root = builder().ele('virt-pin-fragment', { 'xmlns:vp-any': 'urn:virt-pin:fragment' });
  const add = (b: Builder, s: ElementSpec): void => {
    if (s.children && s.text !== undefined) {
      throw new VirtPinError('XML_EDIT_BAD_SPEC', `<${s.name}>: give children or text, not both`);
    }
    const attrs = Object.fromEntries(attrsOf(s));
    const prefix = s.name.includes(':') ? s.name.slice(0, s.name.indexOf(':')) : undefined;
    if (prefix && attrs[`xmlns:${prefix}`] === undefined) attrs[`xmlns:${prefix}`] = 'urn:virt-pin:bound-in-document';
    const e = b.ele(s.name, attrs);
    if (s.text !== undefined) e.txt(s.text);
    for (const c of s.children ?? []) add(e, c);
  };
  let xml: string;
  try {
    add(root, spec);
    xml = root.end({ headless: true, prettyPrint: false });
  } catch (e) {
    throw new VirtPinError('XML_EDIT_BAD_SPEC', `cannot build <${spec.name}>: ${(e as Error).message}`);
  }
  const fragment = scanDocument(xml).rootElement.kids[0] as ElementImpl;
  return adoptNew(doc, fragment, spec);
}

/** Copy a parsed fragment into `doc` as new (span-less) nodes, keeping the spec's attributes exactly. */
function adoptNew(doc: DocumentImpl, src: ElementImpl, spec: ElementSpec): ElementImpl {
  const quote = doc.style.quote;
  const attrs: AttrRecord[] = attrsOf(spec).map(([name, value]) => ({ name, value, raw: escapeAttr(value, quote), quote, span: undefined, lead: ' ' }));
  const el = new ElementImpl(doc, src.name, attrs, false);
  const kids = src.kids.filter((k): k is ElementImpl => k.kind === 'element');
  if (spec.children?.length) {
    spec.children.forEach((c, i) => {
      const child = adoptNew(doc, kids[i]!, c);
      child.parent = el;
      el.kids.push(child);
    });
  } else if (spec.text !== undefined && spec.text !== '') {
    const t = DocumentImpl.textNode(escapeText(spec.text), spec.text, undefined);
    t.parent = el;
    el.kids.push(t);
  }
  el.selfClosingFlag = el.kids.length === 0;
  return el;
}
