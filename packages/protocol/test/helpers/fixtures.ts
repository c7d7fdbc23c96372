/** Shared fixtures for the protocol tests. */

/** Bytes as lowercase hex, for exact byte assertions. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Bytes from hex; whitespace is ignored so vectors can be laid out like the spec. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const bytes = new Uint8Array(clean.length / 2);
  for (let index = 0; index < bytes.length; index++) bytes[index] = Number.parseInt(clean.slice(index * 2, index * 2 + 2), 16);
  return bytes;
}

/** Deterministic bytes: value at index i is (i * 31 + seed) mod 256. */
export function patternedBytes(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

/** A binary message prefixed with a 4-byte big-endian header length that the caller chooses freely. */
export function rawBinary(headerLength: number, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + body.length);
  new DataView(bytes.buffer).setUint32(0, headerLength, false);
  bytes.set(body, 4);
  return bytes;
}

/** Limits shaped like the spec's example welcome, scaled down so tests stay small. */
export const smallLimits = {
  chunkBytes: 8,
  maxMessageBytes: 64,
  maxIncompleteBytes: 100,
  maxConcurrentTransfers: 3,
  chunkTimeoutMs: 1000,
} as const;
