import { describe, expect, it } from 'vitest';
import { fromQemuPinningArgs, toQemuPinningArgs, toVirshCommands } from '../../src/policy/interop.js';

const threads = {
  vcpus: [
    { id: 0, cpus: '1' },
    { id: 1, cpus: '9' },
  ],
  emulator: { cpus: '0,8' },
  iothreads: [{ id: 1, cpus: '0,8' }],
};

describe('qemu-pinning fork interop', () => {
  it('exports one -vcpu option per vCPU', () => {
    expect(toQemuPinningArgs(threads)).toEqual(['-vcpu', 'vcpunum=0,affinity=1', '-vcpu', 'vcpunum=1,affinity=9']);
  });

  it('refuses multi-CPU masks unless --first, and symbolic masks always', () => {
    const floating = { vcpus: [{ id: 0, cpus: '2-3' }] };
    expect(() => toQemuPinningArgs(floating)).toThrow(expect.objectContaining({ code: 'EXPORT_NOT_SINGLE_CPU' }));
    expect(toQemuPinningArgs(floating, { first: true })).toEqual(['-vcpu', 'vcpunum=0,affinity=2']);
    expect(() => toQemuPinningArgs({ vcpus: [{ id: 0, cpus: 'all' }] })).toThrow(expect.objectContaining({ code: 'EXPORT_SYMBOLIC' }));
  });

  it('imports what it exports', () => {
    const pins = fromQemuPinningArgs(toQemuPinningArgs(threads).join(' '));
    expect([...pins]).toEqual([
      [0, 1],
      [1, 9],
    ]);
    expect([...fromQemuPinningArgs('-m 4G -vcpu vcpunum=3,affinity=7 -smp 4')]).toEqual([[3, 7]]);
  });

  it.each([
    ['-vcpu', 'IMPORT_BAD_ARGS'],
    ['-vcpu vcpunum=1', 'IMPORT_BAD_ARGS'],
    ['-vcpu vcpunum=1,affinity=x', 'IMPORT_BAD_ARGS'],
    ['-vcpu vcpunum=1,affinity=2,foo=3', 'IMPORT_BAD_ARGS'],
    ['-vcpu vcpunum=1,vcpunum=2,affinity=3', 'IMPORT_BAD_ARGS'],
    ['-vcpu vcpunum=1,affinity=2 -vcpu vcpunum=1,affinity=3', 'IMPORT_DUPLICATE_VCPU'],
    ['-vcpu vcpunum=4,affinity=2', 'IMPORT_VCPU_OUT_OF_RANGE'],
    ['-m 1G', 'IMPORT_NO_VCPU_ARGS'],
    ['-vcpu vcpunum=0,affinity=99999', 'IMPORT_BAD_ARGS'],
  ])('refuses %j with %s', (args, code) => {
    expect(() => fromQemuPinningArgs(args, 4)).toThrow(expect.objectContaining({ code }));
  });
});

describe('virsh commands', () => {
  it('prints vcpupin/emulatorpin/iothreadpin with --config or --live and quotes odd names', () => {
    expect(toVirshCommands('win11', threads, 'live')).toEqual([
      'virsh vcpupin win11 0 1 --live',
      'virsh vcpupin win11 1 9 --live',
      'virsh emulatorpin win11 0,8 --live',
      'virsh iothreadpin win11 1 0,8 --live',
    ]);
    expect(toVirshCommands("my vm's", { vcpus: [{ id: 0, cpus: '0-1' }] }, 'config')).toEqual([`virsh vcpupin 'my vm'\\''s' 0 0-1 --config`]);
  });

  it('writes --live --config together and -c URI (quoted) on every command', () => {
    expect(toVirshCommands('win11', { vcpus: [{ id: 0, cpus: '1' }], emulator: { cpus: '0' } }, ['live', 'config'], { connect: 'qemu:///system' })).toEqual([
      'virsh -c qemu:///system vcpupin win11 0 1 --live --config',
      'virsh -c qemu:///system emulatorpin win11 0 --live --config',
    ]);
    expect(toVirshCommands('vm', { vcpus: [{ id: 0, cpus: '1' }] }, 'live', { connect: 'qemu+ssh://root@h/system?x=$(id)' })[0]).toBe(
      "virsh -c 'qemu+ssh://root@h/system?x=$(id)' vcpupin vm 0 1 --live",
    );
  });

  it("never turns 'all' into explicit pins: unpinned threads get a comment, not a command", () => {
    const out = toVirshCommands('vm', { vcpus: [{ id: 0, cpus: '2' }, { id: 1, cpus: 'all' }], emulator: { cpus: 'all' } }, 'config');
    expect(out).toEqual(['virsh vcpupin vm 0 2 --config', '# vCPU 1: not pinned (may run on all host CPUs); left as it is', '# the emulator: not pinned (may run on all host CPUs); left as it is']);
    expect(() => toVirshCommands('vm', { vcpus: [{ id: 0, cpus: 'numad' }] }, 'config')).toThrow(/numad/);
  });
});
