/**
 * The pubsub.v1 error codes (protocol.md §10): the `code` of `error` frames and of handshake rejections.
 * Stable strings: once published a code never changes meaning, because clients branch on it.
 */
export const ProtocolErrorCode = {
  /** Not JSON, not a JSON object, broken binary framing, or reassembled JSON that does not parse. */
  malformed: 'malformed',
  /** A binary header longer than `ProtocolLimit.maxHeaderBytes`. */
  headerTooBig: 'header_too_big',
  /** `op` is a string this side does not know. */
  unknownOp: 'unknown_op',
  /** A known `op` with missing or invalid fields, or in a form (text/binary) it does not have. */
  badRequest: 'bad_request',
  /** A topic or pattern breaks the topic rules, a publish names a pattern, or a `since` key is not matched. */
  invalidTopic: 'invalid_topic',
  /** Handshake: the client did not offer `pubsub.v1`. */
  unsupportedProtocol: 'unsupported_protocol',
  /** Handshake or `refresh`: the token is missing, malformed, badly signed, or of an algorithm not accepted. */
  invalidToken: 'invalid_token',
  /** The token has expired: a notice without `id`, or the answer to a `refresh` with an expired token. */
  tokenExpired: 'token_expired',
  /** Handshake or `refresh`: the token's `nbf` is still ahead (beyond the server's clock tolerance). */
  tokenNotYetValid: 'token_not_yet_valid',
  /** Handshake or `refresh`: the token's `iss` is not the issuer the server accepts. */
  invalidIssuer: 'invalid_issuer',
  /** Handshake or `refresh`: the token's `aud` does not name this server. */
  invalidAudience: 'invalid_audience',
  /** The token or auth hook does not permit this subscribe or publish. */
  forbidden: 'forbidden',
  /** `unsubscribe` of a pattern the connection has not subscribed. */
  notSubscribed: 'not_subscribed',
  /** `subscribe` of a pattern the connection has already subscribed. */
  alreadySubscribed: 'already_subscribed',
  /** The connection already holds `maxSubscriptions` subscriptions. */
  tooManySubscriptions: 'too_many_subscriptions',
  /** Over the publish rate; the frame's `retryAfterMs` says when to try again. */
  rateLimited: 'rate_limited',
  /** A payload over `maxMessageBytes`. */
  messageTooBig: 'message_too_big',
  /** The engine (e.g. Redis) is unreachable: the request was not served, nothing was lost silently. */
  unavailable: 'unavailable',
  /** A bug in the server. */
  internal: 'internal',
  /** A chunk came with another index than the next one expected: the transfer is abandoned (§7.3). */
  chunkOutOfOrder: 'chunk_out_of_order',
  /**
   * A chunk was empty or over `chunkBytes`, or the chunks disagree with the transfer's `total`: the transfer
   * is abandoned (§7.3).
   */
  chunkSizeMismatch: 'chunk_size_mismatch',
  /** A chunk after the first named a transfer that is not open (§7.3). */
  unknownTransfer: 'unknown_transfer',
  /** A first chunk named a transfer already open: that one is abandoned, this one refused (§7.3). */
  duplicateTransfer: 'duplicate_transfer',
  /** `maxConcurrentTransfers` transfers are already open; retry once one finishes (§7.3). */
  tooManyTransfers: 'too_many_transfers',
  /**
   * The open transfers' totals plus this one would pass `maxIncompleteBytes`; retry once one finishes
   * (§7.3).
   */
  transferBufferFull: 'transfer_buffer_full',
  /** No chunk of the transfer arrived for `chunkTimeoutMs`: it was abandoned (§7.4). */
  transferTimeout: 'transfer_timeout',
  /** A presence request, `subscribe.presence` or `GET /presence` on a topic that has no presence (protocol.md §13). */
  presenceDisabled: 'presence_disabled',
  /** The `code` of an `unsubscribed` without `id`: the backend ended a server-side subscription (protocol.md §14.3). */
  serverUnsubscribed: 'server_unsubscribed',
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** Every error code, in table order: for schemas and exhaustive tests. */
export const PROTOCOL_ERROR_CODES = Object.values(ProtocolErrorCode) as readonly ProtocolErrorCode[];

/** A protocol failure: a stable code for programs and a message for humans (not stable). */
export interface ProtocolError {
  readonly code: ProtocolErrorCode;
  readonly message: string;
}

/** Codes where trying the same thing later can succeed (protocol.md §10, column "Retryable"). */
const retryableCodes: ReadonlySet<ProtocolErrorCode> = new Set([
  ProtocolErrorCode.rateLimited,
  ProtocolErrorCode.unavailable,
  ProtocolErrorCode.internal,
  ProtocolErrorCode.tooManyTransfers,
  ProtocolErrorCode.transferBufferFull,
  ProtocolErrorCode.transferTimeout,
]);

/** Whether retrying the failed request later can succeed; the SDK retries only these. */
export function isRetryableError(code: ProtocolErrorCode): boolean {
  return retryableCodes.has(code);
}

/** Builds a {@link ProtocolError}. */
export function protocolError(code: ProtocolErrorCode, message: string): ProtocolError {
  return { code, message };
}
