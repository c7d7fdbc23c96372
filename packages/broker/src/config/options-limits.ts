import { ProtocolLimit } from '@switchboard/protocol';
import { option } from './option.js';
import { intFrom } from './option-schemas.js';
import { KiB, MiB } from './option-text.js';

/**
 * What one connection may do, and for how long: connections per node, message and chunk sizes, chunked
 * transfers, publish rate, tolerated errors, and the connection's timers. Each limit's outcome when crossed
 * is in its help text (protocol.md §10-§12); the rules between them are in config-checks.ts.
 */

export const limitOptions = {
  maxConnections: option({
    env: 'MAX_CONNECTIONS',
    flag: 'max-connections',
    kind: 'int',
    schema: intFrom(1),
    /** About 10 KiB of broker memory per idle connection: 10,000 stay well under 1 GiB including queues in use. */
    default: 10_000,
    help: 'open WebSocket connections on this node; beyond: 503',
  }),
  handshakeTimeoutMs: option({
    env: 'HANDSHAKE_TIMEOUT',
    flag: 'handshake-timeout',
    kind: 'duration',
    schema: intFrom(100, 600_000),
    /** Long enough for a slow mobile handshake and an authentication hook, short enough to shed slowloris. */
    default: 10_000,
    help: 'from the TCP connection to the end of the upgrade (headers and authentication); beyond: 408 or 503',
  }),
  maxSubscriptions: option({
    env: 'MAX_SUBSCRIPTIONS',
    flag: 'max-subscriptions',
    kind: 'int',
    schema: intFrom(0),
    /** A UI subscribes to tens of topics; a thousand leaves room and bounds the per-connection index cost. */
    default: 1000,
    help: 'subscriptions per connection (too_many_subscriptions)',
  }),
  maxMessageBytes: option({
    env: 'MAX_MESSAGE_BYTES',
    flag: 'max-message-bytes',
    kind: 'bytes',
    schema: intFrom(1, 1024 * MiB),
    /**
     * Half the per-connection queue cap, so a largest message always fits beside other traffic (a message
     * larger than the cap could never be queued). Raise both together for larger payloads.
     */
    default: 512 * KiB,
    help: 'largest payload after reassembly (message_too_big)',
  }),
  chunkBytes: option({
    env: 'CHUNK_BYTES',
    flag: 'chunk-bytes',
    kind: 'bytes',
    schema: intFrom(1, 64 * MiB),
    /** A chunk is written in well under a millisecond on any link that matters, so urgent messages wait little. */
    default: 64 * KiB,
    help: 'largest payload per chunk; larger messages travel in chunks',
  }),
  maxFrameBytes: option({
    env: 'MAX_FRAME_BYTES',
    flag: 'max-frame-bytes',
    kind: 'bytes',
    schema: intFrom(1, 1024 * MiB),
    /** A full chunk with the largest header fits exactly (protocol.md §12). */
    derive: (options: { readonly chunkBytes: number }) => options.chunkBytes + ProtocolLimit.headerLengthPrefixBytes + ProtocolLimit.maxHeaderBytes,
    help: 'largest WebSocket message (1009 beyond); default: chunkBytes + 4 + 4096, exactly a full chunk',
  }),
  maxConcurrentTransfers: option({
    env: 'MAX_CONCURRENT_TRANSFERS',
    flag: 'max-concurrent-transfers',
    kind: 'int',
    schema: intFrom(1, 1024),
    /** Enough for parallel uploads without letting one connection pin much memory. */
    default: 4,
    help: 'incomplete chunked publishes per connection (too_many_transfers)',
  }),
  maxIncompleteBytes: option({
    env: 'MAX_INCOMPLETE_BYTES',
    flag: 'max-incomplete-bytes',
    kind: 'bytes',
    schema: intFrom(1, 4096 * MiB),
    /** Two largest messages in flight at once; at least one must fit (protocol.md §12). */
    derive: (options: { readonly maxMessageBytes: number }) => 2 * options.maxMessageBytes,
    help: 'announced bytes of incomplete chunked publishes per connection (transfer_buffer_full)',
  }),
  chunkTimeoutMs: option({
    env: 'CHUNK_TIMEOUT',
    flag: 'chunk-timeout',
    kind: 'duration',
    schema: intFrom(1, 3_600_000),
    /** A transfer idle this long is abandoned: its reserved memory goes back. */
    default: 30_000,
    help: 'a chunked publish with no chunk for this long is abandoned (transfer_timeout)',
  }),
  publishRatePerSecond: option({
    env: 'PUBLISH_RATE',
    flag: 'publish-rate',
    kind: 'int',
    schema: intFrom(0),
    /** Generous for interactive apps, tight enough that one client cannot flood a topic. */
    default: 100,
    help: 'publishes per second per connection, refill of a token bucket (rate_limited); 0: unlimited',
  }),
  publishRateBurst: option({
    env: 'PUBLISH_BURST',
    flag: 'publish-burst',
    kind: 'int',
    schema: intFrom(1),
    default: 200,
    help: 'token bucket size: publishes allowed at once after idling',
  }),
  rateLimitCloseAfter: option({
    env: 'RATE_LIMIT_CLOSE_AFTER',
    flag: 'rate-limit-close-after',
    kind: 'int',
    schema: intFrom(0),
    /** A client that ignores a hundred rate_limited errors in a row is broken, not busy. */
    default: 100,
    help: 'close with 4002 after this many rate_limited errors in a row; 0: never close',
  }),
  maxInvalidMessages: option({
    env: 'MAX_INVALID_MESSAGES',
    flag: 'max-invalid-messages',
    kind: 'int',
    schema: intFrom(0),
    /** A correct client sends none; a few allow for a buggy release without an instant disconnect loop. */
    default: 20,
    help: 'invalid messages (malformed, unknown_op, bad_request, chunk errors) tolerated per connection; beyond: 4400',
  }),
  maxPendingRequests: option({
    env: 'MAX_PENDING_REQUESTS',
    flag: 'max-pending-requests',
    kind: 'int',
    schema: intFrom(1),
    /** The in-memory engine answers at once; this bounds memory only when a remote engine stalls. */
    default: 1024,
    help: 'received messages waiting for the engine per connection; beyond: 4003 (the engine cannot keep up)',
  }),
  tokenGraceMs: option({
    env: 'TOKEN_GRACE',
    flag: 'token-grace',
    kind: 'duration',
    schema: intFrom(0, 3_600_000),
    default: 10_000,
    help: 'how long an expired token is still served before 4102',
  }),
  idempotencyWindowMs: option({
    env: 'IDEMPOTENCY_WINDOW',
    flag: 'idempotency-window',
    kind: 'duration',
    schema: intFrom(0, 86_400_000),
    /** Covers a publisher's retries across a reconnect with backoff. */
    default: 120_000,
    help: 'how long a publish key is remembered',
  }),
  pingIntervalMs: option({
    env: 'PING_INTERVAL',
    flag: 'ping-interval',
    kind: 'duration',
    schema: intFrom(0, 3_600_000),
    /** Under common proxy idle timeouts (60 s), and two missed pings find a dead peer within a minute. */
    default: 25_000,
    help: 'WebSocket ping period; a peer silent for a whole period is closed with 4004; 0: off',
  }),
  closeTimeoutMs: option({
    env: 'CLOSE_TIMEOUT',
    flag: 'close-timeout',
    kind: 'duration',
    schema: intFrom(1, 600_000),
    default: 5000,
    help: 'how long a closing handshake may take before the socket is destroyed',
  }),
};
