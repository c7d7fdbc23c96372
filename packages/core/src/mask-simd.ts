import { jsMasker, type Masker } from './mask.js';

/**
 * The masker on WebAssembly SIMD: 16 bytes per XOR, about ten times the pure-JS loop, and about as fast as
 * `ws`'s native `bufferutil`, with no native build step. WebAssembly reaches only its own memory, so a
 * payload passes through a 128 KiB window there: copied in, XORed, copied out, each step over memory in
 * cache. `maskInto` copies out to where the joined payload goes, so joining a payload split across reads
 * and unmasking it cost little more than the copy alone.
 */

/** Below this length the pure-JS loop wins: the two copies and the call cost more than they save. */
const SIMD_MIN = 128;

interface MaskModule {
  memory: WebAssembly.Memory;
  /** mask-simd.wat's `mask`: memory[at, at + length) XORed with `key` (its bytes in memory order, read little-endian) to memory[to, ...). */
  mask(at: number, to: number, length: number, key: number): void;
}

let shared: Masker | null | undefined;

/**
 * The SIMD masker, or undefined where the runtime has no WebAssembly or no SIMD in it (the module then fails
 * to compile). One per process: the window is scratch memory, and masking is synchronous, so no two
 * callers use it at once.
 */
export function createSimdMasker(): Masker | undefined {
  if (shared === undefined) shared = instantiate() ?? null;
  return shared ?? undefined;
}

function instantiate(): Masker | undefined {
  if (typeof WebAssembly !== 'object') return undefined;
  let exports: MaskModule;
  try {
    // Synchronous compilation is allowed for modules this small everywhere, browsers' main threads included.
    exports = new WebAssembly.Instance(new WebAssembly.Module(maskModuleBytes()), {}).exports as unknown as MaskModule;
  } catch {
    return undefined;
  }
  const window = new Uint8Array(exports.memory.buffer);
  // The window's two halves: bytes are copied into the first, masked into the second and copied out.
  const half = window.length / 2;
  // What one pass takes: a half but the 4 KiB that `maskInto` may start into it; a multiple of 4, so every
  // pass starts at the same phase of the key.
  const step = half - 4096;
  const run = exports.mask;
  const maskInto = (source: Uint8Array, target: Uint8Array, at: number, key: number, phase: number): void => {
    const length = source.length;
    if (length < SIMD_MIN) return jsMasker.maskInto(source, target, at, key, phase);
    const wasmKey = littleEndianKey(key, phase);
    for (let done = 0; done < length; done += step) {
      const n = Math.min(step, length - done);
      // Where in each half the bytes go. AMD Zen's \`rep movsb\`, which glibc's memcpy uses for copies over
      // about 2 KiB, runs 20 to 40 times slower when the destination lies 1 to 31 bytes past the source
      // modulo 4 KiB. The halves are page-aligned and a buffer's page offset is unknown, so each copy is
      // placed half a page from its other end's offset: 2 KiB off whatever the allocator's page offset
      // (the 16 bytes of every large Buffer's, say) adds.
      const from = (source.byteOffset + done + 2048) & 4095;
      const to = half + ((target.byteOffset + at + done + 2048) & 4095);
      window.set(n === length ? source : source.subarray(done, done + n), from);
      run(from, to, n, wasmKey);
      target.set(window.subarray(to, to + n), at + done);
    }
  };
  return {
    // In place is the same copy in, XOR and copy out, with the payload as its own target.
    mask: (data, key, phase) => (data.length < SIMD_MIN ? jsMasker.mask(data, key, phase) : maskInto(data, data, 0, key, phase)),
    maskInto,
  };
}

/**
 * `key` (big-endian, its first byte on top) turned to `phase` and byte-swapped: WebAssembly loads
 * little-endian, so the key byte for the first payload byte must be the lowest.
 */
function littleEndianKey(key: number, phase: number): number {
  const shift = (phase & 3) * 8;
  const turned = shift === 0 ? key : (key << shift) | (key >>> (32 - shift));
  return ((turned & 0xff) << 24) | ((turned & 0xff00) << 8) | ((turned >>> 8) & 0xff00) | (turned >>> 24);
}

/**
 * mask-simd.wat assembled (test/mask-simd-module.test.ts assembles it again and compares), built on first
 * use so that a bundle which never asks for SIMD drops it.
 */
export function maskModuleBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    // magic, version
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // type: (i32, i32, i32, i32) -> ()
    0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00,
    // function: one, of type 0
    0x03, 0x02, 0x01, 0x00,
    // memory: 2 pages, at most 2
    0x05, 0x04, 0x01, 0x01, 0x02, 0x02,
    // export: "memory", "mask"
    0x07, 0x11, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x04, 0x6d, 0x61, 0x73,
    0x6b, 0x00, 0x00,
    // code: mask
    0x0a, 0xea, 0x01, 0x01, 0xe7, 0x01, 0x02, 0x01, 0x7f, 0x01, 0x7b, 0x20, 0x03, 0xfd, 0x11, 0x21,
    0x05, 0x20, 0x00, 0x20, 0x02, 0x41, 0x40, 0x71, 0x6a, 0x21, 0x04, 0x02, 0x40, 0x03, 0x40, 0x20,
    0x00, 0x20, 0x04, 0x4f, 0x0d, 0x01, 0x20, 0x01, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x05,
    0xfd, 0x51, 0xfd, 0x0b, 0x00, 0x00, 0x20, 0x01, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x10, 0x20, 0x05,
    0xfd, 0x51, 0xfd, 0x0b, 0x00, 0x10, 0x20, 0x01, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x20, 0x20, 0x05,
    0xfd, 0x51, 0xfd, 0x0b, 0x00, 0x20, 0x20, 0x01, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x30, 0x20, 0x05,
    0xfd, 0x51, 0xfd, 0x0b, 0x00, 0x30, 0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, 0x20, 0x01,
    0x41, 0xc0, 0x00, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x00, 0x20, 0x02, 0x41, 0x30,
    0x71, 0x6a, 0x21, 0x04, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x20, 0x04, 0x4f, 0x0d, 0x01, 0x20,
    0x01, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x05, 0xfd, 0x51, 0xfd, 0x0b, 0x00, 0x00, 0x20,
    0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, 0x20, 0x01, 0x41, 0x10, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b,
    0x0b, 0x20, 0x00, 0x20, 0x02, 0x41, 0x0f, 0x71, 0x6a, 0x21, 0x04, 0x02, 0x40, 0x03, 0x40, 0x20,
    0x00, 0x20, 0x04, 0x4f, 0x0d, 0x01, 0x20, 0x01, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x20, 0x03, 0x73,
    0x3a, 0x00, 0x00, 0x20, 0x03, 0x41, 0x08, 0x78, 0x21, 0x03, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x21,
    0x00, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b, 0x0b, 0x0b,

  ]);
}
