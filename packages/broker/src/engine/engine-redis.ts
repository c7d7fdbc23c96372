import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { assertValidPattern, assertValidTopic } from '../topics/topic-pattern.js';
import { TopicTrie } from '../topics/topic-trie.js';
import type {
  Engine,
  EngineHandler,
  HistoryQuery,
  HistoryResult,
  Payload,
  Publication,
  PublishOptions,
  PublishResult,
  RecoveryFailure,
} from './engine.js';
import { bodyTopic, decodeBody, encodeBody, offsetOfEntryId, parseChannelMessage, parseInteger } from './redis-codec.js';
import { clusterSlots, keySlot, RedisKeyspace, tagForSlots } from './redis-keyspace.js';
import { historyScript, publishScript } from './redis-scripts.js';

/** Redis Cluster mode: sharded pub/sub (SSUBSCRIBE / SPUBLISH) and hash-tagged keys. */
export interface RedisClusterConfig {
  /** Seed nodes (`{ host, port }`, `'host:port'` or a port); the engine discovers the rest. */
  readonly nodes: readonly ClusterNode[];
  /**
   * How many hash-tag buckets topics are spread over (see `redis-keyspace.ts`). A wildcard subscription
   * costs one SSUBSCRIBE per bucket; a topic's state and traffic stay on its bucket's shard. Every node
   * must use the same value.
   * @default 256 — spreads load evenly over up to ~64 shards while a wildcard subscription stays 256 cheap
   *   commands.
   */
  readonly buckets?: number;
  /** Options for every node connection (password, TLS, ...). The engine overrides queueing and retries. */
  readonly redisOptions?: RedisOptions;
  /** More ioredis `Cluster` options (e.g. `natMap`). The engine overrides queueing and retries. */
  readonly clusterOptions?: ClusterOptions;
}

export interface RedisEngineOptions {
  /**
   * A single Redis (or a Sentinel-managed one, through ioredis options): a `redis://` / `rediss://` URL or
   * ioredis options. Exactly one of `redis` and `cluster`.
   */
  readonly redis?: string | RedisOptions;
  /** A Redis Cluster. Exactly one of `redis` and `cluster`. */
  readonly cluster?: RedisClusterConfig;
  /**
   * Prepended to every key and channel, so several deployments can share one Redis.
   * @default 'sb:'
   */
  readonly keyPrefix?: string;
  /**
   * Most leading topic segments a wildcard channel names (see `redis-keyspace.ts`): a publish goes to up to
   * `depth + 2` channels, and a node subscribed to `a.b.*` receives `a.b.>` only at depth >= 2.
   * Every node must use the same value.
   * @default 2 — topics are typically `kind.id.detail`, so `kind.id.*` gets a channel of its own.
   */
  readonly wildcardChannelDepth?: number;
  /**
   * How long an idempotency key is remembered (pubsub.v1 `idempotencyWindowMs`).
   * @default 120000 (2 minutes) — covers a publisher's retries across a reconnect with backoff.
   */
  readonly idempotencyWindowMs?: number;
  /**
   * How long a topic's offsets and epoch outlive its last publish and its retained history; once Redis
   * expires them, the topic's next publish starts a new epoch at offset 1.
   * @default 86400000 (24 hours) — bounds Redis memory when topics come and go, while outliving any
   *   client's reconnect window.
   */
  readonly streamIdleTtlMs?: number;
  /**
   * Longest wait for a Redis command (publish, history, subscribe) before it fails with
   * `ERR_BROKER_ENGINE_UNAVAILABLE`. Also bounds connecting.
   * @default 2000 — a publisher waiting longer is better told to retry (with its idempotency key).
   */
  readonly commandTimeoutMs?: number;
  /**
   * How many replicas must have a publication before its publish is acknowledged (`WAIT` after the publish
   * script); fewer within half of `commandTimeoutMs`: the publish fails with `ERR_BROKER_ENGINE_UNAVAILABLE`
   * (it may have been delivered already; a retry with the same idempotency key is not delivered twice).
   * Replication is asynchronous: with every replica counted, whichever one a failover promotes has every
   * acknowledged publication, and topics keep their epoch. Without, the engine starts new epochs after a
   * failover instead (`replicationHistory`). A single Redis or Sentinel only (not a cluster).
   * @default 0 — acknowledged when the master has it.
   */
  readonly replicasToAck?: number;
  /**
   * Longest wait for the readiness canary to come back through pub/sub.
   * @default 2000 — Redis answers in well under a millisecond; two seconds means it is not working.
   */
  readonly canaryTimeoutMs?: number;
  /**
   * How often the engine sends itself a canary while up; a canary that does not come back is an outage
   * (the subscriber is rebuilt and `onInterrupted` / `onResumed` tell the hub to recover).
   * @default 5000 — finds a subscription that silently stopped working (half-open TCP, a slot moved away)
   *   within seconds, for one tiny message per node. 0 disables it (readiness probes still send canaries).
   */
  readonly healthCheckIntervalMs?: number;
  /**
   * How long `start()` waits for Redis before it rejects with `ERR_BROKER_ENGINE_UNAVAILABLE`.
   * @default 10000 — long enough for Redis started alongside the broker, short enough to fail a
   *   misconfigured deployment visibly.
   */
  readonly startTimeoutMs?: number;
  /**
   * Delay before the first reconnect attempt; doubles per failed attempt up to `reconnectMaxDelayMs`.
   * @default 50
   */
  readonly reconnectMinDelayMs?: number;
  /** @default 1000 — a node is back within a second of Redis, without hammering a Redis that is down. */
  readonly reconnectMaxDelayMs?: number;
  /**
   * Most topics whose last delivered position the engine remembers, to deliver each offset once and to
   * notice offsets that never arrived. Beyond it the least recently delivered are forgotten.
   * @default 100000 — about 10 MB; topics beyond it lose only the engine's own gap check, not
   *   exactly-once delivery (copies of one publication arrive back to back). At least 1.
   */
  readonly maxTrackedTopics?: number;
  /**
   * The clock for publication times, retention TTLs and idempotency windows, in ms since the Unix epoch.
   * @default Redis's own clock (`TIME` inside the scripts) — one clock for every node, whatever their skew.
   */
  readonly now?: () => number;
  /**
   * Start of every epoch this node creates (an epoch is this plus a counter).
   * @default 16 random hex digits — epochs must never repeat across nodes or restarts.
   */
  readonly epochPrefix?: string;
}

export const redisEngineDefaults = {
  keyPrefix: 'sb:',
  wildcardChannelDepth: 2,
  clusterBuckets: 256,
  idempotencyWindowMs: 2 * 60 * 1000,
  streamIdleTtlMs: 24 * 60 * 60 * 1000,
  commandTimeoutMs: 2000,
  replicasToAck: 0,
  canaryTimeoutMs: 2000,
  healthCheckIntervalMs: 5000,
  startTimeoutMs: 10_000,
  reconnectMinDelayMs: 50,
  reconnectMaxDelayMs: 1000,
  maxTrackedTopics: 100_000,
} as const;

type Lifecycle = 'created' | 'starting' | 'started' | 'closed';

/** One pattern this node subscribes to. */
interface Subscription {
  readonly pattern: string;
  readonly channels: readonly string[];
  /** Tick since which the pattern's channels have been subscribed without a break; undefined: not yet. */
  activeSince: number | undefined;
}

/** The last position delivered for a topic. */
interface TrackedPosition {
  readonly epoch: string;
  readonly offset: number;
  readonly seenAt: number;
}

/** One subscriber connection: the only one on a single Redis, one per master in a cluster. */
interface Shard {
  readonly id: string;
  readonly connection: Redis;
  /** Channels subscribed (or being subscribed) on this connection. */
  readonly channels: Set<string>;
  readonly canaryChannel: string;
}

interface Topology {
  readonly generation: number;
  readonly shards: readonly Shard[];
  shardFor(channel: string): Shard | undefined;
}

/** The scripts ioredis defines on the command connection (`defineCommand`). */
interface ScriptCommands {
  switchboardPublish(numKeys: number, ...args: (string | Buffer)[]): Promise<unknown>;
  switchboardHistoryBuffer(numKeys: number, ...args: string[]): Promise<unknown>;
}

/**
 * The Redis engine: broker nodes sharing one Redis (or one Redis Cluster). Topics map to channels as
 * `redis-keyspace.ts` describes; offsets, epochs, history and idempotency live in Redis and change only
 * inside the scripts of `redis-scripts.ts`, so a topic's order is Redis's order across all nodes and its
 * history survives broker restarts.
 *
 * Connections: one command connection (a `Cluster` client in cluster mode) for scripts and canaries, and
 * subscriber connections the engine owns (one, or one per master) with no offline queue and no automatic
 * resubscription: the engine decides when pub/sub is working. Losing any of them, a canary that does not
 * come back, or a slot moving away is an **interruption**: `onInterrupted` (publishes, history and
 * subscribes then reject with `ERR_BROKER_ENGINE_UNAVAILABLE` at once, `ready()` is false), then the engine
 * rebuilds its subscribers with backoff, resubscribes every pattern, proves pub/sub with a canary and calls
 * `onResumed`, after which the hub recovers what it missed from history.
 *
 * Delivery: each node remembers the last offset it delivered per topic. Copies of one publication arriving
 * on several channels are delivered once; an offset that skips ahead on a topic the node has been
 * subscribed to without a break means messages were lost without the connection dropping (nothing in Redis
 * pub/sub should allow it, but a loss must never be silent): the engine reports it as a momentary
 * interruption (`onInterrupted` then `onResumed`, before delivering the later message), so the hub
 * recovers the missing offsets from history or announces the gap.
 */
export class RedisEngine implements Engine {
  readonly keyspace: RedisKeyspace;
  /** Distinguishes this node's canary channel; not persisted. */
  readonly nodeId = randomBytes(6).toString('hex');
  private readonly options: RedisEngineOptions;
  private readonly clusterMode: boolean;
  private readonly idempotencyWindowMs: number;
  private readonly streamIdleTtlMs: number;
  private readonly commandTimeoutMs: number;
  private readonly replicasToAck: number;
  /**
   * The master's `master_replid` as read at the last (re)connect, passed to the scripts as `gen`: a topic
   * written under another one starts a new epoch (redis-scripts.ts). Empty, and so not checked, in cluster
   * mode and with `replicasToAck` (then acknowledged publications survive a failover).
   */
  private replicationHistory = '';
  private readonly canaryTimeoutMs: number;
  private readonly healthCheckIntervalMs: number;
  private readonly startTimeoutMs: number;
  private readonly reconnectMinDelayMs: number;
  private readonly reconnectMaxDelayMs: number;
  private readonly maxTrackedTopics: number;
  private readonly now: (() => number) | undefined;
  private readonly epochPrefix: string;
  private epochCounter = 0;

  private lifecycle: Lifecycle = 'created';
  private handler: EngineHandler | undefined;
  private commands: Redis | Cluster | undefined;
  private topology: Topology | undefined;
  /** `up` exactly while every subscriber is subscribed to every pattern and the canary came back. */
  private link: 'up' | 'down' = 'down';
  /** Bumped by every interruption and every rebuild attempt: a rebuild that sees it change starts over. */
  private generation = 0;
  private recovering: Promise<void> | undefined;
  /** An `onInterrupted` was delivered and its `onResumed` is owed. */
  private resumeOwed = false;
  private lastError: unknown;
  private healthTimer: NodeJS.Timeout | undefined;
  private wakeRecovery: (() => void) | undefined;
  private readonly upWaiters = new Set<(up: boolean) => void>();
  /** Aborted by close(), to end waits that no connection event would end. */
  private readonly closing = new AbortController();

  private readonly subscriptions = new Map<string, Subscription>();
  private readonly trie = new TopicTrie<Subscription>();
  /** Channel → patterns that need it. */
  private readonly channelUsers = new Map<string, Set<string>>();
  /** Topic → last delivered position, least recently delivered first. */
  private readonly positions = new Map<string, TrackedPosition>();
  /** Orders subscription activations and deliveries, to tell whether a topic was covered without a break. */
  private tick = 0;

  /** The canary in flight and the subscribers it tests: a rebuilt topology never reuses an old one's. */
  private canaryInFlight: { readonly topology: Topology; readonly done: Promise<void> } | undefined;
  private canarySequence = 0;
  private readonly canaryWaiters = new Map<string, { resolve(): void; reject(error: BrokerError): void }>();

  private gapCount = 0;
  private interruptionCount = 0;

  constructor(options: RedisEngineOptions) {
    if ((options.redis === undefined) === (options.cluster === undefined)) {
      throw new RangeError('RedisEngine needs exactly one of `redis` and `cluster`');
    }
    this.options = options;
    this.clusterMode = options.cluster !== undefined;
    this.keyspace = new RedisKeyspace({
      prefix: options.keyPrefix ?? redisEngineDefaults.keyPrefix,
      buckets: this.clusterMode ? (options.cluster?.buckets ?? redisEngineDefaults.clusterBuckets) : undefined,
      wildcardChannelDepth: options.wildcardChannelDepth ?? redisEngineDefaults.wildcardChannelDepth,
    });
    this.idempotencyWindowMs = nonNegative('idempotencyWindowMs', options.idempotencyWindowMs ?? redisEngineDefaults.idempotencyWindowMs);
    this.streamIdleTtlMs = positive('streamIdleTtlMs', options.streamIdleTtlMs ?? redisEngineDefaults.streamIdleTtlMs);
    this.commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? redisEngineDefaults.commandTimeoutMs);
    this.replicasToAck = nonNegative('replicasToAck', options.replicasToAck ?? redisEngineDefaults.replicasToAck);
    if (this.replicasToAck > 0 && this.clusterMode) throw new RangeError('replicasToAck is for a single Redis or Sentinel, not a cluster');
    this.canaryTimeoutMs = positive('canaryTimeoutMs', options.canaryTimeoutMs ?? redisEngineDefaults.canaryTimeoutMs);
    this.healthCheckIntervalMs = nonNegative('healthCheckIntervalMs', options.healthCheckIntervalMs ?? redisEngineDefaults.healthCheckIntervalMs);
    this.startTimeoutMs = positive('startTimeoutMs', options.startTimeoutMs ?? redisEngineDefaults.startTimeoutMs);
    this.reconnectMinDelayMs = positive('reconnectMinDelayMs', options.reconnectMinDelayMs ?? redisEngineDefaults.reconnectMinDelayMs);
    this.reconnectMaxDelayMs = positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs ?? redisEngineDefaults.reconnectMaxDelayMs);
    // At least one: copies of a publication arrive back to back, and remembering the last topic dedupes them.
    this.maxTrackedTopics = positive('maxTrackedTopics', options.maxTrackedTopics ?? redisEngineDefaults.maxTrackedTopics);
    this.now = options.now;
    this.epochPrefix = options.epochPrefix ?? randomBytes(8).toString('hex');
    if (!/^[!-~]{1,40}$/.test(this.epochPrefix)) {
      throw new RangeError(`epochPrefix must be 1-40 visible ASCII characters, got ${JSON.stringify(this.epochPrefix)}`);
    }
  }

  /** Patterns this node is subscribed to (for metrics). */
  get patternCount(): number {
    return this.subscriptions.size;
  }

  /** Redis channels this node needs (for metrics), not counting its canaries. */
  get channelCount(): number {
    return this.channelUsers.size;
  }

  /** Offsets found missing on a topic the node was subscribed to without a break (reported, for metrics). */
  get gapsDetected(): number {
    return this.gapCount;
  }

  /** Interruptions reported through `onInterrupted`, gap reports included (for metrics). */
  get interruptions(): number {
    return this.interruptionCount;
  }

  async start(handler: EngineHandler): Promise<void> {
    if (this.lifecycle === 'closed') throw closedError();
    if (this.lifecycle !== 'created') {
      throw new BrokerError(BrokerErrorCode.engineAlreadyStarted, 'engine already started');
    }
    this.lifecycle = 'starting';
    this.handler = handler;
    const commands = this.createCommandConnection();
    this.commands = commands;
    commands.connect().catch(() => undefined); // failures arrive as events; the recovery loop waits for 'ready'
    this.ensureRecovering();
    const up = await this.waitUntilUp(this.startTimeoutMs);
    if (this.closed) throw closedError();
    if (!up) {
      const error = unavailable(`could not reach Redis within ${this.startTimeoutMs} ms`, this.lastError);
      await this.close();
      throw error;
    }
    this.lifecycle = 'started';
    if (this.healthCheckIntervalMs > 0) {
      this.healthTimer = setInterval(() => void this.ready(), this.healthCheckIntervalMs);
      this.healthTimer.unref();
    }
  }

  async subscribe(pattern: string): Promise<void> {
    this.assertStarted();
    assertValidPattern(pattern);
    let subscription = this.subscriptions.get(pattern);
    if (subscription === undefined) {
      subscription = { pattern, channels: this.keyspace.subscribeChannels(pattern), activeSince: undefined };
      this.subscriptions.set(pattern, subscription);
      this.trie.add(pattern, subscription);
      for (const channel of subscription.channels) {
        let users = this.channelUsers.get(channel);
        if (users === undefined) this.channelUsers.set(channel, (users = new Set()));
        users.add(pattern);
      }
    }
    // Registered even during an outage: the rebuild subscribes every registered pattern.
    const topology = this.topology;
    if (this.link !== 'up' || topology === undefined) throw this.unavailableNow();
    const pending: Promise<unknown>[] = [];
    for (const channel of subscription.channels) {
      const shard = topology.shardFor(channel);
      if (shard === undefined) {
        this.interrupt(unavailable(`no Redis node serves channel ${channel}`));
        throw this.unavailableNow();
      }
      shard.channels.add(channel);
      // Sent even when the channel is already subscribed: the reply proves Redis has processed it, so every
      // publication after this promise resolves is delivered.
      pending.push(this.sendSubscribe(shard, [channel]));
    }
    try {
      await Promise.all(pending);
    } catch (error) {
      // The connection is broken or the topology moved: rebuild, which resubscribes this pattern too.
      if (topology === this.topology) this.interrupt(unavailable('subscribing failed', error));
      throw unavailable('subscribing failed', error);
    }
    if (subscription.activeSince === undefined && this.subscriptions.get(pattern) === subscription && topology === this.topology) {
      subscription.activeSince = ++this.tick;
    }
  }

  async unsubscribe(pattern: string): Promise<void> {
    this.assertStarted();
    const subscription = this.subscriptions.get(pattern);
    if (subscription === undefined) return;
    this.subscriptions.delete(pattern);
    this.trie.remove(pattern, subscription);
    for (const channel of subscription.channels) {
      const users = this.channelUsers.get(channel);
      users?.delete(pattern);
      if (users === undefined || users.size > 0) continue;
      this.channelUsers.delete(channel);
      const shard = this.topology?.shardFor(channel);
      if (shard?.channels.delete(channel) === true) {
        // Best effort: if it fails the connection is gone, and with it the subscription.
        this.sendUnsubscribe(shard, [channel]).catch(() => undefined);
      }
    }
  }

  async publish(topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult> {
    this.assertStarted();
    assertValidTopic(topic);
    if (options.history !== undefined) assertRetention(options.history.size, options.history.ttlMs);
    const commands = this.commandsIfUp();
    const { idempotencyKey, history } = options;
    const keys = [this.keyspace.metaKey(topic), this.keyspace.streamKey(topic)];
    if (idempotencyKey !== undefined) keys.push(this.keyspace.idempotencyKey(topic, idempotencyKey));
    keys.push(...this.keyspace.publishChannels(topic));
    let reply: unknown;
    try {
      reply = await commands.switchboardPublish(
        keys.length,
        ...keys,
        this.clockArgument(),
        this.nextEpoch(),
        String(this.streamIdleTtlMs),
        history === undefined ? '' : String(history.size),
        history === undefined ? '' : String(Math.ceil(history.ttlMs)),
        idempotencyKey === undefined ? '' : String(this.idempotencyWindowMs),
        encodeBody(topic, payload, options.priority, idempotencyKey),
        this.clusterMode ? 'SPUBLISH' : 'PUBLISH',
        this.replicationHistory,
      );
    } catch (error) {
      throw unavailable('publish not confirmed by Redis', error);
    }
    if (!Array.isArray(reply)) throw unavailable(`unexpected publish reply ${String(reply)}`);
    const offset = parseInteger(String(reply[1]));
    const epoch = String(reply[2]);
    if (offset === undefined) throw unavailable(`unexpected publish reply ${String(reply)}`);
    const duplicate = reply[0] === 1;
    if (this.replicasToAck > 0) {
      // WAIT covers every earlier write of this connection, this publication's included. A duplicate waits
      // too: the first attempt may have failed exactly because its WAIT did.
      let acked: number;
      try {
        acked = Number(await (commands as Redis).wait(this.replicasToAck, Math.ceil(this.commandTimeoutMs / 2)));
      } catch (error) {
        throw unavailable('publish not confirmed by the replicas', error);
      }
      if (acked < this.replicasToAck) throw unavailable(`publish reached ${acked} of ${this.replicasToAck} replicas in time`);
    }
    return { offset, epoch, duplicate };
  }

  async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.assertStarted();
    assertValidTopic(topic);
    if (!(Number.isSafeInteger(query.limit) && query.limit >= 0)) {
      throw new RangeError(`limit must be an integer >= 0, got ${query.limit}`);
    }
    const commands = this.commandsIfUp();
    const { since } = query;
    const sinceOffset = since !== undefined && Number.isSafeInteger(since.offset) && since.offset >= 0 ? String(since.offset) : '-1';
    let reply: unknown;
    try {
      reply = await commands.switchboardHistoryBuffer(
        2,
        this.keyspace.metaKey(topic),
        this.keyspace.streamKey(topic),
        this.clockArgument(),
        this.nextEpoch(),
        String(this.streamIdleTtlMs),
        since === undefined ? 'latest' : 'since',
        sinceOffset,
        since === undefined ? '' : String(since.epoch),
        String(query.limit),
        this.replicationHistory,
      );
    } catch (error) {
      throw unavailable('history not read from Redis', error);
    }
    const parsed = parseHistoryReply(reply);
    if (parsed === undefined) throw unavailable('unexpected history reply');
    const position = { offset: parsed.offset, epoch: parsed.epoch };
    const publications: Publication[] = [];
    for (const entry of parsed.entries) {
      const publication = decodeBody(entry.body, entry.offset, parsed.epoch, entry.time);
      if (publication !== undefined) publications.push(publication);
    }
    if (since === undefined) return { publications: publications.reverse(), position, recovered: false };
    if (parsed.status === 'ok') return { publications, position, recovered: true };
    return { publications: [], position, recovered: false, recoveryFailure: parsed.status };
  }

  async ready(): Promise<boolean> {
    if (this.lifecycle !== 'started' || this.link !== 'up') return false;
    const generation = this.generation;
    try {
      await this.canary();
      return this.link === 'up';
    } catch (error) {
      // Pub/sub is not working even though no connection dropped: treat it as the outage it is.
      if (this.generation === generation && this.link === 'up') this.interrupt(unavailable('canary did not come back', error));
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    this.link = 'down';
    this.generation++;
    this.closing.abort();
    if (this.healthTimer !== undefined) clearInterval(this.healthTimer);
    this.wakeRecovery?.();
    for (const waiter of this.upWaiters) waiter(false);
    this.upWaiters.clear();
    this.failCanaries(closedError());
    this.disposeTopology();
    this.commands?.disconnect();
    this.commands = undefined;
    this.handler = undefined;
    await this.recovering;
  }

  // --- delivery ---------------------------------------------------------------------------------------

  private receive(message: Buffer): void {
    if (this.lifecycle === 'closed' || this.handler === undefined) return;
    if (message.subarray(0, canaryMarker.length).equals(canaryMarker)) {
      this.canaryWaiters.get(message.toString('latin1', canaryMarker.length))?.resolve();
      return;
    }
    const parsed = parseChannelMessage(message);
    if (parsed === undefined) return;
    const topic = bodyTopic(parsed.body);
    if (topic === undefined) return;
    // Matching at delivery time makes unsubscribe take effect at once, even for messages in flight.
    const matches = this.trie.match(topic);
    if (matches.size === 0) return;
    const { offset, epoch } = parsed;
    const tracked = this.positions.get(topic);
    if (tracked !== undefined && tracked.epoch === epoch && offset <= tracked.offset) return; // a copy from another channel
    if (tracked !== undefined && this.link === 'up') {
      const expected = tracked.epoch === epoch ? tracked.offset + 1 : 1;
      if (offset > expected && coveredSince(matches, tracked.seenAt)) this.reportGap(topic, epoch, expected, offset - 1);
    }
    this.positions.delete(topic); // re-inserted last: the map stays in least-recently-delivered order
    this.positions.set(topic, { epoch, offset, seenAt: ++this.tick });
    if (this.positions.size > this.maxTrackedTopics) {
      const oldest = this.positions.keys().next();
      if (oldest.done !== true) this.positions.delete(oldest.value);
    }
    const publication = decodeBody(parsed.body, offset, epoch, parsed.time);
    if (publication === undefined) return;
    this.callHandler((handler) => handler.onPublication(publication));
  }

  private reportGap(topic: string, epoch: string, from: number, to: number): void {
    this.gapCount++;
    const error = unavailable(`offsets ${from}-${to} of ${topic} in epoch ${epoch} never arrived through pub/sub`);
    this.interruptionCount++;
    this.callHandler((handler) => handler.onInterrupted?.(error));
    this.callHandler((handler) => handler.onResumed?.());
  }

  private callHandler(call: (handler: EngineHandler) => void): void {
    const handler = this.handler;
    if (handler === undefined) return;
    try {
      call(handler);
    } catch (error) {
      // The handler broke its contract. Do not let it break the engine's I/O; surface it like a throwing
      // event listener would, as an uncaught exception.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  // --- outage and recovery ----------------------------------------------------------------------------

  private interrupt(error: BrokerError): void {
    if (this.lifecycle === 'closed') return;
    this.generation++;
    this.lastError = error;
    this.failCanaries(error);
    if (this.link === 'up') {
      this.link = 'down';
      // Positions seen before the break say nothing about continuity after it: the hub recovers instead.
      this.positions.clear();
      for (const subscription of this.subscriptions.values()) subscription.activeSince = undefined;
      this.resumeOwed = true;
      this.interruptionCount++;
      this.callHandler((handler) => handler.onInterrupted?.(error));
    }
    this.ensureRecovering();
  }

  private ensureRecovering(): void {
    if (this.recovering !== undefined || this.lifecycle === 'closed') return;
    this.recovering = this.recover().finally(() => {
      this.recovering = undefined;
      // An interruption during the last attempt's final step may need another round.
      if (this.link === 'down' && this.lifecycle !== 'closed') this.ensureRecovering();
    });
  }

  private async recover(): Promise<void> {
    let failures = 0;
    while (this.lifecycle !== 'closed' && this.link === 'down') {
      const generation = ++this.generation;
      try {
        await this.rebuild(generation);
        if (this.generation !== generation) throw unavailable('interrupted while resubscribing');
      } catch (error) {
        this.lastError = error;
        failures++;
        await this.pause(Math.min(this.reconnectMinDelayMs * 2 ** (failures - 1), this.reconnectMaxDelayMs));
        continue;
      }
      if (this.closed) return;
      this.link = 'up';
      const since = ++this.tick;
      for (const subscription of this.subscriptions.values()) subscription.activeSince = since;
      for (const waiter of this.upWaiters) waiter(true);
      this.upWaiters.clear();
      if (this.resumeOwed) {
        this.resumeOwed = false;
        this.callHandler((handler) => handler.onResumed?.());
      }
    }
  }

  /** New subscriber connections, every registered channel subscribed, canaries back. Throws on any failure. */
  private async rebuild(generation: number): Promise<void> {
    const commands = this.commands;
    if (commands === undefined) throw closedError();
    await waitForReady(commands, this.commandTimeoutMs, this.closing.signal);
    this.assertGeneration(generation);
    if (!this.clusterMode && this.replicasToAck === 0) {
      // A failover (or a restart that lost the data) gives the master a new replication id.
      const info = String(await (commands as Redis).info('replication'));
      this.replicationHistory = /^master_replid:(\w+)/m.exec(info)?.[1] ?? '';
      this.assertGeneration(generation);
    }
    this.disposeTopology();
    const topology = this.clusterMode ? await this.clusterTopology(commands as Cluster, generation) : this.singleTopology(generation);
    this.assertGeneration(generation);
    this.topology = topology;
    await Promise.all(topology.shards.map((shard) => shard.connection.connect()));
    this.assertGeneration(generation);
    await Promise.all(topology.shards.map((shard) => this.sendSubscribe(shard, [shard.canaryChannel])));
    // Patterns may come and go while we subscribe: repeat until Redis has exactly the registered channels.
    for (;;) {
      this.assertGeneration(generation);
      const toSubscribe = new Map<Shard, string[]>();
      for (const channel of this.channelUsers.keys()) {
        const shard = topology.shardFor(channel);
        if (shard === undefined) throw unavailable(`no Redis node serves channel ${channel}`);
        if (shard.channels.has(channel)) continue;
        shard.channels.add(channel);
        let list = toSubscribe.get(shard);
        if (list === undefined) toSubscribe.set(shard, (list = []));
        list.push(channel);
      }
      for (const shard of topology.shards) {
        const stale = [...shard.channels].filter((channel) => !this.channelUsers.has(channel));
        for (const channel of stale) shard.channels.delete(channel);
        if (stale.length > 0) this.sendUnsubscribe(shard, stale).catch(() => undefined);
      }
      if (toSubscribe.size === 0) break;
      await Promise.all([...toSubscribe].map(([shard, channels]) => this.sendSubscribe(shard, channels)));
    }
    await this.canary();
  }

  private singleTopology(generation: number): Topology {
    const shard = this.createShard('redis', undefined, this.keyspace.canaryChannel(this.nodeId), generation);
    return { generation, shards: [shard], shardFor: () => shard };
  }

  private async clusterTopology(commands: Cluster, generation: number): Promise<Topology> {
    const ranges = (await withTimeout(commands.cluster('SLOTS'), this.commandTimeoutMs, 'CLUSTER SLOTS')) as unknown;
    const owners = new Int32Array(clusterSlots).fill(-1);
    const targets: { host: string; port: number }[] = [];
    const indexById = new Map<string, number>();
    for (const range of Array.isArray(ranges) ? (ranges as unknown[]) : []) {
      if (!Array.isArray(range)) continue;
      const [first, last, master] = range as [unknown, unknown, unknown];
      if (typeof first !== 'number' || typeof last !== 'number' || !Array.isArray(master)) continue;
      const { host, port } = this.mapAddress(String(master[0]), Number(master[1]));
      const id = `${host}:${port}`;
      let index = indexById.get(id);
      if (index === undefined) {
        index = targets.length;
        indexById.set(id, index);
        targets.push({ host, port });
      }
      owners.fill(index, first, last + 1);
    }
    if (owners.includes(-1)) throw unavailable('the cluster does not serve every slot');
    const shards = targets.map((target, index) => {
      const tag = tagForSlots((slot) => owners[slot] === index);
      if (tag === undefined) throw unavailable(`no canary slot found for ${target.host}:${target.port}`);
      return this.createShard(`${target.host}:${target.port}`, target, this.keyspace.canaryChannel(this.nodeId, tag), generation);
    });
    return { generation, shards, shardFor: (channel) => shards[owners[keySlot(channel)] as number] };
  }

  /** A master's address as this node reaches it: through `clusterOptions.natMap`, as the cluster client does. */
  private mapAddress(host: string, port: number): { host: string; port: number } {
    const natMap = this.options.cluster?.clusterOptions?.natMap;
    const key = `${host}:${port}`;
    const mapped = typeof natMap === 'function' ? natMap(key) : natMap?.[key];
    return mapped === undefined || mapped === null ? { host, port } : { host: mapped.host, port: mapped.port };
  }

  private createShard(id: string, target: { host: string; port: number } | undefined, canaryChannel: string, generation: number): Shard {
    const overrides: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // The engine rebuilds subscribers itself, so that it knows when pub/sub was broken.
      retryStrategy: () => null,
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: this.commandTimeoutMs,
      connectionName: `switchboard-sub-${this.nodeId}`,
    };
    const redis = this.options.redis;
    const connection =
      target !== undefined
        ? new Redis({ ...this.options.cluster?.redisOptions, ...target, ...overrides })
        : typeof redis === 'string'
          ? new Redis(redis, overrides)
          : new Redis({ ...redis, ...overrides });
    const shard: Shard = { id, connection, channels: new Set(), canaryChannel };
    const current = (): boolean => this.topology?.generation === generation && this.topology.shards.includes(shard);
    connection.on(this.clusterMode ? 'smessageBuffer' : 'messageBuffer', (_channel: Buffer, message: Buffer) => {
      if (current()) this.receive(message);
    });
    connection.on('close', () => {
      if (current()) this.interrupt(unavailable(`Redis subscriber connection to ${id} closed`, this.lastError));
    });
    connection.on('error', (error: Error) => {
      this.lastError = error;
      // A reply ioredis could not pair with a command (e.g. Redis unsubscribed us from a slot that moved):
      // the connection's state is unknown, so drop it and rebuild.
      if (current() && error.message.includes('Command queue state error')) connection.disconnect();
    });
    connection.on('moved', () => {
      if (current()) connection.disconnect();
    });
    return shard;
  }

  private disposeTopology(): void {
    const topology = this.topology;
    this.topology = undefined;
    for (const shard of topology?.shards ?? []) shard.connection.disconnect();
  }

  private sendSubscribe(shard: Shard, channels: string[]): Promise<unknown> {
    if (!this.clusterMode) return shard.connection.subscribe(...channels);
    // SSUBSCRIBE takes channels of one slot per call.
    return Promise.all([...groupBySlot(channels).values()].map((group) => shard.connection.ssubscribe(...group)));
  }

  private sendUnsubscribe(shard: Shard, channels: string[]): Promise<unknown> {
    if (!this.clusterMode) return shard.connection.unsubscribe(...channels);
    return Promise.all([...groupBySlot(channels).values()].map((group) => shard.connection.sunsubscribe(...group)));
  }

  /** A message through every subscriber and back, within `canaryTimeoutMs`; concurrent calls share one. */
  private canary(): Promise<void> {
    const topology = this.topology;
    if (topology === undefined) return Promise.reject(unavailable('not connected'));
    if (this.canaryInFlight?.topology !== topology) {
      const inFlight = {
        topology,
        done: this.sendCanaries(topology).finally(() => {
          if (this.canaryInFlight === inFlight) this.canaryInFlight = undefined;
        }),
      };
      this.canaryInFlight = inFlight;
    }
    return this.canaryInFlight.done;
  }

  private async sendCanaries(topology: Topology): Promise<void> {
    const commands = this.commands;
    if (commands === undefined) throw unavailable('not connected');
    const tokens: string[] = [];
    try {
      await withTimeout(
        Promise.all(
          topology.shards.map(async (shard) => {
            const token = `${this.nodeId}.${++this.canarySequence}`;
            tokens.push(token);
            const arrived = new Promise<void>((resolve, reject) => this.canaryWaiters.set(token, { resolve, reject }));
            arrived.catch(() => undefined); // observed below, or abandoned when publishing fails
            const message = Buffer.concat([canaryMarker, Buffer.from(token)]);
            const receivers = this.clusterMode
              ? await (commands as Cluster).spublish(shard.canaryChannel, message)
              : await commands.publish(shard.canaryChannel, message);
            if (receivers === 0) throw unavailable(`nobody subscribes to canary channel ${shard.canaryChannel}`);
            await arrived;
          }),
        ),
        this.canaryTimeoutMs,
        'the canary',
      );
    } finally {
      for (const token of tokens) this.canaryWaiters.delete(token);
    }
  }

  private failCanaries(error: BrokerError): void {
    for (const waiter of this.canaryWaiters.values()) waiter.reject(error);
    this.canaryWaiters.clear();
  }

  private createCommandConnection(): Redis | Cluster {
    const overrides: RedisOptions = {
      lazyConnect: true,
      // Fail at once while disconnected instead of queueing: the publisher must hear "unavailable" now.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails: resending a publish could publish it twice.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: this.commandTimeoutMs,
      retryStrategy: (attempt: number) => Math.min(this.reconnectMinDelayMs * 2 ** (attempt - 1), this.reconnectMaxDelayMs),
      connectionName: `switchboard-${this.nodeId}`,
    };
    let commands: Redis | Cluster;
    const cluster = this.options.cluster;
    if (cluster !== undefined) {
      commands = new Cluster([...cluster.nodes], {
        ...cluster.clusterOptions,
        lazyConnect: true,
        enableOfflineQueue: false,
        scaleReads: 'master',
        clusterRetryStrategy: overrides.retryStrategy as (attempt: number) => number,
        slotsRefreshTimeout: this.commandTimeoutMs,
        // Node connections are the cluster client's to open and queue on (it connects them lazily); the
        // cluster-level offline queue is off, and commands in flight fail rather than being resent.
        redisOptions: {
          ...cluster.redisOptions,
          autoResendUnfulfilledCommands: false,
          maxRetriesPerRequest: 0,
          commandTimeout: this.commandTimeoutMs,
          connectTimeout: this.commandTimeoutMs,
          connectionName: overrides.connectionName as string,
        },
      });
    } else {
      const redis = this.options.redis;
      commands = typeof redis === 'string' ? new Redis(redis, overrides) : new Redis({ ...redis, ...overrides });
    }
    commands.defineCommand('switchboardPublish', { lua: publishScript });
    commands.defineCommand('switchboardHistory', { lua: historyScript });
    commands.on('error', (error: Error) => void (this.lastError = error));
    commands.on('close', () => this.interrupt(unavailable('Redis command connection closed', this.lastError)));
    commands.on('ready', () => this.wakeRecovery?.());
    return commands;
  }

  // --- helpers ----------------------------------------------------------------------------------------

  /** Read through a getter so that TypeScript does not narrow it across awaits, where close() may run. */
  private get closed(): boolean {
    return this.lifecycle === 'closed';
  }

  private assertStarted(): void {
    if (this.lifecycle === 'closed') throw closedError();
    if (this.lifecycle !== 'started') {
      throw new BrokerError(BrokerErrorCode.engineNotStarted, 'call start() before using the engine');
    }
  }

  private commandsIfUp(): ScriptCommands & (Redis | Cluster) {
    const commands = this.commands;
    if (this.link !== 'up' || commands === undefined) throw this.unavailableNow();
    return commands as ScriptCommands & (Redis | Cluster);
  }

  private unavailableNow(): BrokerError {
    return unavailable('Redis is unreachable or pub/sub is being restored', this.lastError);
  }

  private assertGeneration(generation: number): void {
    if (this.lifecycle === 'closed') throw closedError();
    if (this.generation !== generation) throw unavailable('interrupted while reconnecting');
  }

  private clockArgument(): string {
    return this.now === undefined ? '' : String(Math.floor(this.now()));
  }

  private nextEpoch(): string {
    return `${this.epochPrefix}-${(++this.epochCounter).toString(36)}`;
  }

  private waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (this.link === 'up') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.upWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      const done = (up: boolean): void => {
        clearTimeout(timer);
        resolve(up);
      };
      this.upWaiters.add(done);
    });
  }

  /** Sleeps, waking early when the command connection becomes ready or the engine closes. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, ms);
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeRecovery = () => {
        this.wakeRecovery = undefined;
        wake();
      };
    });
  }
}

/** Prefix of canary messages; publications start with a digit (their offset), so the two never mix. */
const canaryMarker = Buffer.from('canary ');

function coveredSince(matches: ReadonlySet<Subscription>, seenAt: number): boolean {
  for (const subscription of matches) {
    if (subscription.activeSince !== undefined && subscription.activeSince < seenAt) return true;
  }
  return false;
}

function groupBySlot(channels: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const channel of channels) {
    const slot = keySlot(channel);
    let group = groups.get(slot);
    if (group === undefined) groups.set(slot, (group = []));
    group.push(channel);
  }
  return groups;
}

interface HistoryReply {
  readonly epoch: string;
  readonly offset: number;
  readonly status: 'ok' | RecoveryFailure;
  readonly entries: readonly { readonly offset: number; readonly time: number; readonly body: Buffer }[];
}

const recoveryStatuses: readonly string[] = ['ok', 'epoch-mismatch', 'expired', 'no-history'];

function parseHistoryReply(reply: unknown): HistoryReply | undefined {
  if (!Array.isArray(reply) || reply.length !== 4) return undefined;
  const [epochBytes, offsetBytes, statusBytes, rawEntries] = reply as [unknown, unknown, unknown, unknown];
  const offset = parseInteger(String(offsetBytes));
  const status = String(statusBytes);
  if (offset === undefined || !recoveryStatuses.includes(status) || !Array.isArray(rawEntries)) return undefined;
  const entries: { offset: number; time: number; body: Buffer }[] = [];
  for (const raw of rawEntries as unknown[]) {
    if (!Array.isArray(raw) || !Array.isArray(raw[1])) continue;
    const entryOffset = offsetOfEntryId(String(raw[0]));
    const fields = raw[1] as unknown[];
    let body: Buffer | undefined;
    let time: number | undefined;
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const name = String(fields[index]);
      const value = fields[index + 1];
      if (name === 'b' && Buffer.isBuffer(value)) body = value;
      else if (name === 't') time = parseInteger(String(value));
    }
    if (entryOffset !== undefined && body !== undefined && time !== undefined) entries.push({ offset: entryOffset, time, body });
  }
  return { epoch: String(epochBytes), offset, status: status as 'ok' | RecoveryFailure, entries };
}

/** Resolves when the connection is ready; rejects after `timeoutMs` or when `signal` aborts (the engine closed). */
function waitForReady(connection: Redis | Cluster, timeoutMs: number, signal: AbortSignal): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  if (signal.aborted) return Promise.reject(closedError());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(unavailable(`Redis not ready within ${timeoutMs} ms`)), timeoutMs);
    const onReady = (): void => settle(undefined);
    const onAbort = (): void => settle(closedError());
    function settle(error: BrokerError | undefined): void {
      clearTimeout(timer);
      connection.off('ready', onReady);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    }
    connection.on('ready', onReady);
    signal.addEventListener('abort', onAbort);
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function unavailable(message: string, cause?: unknown): BrokerError {
  return new BrokerError(
    BrokerErrorCode.engineUnavailable,
    `redis engine: ${message}${cause instanceof Error ? `: ${cause.message}` : ''}`,
    cause === undefined ? undefined : { cause },
  );
}

function closedError(): BrokerError {
  return new BrokerError(BrokerErrorCode.engineClosed, 'engine closed');
}

function assertRetention(size: number, ttlMs: number): void {
  if (!(Number.isSafeInteger(size) && size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${size}`);
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`history ttlMs must be > 0, got ${ttlMs}`);
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be > 0, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be >= 0, got ${value}`);
  return value;
}
