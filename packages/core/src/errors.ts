import { CloseCode } from './constants.js';

/**
 * Every failure the engine reports has a stable string code (never changed once published) and, when it
 * ends the connection, the close code sent to the peer.
 */
export const ErrorCode = {
  // Framing (RFC 6455 §5)
  invalidOpcode: 'ERR_WS_INVALID_OPCODE',
  unexpectedRsv: 'ERR_WS_UNEXPECTED_RSV',
  expectedMask: 'ERR_WS_EXPECTED_MASK',
  unexpectedMask: 'ERR_WS_UNEXPECTED_MASK',
  invalidLength: 'ERR_WS_INVALID_LENGTH',
  controlFrameTooLong: 'ERR_WS_CONTROL_FRAME_TOO_LONG',
  fragmentedControlFrame: 'ERR_WS_FRAGMENTED_CONTROL_FRAME',
  unexpectedContinuation: 'ERR_WS_UNEXPECTED_CONTINUATION',
  expectedContinuation: 'ERR_WS_EXPECTED_CONTINUATION',
  dataAfterClose: 'ERR_WS_DATA_AFTER_CLOSE',
  // Payloads
  invalidUtf8: 'ERR_WS_INVALID_UTF8',
  messageTooBig: 'ERR_WS_MESSAGE_TOO_BIG',
  invalidCloseCode: 'ERR_WS_INVALID_CLOSE_CODE',
  invalidClosePayload: 'ERR_WS_INVALID_CLOSE_PAYLOAD',
  invalidCompressedData: 'ERR_WS_INVALID_COMPRESSED_DATA',
  /** zlib refused to compress (in practice only when out of memory): the connection ends with 1011. */
  compressionFailed: 'ERR_WS_COMPRESSION_FAILED',
  // Handshake (RFC 6455 §4)
  handshakeRejected: 'ERR_WS_HANDSHAKE_REJECTED',
  handshakeInvalid: 'ERR_WS_HANDSHAKE_INVALID',
  handshakeTimeout: 'ERR_WS_HANDSHAKE_TIMEOUT',
  unexpectedProtocol: 'ERR_WS_UNEXPECTED_PROTOCOL',
  invalidExtension: 'ERR_WS_INVALID_EXTENSION',
  // Lifecycle
  closeTimeout: 'ERR_WS_CLOSE_TIMEOUT',
  keepaliveTimeout: 'ERR_WS_KEEPALIVE_TIMEOUT',
  connectionReset: 'ERR_WS_CONNECTION_RESET',
  notOpen: 'ERR_WS_NOT_OPEN',
  invalidArgument: 'ERR_WS_INVALID_ARGUMENT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class WebSocketError extends Error {
  override readonly name = 'WebSocketError';
  /** Stable string code, e.g. `ERR_WS_INVALID_OPCODE`. */
  readonly code: ErrorCode;
  /** The close code this failure sends to the peer, when it ends the connection. */
  readonly closeCode: number | undefined;
  /**
   * The HTTP status the server answered instead of 101 (`ERR_WS_HANDSHAKE_REJECTED` only), so a client can
   * tell a refused token (401) from an overloaded or missing server.
   */
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, closeCode?: number, status?: number) {
    super(message);
    this.code = code;
    this.closeCode = closeCode;
    this.status = status;
  }
}

/** The server answered the opening handshake with `status` instead of 101 (RFC 6455 §4.1). */
export function handshakeRejected(status: number): WebSocketError {
  return new WebSocketError(ErrorCode.handshakeRejected, `server answered ${status} instead of 101`, CloseCode.abnormal, status);
}

/** A protocol violation by the peer: the connection fails with 1002 (RFC 6455 §7.1.7). */
export function protocolError(code: ErrorCode, message: string): WebSocketError {
  return new WebSocketError(code, message, CloseCode.protocolError);
}
