import * as z from 'zod/mini';
import { SUBPROTOCOL, ProtocolLimit } from './constants.js';
import { ProtocolErrorCode } from './errors.js';
import {
  bytesField,
  connectionIdField,
  epochField,
  errorCodeField,
  issueParams,
  messageOffsetField,
  nonNegativeIntegerField,
  offsetField,
  patternField,
  payloadField,
  positiveIntegerField,
  priorityField,
  requestIdField,
  timestampField,
  topicField,
  transferIdField,
  userIdField,
} from './fields.js';
import { checkFirstChunkFields, chunkHeaderShape } from './messages-chunk.js';
import { GAP_REASONS, RECOVERY_FAILURE_REASONS } from './reasons.js';

export { GAP_REASONS, type GapReason, RECOVERY_FAILURE_REASONS, type RecoveryFailureReason } from './reasons.js';

/** Server-to-client messages (protocol.md §5.2). */

/**
 * The server's limits (protocol.md §12). They bind both directions, so a client sizes its own reassembly
 * with them. The consistency rules guarantee that every chunk fits in a frame and every message in the
 * reassembly buffer.
 */
export const serverLimitsSchema = z
  .object({
    /** Largest payload of one message after reassembly, in bytes; at least `chunkBytes`. */
    maxMessageBytes: positiveIntegerField,
    /** Largest payload of one chunk, in bytes: a larger payload must be sent in chunks (§7). */
    chunkBytes: positiveIntegerField,
    /** Largest WebSocket message accepted, in bytes (1009 beyond); fits a full chunk with its header. */
    maxFrameBytes: positiveIntegerField,
    /** Subscriptions one connection may hold (`too_many_subscriptions` beyond). */
    maxSubscriptions: nonNegativeIntegerField,
    /** Incomplete chunked transfers per direction (`too_many_transfers` beyond). */
    maxConcurrentTransfers: positiveIntegerField,
    /** Sum of the `total` of incomplete transfers per direction (`transfer_buffer_full` beyond). */
    maxIncompleteBytes: positiveIntegerField,
    /** A transfer with no chunk for this many milliseconds is abandoned (`transfer_timeout`). */
    chunkTimeoutMs: positiveIntegerField,
    /** How long, in milliseconds, a publish `key` is remembered to drop a resend (§8.4). */
    idempotencyWindowMs: nonNegativeIntegerField,
    /** How long, in milliseconds, an expired token is still served, so a refresh has time to arrive (§9). */
    tokenGraceMs: nonNegativeIntegerField,
    /** Token bucket; absent: no publish rate limit. */
    publishRate: z.exactOptional(
      z.object({
        /** Publishes per second the bucket refills with. */
        perSecond: z.number().check(z.positive()),
        /** Publishes the bucket holds: a burst of this many passes at once (`rate_limited` beyond). */
        burst: positiveIntegerField,
      }),
    ),
  })
  .check(
    z.superRefine((limits, context) => {
    const mustHold = (holds: boolean, path: string, message: string) => {
      if (!holds) context.addIssue({ code: 'custom', path: [path], message, params: issueParams(ProtocolErrorCode.badRequest) });
    };
    mustHold(limits.maxMessageBytes >= limits.chunkBytes, 'maxMessageBytes', 'must be at least chunkBytes');
    mustHold(
      limits.maxFrameBytes >= limits.chunkBytes + ProtocolLimit.headerLengthPrefixBytes + ProtocolLimit.maxHeaderBytes,
      'maxFrameBytes',
      'must fit a full chunk: chunkBytes + 4 + 4096',
    );
    mustHold(limits.maxIncompleteBytes >= limits.maxMessageBytes, 'maxIncompleteBytes', 'must be at least maxMessageBytes');
  }),
  );
/** The limits a broker announces in `welcome` (protocol.md §12); they bind both directions. */
export type ServerLimits = z.output<typeof serverLimitsSchema>;

/** The first message on every connection. */
export const welcomeSchema = z.object({
  op: z.literal('welcome'),
  protocol: z.literal(SUBPROTOCOL),
  connectionId: connectionIdField,
  /** The broker node's name, for diagnostics. */
  node: z.exactOptional(z.string()),
  limits: serverLimitsSchema,
  /** Absent: the token does not expire (or there is none). */
  tokenExpiresAt: z.exactOptional(timestampField),
  /**
   * What the server implements beyond the core (protocol.md §2.3): `CAPABILITIES` and entries added later,
   * which a client ignores. Absent: none.
   */
  capabilities: z.exactOptional(z.array(z.string())),
  /** The connection's user (protocol.md §14.1). Absent: anonymous. */
  user: z.exactOptional(userIdField),
  /** The root of user topics (protocol.md §14.2). Absent: none. */
  userTopicPrefix: z.exactOptional(z.string()),
  /** The server-side subscriptions offered to this connection (protocol.md §14.3). */
  subscriptions: z.exactOptional(z.array(patternField)),
});
export type WelcomeMessage = z.output<typeof welcomeSchema>;


/**
 * The outcome of recovering a topic's presence entries after `since.seq` (protocol.md §13.4). `seq`: the
 * last one replayed, or on failure the current one, after which live entries follow.
 */
export const presenceRecoverySchema = z.discriminatedUnion('status', [
  z.object({
    /** The presence entries after `since.seq` up to `seq` are replayed. */
    status: z.literal('recovered'),
    /** The last presence entry replayed. */
    seq: offsetField,
  }),
  z.object({
    /** Presence entries could not be replayed: fetch a fresh listing. */
    status: z.literal('failed'),
    /** Why: another epoch, entries past the history kept, or no history. */
    reason: z.enum(RECOVERY_FAILURE_REASONS),
    /** The current presence position; live entries after it follow. */
    seq: offsetField,
  }),
]);
export type PresenceRecovery = z.output<typeof presenceRecoverySchema>;

/** Present when `since` had `seq` (protocol.md §13.4). */
const presenceRecoveryField = z.exactOptional(presenceRecoverySchema);

/** The outcome of recovering one topic (protocol.md §8.2). */
export const recoveryResultSchema = z.discriminatedUnion('status', [
  /** Messages after `since.offset` up to and including `offset` follow, in order, before live ones. */
  z.object({
    /** Every missed message is replayed. */
    status: z.literal('recovered'),
    /** The topic's epoch, the same as `since.epoch`. */
    epoch: epochField,
    /** The offset of the last message replayed; live messages continue after it. */
    offset: offsetField,
    /** How the topic's presence entries were recovered, when `since` asked (§13.4). */
    presence: presenceRecoveryField,
  }),
  /** Nothing is replayed; live messages after `offset` (the current position) follow; resync. */
  z.object({
    /** The missed messages cannot be replayed: the application must resynchronise on its own. */
    status: z.literal('failed'),
    /** Why: the epoch changed, the messages left the history, or the topic keeps none. */
    reason: z.enum(RECOVERY_FAILURE_REASONS),
    /** The topic's current epoch; store it with `offset` as the new position. */
    epoch: epochField,
    /** The topic's current offset; live messages after it follow. */
    offset: offsetField,
    /** How the topic's presence entries were recovered, when `since` asked (§13.4). */
    presence: presenceRecoveryField,
  }),
]);
/** How recovering one topic of a `subscribe` with `since` went: replayed, or failed with the current position. */
export type RecoveryResult = z.output<typeof recoveryResultSchema>;

/**
 * A subscribe without a position, to a topic of a `latest` namespace (protocol.md §8.6): where the topic
 * stood when the subscription began, and whether its publication at that position follows.
 */
export const latestResultSchema = z.object({
  /** The topic's epoch. */
  epoch: epochField,
  /** The topic's position: the latest publication (0: none yet); live messages continue after it. */
  offset: offsetField,
  /** `true`: the publication at `offset` follows, before any live message of the topic; `false`: none is kept. */
  replayed: z.boolean(),
});
/** What a subscribe to a `latest` topic without `since` started from. */
export type LatestResult = z.output<typeof latestResultSchema>;

/** Answer to `subscribe`: the subscription is active. */
export const subscribedSchema = z.object({
  op: z.literal('subscribed'),
  id: requestIdField,
  pattern: patternField,
  /** Present when the request had `since`: one entry per topic named there. */
  recovery: z.exactOptional(z.record(z.string(), recoveryResultSchema)),
  /** Present when the subscribe got the topic's latest publication first (protocol.md §8.6). */
  latest: z.exactOptional(latestResultSchema),
  /** `true`: the subscribe claimed a server-side subscription (protocol.md §14.3). */
  server: z.exactOptional(z.boolean()),
});
export type SubscribedMessage = z.output<typeof subscribedSchema>;

/** A subscription ended: with `id` the answer to `unsubscribe`; without, the server ended it and says why in `code`. */
export const unsubscribedSchema = z.object({
  op: z.literal('unsubscribed'),
  id: z.exactOptional(requestIdField),
  pattern: patternField,
  code: z.exactOptional(errorCodeField),
});
export type UnsubscribedMessage = z.output<typeof unsubscribedSchema>;

/** Answer to a `publish` with `id`. */
export const publishedSchema = z.object({
  op: z.literal('published'),
  id: requestIdField,
  /** Present when the topic keeps history: usable in `since`. */
  offset: z.exactOptional(offsetField),
  epoch: z.exactOptional(epochField),
  /** `true` when the idempotency key matched an earlier publish, which was not delivered again. */
  duplicate: z.exactOptional(z.boolean()),
});
export type PublishedMessage = z.output<typeof publishedSchema>;

/** Answer to `refresh`: the new token is in force. */
export const refreshedSchema = z.object({
  op: z.literal('refreshed'),
  id: requestIdField,
  tokenExpiresAt: z.exactOptional(timestampField),
});
export type RefreshedMessage = z.output<typeof refreshedSchema>;

/** Answer to `ping`. */
export const pongSchema = z.object({ op: z.literal('pong'), id: requestIdField });
export type PongMessage = z.output<typeof pongSchema>;

const deliveryHeaderShape = {
  op: z.literal('message'),
  topic: topicField,
  priority: priorityField,
  offset: messageOffsetField,
  epoch: epochField,
};

/** A delivery without `data`: the binary form's header, and the header inside a first chunk. */
export const deliveryHeaderSchema = z.object(deliveryHeaderShape);
export type DeliveryHeader = z.output<typeof deliveryHeaderSchema>;

/** A delivery (`op: 'message'`): the topic, its priority, its position, and the payload. */
export const deliverySchema = z.object({ ...deliveryHeaderShape, data: payloadField });
export type DeliveryMessage = z.output<typeof deliverySchema>;


/** Messages of `topic` with offsets `from` to `to` (inclusive) will not be delivered. */
export const gapSchema = z
  .object({
    op: z.literal('gap'),
    topic: topicField,
    epoch: epochField,
    from: messageOffsetField,
    to: messageOffsetField,
    reason: z.enum(GAP_REASONS),
  })
  .check(
    z.superRefine((gap, context) => {
    if (gap.from > gap.to) {
      context.addIssue({ code: 'custom', path: ['to'], message: 'must not be below from', params: issueParams(ProtocolErrorCode.badRequest) });
    }
  }),
  );
export type GapMessage = z.output<typeof gapSchema>;

/** A failed request, or a notice about something the connection sent or must do (protocol.md §10). */
export const errorSchema = z.object({
  op: z.literal('error'),
  /** The failed request, when it had an id that could be read. */
  id: z.exactOptional(requestIdField),
  code: errorCodeField,
  /** For humans; not stable. */
  message: z.string(),
  /** The topic of a failed publish without `id`. */
  topic: z.exactOptional(z.string()),
  /** The chunked transfer that was rejected or abandoned. */
  transfer: z.exactOptional(transferIdField),
  /** With `rate_limited` and `unavailable`: when retrying makes sense. */
  retryAfterMs: z.exactOptional(nonNegativeIntegerField),
});
export type ErrorMessage = z.output<typeof errorSchema>;

/** The header of a chunk of a large delivery (binary form only). */
export const serverChunkHeaderSchema = z.object(chunkHeaderShape(deliveryHeaderSchema)).check(z.superRefine(checkFirstChunkFields));
export type ServerChunkHeader = z.output<typeof serverChunkHeaderSchema>;

/** A decoded chunk of a large delivery: the header plus this chunk's bytes. */
export const serverChunkSchema = z
  .object({ ...chunkHeaderShape(deliveryHeaderSchema), data: bytesField })
  .check(z.superRefine(checkFirstChunkFields));
export type ServerChunkMessage = z.output<typeof serverChunkSchema>;

