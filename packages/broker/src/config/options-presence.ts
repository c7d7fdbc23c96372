import { z } from 'zod';
import { option } from './option.js';
import { intFrom, patternSchema } from './option-schemas.js';
import { KiB } from './option-text.js';

/**
 * Presence (protocol.md §13, docs/design/presence.md §4.4): which topics keep members, and the bounds that keep
 * a topic's listing, its join/leave entries and its members' info cheap at any size.
 */

export const presenceOptions = {
  presence: option({
    env: 'PRESENCE',
    flag: 'presence',
    kind: 'list',
    schema: z.array(patternSchema),
    /** Off until asked for: every member costs engine writes on subscribe and close. */
    default: [],
    help: 'topic patterns with presence (`chat.>,doc.*`): exact subscribers are members; empty: no presence',
  }),
  presenceMaxMembers: option({
    env: 'PRESENCE_MAX_MEMBERS',
    flag: 'presence-max-members',
    kind: 'int',
    schema: intFrom(0, 1_000_000),
    /** A listing of 1,000 members with small info is about 100 KiB: one chunked answer, never a stall. */
    default: 1000,
    help: 'members listed per topic; beyond: stats only, `truncated`',
  }),
  presenceMaxInfoBytes: option({
    env: 'PRESENCE_MAX_INFO_BYTES',
    flag: 'presence-max-info-bytes',
    kind: 'bytes',
    schema: intFrom(0, 64 * KiB),
    /** A name and an avatar URL; info travels in every join and every listing, so it stays small. */
    default: 512,
    help: 'largest connection info (JWT claim `info`, or the auth hook\'s `identity.info`), as JSON; larger refuses the handshake',
  }),
  presenceEventRate: option({
    env: 'PRESENCE_EVENT_RATE',
    flag: 'presence-event-rate',
    kind: 'int',
    schema: intFrom(0, 1_000_000),
    /** A room's subscribers can follow 50 changes a second; a storm beyond that is one stats entry a second. */
    default: 50,
    help: 'join/leave entries per topic per second; beyond: one coalesced stats entry per second; 0: no cap',
  }),
  presenceHistorySize: option({
    env: 'PRESENCE_HISTORY_SIZE',
    flag: 'presence-history-size',
    kind: 'int',
    schema: intFrom(0, 1_000_000),
    /** Twenty seconds of a capped storm: enough to bridge a reconnect. */
    default: 1000,
    help: 'presence entries kept per topic for recovery',
  }),
  presenceNodeTtlMs: option({
    env: 'PRESENCE_NODE_TTL',
    flag: 'presence-node-ttl',
    kind: 'duration',
    schema: intFrom(1000, 3_600_000),
    /** Three missed heartbeats (every TTL/3): a dead node's members leave within about 21 s. */
    default: 15_000,
    help: "node liveness; a dead node's members leave within about 1.4x this",
  }),
  presenceRequestRate: option({
    env: 'PRESENCE_REQUEST_RATE',
    flag: 'presence-request-rate',
    kind: 'int',
    schema: intFrom(0, 1_000_000),
    /** A client re-reads a list after a gap or a storm, not in a loop; 0 turns the limit off. */
    default: 10,
    help: '`presence`/`presence_stats` requests per connection per second (rate_limited beyond); 0: unlimited',
  }),
};
