import { isUtf8 } from 'node:buffer';
import { createHash, randomFillSync } from 'node:crypto';
import { createDeflateRaw, createInflateRaw } from 'node:zlib';
import { jsMasker, type Masker } from '../mask.js';
import { createSimdMasker } from '../mask-simd.js';
import type { Platform } from '../platform.js';
import { NodeSyncZlib } from './sync-zlib.js';

/**
 * The sans-I/O layer's platform on Node: Buffer for bytes (so everything the protocol allocates is a
 * Buffer, which the adapters hand to their users), the native UTF-8 validator, node:crypto and node:zlib,
 * and the WebAssembly SIMD masker. One object for the whole process: its methods are monomorphic call
 * sites on the hot paths.
 */
export const nodePlatform: Platform = {
  masker: chooseMasker(process.env.SWITCHBOARD_MASKER),
  alloc: (size) => Buffer.allocUnsafe(size),
  encodeUtf8: (text) => Buffer.from(text, 'utf8'),
  // `toString()` without arguments is Buffer's fast path straight to the native UTF-8 decoder.
  decodeUtf8: (bytes) => toBuffer(bytes).toString(),
  isUtf8: (bytes) => isUtf8(bytes),
  randomFill: (bytes) => {
    randomFillSync(bytes);
  },
  sha1: (data) => createHash('sha1').update(data).digest(),
  createDeflateRaw: (options) => new NodeSyncZlib(createDeflateRaw(options)),
  createInflateRaw: (options) => new NodeSyncZlib(createInflateRaw(options)),
};

/** `bytes` as a Buffer over the same memory: itself when it is one already, so no allocation then. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `size` random bytes; the default key source of the Node client (RFC 6455 §4.1). */
export function randomBytes(size: number): Uint8Array {
  const bytes = Buffer.allocUnsafe(size);
  randomFillSync(bytes);
  return bytes;
}

/**
 * The SIMD masker unless `SWITCHBOARD_MASKER=js` asks for the pure-JS one (so a test suite, or an operator
 * who suspects the SIMD path, can run on the fallback), or the runtime has no WebAssembly SIMD.
 */
export function chooseMasker(setting: string | undefined): Masker {
  if (setting === 'js') return jsMasker;
  return createSimdMasker() ?? jsMasker;
}
