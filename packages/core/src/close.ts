import { CloseCode } from './constants.js';
import { ErrorCode, WebSocketError, protocolError } from './errors.js';
import { isUtf8 } from 'node:buffer';

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4): the registered codes other than
 * the reserved 1004, 1005, 1006 and 1015, and the 3000-4999 ranges for libraries and applications.
 */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

export interface ClosePayload {
  code: number;
  reason: string;
}

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
  const reasonBytes = payload.subarray(2);
  if (!isUtf8(reasonBytes)) {
    return new WebSocketError(ErrorCode.invalidUtf8, 'close reason is not valid UTF-8', CloseCode.invalidPayload);
  }
  return { code, reason: Buffer.from(reasonBytes.buffer, reasonBytes.byteOffset, reasonBytes.length).toString('utf8') };
}

/** Encodes a close body; a missing code gives an empty body, which the peer reads as 1005. */
export function encodeClosePayload(code: number | undefined, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new WebSocketError(ErrorCode.invalidArgument, 'a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!isSendableCloseCode(code)) {
    throw new WebSocketError(ErrorCode.invalidArgument, `close code ${code} may not be sent`);
  }
  const reasonLength = Buffer.byteLength(reason);
  // §5.5: control payloads are at most 125 bytes, two of which hold the code.
  if (reasonLength > 123) {
    throw new WebSocketError(ErrorCode.invalidArgument, 'close reason longer than 123 bytes');
  }
  const body = Buffer.allocUnsafe(2 + reasonLength);
  body.writeUInt16BE(code, 0);
  body.write(reason, 2, 'utf8');
  return body;
}
