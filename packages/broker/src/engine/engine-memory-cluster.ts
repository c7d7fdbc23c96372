import { randomBytes } from 'node:crypto';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { assertValidTopic } from '../topics/topic-checks.js';
import { TopicStream } from './topic-stream.js';
import type {
  HistoryQuery,
  HistoryResult,
  LeaveReason,
  Payload,
  PresenceCounts,
  PresenceEntry,
  PresenceHistory,
  PresenceHistoryQuery,
  PresenceMember,
  PresenceOptions,
  PresencePosition,
  PresenceSnapshot,
  PresenceWrite,
  Publication,
  PublishOptions,
  PublishResult,
} from './engine.js';
import type { ConnectionReport, CommandResult, NodeCommand } from './engine-commands.js';
import { IdempotencyWindow } from './idempotency-window.js';
import { NodeLiveness } from './node-liveness.js';
import { TopicPresence, type PresenceChange } from './topic-presence.js';

export interface MemoryClusterOptions {
  /**
   * Current time in milliseconds since the Unix epoch: publication times, history TTLs, idempotency windows.
   * @default Date.now — publication times are wall-clock so they mean the same to every client.
   */
  readonly now?: () => number;
  /**
   * Start of every epoch this cluster issues; a stream's epoch is this plus a per-cluster counter.
   * @default 12 random hex digits — the memory engine loses its history when the process exits, so a new
   *   process must never reissue an old epoch (clients would "recover" from history that is not there).
   */
  readonly epochPrefix?: string;
  /**
   * How long an idempotency key is remembered.
   * @default 120000 (2 minutes) — covers a publisher's retries across a reconnect with backoff.
   */
  readonly idempotencyWindowMs?: number;
  /**
   * Most idempotency keys remembered; beyond it the oldest are forgotten early.
   * @default 100000 — about 10 MiB at most, ~800 keyed publishes/s over the whole window.
   */
  readonly maxIdempotencyKeys?: number;
  /**
   * How long a topic's stream (offset counter and epoch) outlives its last publish and its retained history.
   * Once forgotten, the topic's next publish starts a new epoch at offset 1.
   * @default 86400000 (24 hours) — bounds memory when topics come and go (one per user, per session), while
   *   outliving any client's reconnect window.
   */
  readonly streamIdleTtlMs?: number;
  /**
   * How long a node that stopped (`crash`) still counts as alive; its presence members then leave with
   * `expired` entries, at the latest a third of this later (sweeps run on every call and on a timer).
   * @default 15000 — as `PRESENCE_NODE_TTL` (docs/design/presence.md §4.4).
   */
  readonly presenceNodeTtlMs?: number;
}

export const memoryClusterDefaults = {
  idempotencyWindowMs: 2 * 60 * 1000,
  maxIdempotencyKeys: 100_000,
  streamIdleTtlMs: 24 * 60 * 60 * 1000,
  presenceNodeTtlMs: 15_000,
} as const;

/** What a memory engine node exposes to its cluster. */
export interface MemoryClusterNode {
  /** Unique in the cluster: presence members belong to a node. */
  readonly id: string;
  deliver(publication: Publication): void;
  presence(entry: PresenceEntry): void;
  interrupted(error: BrokerError): void;
  resumed(): void;
  /** Runs an admin command on the node's connections; returns what it acted on. */
  command?(command: NodeCommand): readonly ConnectionReport[];
  /** Members a sweep removed, told to the one node the sweep stands for (`EngineHandler.onMembersSwept`). */
  swept?(topic: string, members: readonly PresenceMember[], reason: LeaveReason): void;
  /** A crashed node was swept, told to that same node (`EngineHandler.onNodeSwept`). */
  nodeSwept?(node: string): void;
}

interface StreamSlot {
  readonly stream: TopicStream;
  /** When the stream may be forgotten: idle TTL after the last publish, or the newest retained publication's expiry. */
  expiresAt: number;
  /** Created by the topic's first presence call; adopts the stream's epoch (design §3.6). */
  presence?: TopicPresence;
  /** The last presence call's settings, for the leaves and flushes a sweep writes on the topic. */
  presenceOptions?: PresenceOptions;
}

/** Streams swept per call at most, so one call never pays for a large backlog of expired topics. */
const maxStreamsSweptPerCall = 64;

/**
 * The shared state behind memory engine nodes: per-topic streams (offsets, epochs, history) and the
 * idempotency window. One `MemoryEngine` makes its own; several nodes given the same cluster behave like
 * broker nodes sharing one Redis, so cross-node behaviour (and the engine contract's cross-node checks) can
 * be tested in one process. `interrupt()`/`resume()` simulate a backend outage.
 */
export class MemoryCluster {
  private readonly now: () => number;
  private readonly epochPrefix: string;
  private readonly streamIdleTtlMs: number;
  private readonly idempotency: IdempotencyWindow<PublishResult>;
  /** In order of last publish (re-inserted on publish), so expired streams are found at the front. */
  private readonly streams = new Map<string, StreamSlot>();
  private readonly nodes = new Set<MemoryClusterNode>();
  private readonly presenceNodeTtlMs: number;
  private readonly liveness = new NodeLiveness();
  /** Topics where each node has members: the sweep index. */
  private readonly presenceTopics = new Map<string, Set<string>>();
  /** Topics owing a coalesced `stats` entry, flushed by sweeps if no node calls `flushPresence`. */
  private readonly pendingFlushes = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private epochCounter = 0;
  private outage: BrokerError | undefined;

  constructor(options: MemoryClusterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.epochPrefix = options.epochPrefix ?? randomBytes(6).toString('hex');
    this.streamIdleTtlMs = options.streamIdleTtlMs ?? memoryClusterDefaults.streamIdleTtlMs;
    this.presenceNodeTtlMs = options.presenceNodeTtlMs ?? memoryClusterDefaults.presenceNodeTtlMs;
    if (!(Number.isFinite(this.presenceNodeTtlMs) && this.presenceNodeTtlMs > 0)) {
      throw new RangeError(`presenceNodeTtlMs must be > 0, got ${this.presenceNodeTtlMs}`);
    }
    this.idempotency = new IdempotencyWindow({
      windowMs: options.idempotencyWindowMs ?? memoryClusterDefaults.idempotencyWindowMs,
      maxKeys: options.maxIdempotencyKeys ?? memoryClusterDefaults.maxIdempotencyKeys,
      now: this.now,
    });
  }

  /** Whether the simulated backend is up. */
  get available(): boolean {
    return this.outage === undefined;
  }

  /** Topics with a live stream (for memory metrics and tests). */
  get streamCount(): number {
    return this.streams.size;
  }

  attach(node: MemoryClusterNode): void {
    this.nodes.add(node);
    this.liveness.beat(node.id, this.now(), this.presenceNodeTtlMs);
    // Unref'd: sweeps must not keep a process alive; every cluster call sweeps as well.
    this.sweepTimer ??= setInterval(() => this.sweepPresence(this.now()), this.presenceNodeTtlMs / 3).unref();
  }

  /** A clean stop (`close`): the node's members leave at once, `disconnected`. */
  detach(node: MemoryClusterNode): void {
    this.removeMembers(node.id, node);
    this.nodes.delete(node);
    this.liveness.forget(node.id);
    this.stopSweepsIfIdle();
  }

  /**
   * Simulates a node killed with -9: it is detached with no cleanup, so its presence members stay until its
   * liveness lapses and a sweep removes them with `expired` entries. Its later presence writes fail.
   */
  crash(nodeId: string): void {
    for (const node of this.nodes) if (node.id === nodeId) this.nodes.delete(node);
  }

  /** A clean unregister (SIGTERM): every member of `nodeId` leaves now, `disconnected`; the node stays attached. */
  unregister(nodeId: string): void {
    this.assertAvailable();
    this.removeMembers(nodeId, [...this.nodes].find((node) => node.id === nodeId));
  }

  /** Every member of `nodeId` leaves now, `disconnected`: a clean stop, so no TTL to wait for. */
  private removeMembers(nodeId: string, self: MemoryClusterNode | undefined): void {
    const now = this.now();
    for (const topic of [...(this.presenceTopics.get(nodeId) ?? [])]) this.leaveAll(topic, nodeId, 'disconnected', now, self);
    this.presenceTopics.delete(nodeId);
  }

  /**
   * Removes the members of nodes whose liveness lapsed (with `expired` entries) and writes the coalesced
   * `stats` entries whose window ended. Runs on every call and on an unref'd timer; nothing during an outage
   * (a backend that is down sweeps nothing).
   */
  sweepPresence(now: number = this.now()): void {
    if (this.outage !== undefined) return;
    for (const node of this.nodes) this.liveness.beat(node.id, now, this.presenceNodeTtlMs);
    for (const dead of this.liveness.due(now)) {
      // One live node stands for the sweep, as the holder of a dead node's lease does on Redis.
      const sweeper = this.nodes.values().next().value;
      for (const topic of [...(this.presenceTopics.get(dead) ?? [])]) this.leaveAll(topic, dead, 'expired', now, sweeper);
      this.presenceTopics.delete(dead);
      this.liveness.forget(dead);
      sweeper?.nodeSwept?.(dead);
    }
    for (const topic of [...this.pendingFlushes]) {
      const slot = this.streams.get(topic);
      if (slot?.presence === undefined || slot.presenceOptions === undefined) this.pendingFlushes.delete(topic);
      else this.deliverPresence(topic, slot.presence, slot.presence.flush(slot.stream.position, slot.presenceOptions, now));
    }
    this.stopSweepsIfIdle();
  }

  join(nodeId: string, topic: string, member: PresenceMember, options: PresenceOptions): PresenceWrite {
    return this.presenceWrite(nodeId, topic, options, true, (presence, slot, now) =>
      presence.join(nodeId, member, slot.stream.position, options, now),
    );
  }

  leave(nodeId: string, topic: string, connectionId: string, reason: LeaveReason, options: PresenceOptions): PresenceWrite {
    // No liveness check: a late leave from a node being swept is harmless (design §3.3, presence_leave).
    return this.presenceWrite(nodeId, topic, options, false, (presence, slot, now) =>
      presence.leave(nodeId, connectionId, reason, slot.stream.position, options, now),
    );
  }

  flushPresence(topic: string, options: PresenceOptions): void {
    this.presenceWrite(undefined, topic, options, false, (presence, slot, now) => {
      const entries = presence.flush(slot.stream.position, options, now);
      return { outcome: 'unchanged', position: presence.position(slot.stream.position), entries };
    });
  }

  listPresence(topic: string, maxMembers: number): PresenceSnapshot {
    if (!(Number.isSafeInteger(maxMembers) && maxMembers >= 0)) throw new RangeError(`maxMembers must be an integer >= 0, got ${maxMembers}`);
    const { presence, position } = this.presenceRead(topic);
    const counts = presence.counts;
    // Counters first, so a topic over the limit is never loaded.
    if (counts.connections > maxMembers) return { ...position, counts, truncated: true };
    return { ...position, counts, members: presence.memberList(), truncated: false };
  }

  presenceStats(topic: string): PresencePosition & PresenceCounts {
    const { presence, position } = this.presenceRead(topic);
    return { ...position, ...presence.counts };
  }

  presenceHistory(topic: string, query: PresenceHistoryQuery): HistoryResult & { readonly presence: PresenceHistory } {
    const history = this.history(topic, query);
    const { presence, slot } = this.presenceRead(topic);
    const since = { epoch: query.since.epoch, seq: query.presenceSince };
    return { ...history, presence: presence.since(slot.stream.position, since, query.limit, this.now()) };
  }

  ownMembers(nodeId: string, topic: string): readonly string[] {
    return this.presenceRead(topic).presence.membersOf(nodeId);
  }

  /** Simulates losing the backend: publishes and history reads fail until `resume()`. */
  interrupt(): void {
    if (this.outage !== undefined) return;
    const outage = new BrokerError(BrokerErrorCode.engineUnavailable, 'memory cluster: simulated outage');
    this.outage = outage;
    for (const node of this.nodes) node.interrupted(outage);
  }

  resume(): void {
    if (this.outage === undefined) return;
    this.outage = undefined;
    for (const node of this.nodes) node.resumed();
  }

  /** Delivers an admin command to every attached node, synchronously (design §3.6); fails in an outage. */
  command(command: NodeCommand): CommandResult {
    this.assertAvailable();
    const nodes = [...this.nodes];
    const connections = nodes.flatMap((node) => node.command?.(command) ?? []);
    return { connections, nodes: { expected: nodes.length, answered: nodes.length }, complete: true };
  }

  /** Throws `ERR_BROKER_ENGINE_UNAVAILABLE` during a simulated outage. */
  assertAvailable(): void {
    if (this.outage !== undefined) {
      throw new BrokerError(BrokerErrorCode.engineUnavailable, this.outage.message, { cause: this.outage });
    }
  }

  publish(topic: string, payload: Payload, options: PublishOptions): PublishResult {
    this.assertAvailable();
    assertValidTopic(topic);
    if (options.history !== undefined) assertRetention(options.history.size, options.history.ttlMs);
    const now = this.now();
    this.sweepStreams(now);
    const { idempotencyKey } = options;
    // The NUL separator cannot occur in a topic or collide across (topic, key) pairs of printable keys.
    const idempotencySlot = idempotencyKey === undefined ? undefined : `${topic}\u0000${idempotencyKey}`;
    if (idempotencySlot !== undefined) {
      const first = this.idempotency.get(idempotencySlot);
      if (first !== undefined) return { ...first, duplicate: true };
    }
    const slot = this.slotFor(topic, now);
    const { stream } = slot;
    const publication: Publication = {
      topic,
      payload,
      priority: options.priority,
      offset: stream.allocateOffset(),
      epoch: stream.epoch,
      time: now,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    };
    stream.append(publication, options.history, now);
    slot.expiresAt = Math.max(now + this.streamIdleTtlMs, stream.retainedUntil ?? 0);
    this.streams.delete(topic); // re-insert: most recently published last
    this.streams.set(topic, slot);
    const result: PublishResult = { offset: publication.offset, epoch: publication.epoch, duplicate: false };
    if (idempotencySlot !== undefined) this.idempotency.remember(idempotencySlot, result);
    for (const node of this.nodes) node.deliver(publication);
    return result;
  }

  history(topic: string, query: HistoryQuery): HistoryResult {
    this.assertAvailable();
    assertValidTopic(topic);
    if (!(Number.isSafeInteger(query.limit) && query.limit >= 0)) {
      throw new RangeError(`limit must be an integer >= 0, got ${query.limit}`);
    }
    const now = this.now();
    this.sweepStreams(now);
    const { stream } = this.slotFor(topic, now);
    stream.trim(now);
    if (query.since === undefined) {
      return { publications: stream.latest(query.limit), position: stream.position, recovered: false };
    }
    const continuation = stream.continueAfter(query.since, query.limit);
    return continuation.recovered
      ? { publications: continuation.publications, position: stream.position, recovered: true }
      : { publications: [], position: stream.position, recovered: false, recoveryFailure: continuation.failure };
  }

  private presenceRead(topic: string): { presence: TopicPresence; slot: StreamSlot; position: PresencePosition } {
    this.assertAvailable();
    assertValidTopic(topic);
    const now = this.now();
    this.sweepStreams(now);
    this.sweepPresence(now);
    const slot = this.slotFor(topic, now);
    const presence = (slot.presence ??= new TopicPresence(topic));
    return { presence, slot, position: presence.position(slot.stream.position) };
  }

  /**
   * One presence change, in one step as the Redis scripts will make it: members, counters, `seq`, entries and
   * their delivery. `live`: the writer must be an attached node (a crashed one never writes, as a swept node's
   * join answers `dead` in Redis).
   */
  private presenceWrite(
    nodeId: string | undefined,
    topic: string,
    options: PresenceOptions,
    live: boolean,
    change: (presence: TopicPresence, slot: StreamSlot, now: number) => PresenceChange,
  ): PresenceWrite {
    this.assertAvailable();
    assertValidTopic(topic);
    assertPresenceOptions(options);
    const now = this.now();
    if (live && ![...this.nodes].some((node) => node.id === nodeId)) {
      throw new BrokerError(BrokerErrorCode.engineUnavailable, `memory cluster: node ${nodeId} is not alive`);
    }
    this.sweepStreams(now);
    this.sweepPresence(now);
    const slot = this.slotFor(topic, now);
    const presence = (slot.presence ??= new TopicPresence(topic));
    slot.presenceOptions = options;
    const { entries, ...write } = change(presence, slot, now);
    if (nodeId !== undefined) this.indexNode(nodeId, topic, presence);
    this.touch(topic, slot, now);
    this.deliverPresence(topic, presence, entries);
    return write;
  }

  private leaveAll(topic: string, nodeId: string, reason: LeaveReason, now: number, sweeper: MemoryClusterNode | undefined): void {
    const slot = this.streams.get(topic);
    if (slot?.presence === undefined || slot.presenceOptions === undefined) return;
    // Read before they leave: a leave the rate cap coalesces has no entry to name its member.
    const leaving = new Set(slot.presence.membersOf(nodeId));
    const members = slot.presence.memberList().filter((member) => leaving.has(member.connectionId));
    const entries = slot.presence.leaveNode(nodeId, reason, slot.stream.position, slot.presenceOptions, now);
    this.touch(topic, slot, now);
    this.deliverPresence(topic, slot.presence, entries);
    if (members.length > 0) sweeper?.swept?.(topic, members, reason);
  }

  private indexNode(nodeId: string, topic: string, presence: TopicPresence): void {
    let topics = this.presenceTopics.get(nodeId);
    if (presence.membersOf(nodeId).length > 0) {
      if (topics === undefined) this.presenceTopics.set(nodeId, (topics = new Set()));
      topics.add(topic);
    } else if (topics !== undefined) {
      topics.delete(topic);
      if (topics.size === 0) this.presenceTopics.delete(nodeId);
    }
  }

  private deliverPresence(topic: string, presence: TopicPresence, entries: readonly PresenceEntry[]): void {
    if (presence.pendingFlush) this.pendingFlushes.add(topic);
    else this.pendingFlushes.delete(topic);
    for (const entry of entries) for (const node of this.nodes) node.presence(entry);
  }

  /** Presence writes keep a stream alive like publishes (design §3.1: they extend the idle TTL). */
  private touch(topic: string, slot: StreamSlot, now: number): void {
    slot.expiresAt = Math.max(now + this.streamIdleTtlMs, slot.stream.retainedUntil ?? 0, slot.presence?.retainedUntil ?? 0);
    this.streams.delete(topic);
    this.streams.set(topic, slot);
  }

  private stopSweepsIfIdle(): void {
    if (this.nodes.size > 0 || this.liveness.size > 0 || this.sweepTimer === undefined) return;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** The topic's stream, created (with a new epoch) if it does not exist or was forgotten. */
  private slotFor(topic: string, now: number): StreamSlot {
    let slot = this.streams.get(topic);
    if (slot === undefined) {
      const epoch = `${this.epochPrefix}-${(++this.epochCounter).toString(36)}`;
      slot = { stream: new TopicStream(topic, epoch), expiresAt: now + this.streamIdleTtlMs };
      this.streams.set(topic, slot);
    }
    return slot;
  }

  /**
   * Forgets expired streams from the front (least recently published). A stream kept alive by long-lived
   * history may shield expired ones behind it for a while; they go once it does.
   */
  private sweepStreams(now: number): void {
    let swept = 0;
    for (const [topic, slot] of this.streams) {
      if (slot.expiresAt > now || swept === maxStreamsSweptPerCall) break;
      swept++;
      // A topic with members keeps its epoch (and so its presence positions) as long as they stay.
      if ((slot.presence?.counts.connections ?? 0) > 0) this.touch(topic, slot, now);
      else this.streams.delete(topic);
    }
  }
}

function assertPresenceOptions(options: PresenceOptions): void {
  if (!(Number.isSafeInteger(options.eventRate) && options.eventRate >= 0)) {
    throw new RangeError(`presence eventRate must be an integer >= 0, got ${options.eventRate}`);
  }
  assertRetention(options.history.size, options.history.ttlMs);
}

function assertRetention(size: number, ttlMs: number): void {
  if (!(Number.isSafeInteger(size) && size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${size}`);
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`history ttlMs must be > 0, got ${ttlMs}`);
}
