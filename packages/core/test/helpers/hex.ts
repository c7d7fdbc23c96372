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
  const pairs: string[] = [];
  for (const buffer of buffers) {
    for (const byte of buffer) pairs.push(byte.toString(16).padStart(2, '0'));
  }
  return pairs.join(' ');
}

/** Normalizes a hex string written for humans (any grouping, any case) to `toHex`'s form. */
export function spaced(...parts: string[]): string {
  return toHex(hex(...parts));
}

/** Concatenates byte strings; accepts hex strings and buffers. */
export function bytes(...parts: (string | Uint8Array)[]): Buffer {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? hex(part) : part)));
}
