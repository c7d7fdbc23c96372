import { ProtocolCloseCode } from './close-codes.js';
import { ProtocolErrorCode } from './errors.js';

/**
 * The HTTP statuses a pubsub.v1 server answers with: refused handshakes (protocol.md §2.1) and the broker's
 * HTTP API (operations.md). Named, so that no status is a bare number.
 */
export const HttpStatus = {
  ok: 200,
  accepted: 202,
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  /** protocol.md §2.1: the upgrade asked for a path that is not the WebSocket endpoint (code `bad_request`). */
  notFound: 404,
  requestTimeout: 408,
  conflict: 409,
  contentTooLarge: 413,
  unsupportedMediaType: 415,
  /** A plain GET on the WebSocket endpoint, or a `Sec-WebSocket-Version` other than 13 (RFC 6455 §4.4). */
  upgradeRequired: 426,
  tooManyRequests: 429,
  internalServerError: 500,
  serviceUnavailable: 503,
} as const;
export type HttpStatus = (typeof HttpStatus)[keyof typeof HttpStatus];

/** How an error code surfaces outside an `error` frame. */
export interface ErrorStatus {
  /** The status of an HTTP answer (a refused handshake, or the HTTP API) that carries this code. */
  readonly http: HttpStatus;
  /**
   * The close code when this error ends a connection (protocol.md §11); absent when it never does. The
   * `protocol_violation` ones end it only once a connection has sent more invalid messages than allowed.
   */
  readonly close?: ProtocolCloseCode;
}

/**
 * Each error code's HTTP status and close code: the one table every answer and close is derived from.
 * Statuses follow HTTP's meaning: 4xx for what the same request will meet again (409 when the connection's
 * current state is in the way), 408/429/500/503 exactly for the codes protocol.md §10 calls retryable.
 * Codes that only travel in `error` frames today still have the status an HTTP answer would carry.
 */
export const PROTOCOL_ERROR_STATUSES = {
  [ProtocolErrorCode.malformed]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.headerTooBig]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.unknownOp]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.badRequest]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.invalidTopic]: { http: HttpStatus.badRequest },
  [ProtocolErrorCode.unsupportedProtocol]: { http: HttpStatus.badRequest },
  [ProtocolErrorCode.invalidToken]: { http: HttpStatus.unauthorized, close: ProtocolCloseCode.unauthorized },
  [ProtocolErrorCode.tokenExpired]: { http: HttpStatus.unauthorized, close: ProtocolCloseCode.tokenExpired },
  [ProtocolErrorCode.tokenNotYetValid]: { http: HttpStatus.unauthorized, close: ProtocolCloseCode.tokenNotYetValid },
  [ProtocolErrorCode.invalidIssuer]: { http: HttpStatus.unauthorized, close: ProtocolCloseCode.invalidIssuer },
  [ProtocolErrorCode.invalidAudience]: { http: HttpStatus.unauthorized, close: ProtocolCloseCode.invalidAudience },
  [ProtocolErrorCode.forbidden]: { http: HttpStatus.forbidden, close: ProtocolCloseCode.forbidden },
  [ProtocolErrorCode.notSubscribed]: { http: HttpStatus.conflict },
  [ProtocolErrorCode.alreadySubscribed]: { http: HttpStatus.conflict },
  [ProtocolErrorCode.tooManySubscriptions]: { http: HttpStatus.conflict },
  [ProtocolErrorCode.rateLimited]: { http: HttpStatus.tooManyRequests, close: ProtocolCloseCode.rateLimited },
  [ProtocolErrorCode.messageTooBig]: { http: HttpStatus.contentTooLarge },
  [ProtocolErrorCode.unavailable]: { http: HttpStatus.serviceUnavailable, close: ProtocolCloseCode.unavailable },
  [ProtocolErrorCode.internal]: { http: HttpStatus.internalServerError, close: ProtocolCloseCode.internalError },
  [ProtocolErrorCode.chunkOutOfOrder]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.chunkSizeMismatch]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.unknownTransfer]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.duplicateTransfer]: { http: HttpStatus.badRequest, close: ProtocolCloseCode.protocolViolation },
  [ProtocolErrorCode.tooManyTransfers]: { http: HttpStatus.tooManyRequests },
  [ProtocolErrorCode.transferBufferFull]: { http: HttpStatus.tooManyRequests },
  [ProtocolErrorCode.transferTimeout]: { http: HttpStatus.requestTimeout },
  [ProtocolErrorCode.presenceDisabled]: { http: HttpStatus.badRequest },
  [ProtocolErrorCode.serverUnsubscribed]: { http: HttpStatus.conflict },
} as const satisfies Record<ProtocolErrorCode, ErrorStatus>;

/** The HTTP status of an answer that carries `code`. */
export function httpStatusOf(code: ProtocolErrorCode): HttpStatus {
  return PROTOCOL_ERROR_STATUSES[code].http;
}

/** The close code when `code` ends a connection, or `undefined` when it never does. */
export function closeCodeOf(code: ProtocolErrorCode): ProtocolCloseCode | undefined {
  const status: ErrorStatus = PROTOCOL_ERROR_STATUSES[code];
  return status.close;
}
