// Types of bench/fuzz-core.mjs for the TypeScript tests that use it.

/** The part of the library the fuzzer drives (src/index.ts or dist/index.js). */
export interface FuzzLibrary {
  parseDocument(text: string): unknown;
  serializeDocument(doc: never): string;
  checkDocument(text: string, options?: { driver?: 'qemu' | 'generic'; host?: never }): { code: string; severity: string }[];
  readDomain(doc: never): unknown;
  definitionOf(model: never, options: { driver: 'qemu' | 'generic' }): { maxVcpus: number; iothreads: readonly unknown[] };
  resolve(definition: never, host: never, context: { model: never }): unknown;
  toJSON(resolved: never): unknown;
  normalize(doc: never, options?: { driver?: 'qemu' | 'generic' }): unknown;
  planDocument(text: string, options?: { host?: never }): unknown;
  hostFromSysfs(root: string): unknown;
  isVirtPinError(e: unknown): boolean;
}

export interface SeedDocument {
  name: string;
  text: string;
}

export interface FuzzCase {
  seed: number;
  index: number;
  seedName: string;
  mutations: string[];
  /** What the library is given; undefined when a byte mutation left invalid UTF-8. */
  text: string | undefined;
  bytes: Uint8Array | undefined;
  host: number;
  driver: 'qemu' | 'generic';
}

export interface Violation {
  property: 'foreign-throw' | 'check-threw' | 'check-disagrees' | 'round-trip' | 'normalize-unparsable' | 'normalize-not-idempotent' | 'time-budget';
  stage: string;
  detail: string;
  /** Set on known violations: the KNOWN_ISSUES id that matched. */
  knownIssue?: string;
}

export interface CaseResult {
  outcome: string;
  violations: Violation[];
  knownViolations: Violation[];
  elapsedMs: number;
}

export interface Failure {
  index: number;
  seedName: string;
  mutations: string[];
  violations: Violation[];
}

export interface Tally {
  cases: number;
  outcomes: Record<string, number>;
  /** How many cases applied each mutation. */
  mutations: Record<string, number>;
  known: Record<string, number>;
  failures: Failure[];
  slowest: { ms: number; index: number };
}

export interface KnownIssue {
  id: string;
  where: string;
  summary: string;
  input?: (text: string) => boolean;
  violation?: (v: Violation, text: string | undefined) => boolean;
}

export const REPO_ROOT: string;
export const KNOWN_ISSUES: readonly KnownIssue[];
export function corpusDir(root?: string): string;
export function loadSeeds(root?: string): SeedDocument[];
export function loadHosts(lib: FuzzLibrary, root?: string): unknown[];
export function makeCase(seeds: readonly SeedDocument[], seed: number, index: number): FuzzCase;
export function caseBytes(fuzzCase: FuzzCase): Uint8Array;
export function budgetMs(byteLength: number, threads?: number): number;
export function runCase(lib: FuzzLibrary, hosts: readonly unknown[], fuzzCase: FuzzCase, options?: { timing?: boolean; clock?: () => number }): CaseResult;
export function runRange(
  lib: FuzzLibrary,
  hosts: readonly unknown[],
  seeds: readonly SeedDocument[],
  seed: number,
  options: { from?: number; to: number; step?: number; timing?: boolean; clock?: () => number; onCase?: (index: number) => void },
): Tally;
export function newTally(): Tally;
export function record(tally: Tally, fuzzCase: FuzzCase, result: CaseResult): void;
export function mergeTally(a: Tally, b: Tally): Tally;
export function normalizeViolations(lib: FuzzLibrary, text: string, driver?: 'qemu' | 'generic'): Violation[];
/** mulberry32, shared with test/support/gen-domain.ts. */
export function mulberry32(state: number): () => number;
