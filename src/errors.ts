/**
 * The one error type the library throws. Every failure that bad input can
 * cause surfaces as a VirtPinError with a stable `code` (documented in
 * docs/errors.md) and, where the input has a position, a `location`.
 * Callers branch on `code`, never on `message`.
 */
import type { ErrorCode } from './codes.js';

export interface SourceLocation {
  /** 1-based line number. */
  line: number;
  /** 1-based column, counted in UTF-16 code units from the start of the line. */
  column: number;
  /** 0-based index into the source string (UTF-16 code units). */
  offset: number;
}

/** The error the library throws for bad input: a stable `code`, a `location` when the input has positions, and usually a `hint`. */
export class VirtPinError extends Error {
  readonly code: ErrorCode;
  readonly location: SourceLocation | undefined;
  /** A short hint on how to fix the input, when there is one. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { location?: SourceLocation; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VirtPinError';
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
  }

  toJSON(): { code: ErrorCode; message: string; line?: number; column?: number; hint?: string } {
    return {
      code: this.code,
      message: this.message,
      ...(this.location ? { line: this.location.line, column: this.location.column } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

/** True for the library's own errors (bad input); false for bugs and anything else. */
export function isVirtPinError(e: unknown): e is VirtPinError {
  return e instanceof VirtPinError;
}
