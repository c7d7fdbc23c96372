import type { Platform } from './platform.js';

/** Byte-array helpers the sans-I/O layer needs, in plain JavaScript (no Buffer). */

/** `list` copied into one array of `totalLength` bytes from the platform; a single element is returned as is. */
export function concatBytes(list: readonly Uint8Array[], totalLength: number, platform: Platform): Uint8Array {
  if (list.length === 1 && list[0]!.length === totalLength) return list[0]!;
  const out = platform.alloc(totalLength);
  let offset = 0;
  for (const part of list) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * How many bytes `text` takes in UTF-8, without encoding it. A lone surrogate counts 3, the size of the
 * U+FFFD an encoder writes in its place, so this agrees with `Platform.encodeUtf8(text).length`.
 */
export function utf8ByteLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with `=` padding (RFC 4648 §4), as Sec-WebSocket-Key and -Accept use it. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const triple = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64_ALPHABET[triple >>> 18]! + BASE64_ALPHABET[(triple >>> 12) & 63]! + BASE64_ALPHABET[(triple >>> 6) & 63]! + BASE64_ALPHABET[triple & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const single = bytes[i]! << 16;
    out += `${BASE64_ALPHABET[single >>> 18]!}${BASE64_ALPHABET[(single >>> 12) & 63]!}==`;
  } else if (rest === 2) {
    const pair = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${BASE64_ALPHABET[pair >>> 18]!}${BASE64_ALPHABET[(pair >>> 12) & 63]!}${BASE64_ALPHABET[(pair >>> 6) & 63]!}=`;
  }
  return out;
}
