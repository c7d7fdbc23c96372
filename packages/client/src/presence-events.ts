/** What presence looks like to the application (protocol.md §13): snapshots, counts, joins, leaves, member lists. */
import type { LeaveReason, PresenceLevel } from '@switchboard/protocol';
import type { PresenceCounts } from './presence-set.js';

export type { PresenceCounts } from './presence-set.js';

/** A topic's members at presence position `seq` (`presence()`); `info` is `null` for a connection without. */
export interface PresenceSnapshot<Info> {
  readonly topic: string;
  readonly epoch: string;
  readonly offset: number;
  readonly seq: number;
  readonly counts: PresenceCounts;
  /** More members than the broker lists: `users` and `anonymous` are empty, only `counts` hold. */
  readonly truncated: boolean;
  /** user → connection id → info. */
  readonly users: Readonly<Record<string, Readonly<Record<string, Info | null>>>>;
  /** connection id → info, for connections without a user. */
  readonly anonymous: Readonly<Record<string, Info | null>>;
}

/** A topic's counts at presence position `seq` (`presenceStats()`); the same cost at 10 and 100,000 members. */
export interface PresenceStats extends PresenceCounts {
  readonly topic: string;
  readonly epoch: string;
  readonly offset: number;
  readonly seq: number;
}

interface MemberEvent {
  readonly topic: string;
  readonly connectionId: string;
  /** Absent: an anonymous connection (its own user: `first` and `last` are always true for it). */
  readonly user?: string;
  readonly epoch: string;
  readonly offset: number;
  readonly seq: number;
}

/** A connection became a member; `first`: its user's first connection in. */
export interface JoinEvent<Info> extends MemberEvent {
  readonly info: Info | null;
  readonly first: boolean;
}

/** A connection stopped being a member; `last`: its user's last connection out. */
export interface LeaveEvent extends MemberEvent {
  readonly last: boolean;
  readonly reason: LeaveReason;
}

/** The `onMembers` callback: the live member maps after a change, or after a resync re-read the list. */
export interface MembersChange<Info> {
  readonly topic: string;
  /** user → connection id → info; the same live map as `subscription.members`. */
  readonly members: ReadonlyMap<string, ReadonlyMap<string, Info | null>>;
  /** connection id → info, for anonymous connections. */
  readonly anonymous: ReadonlyMap<string, Info | null>;
  readonly counts: PresenceCounts | undefined;
  readonly truncated: boolean;
  /**
   * Why the list changed: an event, or a `resync` (the first snapshot, and re-reads after a `presence_gap`,
   * a coalesced update or a failed presence recovery).
   */
  readonly cause: 'join' | 'leave' | 'stats' | 'resync';
}

/** The presence options of `subscribe` (an exact topic whose broker serves presence). */
export interface PresenceOptions<Info> {
  /**
   * Join and leave events, and a live member list in `subscription.members`: `user` for a user's first
   * connection in and last out, `connection` for every connection (protocol.md §13.3).
   */
  readonly presence?: PresenceLevel;
  readonly onJoin?: (event: JoinEvent<Info>) => void;
  readonly onLeave?: (event: LeaveEvent) => void;
  /** The member list changed: every event, and every re-read after a loss. */
  readonly onMembers?: (change: MembersChange<Info>) => void;
}
