/** A JSON value: what the text form carries in `data`. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A message payload: a JSON value (text form, or `json` chunks) or raw bytes (binary form, or `binary`
 * chunks). Which one it is decides the form on the wire, so bytes are never base64-inflated.
 */
export type Payload = JsonValue | Uint8Array;

/** How a chunked transfer's reassembled bytes are read (protocol.md §7.2). */
export type PayloadEncoding = 'json' | 'binary';

export const PAYLOAD_ENCODINGS = ['json', 'binary'] as const satisfies readonly PayloadEncoding[];

/** Whether a payload is raw bytes (Node's `Buffer` is a `Uint8Array` too). */
export function isBinaryPayload(payload: Payload): payload is Uint8Array {
  return payload instanceof Uint8Array;
}

const utf8Encoder = new TextEncoder();

/**
 * A payload as the bytes that count against `chunkBytes` and `maxMessageBytes`: raw bytes as they are, a
 * JSON value as the UTF-8 bytes of `JSON.stringify(data)` (protocol.md §7.1).
 */
export function payloadBytes(payload: Payload): { readonly encoding: PayloadEncoding; readonly bytes: Uint8Array } {
  if (isBinaryPayload(payload)) return { encoding: 'binary', bytes: payload };
  return { encoding: 'json', bytes: utf8Encoder.encode(JSON.stringify(payload)) };
}

/**
 * UTF-8 length of a string without encoding it: deciding whether a JSON payload needs chunking must not
 * allocate a copy of every small message. Matches `TextEncoder` (a lone surrogate becomes U+FFFD, 3 bytes).
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1))) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
