import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VirtPinError } from '../../src/errors.js';
import { parseDocument, type XmlDocument } from '../../src/xml/index.js';
import { definitionOf, readDomain } from '../../src/domain/index.js';
import { corpusDir, corpusXmlFiles } from '../support/corpus.js';

function tryParse(text: string): XmlDocument | undefined {
  try {
    return parseDocument(text);
  } catch (e) {
    if (e instanceof VirtPinError) return undefined; // malformed XML is the xml module's business
    throw e;
  }
}

describe('domain over the libvirt corpus', () => {
  it('readDomain and definitionOf (both drivers) never throw on any domain document that parses', () => {
    const dir = join(corpusDir(), 'libvirt');
    let domains = 0;
    let changes = 0;
    let withErrors = 0;
    const notDomains: string[] = [];
    for (const file of corpusXmlFiles()) {
      const doc = tryParse(readFileSync(file, 'utf8'));
      if (!doc) continue;
      let model;
      try {
        model = readDomain(doc);
      } catch (e) {
        // The only refusal readDomain has: a root that is neither <domain> nor <domstatus>.
        expect(e, relative(dir, file)).toMatchObject({ code: 'DOMAIN_NOT_A_DOMAIN' });
        notDomains.push(doc.root.name);
        continue;
      }
      domains++;
      const json = JSON.stringify(model, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      if (json.includes('"error":')) withErrors++;
      for (const driver of ['qemu', 'generic'] as const) {
        const d = definitionOf(model, { driver });
        expect(d.vcpus, relative(dir, file)).toHaveLength(d.maxVcpus);
        changes += d.changes.length;
      }
    }
    expect(domains).toBeGreaterThan(2500);
    expect(new Set(notDomains).has('domain')).toBe(false);
    console.log(`domain sweep: ${domains} domains read, ${withErrors} with field errors, ${changes} recorded changes (both drivers), ${notDomains.length} non-domain documents`);
  });

  it("maxVcpus, placement, cpuset and online count of every pairs.tsv input equal libvirt's formatted output", () => {
    const dir = corpusDir();
    const rows = readFileSync(join(dir, 'pairs.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'));
    let compared = 0;
    for (const [program, input, output] of rows) {
      const out = parseDocument(readFileSync(join(dir, 'libvirt', output!), 'utf8'));
      const outRoot = out.root.name === 'domstatus' ? out.root.element('domain')! : out.root;
      const vcpu = outRoot.element('vcpu');
      if (!vcpu) continue;
      const driver = program!.startsWith('qemu') ? 'qemu' : 'generic';
      const d = definitionOf(readDomain(parseDocument(readFileSync(join(dir, 'libvirt', input!), 'utf8'))), { driver });
      const where = `${input} → ${output}`;
      expect(d.maxVcpus, where).toBe(Number(vcpu.text()));
      expect(d.placement, where).toBe(vcpu.attr('placement') ?? 'static');
      // libvirt omits a cpuset covering all 16384 ids and never prints one with auto placement.
      const cpuset = d.cpuset && d.cpuset.cpus.size < 16384 ? d.cpuset.cpus.toString() : undefined;
      expect(cpuset, where).toBe(vcpu.attr('cpuset'));
      expect(d.vcpus.filter((v) => v.online).length, where).toBe(Number(vcpu.attr('current') ?? vcpu.text()));
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
    console.log(`definition vs libvirt output: ${compared} pairs agree on maximum vCPUs, placement, cpuset and online count`);
  });
});
