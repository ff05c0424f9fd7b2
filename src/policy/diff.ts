/**
 * A unified diff of two texts, for `pinDomain`, `normalize --diff` and
 * `pin --dry-run`.
 * Edits are local (only affinity elements change), so the common head and
 * tail are trimmed first and an LCS runs on the middle only.
 */
export function unifiedDiff(a: string, b: string, nameA: string, nameB: string, context = 3): string {
  if (a === b) return '';
  const x = a.split('\n');
  const y = b.split('\n');
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xm = x.slice(head, x.length - tail);
  const ym = y.slice(head, y.length - tail);
  // ops over the whole texts: ' ' keep, '-' remove, '+' add
  const ops: { op: ' ' | '-' | '+'; line: string }[] = x.slice(0, head).map((line) => ({ op: ' ', line }));
  if (xm.length * ym.length <= 4_000_000) {
    const n = xm.length;
    const m = ym.length;
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = xm[i] === ym[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && xm[i] === ym[j]) {
        ops.push({ op: ' ', line: xm[i]! });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: '-', line: xm[i++]! });
      else ops.push({ op: '+', line: ym[j++]! });
    }
  } else {
    for (const line of xm) ops.push({ op: '-', line });
    for (const line of ym) ops.push({ op: '+', line });
  }
  for (const line of x.slice(x.length - tail)) ops.push({ op: ' ', line });

  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k]!.op === ' ') k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - context);
    let end = k;
    // extend the hunk while changes are within 2*context lines of each other
    for (;;) {
      while (end < ops.length && ops[end]!.op !== ' ') end++;
      let gap = end;
      while (gap < ops.length && ops[gap]!.op === ' ' && gap - end < 2 * context) gap++;
      if (gap < ops.length && ops[gap]!.op !== ' ') end = gap;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const lineA = ops.slice(0, start).filter((o) => o.op !== '+').length + 1;
    const lineB = ops.slice(0, start).filter((o) => o.op !== '-').length + 1;
    const hunk = ops.slice(start, stop);
    const lenA = hunk.filter((o) => o.op !== '+').length;
    const lenB = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${lineA},${lenA} +${lineB},${lenB} @@`);
    for (const o of hunk) out.push(o.op + o.line);
    k = stop;
  }
  return out.join('\n') + '\n';
}
