import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { RuntimePlan } from '../../src/plan/index.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
export const repoRoot = join(import.meta.dirname, '..', '..');
const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'plan.schema.json'), 'utf8'));
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validatePlan = ajv.compile(schema);

/** Throws with ajv's messages when a plan does not match schemas/plan.schema.json. */
export function assertPlanSchema(p: RuntimePlan): void {
  // Round-trip through JSON: the schema describes the serialised form.
  const data = JSON.parse(JSON.stringify(p));
  if (!validatePlan(data)) throw new Error('plan does not match schemas/plan.schema.json: ' + JSON.stringify(validatePlan.errors, null, 2));
}

export const PASSTHROUGH_ROOT = join(repoRoot, 'fixtures', 'passthrough-host', 'root');

export const NS = 'https://virt-pin.dev/xmlns/irq/1';

/** A domain on the passthrough fixture host: vCPUs 0-1 on node 0 (CPUs 2,3), vCPUs 2-3 on node 1 (CPUs 10,11). */
export function gpuVm(metadata: string, extraDevices = ''): string {
  return `<domain type='kvm'>
  <name>gpu-vm</name>
  <metadata>
${metadata}
  </metadata>
  <memory unit='GiB'>8</memory>
  <vcpu placement='static'>4</vcpu>
  <iothreads>1</iothreads>
  <cputune>
    <vcpupin vcpu='0' cpuset='2'/>
    <vcpupin vcpu='1' cpuset='3'/>
    <vcpupin vcpu='2' cpuset='10'/>
    <vcpupin vcpu='3' cpuset='11'/>
    <emulatorpin cpuset='0-1'/>
    <iothreadpin iothread='1' cpuset='8'/>
    <vcpusched vcpus='0-1' scheduler='fifo' priority='10'/>
  </cputune>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x0a' slot='0x00' function='0x0'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x0a' slot='0x00' function='0x1'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></source>
    </hostdev>
    <interface type='hostdev' managed='yes'>
      <source><address type='pci' domain='0x0000' bus='0x81' slot='0x02' function='0x1'/></source>
    </interface>
${extraDevices}
  </devices>
</domain>
`;
}
