/**
 * Fingerprints for CI findings (SARIF partialFingerprints, GitLab Code
 * Quality): the same finding keeps its fingerprint when unrelated edits
 * move it, so an alert is tracked across commits instead of being closed
 * and reopened.
 */
import { createHash } from 'node:crypto';

/**
 * Per file: hash of the code, the file's repository-relative name, the
 * element path and the finding's source line with whitespace collapsed —
 * never its line number — plus the occurrence among findings that share
 * all of those (`HASH:N`).
 */
export class Fingerprints {
  readonly #seen = new Map<string, number>();
  readonly #lines: string[] | undefined;

  constructor(
    readonly file: string,
    source: string | undefined,
  ) {
    this.#lines = source?.split(/\r?\n/);
  }

  /** `code` is a diagnostic's code, or a CLI code (INPUT_UNREADABLE) for a file that could not be read. */
  of(d: { code: string; line: number; path?: string | undefined }): string {
    const text = (this.#lines?.[d.line - 1] ?? '').trim().replace(/\s+/g, ' ');
    const hash = createHash('sha256').update([d.code, this.file, d.path ?? '', text].join('\u0000')).digest('hex').slice(0, 32);
    const n = (this.#seen.get(hash) ?? 0) + 1;
    this.#seen.set(hash, n);
    return `${hash}:${n}`;
  }
}
