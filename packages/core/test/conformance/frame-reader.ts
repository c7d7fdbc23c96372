// The conformance harness's reader of what the endpoint under test sends: a frame reader of the tests' own,
// not src/frame-parser.ts, so the engine is never judged by its own parser.
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { Opcode } from '../../src/index.js';

/** RFC 7692 §7.2.1: the tail a compressor's sync flush ends with, removed on the wire. */
export const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A frame as the endpoint sent it, unmasked; the frames of a compressed message come inflated (see `decode`). */
export interface ReceivedFrame {
  fin: boolean;
  opcode: number;
  compressed: boolean;
  masked: boolean;
  payload: Buffer;
}

/**
 * A frame reader of the tests' own, deliberately simple (one buffer, BigInt lengths, byte-wise unmasking),
 * that inflates compressed messages by replaying every compressed message so far through one raw inflate:
 * correct with and without context takeover, and independent of src/extensions.
 */
export class FrameReader {
  readonly frames: ReceivedFrame[] = [];
  closeFrame: ReceivedFrame | undefined;
  error: string | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private compressedSoFar: Buffer[] = [];
  private inflatedSoFar = 0;
  private message: { compressed: boolean; parts: Buffer[] } | undefined;

  push(chunk: Buffer): void {
    if (this.error !== undefined || chunk.length === 0) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = this.parse();
      if (frame === undefined) return;
      this.frames.push(frame);
      if (frame.opcode === Opcode.close) this.closeFrame ??= frame;
    }
  }

  private parse(): ReceivedFrame | undefined {
    const data = this.buffer;
    if (data.length < 2) return undefined;
    const fin = (data[0]! & 0x80) !== 0;
    const rsv = (data[0]! >> 4) & 0x7;
    const opcode = data[0]! & 0x0f;
    const masked = (data[1]! & 0x80) !== 0;
    let length = BigInt(data[1]! & 0x7f);
    let offset = 2;
    if (length === 126n) {
      if (data.length < 4) return undefined;
      length = BigInt(data.readUInt16BE(2));
      offset = 4;
    } else if (length === 127n) {
      if (data.length < 10) return undefined;
      length = data.readBigUInt64BE(2);
      offset = 10;
    }
    const maskOffset = offset;
    if (masked) offset += 4;
    if (BigInt(data.length) < BigInt(offset) + length) return undefined;
    const end = offset + Number(length);
    const payload = Buffer.from(data.subarray(offset, end));
    if (masked) {
      for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ data[maskOffset + (i % 4)]!;
    }
    this.buffer = data.subarray(end);
    if ((rsv & 0b011) !== 0) this.error = `RSV2/RSV3 set on opcode ${opcode}`;
    return { fin, opcode, masked, ...this.decode(opcode, fin, (rsv & 0b100) !== 0, payload) };
  }

  /** Inflates the frames of a compressed message; a compressed message is reported as one frame. */
  private decode(opcode: number, fin: boolean, rsv1: boolean, payload: Buffer): { compressed: boolean; payload: Buffer } {
    if (opcode >= 0x8) return { compressed: false, payload };
    if (opcode !== Opcode.continuation) this.message = { compressed: rsv1, parts: [] };
    const message = this.message;
    if (message === undefined || !message.compressed) return { compressed: false, payload };
    message.parts.push(payload);
    if (!fin) return { compressed: true, payload: Buffer.alloc(0) };
    this.compressedSoFar.push(...message.parts, DEFLATE_TAIL);
    const inflated = inflateRawSync(Buffer.concat(this.compressedSoFar), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const result = inflated.subarray(this.inflatedSoFar);
    this.inflatedSoFar = inflated.length;
    return { compressed: true, payload: Buffer.from(result) };
  }
}
