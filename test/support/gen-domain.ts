/**
 * A seeded generator of adversarial domain XML for the oracle tests:
 * random combinations of the affinity elements, in and out of range,
 * duplicated, with odd but legal (and illegal) cpuset spellings, inside a
 * minimal domain that libvirt's test driver accepts otherwise. The same
 * seed gives the same domains (VIRT_PIN_ORACLE_SEED overrides the default).
 */
import { mulberry32 } from '../../bench/fuzz-core.mjs';

/** mulberry32 (the fuzzer's generator): small, fast, good enough for test generation. */
export const rng: (seed: number) => () => number = mulberry32;

export interface GeneratedDomain {
  name: string;
  xml: string;
}

const GOOD_SETS = ['0', '1', '0-1', '2-3', '0-7', '1,3,5', ' 1 , 2 ', '1,2,', '2-+3', '0--0', '^1,0-3', '0-3,^1', '4-7', '6', '3-3', '007'];
const BAD_SETS = ['', '3-1', '1 2', '^1-2', '16384', '0,^0', 'a', ',1', '1,,2', '-1'];
const HUGE_SETS = ['8-15', '100', '0-16383', '16383'];

export function generateDomains(seed: number, count: number): GeneratedDomain[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number): boolean => r() < p;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const cpuset = (): string => (chance(0.08) ? pick(BAD_SETS) : chance(0.05) ? pick(HUGE_SETS) : pick(GOOD_SETS));
  const out: GeneratedDomain[] = [];
  const r2 = rng(seed ^ 0x5eed);
  const chance2 = (p: number): boolean => r2() < p;
  const int2 = (lo: number, hi: number): number => lo + Math.floor(r2() * (hi - lo + 1));
  const r3 = rng(seed ^ 0x7e57c7);
  const chance3 = (p: number): boolean => r3() < p;
  const int3 = (lo: number, hi: number): number => lo + Math.floor(r3() * (hi - lo + 1));
  const pick3 = <T>(xs: readonly T[]): T => xs[Math.floor(r3() * xs.length)]!;
  /** A vCPU list around the domain's vCPUs (sometimes past the maximum, sometimes oddly spelled). */
  const vlist = (max: number): string => {
    const a = int3(0, max);
    const b = a + int3(0, 2);
    return pick3([a === b ? String(a) : `${a}-${b}`, `${b},${a},`, ` ${a}`, `${a}-${b},^${a}`, '0-1', '1']);
  };
  const num = (n: number): string => pick3([String(n), String(n), ` ${n}`, `+${n}`, `0${n}`]);
  /** One to three resctrl elements. */
  const resctrl = (max: number): string[] => {
    const out: string[] = [];
    const sets: string[] = [];
    for (let k = int3(1, 3); k > 0; k--) {
      // Reuse an earlier set now and then: identical cachetunes, merged memorytunes, cachetune+memorytune groups.
      const vcpus = sets.length && chance3(0.35) ? pick3(sets) : vlist(max);
      sets.push(vcpus);
      const monitors: string[] = [];
      const kind = chance3(0.55) ? 'cachetune' : 'memorytune';
      for (let m = int3(0, 2); m > 0; m--) {
        const level = kind === 'cachetune' ? (chance3(0.85) ? ` level='${num(3)}'` : chance3(0.5) ? " level='2'" : '') : chance3(0.2) ? " level='3'" : '';
        monitors.push(`<monitor${level} vcpus='${chance3(0.4) ? vcpus : vlist(max)}'/>`);
      }
      const allocs: string[] = [];
      if (kind === 'cachetune') {
        for (let c = int3(0, 3); c > 0; c--) {
          const type = pick3(['both', 'code', 'data']);
          allocs.push(`<cache id='${num(int3(0, 1))}' level='${num(pick3([2, 3]))}' type='${type}' ${pick3(["size='3' unit='MiB'", "size='1024'", "size='1000' unit='KB'", "size='2'"])}/>`);
        }
      } else {
        for (let n = int3(0, 3); n > 0; n--) {
          const bandwidth = chance3(0.05) ? pick3(['101', 'x', '']) : String(int3(0, 100));
          allocs.push(`<node id='${chance3(0.05) ? 'x' : num(int3(0, 2))}'${bandwidth === '' ? '' : ` bandwidth='${chance3(0.3) ? num(Number(bandwidth) || 0) : bandwidth}'`}/>`);
        }
      }
      out.push(`    <${kind} vcpus='${vcpus}'>${[...allocs, ...monitors].join('')}</${kind}>`);
    }
    return out;
  };

  for (let i = 0; i < count; i++) {
    const name = `g${seed}-${i}`;
    const max = int(1, 6);
    const lines: string[] = [];
    // <vcpu>
    const vattrs: string[] = [];
    const placement = chance(0.15) ? 'auto' : chance(0.5) ? 'static' : chance(0.03) ? 'dynamic' : undefined;
    if (placement) vattrs.push(`placement='${placement}'`);
    if (chance(0.35)) vattrs.push(`cpuset='${cpuset()}'`);
    if (chance(0.25)) vattrs.push(`current='${chance(0.1) ? max + 1 : int(1, max)}'`);
    const maxText = chance(0.03) ? `${max}\n  ` : chance(0.02) ? 'x' : String(max);
    lines.push(`  <vcpu${vattrs.map((a) => ' ' + a).join('')}>${maxText}</vcpu>`);
    // <vcpus>
    if (chance(0.06)) {
      const items: string[] = [];
      for (let v = 0; v < max; v++) {
        if (chance(0.2)) continue;
        const enabled = v === 0 ? 'yes' : pick(['yes', 'no']);
        const hot = v === 0 ? 'no' : chance(0.5) ? (enabled === 'yes' ? pick(['yes', 'no']) : 'yes') : undefined;
        items.push(`<vcpu id='${v}' enabled='${enabled}'${hot ? ` hotpluggable='${hot}'` : ''}/>`);
      }
      lines.push(`  <vcpus>${items.join('')}</vcpus>`);
    }
    // IOThreads
    const iothreads = chance(0.4) ? int(0, 3) : 0;
    if (iothreads || chance(0.05)) lines.push(`  <iothreads>${iothreads}</iothreads>`);
    const ids: number[] = [];
    if (chance(0.12)) {
      const n = int(1, 3);
      for (let k = 0; k < n; k++) ids.push(chance(0.05) ? 0 : int(1, 6));
      lines.push(`  <iothreadids>${ids.map((id) => `<iothread id='${id}'/>`).join('')}</iothreadids>`);
    }
    const ioCount = Math.max(iothreads, ids.length);
    // <cputune>
    const ct: string[] = [];
    if (chance(0.6)) {
      const pins = int(0, max + 1);
      for (let k = 0; k < pins; k++) {
        const v = chance(0.1) ? max + int(0, 2) : int(0, max - 1);
        ct.push(`    <vcpupin vcpu='${v}' cpuset='${cpuset()}'/>`);
      }
      if (chance(0.3)) ct.push(`    <emulatorpin cpuset='${cpuset()}'/>`);
      if (chance(0.03)) ct.push(`    <emulatorpin cpuset='${cpuset()}'/>`);
      if (ioCount && chance(0.4)) ct.push(`    <iothreadpin iothread='${chance(0.1) ? ioCount + 3 : int(1, ioCount)}' cpuset='${cpuset()}'/>`);
      if (chance(0.12)) {
        const a = int(0, max - 1);
        const b = chance(0.15) ? max : int(a, max - 1);
        const sched = pick(['fifo', 'rr', 'batch', 'idle', 'other']);
        ct.push(`    <vcpusched vcpus='${a === b ? a : `${a}-${b}`}' scheduler='${sched}'${sched === 'fifo' || sched === 'rr' ? (chance(0.9) ? ` priority='${int(1, 99)}'` : '') : chance(0.2) ? " priority='5'" : ''}/>`);
      }
      if (chance(0.05)) ct.push(`    <emulatorsched scheduler='${pick(['batch', 'idle', 'fifo'])}' priority='1'/>`);
      if (chance(0.05)) ct.push(`    <period>${pick(['100000', '999', '0', '-5'])}</period>`);
      if (chance(0.05)) ct.push(`    <quota>${pick(['-1', '50000', '10', '0'])}</quota>`);
    }
    // Cache allocations and a zero vCPU count draw from their own stream, so the
    // domains above stay what they were for a given seed.
    if (chance2(0.08)) {
      const a = int2(0, max);
      const sizes = ["size='3'", "size='3072'", "size='1' unit='KB'", "size='2048' unit='B'", "size='2' unit='m'", "size='3' unit='kib'", "size='0'", "size='x'", "size='3' unit='x'", "unit='KiB'", "size='18446744073709551615' unit='KiB'"];
      ct.push(`    <cachetune vcpus='${a}-${a + int2(0, 2)}'><cache id='0' level='3' type='both' ${sizes[int2(0, sizes.length - 1)]}/></cachetune>`);
    }
    if (chance2(0.01)) lines[0] = lines[0]!.replace(/>[^<]*<\/vcpu>$/, '>0</vcpu>');
    // resctrl groups (cachetune: caches + monitors; memorytune: nodes + monitors) with overlaps, duplicates,
    // merges and odd integer spellings, from a third stream so every domain above stays as it was.
    if (chance3(0.25)) ct.push(...resctrl(max));
    // <shares>: libvirt 9.0 refuses non-zero values outside 2..262144 at define (a version difference).
    if (chance3(0.05)) ct.unshift(`    <shares>${pick3(['0', '1', '2', '1024', '262144', '262145', ' 5'])}</shares>`);
    if (ct.length) lines.push('  <cputune>', ...ct, '  </cputune>');
    // guest NUMA cells
    let cells = 0;
    if (chance(0.12)) {
      cells = int(1, 2);
      const split = cells === 1 ? [`0-${max - 1}`] : [max > 1 ? `0-${Math.max(0, Math.floor(max / 2) - 1)}` : '0', max > 1 ? `${Math.floor(max / 2)}-${max - 1}` : '0'];
      if (chance(0.3)) split[0] = '0';
      // Odd id spellings, cells out of order, memory sizes that do not fall on a KiB, a missing memory (third stream).
      const odd = chance3(0.5);
      const cellXml = split.map((cpus, k) => {
        const id = odd ? pick3([String(k), ` ${k}`, `+${k}`, `0${k}`]) : String(k);
        const memory = odd ? pick3(["memory='65536' unit='KiB'", "memory='1000' unit='KB'", "memory='1025' unit='b'", "memory='1' unit='MiB'", "memory='64'", '', "memory='x'"]) : "memory='65536' unit='KiB'";
        return `<cell id='${id}' cpus='${cpus}'${memory ? ' ' + memory : ''}/>`;
      });
      if (odd && chance3(0.5)) cellXml.reverse();
      lines.push(`  <cpu>\n    <numa>${cellXml.join('')}</numa>\n  </cpu>`);
    }
    // <numatune>
    if (chance(0.3)) {
      const m: string[] = [];
      if (chance(0.85)) {
        const a: string[] = [];
        if (chance(0.7)) a.push(`mode='${pick(['strict', 'preferred', 'interleave', 'restrictive', 'bogus'])}'`);
        if (chance(0.5)) a.push(`placement='${pick(['static', 'auto'])}'`);
        if (chance(0.6)) a.push(`nodeset='${pick(['0', '0', '0-1', '', '1,^1'])}'`);
        m.push(`<memory ${a.join(' ')}/>`);
      }
      if (chance(0.15)) m.push(`<memnode cellid='${int(0, 2)}' mode='strict' nodeset='0'/>`);
      lines.push(`  <numatune>${m.join('')}</numatune>`);
    }
    const order = lines;
    // <cpu> must come after <os> in libvirt's order, but libvirt does not care about input order.
    out.push({
      name,
      xml: `<domain type='kvm'>\n  <name>${name}</name>\n  <memory unit='KiB'>131072</memory>\n${order.join('\n')}\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n`,
    });
  }
  return out;
}
