import type { Platform } from './platform.js';

/**
 * How payload bytes are masked and unmasked (RFC 6455 §5.3: byte i of a payload is XORed with byte i mod 4
 * of the frame's masking key). Two implementations: `jsMasker` here, and the WebAssembly SIMD one of
 * `mask-simd.ts`, which a `Platform` brings when its runtime has it (`Platform.masker`).
 *
 * `key` is the masking key as it stands in the frame, read as a big-endian 32-bit number (its first byte
 * in the top bits); `phase` is the payload offset of the first byte given, so that a payload can be masked
 * in pieces.
 */
export interface Masker {
  /** XORs `data` in place. */
  mask(data: Uint8Array, key: number, phase: number): void;
  /**
   * Writes `source` masked into `target` at `at` and leaves `source` as it was: the copy that joins a
   * payload split across reads, and the masking, together.
   */
  maskInto(source: Uint8Array, target: Uint8Array, at: number, key: number, phase: number): void;
}

/**
 * Below this length the byte loop wins: the word path allocates typed-array views, which costs more
 * than it saves on short payloads.
 */
const WORD_PATH_MIN = 512;

/**
 * XORs `data` with the 4-byte masking key in place (RFC 6455 §5.3). The operation is its own inverse,
 * so the same function masks and unmasks.
 *
 * Works word-at-a-time where the buffer's alignment allows it: masking sits on the hot path of every
 * client-to-server byte, and a 32-bit XOR does four bytes per step.
 */
export function applyMask(data: Uint8Array, mask: Uint8Array): void {
  const length = data.length;
  const m0 = mask[0]!;
  const m1 = mask[1]!;
  const m2 = mask[2]!;
  const m3 = mask[3]!;
  let i = 0;
  if (length >= WORD_PATH_MIN) {
    // Bytes up to the first 4-byte boundary, so the Uint32Array view below is aligned.
    const lead = (4 - (data.byteOffset & 3)) & 3;
    for (; i < lead; i++) data[i] = data[i]! ^ mask[i & 3]!;
    const words = (length - lead) >>> 2;
    const view = new Uint32Array(data.buffer, data.byteOffset + lead, words);
    // The mask rotated by `lead` bytes, assembled in the machine's byte order.
    const rotated = new Uint8Array(4);
    for (let k = 0; k < 4; k++) rotated[k] = mask[(k + lead) & 3]!;
    const key = new Uint32Array(rotated.buffer)[0]!;
    for (let w = 0; w < words; w++) view[w] = view[w]! ^ key;
    i = lead + words * 4;
  }
  for (; i + 3 < length; i += 4) {
    data[i] = data[i]! ^ m0;
    data[i + 1] = data[i + 1]! ^ m1;
    data[i + 2] = data[i + 2]! ^ m2;
    data[i + 3] = data[i + 3]! ^ m3;
  }
  for (; i < length; i++) data[i] = data[i]! ^ mask[i & 3]!;
}

/** `key` rotated so that `phase` lines up, as the 4 bytes `applyMask` takes (one scratch: masking is synchronous). */
const scratchKey = new Uint8Array(4);
function keyBytes(key: number, phase: number): Uint8Array {
  const shift = (phase & 3) * 8;
  const rotated = shift === 0 ? key : (key << shift) | (key >>> (32 - shift));
  scratchKey[0] = rotated >>> 24;
  scratchKey[1] = (rotated >>> 16) & 0xff;
  scratchKey[2] = (rotated >>> 8) & 0xff;
  scratchKey[3] = rotated & 0xff;
  return scratchKey;
}

/** The pure-JS masker: runs everywhere, and is the fallback when no faster one is available or allowed. */
export const jsMasker: Masker = {
  mask: (data, key, phase) => applyMask(data, keyBytes(key, phase)),
  maskInto: (source, target, at, key, phase) => {
    target.set(source, at);
    applyMask(target.subarray(at, at + source.length), keyBytes(key, phase));
  },
};

/** The masking key `mask` (4 bytes) as the 32-bit number `Masker` takes. */
export function maskKey(mask: Uint8Array): number {
  return ((mask[0]! << 24) | (mask[1]! << 16) | (mask[2]! << 8) | mask[3]!) >>> 0;
}

// §5.3 asks for masking keys unpredictable to the network; the platform's strong randomness satisfies that.
const maskPool = new Uint8Array(4096);
let maskPoolOffset = maskPool.length;

/**
 * Masking keys from one process-wide pool of random bytes: one platform call per 1024 frames, and no
 * per-connection buffer (a server holds many connections and never masks). Whichever platform finds the
 * pool empty refills it; every platform's bytes are as good as any other's for this.
 */
export function nextPooledMask(platform: Platform): Uint8Array {
  if (maskPoolOffset === maskPool.length) {
    platform.randomFill(maskPool);
    maskPoolOffset = 0;
  }
  const mask = maskPool.subarray(maskPoolOffset, maskPoolOffset + 4);
  maskPoolOffset += 4;
  return mask;
}
