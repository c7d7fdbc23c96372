/**
 * A reference frame writer for tests, deliberately naive (byte loops, no pooling, no word-at-a-time
 * masking) and independent of src/frame.ts and src/mask.ts, so the parser is never checked against the
 * encoder it ships with. It also writes frames the real encoder refuses to: reserved bits, reserved
 * opcodes, lengths that disagree with the payload, 64-bit lengths with the top bit set.
 */
export interface RawFrame {
  /** @default true */
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number, RSV1 the high bit. @default 0 */
  rsv?: number;
  opcode: number;
  /** @default empty */
  payload?: Uint8Array | string;
  /** A 4-byte key masks the payload and sets the MASK bit (RFC 6455 §5.3). */
  mask?: Uint8Array;
  /** Which length form to write; @default the minimal one (§5.2). */
  lengthForm?: 7 | 16 | 64;
  /** Announce this length instead of the payload's (the payload is still written as is). */
  announcedLength?: bigint;
}

export function rawFrame(frame: RawFrame): Buffer {
  const payload = typeof frame.payload === 'string' ? Buffer.from(frame.payload, 'utf8') : Buffer.from(frame.payload ?? []);
  const length = frame.announcedLength ?? BigInt(payload.length);
  const form = frame.lengthForm ?? (length < 126n ? 7 : length < 0x10000n ? 16 : 64);
  const header: number[] = [((frame.fin ?? true) ? 0x80 : 0) | ((frame.rsv ?? 0) << 4) | frame.opcode];
  const maskBit = frame.mask === undefined ? 0 : 0x80;
  if (form === 7) {
    header.push(maskBit | Number(length));
  } else if (form === 16) {
    header.push(maskBit | 126, Number(length >> 8n) & 0xff, Number(length) & 0xff);
  } else {
    header.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((length >> shift) & 0xffn));
  }
  if (frame.mask !== undefined) header.push(...frame.mask.subarray(0, 4));
  return Buffer.concat([Buffer.from(header), naiveMask(payload, frame.mask)]);
}

/** Masks a copy of `data` one byte at a time (RFC 6455 §5.3: octet i XOR key octet i MOD 4). */
export function naiveMask(data: Uint8Array, mask: Uint8Array | undefined): Buffer {
  const out = Buffer.from(data);
  if (mask === undefined) return out;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ mask[i % 4]!;
  return out;
}

/** A close frame body: 2-byte code then the UTF-8 reason (§5.5.1). */
export function closeBody(code: number, reason: Uint8Array | string = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason]);
}
