import * as z from 'zod/mini';
import {
  bytesField,
  connectionIdField,
  epochField,
  nonNegativeIntegerField,
  offsetField,
  patternField,
  requestIdField,
  topicField,
  userIdField,
} from './fields.js';
import { checkFirstChunkFields, chunkHeaderShape } from './messages-chunk.js';
import type { JsonValue } from './payload.js';
import { LEAVE_REASONS, PRESENCE_GAP_REASONS } from './reasons.js';

/**
 * The ops of presence (protocol.md §13) and server-side subscriptions (§14). A server sends them only to a
 * client that asked (a request, `subscribe.presence`, a claimed server-side subscription), and announces
 * them in `welcome.capabilities`; an old client never asks, so never sees them.
 */

/** Connection info (a JSON value): only presence is checked, as for payloads. */
const jsonValueField = z.custom<JsonValue>((value) => value !== undefined, { message: 'must be a JSON value' });

/** A topic's presence members: per user, connection id → info (`null`: none); anonymous connections by id. */
export type PresenceData = {
  readonly users: { readonly [user: string]: { readonly [connection: string]: JsonValue } };
  readonly anonymous: { readonly [connection: string]: JsonValue };
};

/** `data` of a presence answer: a listing can be 10,000 members, so it is not walked again, like a payload. */
const presenceDataField = z.custom<PresenceData>((value) => value !== undefined, { message: 'data is required' });

/**
 * Where a presence entry sits in its topic (protocol.md §13.4): after publication `offset` and after the
 * topic's presence entries up to `seq` in `epoch`.
 */
const presencePositionShape = { topic: topicField, epoch: epochField, offset: offsetField, seq: offsetField };

/** Connections, distinct users and anonymous connections of a topic: counters, read in O(1). */
const presenceCountsShape = { connections: nonNegativeIntegerField, users: nonNegativeIntegerField, anonymous: nonNegativeIntegerField };

/** Client → server: list the members of a topic. */
export const presenceRequestSchema = z.object({ op: z.literal('presence'), id: requestIdField, topic: topicField });
export type PresenceRequestMessage = z.output<typeof presenceRequestSchema>;

/** Client → server: a topic's member counts. */
export const presenceStatsRequestSchema = z.object({ op: z.literal('presence_stats'), id: requestIdField, topic: topicField });
export type PresenceStatsRequestMessage = z.output<typeof presenceStatsRequestSchema>;

const presenceHeaderShape = {
  op: z.literal('presence'),
  id: requestIdField,
  ...presencePositionShape,
  stats: z.object(presenceCountsShape),
  /** `true`: more members than the server lists; `data` is absent and only `stats` hold. */
  truncated: z.boolean(),
};

/** A presence answer without `data`: the header inside a first chunk of a large listing (protocol.md §7.2). */
export const presenceHeaderSchema = z.object(presenceHeaderShape);
export type PresenceHeader = z.output<typeof presenceHeaderSchema>;

/** The header of a chunk of a large presence listing (binary form only; protocol.md §7.2). */
export const presenceChunkHeaderSchema = z.object(chunkHeaderShape(presenceHeaderSchema)).check(z.superRefine(checkFirstChunkFields));
export type PresenceChunkHeader = z.output<typeof presenceChunkHeaderSchema>;

/** A decoded chunk of a large presence listing: the header plus this chunk's bytes. */
export const presenceChunkSchema = z
  .object({ ...chunkHeaderShape(presenceHeaderSchema), data: bytesField })
  .check(z.superRefine(checkFirstChunkFields));
export type PresenceChunkMessage = z.output<typeof presenceChunkSchema>;

/** Server → client: the answer to `presence`, a snapshot at `seq`. */
export const presenceSchema = z.object({ ...presenceHeaderShape, data: z.exactOptional(presenceDataField) });
export type PresenceMessage = z.output<typeof presenceSchema>;

/**
 * Server → client: with `id` the answer to `presence_stats`; without, a coalesced update in the topic's
 * presence entries, standing for `coalesced` joins and leaves that were not sent one by one.
 */
export const presenceStatsSchema = z.object({
  op: z.literal('presence_stats'),
  id: z.exactOptional(requestIdField),
  ...presencePositionShape,
  ...presenceCountsShape,
  coalesced: z.exactOptional(nonNegativeIntegerField),
});
export type PresenceStatsMessage = z.output<typeof presenceStatsSchema>;

const memberShape = {
  ...presencePositionShape,
  connection: connectionIdField,
  /** Absent: an anonymous connection. */
  user: z.exactOptional(userIdField),
};

/** Server → client: a connection became a member; `first`: the user's first connection in. */
export const joinSchema = z.object({
  op: z.literal('join'),
  ...memberShape,
  info: z.exactOptional(jsonValueField),
  first: z.boolean(),
});
export type JoinMessage = z.output<typeof joinSchema>;

/** Server → client: a connection stopped being a member; `last`: the user's last connection out. */
export const leaveSchema = z.object({
  op: z.literal('leave'),
  ...memberShape,
  last: z.boolean(),
  reason: z.enum(LEAVE_REASONS),
});
export type LeaveMessage = z.output<typeof leaveSchema>;

/** Server → client: presence entries of `topic` up to `seq` may be missing; a member list built from events is stale. */
export const presenceGapSchema = z.object({
  op: z.literal('presence_gap'),
  topic: topicField,
  epoch: epochField,
  seq: offsetField,
  reason: z.enum(PRESENCE_GAP_REASONS),
});
export type PresenceGapMessage = z.output<typeof presenceGapSchema>;

/** Server → client: the backend offers a server-side subscription; the client claims it with `subscribe` (§14.3). */
export const serverSubscribeSchema = z.object({ op: z.literal('server_subscribe'), pattern: patternField });
export type ServerSubscribeMessage = z.output<typeof serverSubscribeSchema>;
