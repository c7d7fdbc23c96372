import { Opcode } from './constants.js';
import { encodeFrame } from './frame.js';
import type { Platform } from './platform.js';
import type { MessageCompressor } from './protocol-types.js';

/** How `encodeMessage` frames a message. */
export interface EncodeMessageOptions {
  /** A binary message; false for text (the caller's bytes must then be valid UTF-8). */
  binary: boolean;
  /** The sender's compressor; messages at or over its threshold are compressed once here. */
  compressor?: MessageCompressor | undefined;
}

/**
 * Frames a whole message for the server role, ready for `Protocol.sendFrames` on any number of
 * connections that negotiated the same compression (or none).
 */
export function encodeMessage(data: Uint8Array, options: EncodeMessageOptions, platform: Platform): Uint8Array[] {
  const opcode = options.binary ? Opcode.binary : Opcode.text;
  const compressor = options.compressor;
  if (compressor !== undefined && data.length >= compressor.threshold) {
    return encodeFrame({ fin: true, rsv1: true, opcode, payload: compressor.compress(data) }, platform);
  }
  return encodeFrame({ fin: true, opcode, payload: data }, platform);
}
