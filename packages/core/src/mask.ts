import type { Platform } from './platform.js';

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
