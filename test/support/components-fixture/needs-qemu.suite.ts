// Run only by test/hardening/components.test.ts (with a PATH that has no QEMU): one gated suite, one plain one.
import { describe, expect, it } from 'vitest';
import { describeWith } from '../components.js';

describeWith(['qemu'], 'a suite that needs QEMU', () => {
  it('first', () => expect(1).toBe(1));
  it('second', () => expect(2).toBe(2));
});

describe('a suite that needs nothing', () => {
  it('runs', () => expect(3).toBe(3));
});
