export type Digests = Record<string, Record<string, string>>;
export const REFERENCE: string;
export const OUTPUTS: readonly string[];
export function corpusFiles(root?: string): string[];
export function corpusDigests(lib: unknown, root?: string): Digests;
export function encodeDigests(digests: Digests): Buffer;
export function decodeDigests(buffer: Uint8Array): Digests;
