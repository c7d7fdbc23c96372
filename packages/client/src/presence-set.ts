/** One topic's members as the client knows them: a snapshot, then the join and leave entries after it. */
import type { JoinMessage, LeaveMessage, PresenceData, PresenceLevel, PresenceStatsMessage } from '@switchboard/protocol';

/** Connections, distinct authenticated users and anonymous connections of a topic (protocol.md §13.2). */
export interface PresenceCounts {
  /** Member connections, authenticated and anonymous. */
  readonly connections: number;
  /** Distinct authenticated users among them (a user with three tabs counts once). */
  readonly users: number;
  /** Connections without a user, each counted as its own member. */
  readonly anonymous: number;
}

/** A presence position (protocol.md §13.4): after publication `offset` and the entries up to `seq` of `epoch`. */
export interface PresencePosition {
  readonly epoch: string;
  readonly offset: number;
  readonly seq: number;
}

/** A `presence` answer as the set takes it. */
export interface PresenceSnapshotInput extends PresencePosition {
  readonly stats: PresenceCounts;
  readonly truncated: boolean;
  readonly data?: PresenceData;
}

/** An entry of the topic's presence stream: a join, a leave, or a coalesced stats update. */
export type PresenceEntry = JoinMessage | LeaveMessage | PresenceStatsMessage;

/**
 * What {@link PresenceSet.apply} did:
 * - `applied`: the entry was the next one; members or counts may have changed;
 * - `dropped`: at or below the set's `seq` (a replay overlapping what arrived live), or before any position;
 * - `buffered`: the set waits for a snapshot and keeps the entry for it;
 * - `stale`: the set cannot follow (another epoch, or too many entries buffered): read a snapshot.
 */
export type ApplyOutcome = 'applied' | 'dropped' | 'buffered' | 'stale';

/** Entries held while a snapshot is on its way; beyond it the set is stale (a snapshot after that fixes it). */
const MAX_BUFFERED = 10_000;

/**
 * Members of one exact topic, kept from a snapshot plus the entries after it (protocol.md §13.4): entries
 * that arrive while a snapshot is awaited are buffered, and those at or below the snapshot's `seq` dropped
 * once it arrives, so the list reflects every entry exactly once. Pure: the caller asks for snapshots and
 * decides when (after `stale`, a `presence_gap`, `coalesced` stats, or a failed presence recovery).
 *
 * `users` and `anonymous` are live maps: the same objects for the set's whole life. At level `user` only a
 * user's first join and last leave arrive, so a user's connections are exact after a snapshot and the user
 * is exact always; `counts.connections` then follows snapshots and stats entries only.
 */
export class PresenceSet<Info> {
  readonly level: PresenceLevel;
  /** Authenticated members: user → connection id → info (`null`: none). */
  readonly users = new Map<string, Map<string, Info | null>>();
  /** Anonymous members: connection id → info. */
  readonly anonymous = new Map<string, Info | null>();
  #counts: PresenceCounts | undefined;
  #truncated = false;
  #position: PresencePosition | undefined;
  /** Awaiting a snapshot: entries are buffered. A new set awaits its first. */
  #awaiting = true;
  #buffer: PresenceEntry[] = [];
  #overflowed = false;

  constructor(level: PresenceLevel) {
    this.level = level;
  }

  /** The last entry (or snapshot) applied; what a resubscribe sends as `since.seq`. */
  get position(): PresencePosition | undefined {
    return this.#position;
  }

  get counts(): PresenceCounts | undefined {
    return this.#counts;
  }

  /** The last snapshot had more members than the broker lists: only `counts` hold. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Whether a snapshot is awaited (entries are buffered until it arrives). */
  get awaiting(): boolean {
    return this.#awaiting;
  }

  /** A snapshot is on its way: entries from now on wait for it. Members stay as they are until it arrives. */
  awaitSnapshot(): void {
    if (this.#awaiting) return;
    this.#awaiting = true;
    this.#buffer = [];
    this.#overflowed = false;
  }

  /**
   * Takes a snapshot: the members become exactly its own, then buffered entries after its `seq` apply.
   * A snapshot of the same epoch at or below the current `seq` while not awaiting one is older than what
   * the set shows, and is ignored (returns false). Returns `stale` when the buffer overflowed.
   */
  applySnapshot(snapshot: PresenceSnapshotInput): boolean | 'stale' {
    const current = this.#position;
    if (!this.#awaiting && current !== undefined && current.epoch === snapshot.epoch && snapshot.seq <= current.seq) return false;
    this.users.clear();
    this.anonymous.clear();
    for (const [user, connections] of Object.entries(snapshot.data?.users ?? {})) {
      this.users.set(user, new Map(Object.entries(connections) as [string, Info | null][]));
    }
    for (const [connection, info] of Object.entries(snapshot.data?.anonymous ?? {})) this.anonymous.set(connection, info as Info | null);
    this.#counts = { ...snapshot.stats };
    this.#truncated = snapshot.truncated;
    this.#position = { epoch: snapshot.epoch, offset: snapshot.offset, seq: snapshot.seq };
    const buffered = this.#buffer;
    const overflowed = this.#overflowed;
    this.#awaiting = false;
    this.#buffer = [];
    this.#overflowed = false;
    // Entries may have arrived out of seq order beside the answer; apply them in the stream's order.
    buffered.sort((a, b) => a.seq - b.seq);
    for (const entry of buffered) if (entry.epoch === snapshot.epoch) this.apply(entry);
    return overflowed ? 'stale' : true;
  }

  /** Applies one entry of the topic's presence stream (live, or replayed by a recovery). */
  apply(entry: PresenceEntry): ApplyOutcome {
    if (this.#awaiting) {
      if (this.#buffer.length >= MAX_BUFFERED) {
        this.#overflowed = true;
        return 'stale';
      }
      this.#buffer.push(entry);
      return 'buffered';
    }
    const position = this.#position;
    if (position === undefined) return 'stale';
    if (entry.epoch !== position.epoch) return 'stale';
    if (entry.seq <= position.seq) return 'dropped';
    this.#position = { epoch: entry.epoch, offset: entry.offset, seq: entry.seq };
    if (entry.op === 'presence_stats') {
      this.#counts = { connections: entry.connections, users: entry.users, anonymous: entry.anonymous };
    } else if (entry.op === 'join') {
      this.#join(entry);
    } else {
      this.#leave(entry);
    }
    return 'applied';
  }

  /** Forgets the position (a new epoch, or the client gave up on the topic): the next snapshot starts over. */
  reset(): void {
    this.#position = undefined;
    this.awaitSnapshot();
  }

  #join(entry: JoinMessage): void {
    const info = (entry.info ?? null) as Info | null;
    const { user } = entry;
    const anonymous = user === undefined;
    if (!this.#truncated) {
      if (anonymous) this.anonymous.set(entry.connection, info);
      else {
        let connections = this.users.get(user);
        if (connections === undefined) this.users.set(user, (connections = new Map()));
        connections.set(entry.connection, info);
      }
    }
    this.#count(anonymous, entry.first, 1);
  }

  #leave(entry: LeaveMessage): void {
    const { user } = entry;
    const anonymous = user === undefined;
    if (anonymous) this.anonymous.delete(entry.connection);
    else {
      const connections = this.users.get(user);
      connections?.delete(entry.connection);
      // `last`: the user is gone, whichever of its connections the events named (level `user` sees one).
      if (entry.last || connections?.size === 0) this.users.delete(user);
    }
    this.#count(anonymous, entry.last, -1);
  }

  #count(anonymous: boolean, userChanged: boolean, step: 1 | -1): void {
    const counts = this.#counts;
    if (counts === undefined) return;
    const exactConnections = anonymous || this.level === 'connection';
    this.#counts = {
      connections: Math.max(0, counts.connections + (exactConnections ? step : 0)),
      users: Math.max(0, counts.users + (!anonymous && userChanged ? step : 0)),
      anonymous: Math.max(0, counts.anonymous + (anonymous ? step : 0)),
    };
  }
}
