/**
 * What a client does after the server closed the connection (protocol.md §11): derived from the code's
 * range, so a client needs no table for codes added later.
 */
export type ReconnectAdvice = 'backoff' | 'now' | 'never';

/** The ranges that carry the advice. Other 4xxx codes are reserved and read as `backoff`. */
export const CloseCodeRange = {
  /** Reconnect with exponential backoff and jitter. */
  backoff: { first: 4000, last: 4099 },
  /** Reconnect at once (with at most ~1 s of jitter), then resubscribe and recover. */
  now: { first: 4100, last: 4199 },
  /** Do not reconnect: the same attempt would fail again. */
  never: { first: 4400, last: 4499 },
} as const satisfies Record<ReconnectAdvice, { first: number; last: number }>;

/** The close codes the broker sends (protocol.md §11). Numbers never change meaning once published. */
export const ProtocolCloseCode = {
  /** An unexpected failure in the broker ended this connection. */
  internalError: 4000,
  /** The send queue exceeded its byte cap under the `disconnect` policy, or dropping could not get under it. */
  slowConsumer: 4001,
  /** The client kept publishing over its rate limit after `rate_limited` errors. */
  rateLimited: 4002,
  /** The node cannot serve the connection any more (e.g. the engine is lost and it sheds clients). */
  unavailable: 4003,
  /** The client did not answer the server's WebSocket ping in time. */
  pingTimeout: 4004,
  /** The token is not valid yet (`nbf`; servers that report auth failures after the upgrade): later it may be. */
  tokenNotYetValid: 4005,
  /** Graceful shutdown after flushing; closes are spread over a short window. */
  shutdown: 4100,
  /** The operator asked the node to shed connections to other nodes. */
  rebalance: 4101,
  /** The token expired and no `refresh` arrived within `tokenGraceMs`: get a new token, then reconnect. */
  tokenExpired: 4102,
  /** The backend disconnected the user and wants it back at once, e.g. to pick up new grants (protocol.md §14.4). */
  reconnect: 4103,
  /** Too many invalid messages on this connection. */
  protocolViolation: 4400,
  /** The token is invalid (servers that report auth failures after the upgrade). */
  unauthorized: 4401,
  /** The connection as a whole is no longer permitted. */
  forbidden: 4403,
  /** The backend disconnected the user for good (banned, logged out): do not reconnect (protocol.md §14.4). */
  disconnected: 4404,
  /** The token's issuer is not accepted (servers that report auth failures after the upgrade). */
  invalidIssuer: 4410,
  /** The token is not for this server: its audience (servers that report auth failures after the upgrade). */
  invalidAudience: 4411,
} as const;
export type ProtocolCloseCode = (typeof ProtocolCloseCode)[keyof typeof ProtocolCloseCode];

/** Standard close codes (RFC 6455 §7.4.1 and the IANA registry) that a pubsub.v1 client may see. */
export const StandardCloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  /** Never on the wire: the close frame had no code (RFC 6455 §7.1.5). */
  noStatus: 1005,
  /** Never on the wire: the connection dropped without a close frame; also any failed browser handshake. */
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  mandatoryExtension: 1010,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  badGateway: 1014,
  /** Never on the wire: the TLS handshake failed. */
  tlsHandshake: 1015,
} as const;
export type StandardCloseCode = (typeof StandardCloseCode)[keyof typeof StandardCloseCode];

/**
 * Advice for standard codes. 1000 is `backoff`, not `never`: the broker only uses 1000 to complete a close
 * the client started (and then the client does not ask), so an unprompted 1000 comes from an intermediary
 * or a foreign server, and staying disconnected for good is worse than one more attempt after a delay.
 * The `never` codes mean the client sent something the peer will reject again.
 */
const standardAdvice: Readonly<Record<StandardCloseCode, ReconnectAdvice>> = {
  [StandardCloseCode.normal]: 'backoff',
  [StandardCloseCode.goingAway]: 'now',
  [StandardCloseCode.protocolError]: 'never',
  [StandardCloseCode.unsupportedData]: 'never',
  [StandardCloseCode.noStatus]: 'backoff',
  [StandardCloseCode.abnormal]: 'backoff',
  [StandardCloseCode.invalidPayload]: 'never',
  [StandardCloseCode.policyViolation]: 'never',
  [StandardCloseCode.messageTooBig]: 'never',
  [StandardCloseCode.mandatoryExtension]: 'never',
  [StandardCloseCode.internalError]: 'backoff',
  [StandardCloseCode.serviceRestart]: 'now',
  [StandardCloseCode.tryAgainLater]: 'backoff',
  [StandardCloseCode.badGateway]: 'backoff',
  [StandardCloseCode.tlsHandshake]: 'never',
};

/**
 * What to do after the server (or anything between) closed the connection with `code`. Only for closes the
 * client did not start. Unknown and reserved codes are `backoff`: retrying slowly is always safe.
 */
export function reconnectAdvice(code: number): ReconnectAdvice {
  for (const advice of ['now', 'never'] as const) {
    const range = CloseCodeRange[advice];
    if (code >= range.first && code <= range.last) return advice;
  }
  return Object.hasOwn(standardAdvice, code) ? standardAdvice[code as StandardCloseCode] : 'backoff';
}
