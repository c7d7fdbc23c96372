/** The WebSocket subprotocol (RFC 6455 §1.9) this package speaks; offered in `Sec-WebSocket-Protocol`. */
export const SUBPROTOCOL = 'pubsub.v1';

/**
 * Prefix of the extra `Sec-WebSocket-Protocol` entry that carries a token from browsers, which cannot set
 * `Authorization` (protocol.md §2.2). The server never selects it.
 */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/** Limits fixed by pubsub.v1 itself (protocol.md §12); per-server limits travel in `welcome`. */
export const ProtocolLimit = {
  /** Bytes of the big-endian length prefix of a binary message's header. */
  headerLengthPrefixBytes: 4,
  /** The largest legitimate header (a first chunk naming a 255-character topic) is under 1 KiB. */
  maxHeaderBytes: 4096,
  /** Fits Redis keys and log lines comfortably. */
  maxTopicLength: 255,
  /** Bounds trie depth for wildcard matching. */
  maxTopicSegments: 16,
  /** An idempotency key is an id, not data. */
  maxKeyLength: 128,
  maxEpochLength: 64,
  maxConnectionIdLength: 128,
  /** Request ids, transfer ids and offsets are JSON numbers: keep them exact in every JavaScript runtime. */
  maxInteger: Number.MAX_SAFE_INTEGER,
} as const;

/**
 * What a server may announce in `welcome.capabilities` (protocol.md §2.3): a client uses no op of §13/§14
 * without its capability, and ignores entries it does not know.
 */
export const CAPABILITIES = ['presence', 'user_topics', 'server_subscriptions', 'rpc'] as const;
export type Capability = (typeof CAPABILITIES)[number];
