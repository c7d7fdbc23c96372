import { jsMasker, maskKey } from './mask.js';
import type { Platform } from './platform.js';

/** One frame as RFC 6455 §5.2 lays it out, with the payload already unmasked. */
export interface Frame {
  /** The last frame of its message (or a control frame, which is never fragmented). */
  fin: boolean;
  /** RFC 7692 §6: set on the first frame of a compressed message. */
  rsv1: boolean;
  /** What the frame carries: one of `Opcode`, or a reserved value the parser refuses. */
  opcode: number;
  /** The application data of this frame alone, unmasked. */
  payload: Uint8Array;
}

/** One frame to serialize with `encodeFrame`. */
export interface EncodeFrameOptions {
  /** Whether this frame ends its message; false starts or continues a fragmented one. */
  fin: boolean;
  /** One of `Opcode`; `Opcode.continuation` for every fragment after the first. */
  opcode: number;
  /** The frame's data, unmasked; with `mask` it is copied and masked, never changed in place. */
  payload: Uint8Array;
  /** @default false */
  rsv1?: boolean;
  /** The 4-byte masking key; clients must mask every frame (§5.3), servers must not. */
  mask?: Uint8Array | undefined;
}

/**
 * Below this payload size header and payload are copied into one buffer: one write of a few more bytes
 * costs less than two writes, and above it the copy costs more than the extra write.
 */
const MERGE_LIMIT = 1024;

/** Below this size masking while copying beats a native copy followed by a masking pass. */
const SMALL_PAYLOAD = 128;

/**
 * Serializes one frame. Returns one array when small or masked (masking copies anyway), else the header
 * and the caller's payload untouched, so a large broadcast payload is never copied per frame. What this
 * allocates comes from `platform`, and so does the masker.
 */
export function encodeFrame(options: EncodeFrameOptions, platform: Platform): Uint8Array[] {
  const { payload, mask } = options;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const headerLength = 2 + lengthBytes + (mask === undefined ? 0 : 4);
  const merge = mask !== undefined || length < MERGE_LIMIT;
  const out = platform.alloc(merge ? headerLength + length : headerLength);

  out[0] = (options.fin ? 0x80 : 0) | (options.rsv1 === true ? 0x40 : 0) | options.opcode;
  const maskBit = mask === undefined ? 0 : 0x80;
  if (lengthBytes === 0) {
    out[1] = maskBit | length;
  } else if (lengthBytes === 2) {
    out[1] = maskBit | 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = maskBit | 127;
    // §5.2: the most significant bit of the 64-bit length must be 0; JS lengths never reach 2^53.
    writeUint32(out, 2, Math.floor(length / 0x100000000));
    writeUint32(out, 6, length >>> 0);
  }
  if (!merge) return [out, payload];

  if (mask === undefined) {
    out.set(payload, headerLength);
    return [out];
  }
  const maskAt = headerLength - 4;
  out[maskAt] = mask[0]!;
  out[maskAt + 1] = mask[1]!;
  out[maskAt + 2] = mask[2]!;
  out[maskAt + 3] = mask[3]!;
  if (length < SMALL_PAYLOAD) {
    // Mask while copying: one pass over a short payload instead of a copy and then a second pass.
    for (let i = 0; i < length; i++) out[headerLength + i] = payload[i]! ^ mask[i & 3]!;
  } else {
    // One pass that copies and masks where the platform's masker can (the SIMD one does).
    (platform.masker ?? jsMasker).maskInto(payload, out, headerLength, maskKey(mask), 0);
  }
  return [out];
}

/** Big-endian, as every multi-byte field of the frame header (RFC 6455 §5.2, "network byte order"). */
function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
