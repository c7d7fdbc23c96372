/** Why a recovery failed (protocol.md §8.2). */
export const RECOVERY_FAILURE_REASONS = ['epoch_mismatch', 'expired', 'no_history'] as const;
/**
 * Why a topic's missed messages cannot be replayed: `epoch_mismatch` (its history was reset, or `since` is
 * ahead of it), `expired` (they left the history kept), `no_history` (the topic keeps none).
 */
export type RecoveryFailureReason = (typeof RECOVERY_FAILURE_REASONS)[number];

/** Why messages were not delivered (protocol.md §8.3). */
export const GAP_REASONS = ['slow_consumer', 'conflation', 'engine_outage'] as const;
/**
 * Why the broker skipped messages of a subscription: `slow_consumer` (the connection's queue was over its cap
 * and the topic's policy dropped queued messages), `conflation` (the topic's policy replaced older queued
 * messages by the latest), `engine_outage` (the cross-node engine lost them and history could not fill in).
 */
export type GapReason = (typeof GAP_REASONS)[number];

/** Which join/leave entries a subscription asks for (protocol.md §13.3): a user's first in and last out, or every connection. */
export const PRESENCE_LEVELS = ['user', 'connection'] as const;
/**
 * `user`: join and leave events for a user's first connection in and last one out (who is here);
 * `connection`: for every connection (each tab or device), at the cost of more events.
 */
export type PresenceLevel = (typeof PRESENCE_LEVELS)[number];

/** Why a member left (protocol.md §13.3). */
export const LEAVE_REASONS = ['left', 'disconnected', 'expired', 'server'] as const;
/**
 * `left`: the connection unsubscribed; `disconnected`: it closed (a broker shutdown too); `expired`: its broker
 * node died and the others removed its members; `server`: the backend ended its server-side subscription.
 */
export type LeaveReason = (typeof LEAVE_REASONS)[number];

/**
 * Why presence entries may be missing (protocol.md §13.3). Its own list, not `GAP_REASONS`: an old client
 * refuses a `gap` whose reason it does not know, and it never receives `presence_gap`.
 */
export const PRESENCE_GAP_REASONS = ['slow_consumer', 'engine_outage'] as const;
export type PresenceGapReason = (typeof PRESENCE_GAP_REASONS)[number];
