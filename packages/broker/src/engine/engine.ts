import type { Priority, RecoveryFailureReason } from '@switchboard/protocol';
import type { BrokerError } from '../errors.js';
import type { ConnectionReport, CommandResult, NodeCommand } from './engine-commands.js';

export type { ConnectionReport, CommandResult, NodeCommand, RebalanceReport } from './engine-commands.js';

/**
 * A publication's payload, already serialized once by whoever accepted the publish: JSON as its text (so
 * fan-out splices it into a text frame without parsing or re-stringifying it) or raw bytes (sent in binary
 * frames, never base64-inflated). Engines carry it opaquely.
 */
export type Payload =
  | { readonly encoding: 'json'; readonly text: string }
  | { readonly encoding: 'binary'; readonly bytes: Uint8Array };

/**
 * A position in a topic's stream. `offset` counts the topic's publications (the first is 1; 0 means
 * "before the first"); `epoch` names the lifetime of the topic's stored history and changes whenever that
 * history may have been lost, so offsets are only comparable within one epoch.
 */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

/**
 * One published message as every node sees it. Immutable and delivered once per node by the hub, so it
 * can encode it once and write the same bytes to every local subscriber.
 */
export interface Publication extends StreamPosition {
  readonly topic: string;
  readonly payload: Payload;
  readonly priority: Priority;
  /** Milliseconds since the Unix epoch, from the engine's clock when the publication was accepted. */
  readonly time: number;
  /** Present when the publisher supplied one. */
  readonly idempotencyKey?: string;
}

/** How much of a topic's history to keep; applies to the topic from this publication on. */
export interface HistoryRetention {
  /** Most publications kept; older ones are dropped first. 0 keeps none. */
  readonly size: number;
  /** Publications older than this are dropped. */
  readonly ttlMs: number;
}

export interface PublishOptions {
  readonly priority: Priority;
  /**
   * Deduplicates retries: a publish to the same topic with the same key within the engine's idempotency
   * window is not stored or delivered again; it resolves with the first one's position.
   */
  readonly idempotencyKey?: string;
  /**
   * Keep the publication in the topic's history. Omitted: not kept (it still gets an offset, so gaps stay
   * detectable), which also means recovery across it fails.
   */
  readonly history?: HistoryRetention;
}

export interface PublishResult extends StreamPosition {
  /** The idempotency key matched an earlier publish: nothing was stored or delivered by this call. */
  readonly duplicate: boolean;
}

export interface HistoryQuery {
  /**
   * Return the publications after this position (recovery). Omitted: return the most recent `limit`.
   */
  readonly since?: StreamPosition;
  /** Most publications returned; 0 returns only the current position. */
  readonly limit: number;
}

/**
 * Why a stream cannot be continued from a position, in pubsub.v1's words (protocol.md §8.2), so that no
 * layer translates: `epoch_mismatch` (another epoch, or a position ahead of the stream, or not a position at
 * all), `expired` (history no longer reaches back to it: trimmed by size or TTL), `no_history` (a
 * publication after it was never kept).
 */
export type RecoveryFailure = RecoveryFailureReason;

export interface HistoryResult {
  /** Ascending by offset. */
  readonly publications: readonly Publication[];
  /** The topic's latest position (offset 0 if nothing was published in this epoch). */
  readonly position: StreamPosition;
  /**
   * Only meaningful with `since`: `true` when `since` is in the current epoch and every publication after
   * it is still stored, so `publications` continue the stream exactly (up to `limit`; if the last one's
   * offset is below `position.offset`, ask again since it). `false` when the epoch differs, when
   * publications after `since` were trimmed or never stored, or when `since` is ahead of the stream: then
   * `publications` is empty and the client must resync. Always `false` without `since`.
   */
  readonly recovered: boolean;
  /** Present exactly when `since` was given and `recovered` is false. */
  readonly recoveryFailure?: RecoveryFailure;
}

/**
 * A connection present in a topic (docs/design/presence.md §1.2): it holds an exact subscription to the topic.
 * Connection ids are unique across the cluster's nodes, so one id is at most one member of a topic.
 */
export interface PresenceMember {
  readonly connectionId: string;
  /** The authenticated user; absent for an anonymous connection (which counts as its own user). */
  readonly user?: string;
  /** The connection's info as JSON text, already size-checked by the caller; carried opaquely. */
  readonly info?: string;
}

/** A topic's presence counters, kept as counters by every engine so reading them is O(1) at any size. */
export interface PresenceCounts {
  /** Members (connections). */
  readonly connections: number;
  /** Distinct authenticated users among them. */
  readonly users: number;
  /** Anonymous members. */
  readonly anonymous: number;
}

/**
 * A place in a topic's order that presence entries share with publications (design §2.1): `offset` is the
 * topic's last publication when the entry was written, `seq` counts the topic's presence entries in the epoch
 * (1, 2, 3...; 0 means "before the first"). Entry `(o, s)` follows publication `o` and precedes `o + 1`.
 */
export interface PresencePosition extends StreamPosition {
  readonly seq: number;
}

/**
 * Why a member left: `left` (unsubscribed), `disconnected` (its connection closed, or its node unregistered or
 * closed cleanly), `expired` (its node stopped heartbeating and was swept), `server` (an admin unsubscribe).
 */
export type LeaveReason = 'left' | 'disconnected' | 'expired' | 'server';

/**
 * One entry of a topic's presence stream. `first` marks a user's first connection in, `last` its last out (an
 * anonymous member is always both). A `stats` entry stands for `coalesced` joins and leaves that the rate cap
 * (`PresenceOptions.eventRate`) kept from becoming entries, with the counters after them: every change is an
 * entry or counted in one, never silently lost.
 */
export type PresenceEntry = PresencePosition & { readonly topic: string; readonly time: number } & (
    | { readonly kind: 'join'; readonly member: PresenceMember; readonly first: boolean }
    | { readonly kind: 'leave'; readonly member: PresenceMember; readonly last: boolean; readonly reason: LeaveReason }
    | { readonly kind: 'stats'; readonly counts: PresenceCounts; readonly coalesced: number }
  );

/** Per-topic presence settings, from the broker's config; applied from the call on. */
export interface PresenceOptions {
  /**
   * Most join/leave entries per topic per 1-second window, across nodes; beyond it a change still updates
   * members and counters but is coalesced into one `stats` entry written when the window ends. 0: no cap.
   */
  readonly eventRate: number;
  /** How many presence entries (and for how long) are kept for `since`. */
  readonly history: HistoryRetention;
}

/**
 * The result of a join or leave: `written` (an entry at `position`), `coalesced` (the change is applied and
 * counted for a `stats` entry; call `flush` at `flushAt`, the engine's clock) or `unchanged` (already a
 * member, or not one: no entry). `position` is the entry's, or the topic's current one.
 */
export interface PresenceWrite {
  readonly outcome: 'written' | 'coalesced' | 'unchanged';
  readonly position: PresencePosition;
  readonly flushAt?: number;
}

/** A topic's members as of `seq`: exactly the entries up to it are reflected. */
export interface PresenceSnapshot extends PresencePosition {
  readonly counts: PresenceCounts;
  /** Absent exactly when `truncated`. */
  readonly members?: readonly PresenceMember[];
  /** More than `maxMembers` connections: counters only (the members were never loaded). */
  readonly truncated: boolean;
}

/** A history read that also continues the presence stream (recovery with `since[topic].seq`). */
export interface PresenceHistoryQuery extends HistoryQuery {
  /** Required: presence positions are only comparable within `since.epoch`. */
  readonly since: StreamPosition;
  /** The last presence `seq` the reader has in `since.epoch`; entries after it are returned (at most `limit`). */
  readonly presenceSince: number;
}

/** The presence entries after a position, if the presence stream can be continued from there. */
export interface PresenceHistory {
  /** Ascending by `seq`; empty unless `recovered`. At most `limit`: if the last is below `position.seq`, ask again. */
  readonly entries: readonly PresenceEntry[];
  /** The topic's latest presence position. */
  readonly position: PresencePosition;
  readonly recovered: boolean;
  /** Present exactly when `recovered` is false: `epoch_mismatch` (another epoch, or ahead) or `expired` (trimmed). */
  readonly recoveryFailure?: RecoveryFailure;
}

/**
 * Presence for an engine that supports it (docs/design/presence.md §4.1). Members, counters, `seq` and the
 * entry change in one step per call, so counters always equal the member set, an entry exists exactly when a
 * change happened (or is counted in a `stats` entry's `coalesced`), and entries are ordered with the topic's
 * publications through the shared `offset`. Entries reach every node subscribed to the topic exactly through
 * `EngineHandler.onPresence` (this node included), in `seq` order.
 *
 * Liveness: while a node runs, its members stay; if it dies without `unregister`/`close`, every member it
 * joined leaves with an `expired` entry within a bounded time (the engine's node TTL plus a third of it; on
 * Redis plus a second of slack for shard clocks, docs/design/presence.md §3.4).
 *
 * Every method rejects like `publish`: `ERR_BROKER_ENGINE_UNAVAILABLE` when the backend cannot confirm (or the
 * node was declared dead), `ERR_BROKER_INVALID_TOPIC` for a non-topic, `RangeError` for settings that are not
 * numbers in range (a caller bug).
 */
export interface EnginePresence {
  /** Makes `member` a member of `topic` on this node; `unchanged` if it already is one. */
  join(topic: string, member: PresenceMember, options: PresenceOptions): Promise<PresenceWrite>;
  /** Removes this node's member `connectionId`; `unchanged` if it is not one (a late or repeated leave is harmless). */
  leave(topic: string, connectionId: string, reason: LeaveReason, options: PresenceOptions): Promise<PresenceWrite>;
  /** Writes the topic's pending `stats` entry if its window has ended (call at a `flushAt`); else nothing. */
  flush(topic: string, options: PresenceOptions): Promise<void>;
  /** The members grouped as stored, or only counters beyond `maxMembers` (design: `presence`). */
  list(topic: string, query: { readonly maxMembers: number }): Promise<PresenceSnapshot>;
  /** Counters and position, O(1) (design: `presenceStats`). */
  stats(topic: string): Promise<PresencePosition & PresenceCounts>;
  /**
   * `Engine.history` and, in the same step, the presence entries after `query.presenceSince` (design §2.2: one
   * read, so the two agree on where the stream is and the caller can merge them by `(offset, seq)`). A trimmed
   * presence stream fails only `presence` (`expired`); another epoch fails both (`epoch_mismatch`).
   */
  history(topic: string, query: PresenceHistoryQuery): Promise<HistoryResult & { readonly presence: PresenceHistory }>;
  /** This node's members of `topic` as the engine has them (to reconcile after lost liveness). */
  ownMembers(topic: string): Promise<readonly string[]>;
  /** Clean shutdown (SIGTERM): every member of this node leaves now, `disconnected`. Call before `close`. */
  unregister(): Promise<void>;
}

/** What the hub gives the engine to hear from it. Called synchronously from the engine's I/O; must not throw. */
export interface EngineHandler {
  /**
   * A publication on a topic that matches at least one pattern this node subscribed to, including
   * publications made through this same engine: the hub delivers to its local subscribers only from here,
   * so local and remote subscribers see one order and nobody gets a message twice.
   */
  onPublication(publication: Publication): void;
  /**
   * The engine lost its backend (e.g. the Redis connection or its pub/sub subscription): from now until
   * `onResumed`, publications may be missed, `publish` and `history` reject with
   * `ERR_BROKER_ENGINE_UNAVAILABLE`, and `ready()` is false. Local clients stay connected. Publications
   * handed over meanwhile (a rebuilt subscription delivers before `onResumed`) may follow missed ones: the
   * hub holds those of the topics it tracks until its recovery has replayed what came before them.
   */
  onInterrupted?(error: BrokerError): void;
  /**
   * The backend is back and every subscribed pattern is active again (the engine re-subscribes by itself).
   * Publications made in between may have been missed: the hub recovers them from `history` for the
   * topics it tracks, comparing offsets, and tells clients about any gap it cannot fill.
   */
  onResumed?(): void;
  /**
   * A presence entry on a topic this node subscribed to exactly (engines with `presence` only; wildcard
   * patterns get none: they are never members, design §1.2), in `seq` order per topic. A `seq` that skips
   * ahead is reported like a skipped offset (`onInterrupted`, `onResumed`), so a loss is never silent.
   */
  onPresence?(entry: PresenceEntry): void;
  /**
   * An engine with a backend reports how long each command to it took, answered or failed (for the latency
   * histograms). Called on the hot path: once per publish and history read.
   */
  onCommandTimed?(command: EngineCommand, seconds: number): void;
  /**
   * This node's presence liveness had lapsed (a backend outage or a pause longer than the node TTL), so other
   * nodes may have swept its members; the engine has registered it again. The broker re-asserts its members
   * (`EnginePresence.ownMembers`, then join what is missing and leave what it no longer has).
   */
  onMembershipLost?(): void;
  /**
   * Members this node's sweep removed (engines with `presence` only): a dead node's, `expired`, or this node's
   * own leftovers at its clean unregister, `disconnected`. Each removed member is reported once in the
   * cluster, by the one node whose sweep removed it; no `onPresence` listener may hear of it (webhooks do).
   */
  onMembersSwept?(topic: string, members: readonly PresenceMember[], reason: LeaveReason): void;
  /**
   * `node` (another node's `Engine.nodeId`) was found dead and its members swept: called on the one node
   * holding its sweep lease, which the engine keeps while the promise is pending. A rejection leaves the node
   * to be swept again by a later heartbeat, here or elsewhere, and this called again.
   */
  onNodeSwept?(node: string): Promise<void>;
  /** An admin command for this node's connections (`Engine.command`, any node's); returns what it acted on. */
  onCommand?(command: NodeCommand): readonly ConnectionReport[];
}

/** The backend commands an engine times: the publish (Redis: its script) and a history read. */
export type EngineCommand = 'publish' | 'history';

/**
 * Cross-node fan-out plus per-topic history, modelled on centrifuge's Broker. One engine instance per broker
 * node; the in-memory engine serves a single node, the Redis engine a cluster of them.
 *
 * Subscriptions are per node, not per connection: the hub reference-counts local subscribers per pattern
 * (see `TopicTrie.add`/`remove`) and calls `subscribe` on the first and `unsubscribe` after the last. The
 * engine does not count: subscribing twice is the same as once.
 *
 * Guarantees, for every implementation (checked by `test/engine/engine-contract.ts`):
 * - Offsets: each publication to a topic gets the next offset of the topic's current epoch (1, 2, 3...),
 *   whether or not it is kept in history. Publishes made through one engine instance get offsets in the
 *   order the calls were made, even without awaiting each.
 * - Delivery: each publication on a topic matching at least one of a node's patterns reaches that node's
 *   `onPublication`, in offset order per topic; never for a topic that matches none. Once when one pattern
 *   matches; when several do, an engine may hand it over once per pattern (Redis receives it on each
 *   pattern's channel), the copies right after each other, and the hub delivers each (topic, epoch,
 *   offset) once. Across an interruption (`onInterrupted` … `onResumed`) publications may be missed,
 *   never handed over again or reordered.
 * - Patterns use the broker's syntax (`*` one segment, `>` one or more trailing segments); an engine whose
 *   backend matches differently (Redis globs let `*` cross dots) filters with the same rules as `TopicTrie`.
 * - Errors: operational failures reject with a `BrokerError` and a stable code (invalid arguments that only
 *   a caller bug produces reject with `RangeError`); `ERR_BROKER_ENGINE_UNAVAILABLE` means the backend could
 *   not confirm the operation (a publish may then be retried with its idempotency key).
 */
export interface Engine {
  /** This node's id in the engine, unique per process life: presence members and sweeps name it (`onNodeSwept`). */
  readonly nodeId: string;

  /**
   * Presence, or `undefined` when this engine does not implement it: the broker must then refuse presence
   * rather than pretend a topic is empty.
   */
  readonly presence: EnginePresence | undefined;

  /**
   * Connects (if it has a backend) and starts delivering to `handler`. Call once, before anything else;
   * other methods reject with `ERR_BROKER_ENGINE_NOT_STARTED` until it resolves, and a second call rejects
   * with `ERR_BROKER_ENGINE_ALREADY_STARTED`.
   */
  start(handler: EngineHandler): Promise<void>;

  /**
   * Starts delivering topics that match `pattern` to this node. Publications made after the returned
   * promise resolves are delivered; ones racing with the call may or may not be (the hub closes that race
   * with `history` since a known position). The pattern stays registered until `unsubscribe`, across
   * backend outages: if the backend is down the promise rejects with `ERR_BROKER_ENGINE_UNAVAILABLE`, yet
   * the pattern becomes active by itself when the backend returns.
   *
   * @throws BrokerError `ERR_BROKER_INVALID_PATTERN` (rejection) for a structurally invalid pattern.
   */
  subscribe(pattern: string): Promise<void>;

  /**
   * Stops delivering topics that match `pattern` (and no other subscribed pattern). Takes effect at once:
   * once called, `onPublication` is not called for a topic matched only by removed patterns, even for
   * messages already in flight. Never rejects for an outage; unknown patterns are ignored.
   */
  unsubscribe(pattern: string): Promise<void>;

  /**
   * Publishes to every node with a matching pattern (this one included, through `onPublication`), and
   * keeps the publication in the topic's history if `options.history` says so.
   *
   * @returns the position the publication got (or, for a duplicate idempotency key within the window, the
   *   first publication's position with `duplicate: true`).
   * @throws BrokerError (rejection) `ERR_BROKER_ENGINE_UNAVAILABLE` when the backend is unreachable: the
   *   publication was not confirmed, and the publisher must be told (never a silent loss);
   *   `ERR_BROKER_INVALID_TOPIC` for a topic that is not one (e.g. contains a wildcard).
   * @throws RangeError (rejection) for a history retention that is not a size >= 0 and a TTL > 0: a bug in
   *   the caller's config, not an operational failure.
   */
  publish(topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult>;

  /**
   * Reads a topic's stored history and current position; with `since`, tells whether the stream can be
   * continued from there (see `HistoryResult.recovered`). Reading a topic that was never published
   * establishes its epoch, so a client may read the position first and subscribe `since` it later.
   *
   * @throws BrokerError (rejection) `ERR_BROKER_ENGINE_UNAVAILABLE` when the backend is unreachable;
   *   `ERR_BROKER_INVALID_TOPIC` for a topic that is not one.
   * @throws RangeError (rejection) for a `limit` that is not an integer >= 0. A `since` that is not a valid
   *   position is not an error: it simply cannot be recovered from (`recovered: false`).
   */
  history(topic: string, query: HistoryQuery): Promise<HistoryResult>;

  /**
   * Readiness, honestly: `true` only when publishing and delivery work right now (the Redis engine proves
   * it with a canary message through pub/sub and back, not with a TCP connection). Never rejects.
   */
  ready(): Promise<boolean>;

  /**
   * Runs an admin command on every node, this one included (each through its handler's `onCommand`), and
   * gathers their answers for up to `timeoutMs`: the result says how many nodes were expected and answered.
   * At most once per node; never retried.
   *
   * @throws BrokerError (rejection) `ERR_BROKER_ENGINE_UNAVAILABLE` when the command could not be sent.
   */
  command(command: NodeCommand, timeoutMs: number): Promise<CommandResult>;

  /**
   * Stops delivering and releases the backend. Idempotent. Afterwards `ready()` is false and the other
   * methods reject with `ERR_BROKER_ENGINE_CLOSED`.
   */
  close(): Promise<void>;
}
