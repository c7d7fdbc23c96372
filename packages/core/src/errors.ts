import { CloseCode } from './constants.js';

/**
 * Every failure the engine reports has a stable string code (never changed once published) and, when it
 * ends the connection, the close code sent to the peer.
 */
export const ErrorCode = {
  // Framing (RFC 6455 §5)
  /** A frame used an opcode RFC 6455 leaves reserved (3-7, 11-15). */
  invalidOpcode: 'ERR_WS_INVALID_OPCODE',
  /** A frame set RSV1, RSV2 or RSV3 without a negotiated extension that defines it. */
  unexpectedRsv: 'ERR_WS_UNEXPECTED_RSV',
  /** A server received an unmasked frame: clients must mask every frame (§5.3). */
  expectedMask: 'ERR_WS_EXPECTED_MASK',
  /** A client received a masked frame: servers must not mask (§5.1). */
  unexpectedMask: 'ERR_WS_UNEXPECTED_MASK',
  /** A 64-bit frame length had its most significant bit set (§5.2). */
  invalidLength: 'ERR_WS_INVALID_LENGTH',
  /** A close, ping or pong carried more than 125 bytes of payload (§5.5). */
  controlFrameTooLong: 'ERR_WS_CONTROL_FRAME_TOO_LONG',
  /** A close, ping or pong came without FIN: control frames cannot be fragmented (§5.5). */
  fragmentedControlFrame: 'ERR_WS_FRAGMENTED_CONTROL_FRAME',
  /** A continuation frame arrived with no fragmented message in progress. */
  unexpectedContinuation: 'ERR_WS_UNEXPECTED_CONTINUATION',
  /** A new text or binary frame arrived while a fragmented message was still incomplete. */
  expectedContinuation: 'ERR_WS_EXPECTED_CONTINUATION',
  /**
   * Reserved for a frame after the peer's close frame, which must be its last; the engine currently ignores
   * such frames rather than reporting them.
   */
  dataAfterClose: 'ERR_WS_DATA_AFTER_CLOSE',
  // Payloads
  /** A text message or a close reason was not valid UTF-8: the connection fails with 1007. */
  invalidUtf8: 'ERR_WS_INVALID_UTF8',
  /** A message (after decompression) passed `maxMessageSize`: the connection fails with 1009. */
  messageTooBig: 'ERR_WS_MESSAGE_TOO_BIG',
  /** A received close frame carried a code that may not appear on the wire (see `isSendableCloseCode`). */
  invalidCloseCode: 'ERR_WS_INVALID_CLOSE_CODE',
  /** A received close frame's payload was one byte long: a code takes two. */
  invalidClosePayload: 'ERR_WS_INVALID_CLOSE_PAYLOAD',
  /** A compressed message was not valid deflate data: the connection fails with 1007. */
  invalidCompressedData: 'ERR_WS_INVALID_COMPRESSED_DATA',
  /** zlib refused to compress (in practice only when out of memory): the connection ends with 1011. */
  compressionFailed: 'ERR_WS_COMPRESSION_FAILED',
  // Handshake (RFC 6455 §4)
  /** The server answered the opening handshake with another status than 101; `status` holds it. */
  handshakeRejected: 'ERR_WS_HANDSHAKE_REJECTED',
  /** The opening handshake was malformed: a missing or wrong header, a bad key or accept value. */
  handshakeInvalid: 'ERR_WS_HANDSHAKE_INVALID',
  /** The opening handshake did not complete within `handshakeTimeout`. */
  handshakeTimeout: 'ERR_WS_HANDSHAKE_TIMEOUT',
  /** The server selected a subprotocol the client did not offer. */
  unexpectedProtocol: 'ERR_WS_UNEXPECTED_PROTOCOL',
  /** The server answered with an extension, or extension parameters, the client did not offer. */
  invalidExtension: 'ERR_WS_INVALID_EXTENSION',
  // Lifecycle
  /**
   * Reserved for a closing handshake the peer never finished; today the Node adapter destroys the socket
   * after `closeTimeout` and reports 1006 instead.
   */
  closeTimeout: 'ERR_WS_CLOSE_TIMEOUT',
  /** Nothing came from the peer for a whole keepalive interval after our ping: the peer is considered gone. */
  keepaliveTimeout: 'ERR_WS_KEEPALIVE_TIMEOUT',
  /** The TCP connection ended without a closing handshake (reported with 1006). */
  connectionReset: 'ERR_WS_CONNECTION_RESET',
  /** `send` or `ping` was called on a connection that is not open. */
  notOpen: 'ERR_WS_NOT_OPEN',
  /**
   * A function was called with an argument it cannot use: a close code that may not be sent, an option out
   * of range, a header the handshake sets itself.
   */
  invalidArgument: 'ERR_WS_INVALID_ARGUMENT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Every failure of the engine: a refused frame, a failed handshake, a timeout, a misuse of the API. `code`
 * is stable, so callers branch on it, never on `message`.
 */
export class WebSocketError extends Error {
  /** Always `WebSocketError`, so logs and `String(error)` name the class. */
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
