/**
 * Fixtures for the SDK's chunk tests: the same shapes as the protocol package's own test fixtures, so the two
 * suites read alike (a test helper is not imported across packages).
 */

/** Deterministic bytes: value at index i is (i * 31 + seed) mod 256. */
export function patternedBytes(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed) & 0xff;
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
