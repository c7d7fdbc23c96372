import { applyMask } from './mask.js';

/** One frame as RFC 6455 §5.2 lays it out, with the payload already unmasked. */
export interface Frame {
  fin: boolean;
  /** RFC 7692 §6: set on the first frame of a compressed message. */
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

export interface EncodeFrameOptions {
  fin: boolean;
  opcode: number;
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

/**
 * Serializes one frame. Returns one buffer when small or masked (masking copies anyway), else the header
 * and the caller's payload untouched, so a large broadcast payload is never copied per frame.
 */
export function encodeFrame(options: EncodeFrameOptions): Buffer[] {
  const { payload, mask } = options;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const headerLength = 2 + lengthBytes + (mask === undefined ? 0 : 4);
  const merge = mask !== undefined || length < MERGE_LIMIT;
  const out = Buffer.allocUnsafe(merge ? headerLength + length : headerLength);

  out[0] = (options.fin ? 0x80 : 0) | (options.rsv1 === true ? 0x40 : 0) | options.opcode;
  const maskBit = mask === undefined ? 0 : 0x80;
  if (lengthBytes === 0) {
    out[1] = maskBit | length;
  } else if (lengthBytes === 2) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = maskBit | 127;
    // §5.2: the most significant bit of the 64-bit length must be 0; JS lengths never reach 2^53.
    out.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
  if (!merge) return [out, toBuffer(payload)];

  if (mask === undefined) {
    copyInto(out, payload, headerLength);
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
    copyInto(out, payload, headerLength);
    applyMask(out.subarray(headerLength), mask);
  }
  return [out];
}

/** Below this size masking while copying beats a native copy followed by a masking pass. */
const SMALL_PAYLOAD = 128;

function copyInto(target: Buffer, source: Uint8Array, offset: number): void {
  target.set(source, offset);
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
