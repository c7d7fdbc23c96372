import { ProtocolLimit } from './constants.js';
import { type ProtocolError, ProtocolErrorCode, protocolError } from './errors.js';

/**
 * The binary form's byte layout (protocol.md §3):
 * `[N: uint32 big-endian][N bytes: UTF-8 JSON header object][payload: the rest, raw]`.
 * Pure and browser-safe: Uint8Array, DataView and TextEncoder/TextDecoder only.
 */

const utf8Encoder = new TextEncoder();
/** `fatal`: a header that is not UTF-8 is `malformed`, not silently repaired with U+FFFD. */
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A binary message split into its parsed header object and a view of its payload (no copy). */
export type OpenedEnvelope =
  | { readonly ok: true; readonly header: Record<string, unknown>; readonly payload: Uint8Array }
  | { readonly ok: false; readonly error: ProtocolError };

/**
 * Builds a binary message from a header object (which must not contain `data`) and the payload bytes.
 *
 * @throws RangeError when the header's JSON exceeds `ProtocolLimit.maxHeaderBytes`: the peer would reject it.
 */
export function sealEnvelope(header: object, payload: Uint8Array): Uint8Array {
  const headerBytes = utf8Encoder.encode(JSON.stringify(header));
  if (headerBytes.length > ProtocolLimit.maxHeaderBytes) {
    throw new RangeError(`binary header is ${headerBytes.length} bytes; the limit is ${ProtocolLimit.maxHeaderBytes}`);
  }
  const prefix = ProtocolLimit.headerLengthPrefixBytes;
  const message = new Uint8Array(prefix + headerBytes.length + payload.length);
  new DataView(message.buffer).setUint32(0, headerBytes.length, false);
  message.set(headerBytes, prefix);
  message.set(payload, prefix + headerBytes.length);
  return message;
}

/**
 * Splits a binary message into header and payload. Never throws: the length is checked against the limit
 * before anything is decoded, so a peer cannot make us parse a large header.
 */
export function openEnvelope(message: Uint8Array): OpenedEnvelope {
  const prefix = ProtocolLimit.headerLengthPrefixBytes;
  if (message.length < prefix) {
    return malformed(`binary message is ${message.length} bytes, shorter than its ${prefix}-byte header length`);
  }
  const headerLength = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(0, false);
  if (headerLength > ProtocolLimit.maxHeaderBytes) {
    return {
      ok: false,
      error: protocolError(
        ProtocolErrorCode.headerTooBig,
        `binary header length ${headerLength} exceeds the limit of ${ProtocolLimit.maxHeaderBytes} bytes`,
      ),
    };
  }
  if (headerLength === 0) return malformed('binary header length is 0; the header is a JSON object');
  if (headerLength > message.length - prefix) {
    return malformed(`binary header length ${headerLength} exceeds the ${message.length - prefix} bytes after it`);
  }
  let header: unknown;
  try {
    header = JSON.parse(strictUtf8Decoder.decode(message.subarray(prefix, prefix + headerLength)));
  } catch (error) {
    return malformed(`binary header is not UTF-8 JSON: ${describe(error)}`);
  }
  if (!isJsonObject(header)) return malformed('binary header must be a JSON object');
  return { ok: true, header, payload: message.subarray(prefix + headerLength) };
}

/** Whether a parsed JSON value is an object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(message: string): OpenedEnvelope {
  return { ok: false, error: protocolError(ProtocolErrorCode.malformed, message) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
