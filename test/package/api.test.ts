/**
 * The library's export list is its API: every exported function, class and
 * constant carries a doc comment (what an editor shows a user), internals
 * stay out of it, and the code lists behind ErrorCode/DiagnosticCode stay
 * sorted and free of duplicates so that adding a code is one line.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, ERROR_CODES } from '../../src/codes.js';
import * as lib from '../../src/index.js';
import { repoRoot } from '../support/corpus.js';

/** Names that must not be part of the API: locks, state files, path and parsing helpers, discovery internals. */
const INTERNAL = ['acquireLock', 'lockPath', 'statePath', 'readStateFile', 'liveStatePath', 'readLiveStateFile', 'checkPciAddress', 'parseIrqNumber', 'LIVE_PATHS', 'discoverThreads', 'readLibvirtPid', 'queryQmpThreads', 'threadCgroup', 'childRank', 'scanDocument'];

function exportedValues(): { name: string; documented: boolean }[] {
  const entry = join(repoRoot, 'src', 'index.ts');
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(moduleSymbol).flatMap((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!(symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable))) return [];
    const documented = symbol.getDocumentationComment(checker).some((part) => part.text.trim() !== '');
    return [{ name: exported.name, documented }];
  });
}

describe('the library API (src/index.ts)', () => {
  const values = exportedValues();

  it('finds the exports it checks', () => {
    expect(values.map((v) => v.name)).toEqual(expect.arrayContaining(['readDomain', 'definitionOf', 'resolve', 'pinDomain', 'renderPinMapSvg', 'CpuSet', 'VirtPinError']));
  });

  it('documents every exported function, class and constant', () => {
    expect(values.filter((v) => !v.documented).map((v) => v.name)).toEqual([]);
  });

  it('keeps internals out', () => {
    expect(INTERNAL.filter((name) => name in lib)).toEqual([]);
  });

  it('keeps each code list sorted and without duplicates', () => {
    for (const list of [ERROR_CODES, DIAGNOSTIC_CODES]) {
      expect([...list]).toEqual([...new Set(list)].sort());
    }
    expect(ERROR_CODES.filter((c) => (DIAGNOSTIC_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it('CpuSet prints readably in console.log / util.inspect', async () => {
    const { inspect } = await import('node:util');
    expect(inspect(lib.CpuSet.of(0, 1, 2, 3, 8))).toBe('CpuSet [0-3,8]');
    expect(inspect({ cpus: lib.parseCpuSet('4-5') })).toBe('{ cpus: CpuSet [4-5] }');
    expect(inspect(lib.CpuSet.empty())).toBe('CpuSet []');
  });
});
