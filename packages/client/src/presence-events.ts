/** What presence looks like to the application (protocol.md §13): snapshots, counts, joins, leaves, member lists. */
import type { LeaveReason, PresenceLevel } from '@switchboard/protocol';
import type { PresenceCounts } from './presence-set.js';

export type { PresenceCounts } from './presence-set.js';

/** A topic's members at presence position `seq` (`presence()`); `info` is `null` for a connection without. */
export interface PresenceSnapshot<Info> {
  /** The exact topic listed. */
  readonly topic: string;
  /** The epoch of the topic's history the position counts in. */
  readonly epoch: string;
  /** The topic's last publication when the list was read: messages after it are newer than the list. */
  readonly offset: number;
  /**
   * The last presence entry the list reflects: join and leave events at or below it are already in it, those
   * after it change it (protocol.md §13.4).
   */
  readonly seq: number;
  /** The topic's counts; they hold even when the list is `truncated`. */
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
  /** The exact topic counted. */
  readonly topic: string;
  /** The epoch of the topic's history the position counts in. */
  readonly epoch: string;
  /** The topic's last publication when the counts were read. */
  readonly offset: number;
  /** The last presence entry the counts reflect (protocol.md §13.4). */
  readonly seq: number;
}

interface MemberEvent {
  /** The exact topic whose membership changed. */
  readonly topic: string;
  /** The broker's id of the connection that joined or left; a user with several tabs has several. */
  readonly connectionId: string;
  /** Absent: an anonymous connection (its own user: `first` and `last` are always true for it). */
  readonly user?: string;
  /** The epoch of the topic's history the position counts in. */
  readonly epoch: string;
  /** The topic's last publication before the event: it comes after that message and before the next. */
  readonly offset: number;
  /** The event's place in the topic's presence entries (1, 2, 3, ... in the epoch; protocol.md §13.4). */
  readonly seq: number;
}

/** A connection became a member; `first`: its user's first connection in. */
export interface JoinEvent<Info> extends MemberEvent {
  /** What the token (or the broker's auth hook) says of the connection, e.g. a display name; `null`: nothing. */
  readonly info: Info | null;
  /** The user had no connection in the topic before this one (always true for an anonymous connection). */
  readonly first: boolean;
}

/** A connection stopped being a member; `last`: its user's last connection out. */
export interface LeaveEvent extends MemberEvent {
  /** The user has no connection left in the topic (always true for an anonymous connection). */
  readonly last: boolean;
  /** Why: unsubscribed, disconnected, expired with its node, or ended by the backend (see {@link LeaveReason}). */
  readonly reason: LeaveReason;
}

/** The `onMembers` callback: the live member maps after a change, or after a resync re-read the list. */
export interface MembersChange<Info> {
  /** The exact topic whose list changed. */
  readonly topic: string;
  /** user → connection id → info; the same live map as `subscription.members`. */
  readonly members: ReadonlyMap<string, ReadonlyMap<string, Info | null>>;
  /** connection id → info, for anonymous connections. */
  readonly anonymous: ReadonlyMap<string, Info | null>;
  /**
   * The counts as of the last snapshot, coalesced stats entry or event; `undefined` before the first snapshot.
   * At level `user` `connections` moves with snapshots and stats entries only, since the joins and leaves of
   * a user's other connections do not arrive.
   */
  readonly counts: PresenceCounts | undefined;
  /** The last snapshot had more members than the broker lists: the maps stay empty, only `counts` hold. */
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
  /**
   * A member joined: at level `user` a user's first connection only. Called for live and replayed events,
   * not for the members a snapshot lists (those are in `subscription.members`).
   */
  readonly onJoin?: (event: JoinEvent<Info>) => void;
  /** A member left: at level `user` a user's last connection only. Called for live and replayed events. */
  readonly onLeave?: (event: LeaveEvent) => void;
  /** The member list changed: every event, and every re-read after a loss. */
  readonly onMembers?: (change: MembersChange<Info>) => void;
}
