import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CpuSet } from '../../src/cpuset/index.js';
import { VirtPinError } from '../../src/errors.js';
import { explain } from '../../src/resolve/explain.js';
import { resolve } from '../../src/resolve/resolve.js';
import { at, definition, pin, twoNodeHost } from './definitions.js';

describe('explain', () => {
  it("names the <vcpu cpuset> and its line for an unpinned vCPU", () => {
    const def = definition({ max: 4, vcpupins: { 0: '2' } });
    def.cpuset = pin('8-11', '/domain/vcpu', 12);
    expect(explain(resolve(def), 'vcpu 3')).toBe("vCPU 3 → 8-11 from <vcpu cpuset='8-11'> at line 12, because vCPU 3 has no <vcpupin>.");
  });

  it('names the own pin', () => {
    const def = definition({ max: 2 });
    def.vcpus[1]!.pin = pin('4-5', '/domain/cputune/vcpupin[1]', 17);
    def.emulatorPin = pin('0', '/domain/cputune/emulatorpin', 18);
    const r = resolve(def);
    expect(explain(r, 'vCPU1')).toBe("vCPU 1 → 4-5 from <vcpupin vcpu='1' cpuset='4-5'> at line 17, because vCPU 1 has its own <vcpupin>.");
    expect(explain(r, 'emulator')).toBe("the emulator → 0 from <emulatorpin cpuset='0'> at line 18, because the emulator has its own <emulatorpin>.");
  });

  it('explains "all" with and without host facts, and marks offline vCPUs', () => {
    const def = definition({ max: 2, current: 1, iothreads: [{ id: 2 }] });
    expect(explain(resolve(def), 'iothread 2')).toMatch(/^IOThread 2 → all host CPUs, because IOThread 2 has no <iothreadpin> and <vcpu> has no cpuset/);
    expect(explain(resolve(def, twoNodeHost), 'vcpu 1')).toMatch(/^vCPU 1 \(offline; on hot-plug\) → 0-13 \(all host CPUs\), because/);
  });

  it('explains numad', () => {
    const r = resolve(definition({ placement: 'auto' }));
    expect(explain(r, 'vcpu 0')).toMatch(/^vCPU 0 → the CPUs of the numad-advised nodes from numad advice, because vCPU 0 has no <vcpupin> and the vCPU placement is auto/);
  });

  it('refuses unknown threads with stable codes', () => {
    const r = resolve(definition({ max: 2 }));
    const code = (t: string): string | undefined => {
      try {
        explain(r, t);
      } catch (e) {
        return e instanceof VirtPinError ? e.code : 'not a VirtPinError';
      }
      return undefined;
    };
    expect(code('vcpu 2')).toBe('RESOLVE_UNKNOWN_THREAD');
    expect(code('iothread 1')).toBe('RESOLVE_UNKNOWN_THREAD');
    expect(code('the kernel')).toBe('RESOLVE_BAD_TARGET');
  });
});

describe('property: a valid vcpupin always resolves to exactly that set', () => {
  const cpuSetArb = fc.uniqueArray(fc.integer({ min: 0, max: 16383 }), { minLength: 1, maxLength: 40 }).map((ids) => CpuSet.fromIds(ids));
  it('for any placement, cpuset, emulator pin and host facts', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        cpuSetArb,
        fc.option(cpuSetArb, { nil: undefined }),
        fc.constantFrom<'static' | 'auto'>('static', 'auto'),
        fc.boolean(),
        fc.boolean(),
        (max, which, pinned, cpuset, placement, withHost, online) => {
          const id = which % max;
          // `online` false makes the pinned vCPU offline when it is not vCPU 0.
          const def = definition({ max, current: online ? max : Math.max(1, id), placement });
          if (cpuset && placement === 'static') def.cpuset = { cpus: cpuset, from: at('/domain/vcpu', 3) };
          def.vcpus[id]!.pin = { cpus: pinned, from: at('/domain/cputune/vcpupin', 9) };
          const r = resolve(def, withHost ? { ...twoNodeHost, numadNodeset: CpuSet.of(0) } : undefined);
          const v = r.vcpus[id]!;
          return v.source === 'vcpupin' && typeof v.cpus !== 'string' && v.cpus.equals(pinned) && v.cgroupCpus;
        },
      ),
      { numRuns: 300 },
    );
  });
});
