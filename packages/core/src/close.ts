import { utf8ByteLength } from './bytes.js';
import { CloseCode, MAX_CONTROL_PAYLOAD } from './constants.js';
import { ErrorCode, WebSocketError, protocolError } from './errors.js';

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4): the registered codes other than
 * the reserved 1004, 1005, 1006 and 1015, and the 3000-4999 ranges for libraries and applications.
 */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

/** What a close frame says: why the connection ends. */
export interface ClosePayload {
  /** The status code, one of `CloseCode` or an application's 3000-4999; 1005 when the frame had none. */
  code: number;
  /** A UTF-8 explanation for people (at most 123 bytes on the wire), often empty. */
  reason: string;
}

// Close frames are rare and short: the web-standard codecs serve, with no platform to inject. `fatal`
// rejects exactly what a UTF-8 validator rejects; `ignoreBOM` keeps a leading BOM as part of the reason.
const reasonDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const reasonEncoder = new TextEncoder();

/** RFC 6455 §5.5.1: two-byte code then UTF-8 reason; an empty body means "no status" (1005). */
export function parseClosePayload(payload: Uint8Array): ClosePayload | WebSocketError {
  if (payload.length === 0) return { code: CloseCode.noStatus, reason: '' };
  if (payload.length === 1) {
    return protocolError(ErrorCode.invalidClosePayload, 'close frame payload of 1 byte');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isSendableCloseCode(code)) {
    return protocolError(ErrorCode.invalidCloseCode, `invalid close code ${code}`);
  }
  let reason: string;
  try {
    reason = reasonDecoder.decode(payload.subarray(2));
  } catch {
    return new WebSocketError(ErrorCode.invalidUtf8, 'close reason is not valid UTF-8', CloseCode.invalidPayload);
  }
  return { code, reason };
}

/** Encodes a close body; a missing code gives an empty body, which the peer reads as 1005. */
export function encodeClosePayload(code: number | undefined, reason = ''): Uint8Array {
  if (code === undefined) {
    if (reason !== '') throw new WebSocketError(ErrorCode.invalidArgument, 'a close reason needs a close code');
    return new Uint8Array(0);
  }
  if (!isSendableCloseCode(code)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `close code ${code} may not be sent`);
  }
  const reasonLength = utf8ByteLength(reason);
  // §5.5: control payloads are at most 125 bytes, two of which hold the code.
  if (reasonLength > MAX_CONTROL_PAYLOAD - 2) {
    throw new WebSocketError(ErrorCode.invalidArgument, 'close reason longer than 123 bytes');
  }
  const body = new Uint8Array(2 + reasonLength);
  body[0] = code >>> 8;
  body[1] = code & 0xff;
  reasonEncoder.encodeInto(reason, body.subarray(2));
  return body;
}
