/**
 * SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, any SARIF viewer):
 * rules described from RULES, repository-relative percent-encoded artifact
 * URIs against a base id, fingerprints that survive unrelated edits, and
 * the invocation's exit status and notifications (unreadable and skipped
 * files).
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES, type Diagnostic, type Rule } from '../validate/index.js';
import { Fingerprints } from './fingerprint.js';
import type { FileResult } from './format-diagnostics.js';

/** The base every relative artifact URI is resolved against (`--base DIR`). */
export const BASE_ID = 'SRCROOT';

const level = { error: 'error', warning: 'warning', info: 'note' } as const;
/** GitHub's `problem.severity`, which sorts alerts. */
const problemSeverity = { error: 'error', warning: 'warning', info: 'recommendation' } as const;

export interface SarifOptions {
  toolVersion: string;
  exitCode: number;
  /** Absolute directory the artifact URIs are relative to. */
  base: string;
}

interface Location {
  uri: string;
  uriBaseId?: string;
}

/** A path as a SARIF artifact location: relative to the base (each segment percent-encoded), else an absolute file URI. */
export function artifactLocation(file: string, base: string): Location {
  if (file === '<stdin>') return { uri: 'stdin' };
  const abs = resolve(file);
  const rel = relative(base, abs);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
    return { uri: rel.split(sep).map(encodeSegment).join('/'), uriBaseId: BASE_ID };
  }
  return { uri: pathToFileURL(abs).href };
}

/** RFC 3986 path segment: unreserved characters stay, everything else (space, %, #, ?, non-ASCII) is %XX of its UTF-8 bytes. */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const RULE_BY_CODE = new Map<string, Rule>(RULES.map((r) => [r.code, r]));

/** What kind of finding a spec reference means, as tags for filtering. */
function tagsOf(spec: string | undefined, rule: Rule | undefined): string[] {
  const tags = ['libvirt'];
  if (spec === 'xml') tags.push('xml', 'refused-by-libvirt');
  else if (spec?.startsWith('§7')) tags.push('silent-normalization');
  else if (spec === 'lint') tags.push('lint', 'performance');
  else if (spec !== undefined) tags.push('refused-by-libvirt');
  if (rule?.driver === 'qemu') tags.push('qemu');
  if (rule?.needsHost) tags.push('host');
  tags.push('cpu-affinity');
  return tags;
}

interface RuleDescriptor {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string; markdown: string };
  defaultConfiguration: { level: 'error' | 'warning' | 'note' };
  properties: { tags: string[]; precision: string; 'problem.severity': string; spec?: string; libvirtRule?: string };
}

/**
 * One descriptor per code seen. A rule's own code is described by its
 * summary; a code a rule reports for one kind of change (§7's
 * VCPUPIN_OUT_OF_RANGE_DROPPED, …) by the parent rule's summary; parser
 * codes by their spec. The help gives the summary, the hint and an example
 * finding from this run.
 */
function describe(d: Diagnostic, file: string): RuleDescriptor {
  const rule = RULE_BY_CODE.get(d.code) ?? (d.rule ? RULE_BY_CODE.get(d.rule) : undefined);
  const summary = rule
    ? rule.code === d.code
      ? rule.summary
      : `${rule.summary} (this finding: ${d.code.toLowerCase().replace(/_/g, ' ')})`
    : d.spec === 'xml'
      ? `the document is not XML libvirt can read (${d.code.toLowerCase().replace(/_/g, ' ')})`
      : d.code.toLowerCase().replace(/_/g, ' ');
  const spec = d.spec ?? rule?.spec;
  const where = spec === 'xml' ? 'libvirt refuses XML that does not parse.' : spec?.startsWith('§7') ? 'libvirt accepts the XML but changes or drops this silently.' : spec === 'lint' ? 'An expert lint: libvirt accepts it, but the pinning is probably not what was meant.' : 'libvirt refuses the XML at define time.';
  const full = `${capitalize(summary)}. ${where}`;
  const hint = d.hint ? `How to fix: ${d.hint}` : '';
  const example = `Example: ${file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}`;
  const page = spec === 'xml' ? 'errors.md' : 'validation.md';
  return {
    id: d.code,
    name: d.code
      .toLowerCase()
      .split('_')
      .map((w, i) => (i === 0 ? w : capitalize(w)))
      .join(''),
    shortDescription: { text: capitalize(summary) },
    fullDescription: { text: full },
    help: {
      text: [full, hint, example].filter(Boolean).join('\n\n'),
      markdown: [`**${d.code}**: ${md(full)}`, d.hint ? `**How to fix:** ${md(d.hint)}` : '', `**Example finding:**\n\n\`\`\`\n${example.slice('Example: '.length)}\n\`\`\``, `See docs/${page} in the virt-pin package.`].filter(Boolean).join('\n\n'),
    },
    defaultConfiguration: { level: level[rule?.code === d.code ? rule.severity : d.severity] },
    properties: {
      tags: tagsOf(spec, rule),
      precision: spec === 'lint' ? 'high' : 'very-high',
      'problem.severity': problemSeverity[d.severity],
      ...(spec !== undefined ? { spec } : {}),
      ...(d.rule && d.rule !== d.code ? { libvirtRule: d.rule } : {}),
    },
  };
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Markdown text outside code: `<vcpupin>` would be taken for an HTML tag and vanish. */
const md = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/([\\`*_[\]])/g, '\\$1');

export function formatSarif(results: readonly FileResult[], options: SarifOptions): string {
  const rules = new Map<string, RuleDescriptor>();
  const ruleIndex = new Map<string, number>();
  const sarifResults: unknown[] = [];
  for (const r of results) {
    const location = artifactLocation(r.file, options.base);
    const fingerprints = new Fingerprints(location.uri, r.source);
    for (const d of r.diagnostics) {
      if (!rules.has(d.code)) {
        ruleIndex.set(d.code, rules.size);
        rules.set(d.code, describe(d, r.file));
      }
      sarifResults.push({
        ruleId: d.code,
        ruleIndex: ruleIndex.get(d.code),
        level: level[d.severity],
        message: { text: d.message + (d.hint ? ` Hint: ${d.hint}` : '') },
        locations: [
          {
            physicalLocation: {
              artifactLocation: location,
              region: { startLine: Math.max(1, d.line), startColumn: Math.max(1, d.column) },
            },
            ...(d.path ? { logicalLocations: [{ fullyQualifiedName: d.path, kind: 'element' }] } : {}),
          },
        ],
        partialFingerprints: { primaryLocationLineHash: fingerprints.of(d) },
      });
    }
  }
  const notifications = results
    .filter((r) => r.error || r.skipped)
    .map((r) => ({
      level: r.error ? 'error' : 'note',
      message: { text: r.error ? r.error.message : `${r.file}: skipped, ${r.skipped}` },
      descriptor: { id: r.error ? r.error.code : 'INPUT_SKIPPED' },
      locations: [{ physicalLocation: { artifactLocation: artifactLocation(r.file, options.base) } }],
    }));
  const baseUri = pathToFileURL(options.base.endsWith(sep) ? options.base : options.base + sep).href;
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'virt-pin',
            version: options.toolVersion,
            semanticVersion: options.toolVersion,
            rules: [...rules.values()],
          },
        },
        originalUriBaseIds: { [BASE_ID]: { uri: baseUri, description: { text: 'The directory file paths are relative to (--base, default the current directory).' } } },
        invocations: [
          {
            executionSuccessful: !results.some((r) => r.error),
            exitCode: options.exitCode,
            toolExecutionNotifications: notifications,
          },
        ],
        columnKind: 'utf16CodeUnits',
        results: sarifResults,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
