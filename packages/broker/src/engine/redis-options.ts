import { randomBytes } from 'node:crypto';
import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';
import type { Backoff } from './redis-link.js';
import { RedisKeyspace } from './redis-keyspace.js';

/*
 * The Redis engine's options, each with its default and the reason for it, and their resolution into the
 * settings the engine's parts read (`resolveRedisEngineOptions`), which is where every range is checked.
 */

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

/** Options of `RedisEngine`: where Redis is, the key layout, and the limits of every wait. */
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
   * Most topics whose last delivered position the engine remembers, to notice offsets that never arrived
   * (gap detection; the hub, not the engine, delivers each offset once). Beyond it the least recently
   * delivered are forgotten.
   * @default 100000 — about 10 MB; topics beyond it lose only the engine's own gap check. At least 1.
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
  /**
   * Presence liveness (`PRESENCE_NODE_TTL`): how long this node's liveness keys outlive its last heartbeat
   * (sent every third of it). A node that stops is swept once it lapses: its members leave `expired` within
   * about TTL + TTL/3 + 1 s (docs/design/presence.md §3.4). Every node should use the same value.
   * @default 15000 — a dead node's members are gone in about 21 s, for one heartbeat per node every 5 s.
   */
  readonly presenceNodeTtlMs?: number;
  /**
   * First segments that wildcard-first patterns never reach (the user topic prefix, protocol.md §14.2).
   * @default none
   */
  readonly reservedRoots?: readonly string[];
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
  presenceNodeTtlMs: 15_000,
} as const;

/** Where Redis is: one server (through ioredis options, which also reach a Sentinel-managed master) or a cluster. */
export type RedisTarget =
  | { readonly mode: 'single'; readonly redis: string | RedisOptions }
  | { readonly mode: 'cluster'; readonly cluster: RedisClusterConfig };

/** The options with their defaults applied and their ranges checked: what the engine's parts read. */
export interface RedisEngineSettings {
  readonly target: RedisTarget;
  readonly keyspace: RedisKeyspace;
  readonly idempotencyWindowMs: number;
  readonly streamIdleTtlMs: number;
  readonly commandTimeoutMs: number;
  readonly replicasToAck: number;
  readonly canaryTimeoutMs: number;
  readonly healthCheckIntervalMs: number;
  readonly startTimeoutMs: number;
  readonly backoff: Backoff;
  readonly maxTrackedTopics: number;
  readonly now: (() => number) | undefined;
  readonly epochPrefix: string;
  readonly presenceNodeTtlMs: number;
}

/** Applies the defaults and checks every option; throws `RangeError` for a value no deployment could mean. */
export function resolveRedisEngineOptions(options: RedisEngineOptions): RedisEngineSettings {
  if ((options.redis === undefined) === (options.cluster === undefined)) {
    throw new RangeError('RedisEngine needs exactly one of `redis` and `cluster`');
  }
  const target: RedisTarget =
    options.cluster !== undefined ? { mode: 'cluster', cluster: options.cluster } : { mode: 'single', redis: options.redis as string | RedisOptions };
  const clusterMode = target.mode === 'cluster';
  const keyspace = new RedisKeyspace({
    prefix: options.keyPrefix ?? redisEngineDefaults.keyPrefix,
    buckets: clusterMode ? (options.cluster?.buckets ?? redisEngineDefaults.clusterBuckets) : undefined,
    wildcardChannelDepth: options.wildcardChannelDepth ?? redisEngineDefaults.wildcardChannelDepth,
    ...(options.reservedRoots === undefined ? {} : { reservedRoots: options.reservedRoots }),
  });
  const idempotencyWindowMs = nonNegative('idempotencyWindowMs', options.idempotencyWindowMs ?? redisEngineDefaults.idempotencyWindowMs);
  const streamIdleTtlMs = positive('streamIdleTtlMs', options.streamIdleTtlMs ?? redisEngineDefaults.streamIdleTtlMs);
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? redisEngineDefaults.commandTimeoutMs);
  const replicasToAck = nonNegative('replicasToAck', options.replicasToAck ?? redisEngineDefaults.replicasToAck);
  if (replicasToAck > 0 && clusterMode) throw new RangeError('replicasToAck is for a single Redis or Sentinel, not a cluster');
  const canaryTimeoutMs = positive('canaryTimeoutMs', options.canaryTimeoutMs ?? redisEngineDefaults.canaryTimeoutMs);
  const healthCheckIntervalMs = nonNegative('healthCheckIntervalMs', options.healthCheckIntervalMs ?? redisEngineDefaults.healthCheckIntervalMs);
  const startTimeoutMs = positive('startTimeoutMs', options.startTimeoutMs ?? redisEngineDefaults.startTimeoutMs);
  const backoff: Backoff = {
    minDelayMs: positive('reconnectMinDelayMs', options.reconnectMinDelayMs ?? redisEngineDefaults.reconnectMinDelayMs),
    maxDelayMs: positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs ?? redisEngineDefaults.reconnectMaxDelayMs),
  };
  // At least one: with none, no gap could ever be noticed.
  const maxTrackedTopics = positive('maxTrackedTopics', options.maxTrackedTopics ?? redisEngineDefaults.maxTrackedTopics);
  const epochPrefix = options.epochPrefix ?? randomBytes(8).toString('hex');
  if (!/^[!-~]{1,40}$/.test(epochPrefix)) {
    throw new RangeError(`epochPrefix must be 1-40 visible ASCII characters, got ${JSON.stringify(epochPrefix)}`);
  }
  const presenceNodeTtlMs = positive('presenceNodeTtlMs', options.presenceNodeTtlMs ?? redisEngineDefaults.presenceNodeTtlMs);
  return {
    target,
    keyspace,
    idempotencyWindowMs,
    streamIdleTtlMs,
    commandTimeoutMs,
    replicasToAck,
    canaryTimeoutMs,
    healthCheckIntervalMs,
    startTimeoutMs,
    backoff,
    maxTrackedTopics,
    now: options.now,
    epochPrefix,
    presenceNodeTtlMs,
  };
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be > 0, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be >= 0, got ${value}`);
  return value;
}

/** A history retention as publishes and presence writes take it; a caller bug otherwise (`RangeError`). */
export function assertRetention(size: number, ttlMs: number): void {
  if (!(Number.isSafeInteger(size) && size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${size}`);
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`history ttlMs must be > 0, got ${ttlMs}`);
}
