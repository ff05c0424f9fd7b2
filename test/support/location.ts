/** Line and column the slow way, for tests of the library's locate: count line ends (\n, \r\n, lone \r) before `offset`. */
export function naiveLocation(s: string, offset: number): { line: number; column: number; offset: number } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < offset; k++) {
    const c = s[k];
    if (c === '\n' || (c === '\r' && s[k + 1] !== '\n')) {
      line++;
      start = k + 1;
    }
  }
  return { line, column: offset - start + 1, offset };
}
