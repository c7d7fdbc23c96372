import { createHash } from 'node:crypto';

/**
 * Frames written as hex strings, the way ws's tests write them: `hex('81 05 48656c6c6f')`. Whitespace is
 * ignored, so bytes can be grouped by header field.
 */
export function hex(...parts: string[]): Buffer {
  const digits = parts.join('').replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not a hex byte string: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** Bytes as lowercase hex pairs separated by single spaces, for readable diffs: `81 05 48 65 6c 6c 6f`. */
export function toHex(data: Uint8Array | readonly Uint8Array[]): string {
  const buffers = data instanceof Uint8Array ? [data] : data;
  // A table, not per-byte formatting or a regex: the 64 KiB vectors are rendered once per chunking.
  const pairs: string[] = [];
  for (const buffer of buffers) {
    for (const byte of buffer) pairs.push(PAIRS[byte]!);
  }
  return pairs.join(' ');
}

const PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Normalizes a hex string written for humans (any grouping, any case) to `toHex`'s form. */
export function spaced(...parts: string[]): string {
  return toHex(hex(...parts));
}

/** Concatenates byte strings; accepts hex strings and buffers. */
export function bytes(...parts: (string | Uint8Array)[]): Buffer {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? hex(part) : part)));
}

/**
 * Bytes as a test compares them: hex up to 512 bytes, readable in a diff; above that the length and a
 * SHA-256, since rendering a 64 KiB payload in every chunking of a vector costs seconds.
 */
export function shown(data: Uint8Array): string {
  if (data.length <= 512) return toHex(data);
  return `${data.length} bytes, sha256 ${createHash('sha256').update(data).digest('hex')}`;
}
