import type { Masker } from './mask.js';

/**
 * What the sans-I/O layer needs from the runtime it runs on, injected once per object (a `Protocol`, a
 * `FrameParser`, a `PerMessageDeflate`) or per call of a free function, never looked up globally. Nothing
 * outside `node/` knows which runtime it is: `node/node-platform.ts` implements this with Buffer,
 * node:crypto and node:zlib, and another runtime (a browser, Deno, a test) brings its own.
 *
 * Contract for every byte array a platform returns: a `Uint8Array` (a subclass such as Node's Buffer is
 * fine, and is what the Node adapters rely on to hand Buffers to their users) that the caller owns.
 */
export interface Platform {
  /**
   * `size` bytes of uninitialised memory; every caller overwrites all of it. On the hot path of framing:
   * Node serves small sizes from a shared pool, which a zero-filled `new Uint8Array` cannot match.
   */
  alloc(size: number): Uint8Array;
  /**
   * How payloads are masked and unmasked (RFC 6455 §5.3), on every byte a client sends. Optional: without
   * it the pure-JS `jsMasker`; `nodePlatform` brings the WebAssembly SIMD one (`createSimdMasker`).
   */
  readonly masker?: Masker;
  /** The UTF-8 encoding of `text` (lone surrogates become U+FFFD, as in every WebSocket implementation). */
  encodeUtf8(text: string): Uint8Array;
  /** Decodes bytes the caller has already found to be valid UTF-8 (see `isUtf8`); a BOM is kept. */
  decodeUtf8(bytes: Uint8Array): string;
  /** Whether `bytes` is valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
  isUtf8(bytes: Uint8Array): boolean;
  /**
   * Fills `bytes` with random bytes unpredictable to the network: RFC 6455 §5.3 (masking keys) and §4.1
   * (Sec-WebSocket-Key) ask for a strong source of entropy.
   */
  randomFill(bytes: Uint8Array): void;
  /** The SHA-1 digest of `data` (20 bytes), for Sec-WebSocket-Accept (RFC 6455 §4.2.2). */
  sha1(data: Uint8Array): Uint8Array;
  /**
   * A raw deflate stream (RFC 1951, no zlib header) for permessage-deflate (RFC 7692 §7.2.1).
   * @throws Error when the runtime has no synchronous deflate; only permessage-deflate needs one.
   */
  createDeflateRaw(options: DeflateRawOptions): SyncZlib;
  /**
   * A raw inflate stream for permessage-deflate (RFC 7692 §7.2.2).
   * @throws Error when the runtime has no synchronous inflate.
   */
  createInflateRaw(options: InflateRawOptions): SyncZlib;
}

/** How `Platform.createDeflateRaw` sets up zlib; permessage-deflate derives them from the negotiated parameters. */
export interface DeflateRawOptions {
  /** LZ77 window as a base-2 logarithm, 9..15 (zlib refuses 8 for raw deflate). */
  windowBits: number;
  /** zlib level, -1..9. */
  level: number;
  /** zlib memLevel, 1..9. */
  memLevel: number;
}

/** How `Platform.createInflateRaw` sets up zlib. */
export interface InflateRawOptions {
  /** LZ77 window as a base-2 logarithm, 8..15: at least the one the peer deflates with. */
  windowBits: number;
}

/**
 * A zlib stream driven synchronously and kept open across calls: with context takeover the window must
 * outlive a message (RFC 7692 §7.2.3.2), and the sans-I/O protocol cannot wait for a callback.
 */
export interface SyncZlib {
  /** The stream reached its end (a block with BFINAL set); it will consume no more input. */
  readonly ended: boolean;
  /**
   * Runs `input` through the stream and flushes it with Z_SYNC_FLUSH, so the output ends on a byte
   * boundary; returns everything produced (possibly nothing).
   *
   * Returns `undefined`, and stops producing, as soon as the output passes `limit` bytes: a small input
   * that would inflate to gigabytes then costs at most `limit` plus one internal chunk of memory.
   * @throws Error with zlib's message when the input is not valid deflate data or zlib fails.
   */
  write(input: Uint8Array, limit: number): Uint8Array | undefined;
  /** Frees the zlib state; the stream is unusable afterwards. Safe to call more than once. */
  close(): void;
}
