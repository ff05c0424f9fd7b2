/**
 * Writing a placement into a domain document through the editing API:
 * only `<vcpu>`, `<cputune>` pin/sched children, `<numatune>` and
 * `<cpu><topology|numa>` are touched; everything else keeps its bytes.
 * Elements are created where libvirt's order puts them.
 */
import type { XmlDocument, XmlElement, ElementSpec } from '../xml/index.js';
import type { PinPlacement } from './types.js';

/** `<cputune>` children the planner owns; others (shares, period, cachetune…) are kept. */
const OWNED_CPUTUNE = new Set(['vcpupin', 'emulatorpin', 'iothreadpin', 'vcpusched', 'iothreadsched', 'emulatorsched']);

/** Write a placement into a domain document in place, touching only the affinity elements. */
export function writePlacement(doc: XmlDocument, placement: PinPlacement): void {
  const domain = doc.root;

  const vcpu = domain.element('vcpu');
  if (vcpu) {
    // Every thread gets an explicit pin below, so <vcpu cpuset> would only
    // mislead a reader; auto placement would hand the choice back to numad.
    if (vcpu.attr('placement') === 'auto') vcpu.setAttr('placement', 'static');
    vcpu.removeAttr('cpuset');
  }

  const cputune = domain.element('cputune') ?? domain.insert({ name: 'cputune' });
  for (const child of cputune.elements()) if (OWNED_CPUTUNE.has(child.name)) cputune.remove(child);
  placement.vcpuPins.forEach((cpus, id) => {
    cputune.insert({ name: 'vcpupin', attrs: [['vcpu', String(id)], ['cpuset', cpus.toString()]] });
  });
  cputune.insert({ name: 'emulatorpin', attrs: [['cpuset', placement.emulator.toString()]] });
  for (const t of placement.iothreads) {
    cputune.insert({ name: 'iothreadpin', attrs: [['iothread', String(t.id)], ['cpuset', t.cpus.toString()]] });
  }
  if (placement.realtime) {
    const rt = placement.realtime;
    cputune.insert({
      name: 'vcpusched',
      attrs: [['vcpus', rt.vcpus.toString()], ['scheduler', rt.scheduler], ['priority', String(rt.priority)]],
    });
  }

  if (placement.memory) {
    const memnodes: ElementSpec[] = placement.cells.map((c) => ({
      name: 'memnode',
      attrs: [['cellid', String(c.id)], ['mode', 'strict'], ['nodeset', String(c.hostNode)]],
    }));
    const spec: ElementSpec = {
      name: 'numatune',
      children: [{ name: 'memory', attrs: [['mode', placement.memory.mode], ['nodeset', placement.memory.nodeset.toString()]] }, ...memnodes],
    };
    const old = domain.element('numatune');
    if (old) domain.replace(old, spec);
    else domain.insert(spec);
  }

  if (placement.cells.length > 0 || placement.topology || placement.cache) {
    let cpu = domain.element('cpu');
    if (!cpu) cpu = domain.insert({ name: 'cpu' });
    if (placement.topology) setTopology(cpu, placement.topology);
    // An existing <cache> (passthrough, disable, or another level) is the admin's choice; only add one.
    if (placement.cache && !cpu.element('cache')) cpu.insert({ name: 'cache', attrs: [['level', String(placement.cache.level)], ['mode', placement.cache.mode]] });
    if (placement.cells.length > 0) {
      const spec: ElementSpec = {
        name: 'numa',
        children: placement.cells.map((c) => ({
          name: 'cell',
          attrs: [
            ['id', String(c.id)],
            ['cpus', c.vcpus.toString()],
            ...(c.memoryKiB !== undefined ? ([['memory', String(c.memoryKiB)], ['unit', 'KiB']] as const) : []),
          ],
        })),
      };
      const old = cpu.element('numa');
      if (old) cpu.replace(old, spec);
      else cpu.insert(spec);
    }
  }
}

function setTopology(cpu: XmlElement, t: NonNullable<PinPlacement['topology']>): void {
  const existing = cpu.element('topology');
  const attrs = [
    ['sockets', String(t.sockets)],
    ['dies', String(t.dies)],
    ['cores', String(t.cores)],
    ['threads', String(t.threads)],
  ] as const;
  if (!existing) {
    cpu.insert({ name: 'topology', attrs });
    return;
  }
  for (const [name, value] of attrs) {
    if (existing.attr(name) !== value && (name !== 'dies' || existing.attr('dies') !== undefined || value !== '1')) existing.setAttr(name, value);
  }
}
