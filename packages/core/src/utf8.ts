/**
 * Helpers for checking UTF-8 that arrives in pieces (RFC 6455 §8.1: fail "as soon as" the data is known
 * invalid). A piece may end inside a code point; the bytes before that are checked with Node's native
 * validator, and the unfinished code point is checked as a prefix, so a sequence that can no longer become
 * valid (F4 90, ED A0, C0) fails at once instead of when the frame ends.
 */

/** How many bytes of a multi-byte sequence its lead byte announces; 0 for bytes that cannot lead one. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * The length of `bytes` without a trailing unfinished code point: a valid lead byte (C2..F4) in the last
 * three bytes whose sequence the data ends inside. Invalid bytes count as finished, so the native validator
 * sees (and rejects) them.
 */
export function completeLength(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = bytes[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const needed = sequenceLength(byte);
    return needed > back ? end - back : end;
  }
  return end;
}

/**
 * Whether an unfinished code point (what `completeLength` left off, 1 to 3 bytes) can still become valid
 * UTF-8: Unicode's table 3-7 narrows the second byte after E0, ED, F0 and F4 (no overlongs, no surrogates,
 * nothing above U+10FFFF); every other continuation byte is 80..BF.
 */
export function isPossiblePrefix(tail: Uint8Array): boolean {
  if (tail.length === 0) return true;
  const lead = tail[0]!;
  if (sequenceLength(lead) === 0) return false;
  for (let i = 1; i < tail.length; i++) {
    const byte = tail[i]!;
    let low = 0x80;
    let high = 0xbf;
    if (i === 1) {
      if (lead === 0xe0) low = 0xa0;
      else if (lead === 0xed) high = 0x9f;
      else if (lead === 0xf0) low = 0x90;
      else if (lead === 0xf4) high = 0x8f;
    }
    if (byte < low || byte > high) return false;
  }
  return true;
}

/** The unfinished code point at the end of `bytes`, if any (at most three bytes). */
export function unfinishedTail(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(completeLength(bytes));
}
