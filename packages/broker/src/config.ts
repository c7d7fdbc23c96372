import { hostname } from 'node:os';
import { ProtocolLimit, parsePattern, segmentsMatch } from '@switchboard/client/protocol';
import { z } from 'zod';
import type { OverflowPolicy } from './connection/send-queue.js';

/**
 * The broker's configuration: one flat table of options, each readable from an environment variable and a
 * command-line flag (the flag wins), validated by zod. A bad value stops startup with a {@link ConfigError}
 * naming the field, e.g. `PORT (--port): must be an integer from 0 to 65535, got "http"`.
 *
 * Every limit sits here with the reason for its default; crossing it has one documented outcome (see
 * `docs/protocol.md` §10-§12 and `docs/operations.md`).
 */

/** A slow-consumer policy for the topics a pattern matches. */
export interface SlowConsumerRule {
  readonly pattern: string;
  readonly policy: OverflowPolicy;
}

export const overflowPolicies = ['disconnect', 'drop-oldest', 'conflate'] as const satisfies readonly OverflowPolicy[];
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** How a value is read from a string (environment variable or flag). */
type Kind = 'string' | 'int' | 'bytes' | 'duration' | 'boolean' | 'list' | 'rules';

interface OptionSpec {
  readonly env: string;
  readonly flag: string;
  readonly kind: Kind;
  /** One line for `--help`: what it is, and why the default is what it is. */
  readonly help: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** The fields of {@link Config} and how each is read. Order is the `--help` order. */
const options = {
  host: { env: 'HOST', flag: 'host', kind: 'string', help: 'interface to listen on; loopback by default so a dev broker is not exposed' },
  port: { env: 'PORT', flag: 'port', kind: 'int', help: 'TCP port (0 picks a free one)' },
  wsPath: { env: 'WS_PATH', flag: 'ws-path', kind: 'string', help: 'path of the WebSocket endpoint' },
  nodeName: { env: 'NODE_NAME', flag: 'node-name', kind: 'string', help: 'this node\'s name in welcome messages, logs and metrics; default: the host name' },
  redisUrl: { env: 'REDIS_URL', flag: 'redis-url', kind: 'string', help: 'Redis engine URL (one Redis); unset, and no REDIS_CLUSTER_NODES: the in-memory engine (one node)' },
  redisClusterNodes: {
    env: 'REDIS_CLUSTER_NODES',
    flag: 'redis-cluster-nodes',
    kind: 'list',
    help: 'comma-separated host:port seed nodes of a Redis Cluster (sharded pub/sub); instead of REDIS_URL',
  },
  redisSentinels: {
    env: 'REDIS_SENTINELS',
    flag: 'redis-sentinels',
    kind: 'list',
    help: 'comma-separated host:port of Redis Sentinels; the engine follows the master they name (failover); instead of REDIS_URL',
  },
  redisSentinelMaster: { env: 'REDIS_SENTINEL_MASTER', flag: 'redis-sentinel-master', kind: 'string', help: 'the master name the Sentinels monitor' },
  redisWaitReplicas: {
    env: 'REDIS_WAIT_REPLICAS',
    flag: 'redis-wait-replicas',
    kind: 'int',
    help: 'replicas that must have a publication before its publish is acknowledged (WAIT); set to the number of replicas so a failover keeps every acknowledged publication and its epoch; 0: a failover starts new epochs; not with a cluster',
  },
  logLevel: { env: 'LOG_LEVEL', flag: 'log-level', kind: 'string', help: `pino level: ${logLevels.join(', ')}` },

  allowMissingSubprotocol: {
    env: 'ALLOW_MISSING_SUBPROTOCOL',
    flag: 'allow-missing-subprotocol',
    kind: 'boolean',
    help: 'serve clients that send no Sec-WebSocket-Protocol at all (tools that cannot set it); off: they get 400',
  },
  allowedOrigins: {
    env: 'ALLOWED_ORIGINS',
    flag: 'allowed-origins',
    kind: 'list',
    help: 'comma-separated Origin allowlist (`https://app.example`, `https://*.example.com`); empty: any origin',
  },
  allowMissingOrigin: {
    env: 'ALLOW_MISSING_ORIGIN',
    flag: 'allow-missing-origin',
    kind: 'boolean',
    help: 'with an allowlist, accept requests without Origin (non-browser clients never send one)',
  },
  jwtSecret: { env: 'JWT_SECRET', flag: 'jwt-secret', kind: 'string', help: 'HS256 secret (at least 32 bytes); set: tokens are verified' },
  adminToken: {
    env: 'ADMIN_TOKEN',
    flag: 'admin-token',
    kind: 'string',
    help: 'bearer token for the operator endpoints (POST /admin/rebalance, at least 32 bytes); unset: they answer 404',
  },
  jwtIssuer: { env: 'JWT_ISSUER', flag: 'jwt-issuer', kind: 'string', help: 'required `iss` claim, if set' },
  jwtAudience: { env: 'JWT_AUDIENCE', flag: 'jwt-audience', kind: 'string', help: 'required `aud` claim, if set' },
  jwtClockToleranceMs: {
    env: 'JWT_CLOCK_TOLERANCE',
    flag: 'jwt-clock-tolerance',
    kind: 'duration',
    help: 'leeway for `exp`/`nbf` against clock skew between the token issuer and this node',
  },
  allowAnonymous: {
    env: 'ALLOW_ANONYMOUS',
    flag: 'allow-anonymous',
    kind: 'boolean',
    help: 'accept connections without a token; default: true without JWT_SECRET (development), false with it',
  },
  anonymousPublish: { env: 'ANONYMOUS_PUBLISH', flag: 'anonymous-publish', kind: 'list', help: 'patterns anonymous connections may publish to' },
  anonymousSubscribe: { env: 'ANONYMOUS_SUBSCRIBE', flag: 'anonymous-subscribe', kind: 'list', help: 'patterns anonymous connections may subscribe to' },
  authFailureAfterUpgrade: {
    env: 'AUTH_FAILURE_AFTER_UPGRADE',
    flag: 'auth-failure-after-upgrade',
    kind: 'boolean',
    help: 'report a bad token by accepting the upgrade and closing with 4401 (browsers cannot read a 401)',
  },

  maxConnections: { env: 'MAX_CONNECTIONS', flag: 'max-connections', kind: 'int', help: 'open WebSocket connections on this node; beyond: 503' },
  handshakeTimeoutMs: {
    env: 'HANDSHAKE_TIMEOUT',
    flag: 'handshake-timeout',
    kind: 'duration',
    help: 'from the TCP connection to the end of the upgrade (headers and authentication); beyond: 408 or 503',
  },
  maxSubscriptions: { env: 'MAX_SUBSCRIPTIONS', flag: 'max-subscriptions', kind: 'int', help: 'subscriptions per connection (too_many_subscriptions)' },
  maxMessageBytes: { env: 'MAX_MESSAGE_BYTES', flag: 'max-message-bytes', kind: 'bytes', help: 'largest payload after reassembly (message_too_big)' },
  chunkBytes: { env: 'CHUNK_BYTES', flag: 'chunk-bytes', kind: 'bytes', help: 'largest payload per chunk; larger messages travel in chunks' },
  maxFrameBytes: {
    env: 'MAX_FRAME_BYTES',
    flag: 'max-frame-bytes',
    kind: 'bytes',
    help: 'largest WebSocket message (1009 beyond); default: chunkBytes + 4 + 4096, exactly a full chunk',
  },
  maxConcurrentTransfers: {
    env: 'MAX_CONCURRENT_TRANSFERS',
    flag: 'max-concurrent-transfers',
    kind: 'int',
    help: 'incomplete chunked publishes per connection (too_many_transfers)',
  },
  maxIncompleteBytes: {
    env: 'MAX_INCOMPLETE_BYTES',
    flag: 'max-incomplete-bytes',
    kind: 'bytes',
    help: 'announced bytes of incomplete chunked publishes per connection (transfer_buffer_full)',
  },
  chunkTimeoutMs: { env: 'CHUNK_TIMEOUT', flag: 'chunk-timeout', kind: 'duration', help: 'a chunked publish with no chunk for this long is abandoned (transfer_timeout)' },
  publishRatePerSecond: {
    env: 'PUBLISH_RATE',
    flag: 'publish-rate',
    kind: 'int',
    help: 'publishes per second per connection, refill of a token bucket (rate_limited); 0: unlimited',
  },
  publishRateBurst: { env: 'PUBLISH_BURST', flag: 'publish-burst', kind: 'int', help: 'token bucket size: publishes allowed at once after idling' },
  rateLimitCloseAfter: {
    env: 'RATE_LIMIT_CLOSE_AFTER',
    flag: 'rate-limit-close-after',
    kind: 'int',
    help: 'close with 4002 after this many rate_limited errors in a row; 0: never close',
  },
  maxInvalidMessages: {
    env: 'MAX_INVALID_MESSAGES',
    flag: 'max-invalid-messages',
    kind: 'int',
    help: 'invalid messages (malformed, unknown_op, bad_request, chunk errors) tolerated per connection; beyond: 4400',
  },
  maxPendingRequests: {
    env: 'MAX_PENDING_REQUESTS',
    flag: 'max-pending-requests',
    kind: 'int',
    help: 'received messages waiting for the engine per connection; beyond: 4003 (the engine cannot keep up)',
  },
  tokenGraceMs: { env: 'TOKEN_GRACE', flag: 'token-grace', kind: 'duration', help: 'how long an expired token is still served before 4102' },
  idempotencyWindowMs: { env: 'IDEMPOTENCY_WINDOW', flag: 'idempotency-window', kind: 'duration', help: 'how long a publish key is remembered' },
  pingIntervalMs: {
    env: 'PING_INTERVAL',
    flag: 'ping-interval',
    kind: 'duration',
    help: 'WebSocket ping period; a peer silent for a whole period is closed with 4004; 0: off',
  },
  closeTimeoutMs: { env: 'CLOSE_TIMEOUT', flag: 'close-timeout', kind: 'duration', help: 'how long a closing handshake may take before the socket is destroyed' },

  maxQueuedBytes: {
    env: 'MAX_QUEUED_BYTES',
    flag: 'max-queued-bytes',
    kind: 'bytes',
    help: 'cap on bytes queued for one connection; crossing it applies the slow-consumer policy',
  },
  highWaterMarkBytes: {
    env: 'HIGH_WATER_MARK',
    flag: 'high-water-mark',
    kind: 'bytes',
    help: 'write to a socket only while its bufferedAmount is below this; small, so priorities decide what goes next',
  },
  maxPendingGaps: { env: 'MAX_PENDING_GAPS', flag: 'max-pending-gaps', kind: 'int', help: 'unsent gap notices per connection; beyond: 4001' },
  slowConsumerPolicy: {
    env: 'SLOW_CONSUMER_POLICY',
    flag: 'slow-consumer-policy',
    kind: 'string',
    help: `policy for topics no rule names: ${overflowPolicies.join(', ')}`,
  },
  slowConsumerRules: {
    env: 'SLOW_CONSUMER_RULES',
    flag: 'slow-consumer-rules',
    kind: 'rules',
    help: 'per topic pattern, first match wins: `prices.>=conflate,orders.>=disconnect`',
  },
  perMessageDeflate: {
    env: 'PERMESSAGE_DEFLATE',
    flag: 'permessage-deflate',
    kind: 'boolean',
    help: 'negotiate permessage-deflate (no context takeover: a broadcast is compressed once per parameter set)',
  },
  deflateThresholdBytes: { env: 'DEFLATE_THRESHOLD', flag: 'deflate-threshold', kind: 'bytes', help: 'messages smaller than this are sent uncompressed' },

  historySize: { env: 'HISTORY_SIZE', flag: 'history-size', kind: 'int', help: 'messages kept per topic for recovery; 0: none' },
  historyTtlMs: { env: 'HISTORY_TTL', flag: 'history-ttl', kind: 'duration', help: 'how long a message stays in history' },
  maxRecoveryMessages: {
    env: 'MAX_RECOVERY_MESSAGES',
    flag: 'max-recovery-messages',
    kind: 'int',
    help: 'messages replayed per topic on a subscribe with `since`; more missing: recovery fails (client resyncs)',
  },
  maxRecoveryBytes: {
    env: 'MAX_RECOVERY_BYTES',
    flag: 'max-recovery-bytes',
    kind: 'bytes',
    help: 'encoded bytes one subscribe with `since` may replay, all topics together; topics beyond it fail recovery (client resyncs)',
  },

  httpPublishSaturationBytes: {
    env: 'HTTP_PUBLISH_SATURATION',
    flag: 'http-publish-saturation',
    kind: 'bytes',
    help: 'POST /publish answers 429 while all connections together have this many bytes queued',
  },
  httpRetryAfterSeconds: { env: 'HTTP_RETRY_AFTER', flag: 'http-retry-after', kind: 'int', help: 'Retry-After of 429 and 503 answers, in seconds' },

  shutdownDrainMs: { env: 'SHUTDOWN_DRAIN', flag: 'shutdown-drain', kind: 'duration', help: 'on SIGTERM, how long queues may flush before clients are closed' },
  shutdownSpreadMs: {
    env: 'SHUTDOWN_SPREAD',
    flag: 'shutdown-spread',
    kind: 'duration',
    help: 'window over which 4100 closes are spread, so clients do not all reconnect to the next node at once',
  },
  engineOutageShedMs: {
    env: 'ENGINE_OUTAGE_SHED',
    flag: 'engine-outage-shed',
    kind: 'duration',
    help: 'after the engine (Redis) has been unavailable this long, close every connection with 4003 so clients move to healthy nodes; 0: never, keep serving local subscribers',
  },
} as const satisfies Record<string, OptionSpec>;

type Key = keyof typeof options;

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number().int(`must be an integer from ${min} to ${max}`).min(min, `must be an integer from ${min} to ${max}`).max(max, `must be an integer from ${min} to ${max}`);

const patternSchema = z.string().superRefine((value, context) => {
  const parsed = parsePattern(value);
  if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.error.message });
});

/** The value schema of each field, after a string was read with its kind. */
const fieldSchemas = {
  host: z.string().min(1),
  port: intFrom(0, 65535),
  wsPath: z.string().regex(/^\/[!-~]*$/, 'must be a path starting with /'),
  nodeName: z.string().min(1).max(64).regex(/^[!-~]+$/, 'must be visible ASCII').optional(),
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  redisClusterNodes: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be a list of host:port')),
  redisSentinels: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be a list of host:port')),
  redisSentinelMaster: z.string().min(1).regex(/^[!-~]+$/, 'must be visible ASCII'),
  redisWaitReplicas: intFrom(0, 16),
  logLevel: z.enum(logLevels),
  allowMissingSubprotocol: z.boolean(),
  allowedOrigins: z.array(z.string().regex(/^(https?:\/\/[^\s/]+|null)$/, 'must be an origin like https://app.example')),
  allowMissingOrigin: z.boolean(),
  jwtSecret: z.string().min(32, 'must be at least 32 bytes (RFC 7518 §3.2: a key as long as the hash)').optional(),
  adminToken: z.string().min(32, 'must be at least 32 bytes: it is a bearer secret').regex(/^[!-~]+$/, 'must be visible ASCII').optional(),
  jwtIssuer: z.string().min(1).optional(),
  jwtAudience: z.string().min(1).optional(),
  jwtClockToleranceMs: intFrom(0, 3_600_000),
  allowAnonymous: z.boolean().optional(),
  anonymousPublish: z.array(patternSchema),
  anonymousSubscribe: z.array(patternSchema),
  authFailureAfterUpgrade: z.boolean(),
  maxConnections: intFrom(1),
  handshakeTimeoutMs: intFrom(100, 600_000),
  maxSubscriptions: intFrom(0),
  maxMessageBytes: intFrom(1, 1024 * MiB),
  chunkBytes: intFrom(1, 64 * MiB),
  maxFrameBytes: intFrom(1, 1024 * MiB).optional(),
  maxConcurrentTransfers: intFrom(1, 1024),
  maxIncompleteBytes: intFrom(1, 4096 * MiB).optional(),
  chunkTimeoutMs: intFrom(1, 3_600_000),
  publishRatePerSecond: intFrom(0),
  publishRateBurst: intFrom(1),
  rateLimitCloseAfter: intFrom(0),
  maxInvalidMessages: intFrom(0),
  maxPendingRequests: intFrom(1),
  tokenGraceMs: intFrom(0, 3_600_000),
  idempotencyWindowMs: intFrom(0, 86_400_000),
  pingIntervalMs: intFrom(0, 3_600_000),
  closeTimeoutMs: intFrom(1, 600_000),
  maxQueuedBytes: intFrom(1, 4096 * MiB),
  highWaterMarkBytes: intFrom(16 * KiB, 64 * MiB),
  maxPendingGaps: intFrom(0),
  slowConsumerPolicy: z.enum(overflowPolicies),
  slowConsumerRules: z.array(z.object({ pattern: patternSchema, policy: z.enum(overflowPolicies) })),
  perMessageDeflate: z.boolean(),
  deflateThresholdBytes: intFrom(0),
  historySize: intFrom(0, 1_000_000),
  historyTtlMs: intFrom(1, 30 * 86_400_000),
  maxRecoveryMessages: intFrom(0, 1_000_000),
  maxRecoveryBytes: intFrom(0, 4096 * MiB).optional(),
  httpPublishSaturationBytes: intFrom(1),
  httpRetryAfterSeconds: intFrom(1, 3600),
  shutdownDrainMs: intFrom(0, 600_000),
  shutdownSpreadMs: intFrom(0, 600_000),
  engineOutageShedMs: intFrom(0, 86_400_000),
} satisfies Record<Key, z.ZodType>;

/** What callers may pass: every field optional, typed values (strings from env and flags are read first). */
export type ConfigInput = { -readonly [K in Key]?: z.input<(typeof fieldSchemas)[K]> };

/** The validated configuration. Derived limits (`maxFrameBytes`, `maxIncompleteBytes`, ...) are filled in. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly wsPath: string;
  readonly nodeName: string;
  readonly redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster as `host:port`; empty: no cluster. */
  readonly redisClusterNodes: readonly string[];
  /** Redis Sentinels as `host:port`; empty: none. */
  readonly redisSentinels: readonly string[];
  readonly redisSentinelMaster: string;
  readonly redisWaitReplicas: number;
  readonly logLevel: LogLevel;
  readonly allowMissingSubprotocol: boolean;
  readonly allowedOrigins: readonly string[];
  readonly allowMissingOrigin: boolean;
  readonly jwtSecret: string | undefined;
  /** Bearer token of the operator endpoints; undefined: they are disabled. */
  readonly adminToken: string | undefined;
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  readonly jwtClockToleranceMs: number;
  readonly allowAnonymous: boolean;
  readonly anonymousPublish: readonly string[];
  readonly anonymousSubscribe: readonly string[];
  readonly authFailureAfterUpgrade: boolean;
  readonly maxConnections: number;
  readonly handshakeTimeoutMs: number;
  readonly maxSubscriptions: number;
  readonly maxMessageBytes: number;
  readonly chunkBytes: number;
  readonly maxFrameBytes: number;
  readonly maxConcurrentTransfers: number;
  readonly maxIncompleteBytes: number;
  readonly chunkTimeoutMs: number;
  readonly publishRatePerSecond: number;
  readonly publishRateBurst: number;
  readonly rateLimitCloseAfter: number;
  readonly maxInvalidMessages: number;
  readonly maxPendingRequests: number;
  readonly tokenGraceMs: number;
  readonly idempotencyWindowMs: number;
  readonly pingIntervalMs: number;
  readonly closeTimeoutMs: number;
  readonly maxQueuedBytes: number;
  readonly highWaterMarkBytes: number;
  readonly maxPendingGaps: number;
  readonly slowConsumerPolicy: OverflowPolicy;
  readonly slowConsumerRules: readonly SlowConsumerRule[];
  readonly perMessageDeflate: boolean;
  readonly deflateThresholdBytes: number;
  readonly historySize: number;
  readonly historyTtlMs: number;
  readonly maxRecoveryMessages: number;
  readonly maxRecoveryBytes: number;
  readonly httpPublishSaturationBytes: number;
  readonly httpRetryAfterSeconds: number;
  readonly shutdownDrainMs: number;
  readonly shutdownSpreadMs: number;
  readonly engineOutageShedMs: number;
}

/** Defaults, each with its reason. Fields absent here are optional or derived. */
export const configDefaults = {
  host: '127.0.0.1',
  port: 8080,
  wsPath: '/',
  /** No cluster unless asked for: a single Redis (REDIS_URL) is the common deployment. */
  redisClusterNodes: [],
  redisSentinels: [],
  /** Sentinel's own example name. */
  redisSentinelMaster: 'mymaster',
  /** Acknowledged when the master has it, as Redis itself does; a failover then starts new epochs (docs/redis.md). */
  redisWaitReplicas: 0,
  logLevel: 'info',
  /** Strictly standard: a client that does not name the protocol may be speaking another one. */
  allowMissingSubprotocol: false,
  allowedOrigins: [],
  allowMissingOrigin: true,
  /** Token issuers and brokers rarely agree on the time to the millisecond. */
  jwtClockToleranceMs: 5000,
  anonymousPublish: ['>'],
  anonymousSubscribe: ['>'],
  authFailureAfterUpgrade: false,
  /** About 10 KiB of broker memory per idle connection: 10,000 stay well under 1 GiB including queues in use. */
  maxConnections: 10_000,
  /** Long enough for a slow mobile handshake and an authentication hook, short enough to shed slowloris. */
  handshakeTimeoutMs: 10_000,
  /** A UI subscribes to tens of topics; a thousand leaves room and bounds the per-connection index cost. */
  maxSubscriptions: 1000,
  /**
   * Half the per-connection queue cap, so a largest message always fits beside other traffic (a message
   * larger than the cap could never be queued). Raise both together for larger payloads.
   */
  maxMessageBytes: 512 * KiB,
  /** A chunk is written in well under a millisecond on any link that matters, so urgent messages wait little. */
  chunkBytes: 64 * KiB,
  /** Enough for parallel uploads without letting one connection pin much memory. */
  maxConcurrentTransfers: 4,
  /** A transfer idle this long is abandoned: its reserved memory goes back. */
  chunkTimeoutMs: 30_000,
  /** Generous for interactive apps, tight enough that one client cannot flood a topic. */
  publishRatePerSecond: 100,
  publishRateBurst: 200,
  /** A client that ignores a hundred rate_limited errors in a row is broken, not busy. */
  rateLimitCloseAfter: 100,
  /** A correct client sends none; a few allow for a buggy release without an instant disconnect loop. */
  maxInvalidMessages: 20,
  /** The in-memory engine answers at once; this bounds memory only when a remote engine stalls. */
  maxPendingRequests: 1024,
  tokenGraceMs: 10_000,
  /** Covers a publisher's retries across a reconnect with backoff. */
  idempotencyWindowMs: 120_000,
  /** Under common proxy idle timeouts (60 s), and two missed pings find a dead peer within a minute. */
  pingIntervalMs: 25_000,
  closeTimeoutMs: 5000,
  /**
   * About 10,000 typical 100-byte deliveries: rides out a GC pause or a mobile stall, while 10,000 stuck
   * connections cost at most 10 GiB.
   */
  maxQueuedBytes: 1 * MiB,
  /** One chunk in flight per socket, so the next write is chosen by priority, not by arrival. */
  highWaterMarkBytes: 64 * KiB,
  /** A notice is about 100 bytes: at most ~100 KiB per connection, a tenth of the queue cap. */
  maxPendingGaps: 1024,
  /** Losses are announced and recoverable, so a briefly slow client keeps its connection. */
  slowConsumerPolicy: 'drop-oldest',
  slowConsumerRules: [],
  /** Compression costs CPU per message; opt in when payloads are large and compressible. */
  perMessageDeflate: false,
  deflateThresholdBytes: 1024,
  /** Enough to bridge a reconnect; memory is at most size x message size per active topic. */
  historySize: 100,
  historyTtlMs: 300_000,
  maxRecoveryMessages: 1000,
  /** 64 fully backed-up connections' worth at the default cap: beyond it, backends must slow down. */
  httpPublishSaturationBytes: 64 * MiB,
  httpRetryAfterSeconds: 1,
  /** Most load balancers give a draining node 10-30 s; flushing takes a fraction of it. */
  shutdownDrainMs: 5000,
  shutdownSpreadMs: 2000,
  /**
   * Never by default: one node keeps delivering what its own clients publish. In a multi-node deployment
   * where one node lost Redis, its clients miss the others' messages; a few seconds' grace lets a Redis
   * failover finish before clients are moved.
   */
  engineOutageShedMs: 0,
} as const satisfies ConfigInput;

/** A configuration value that cannot be used; `field` names it as the user wrote it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_BROKER_CONFIG';
  /** `ENV_NAME (--flag)` of the offending field. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`invalid configuration: ${field}: ${message}`);
    this.field = field;
  }
}

export interface LoadConfigOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the command (`--port 8080`, `--port=8080`, `--no-permessage-deflate`). */
  readonly argv?: readonly string[];
  /** Typed values applied over env and flags (for embedding and tests). */
  readonly overrides?: ConfigInput;
}

/**
 * Reads env, then flags, then `overrides`, and validates the result.
 * @throws ConfigError naming the first bad field (unknown flags included).
 */
export function loadConfig(source: LoadConfigOptions = {}): Config {
  const input: Record<string, unknown> = {};
  const env = source.env ?? process.env;
  for (const [key, spec] of Object.entries(options) as [Key, OptionSpec][]) {
    const value = env[spec.env];
    if (value !== undefined && value !== '') input[key] = readValue(key, spec, value);
  }
  Object.assign(input, parseFlags(source.argv ?? []));
  Object.assign(input, source.overrides ?? {});
  return resolveConfig(input as ConfigInput);
}

/** Builds a validated config from typed values alone (no env, no flags): what tests and embedders use. */
export function createConfig(input: ConfigInput = {}): Config {
  return resolveConfig(input);
}

function describeField(key: Key): string {
  const spec: OptionSpec = options[key];
  return `${spec.env} (--${spec.flag})`;
}

function resolveConfig(input: ConfigInput): Config {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(fieldSchemas) as Key[]) {
    const raw = input[key] ?? (configDefaults as Partial<Record<Key, unknown>>)[key];
    const result = fieldSchemas[key].safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue !== undefined && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
      throw new ConfigError(describeField(key), `${issue?.message ?? 'invalid'}${where}, got ${JSON.stringify(raw)}`);
    }
    values[key] = result.data;
  }
  const v = values as Record<Key, never> & Record<string, unknown>;
  const chunkBytes = v['chunkBytes'] as number;
  const maxMessageBytes = v['maxMessageBytes'] as number;
  const jwtSecret = v['jwtSecret'] as string | undefined;
  const config: Config = {
    ...(values as unknown as Config),
    nodeName: (v['nodeName'] as string | undefined) ?? defaultNodeName(),
    redisUrl: v['redisUrl'] as string | undefined,
    jwtSecret,
    adminToken: v['adminToken'] as string | undefined,
    jwtIssuer: v['jwtIssuer'] as string | undefined,
    jwtAudience: v['jwtAudience'] as string | undefined,
    allowAnonymous: (v['allowAnonymous'] as boolean | undefined) ?? jwtSecret === undefined,
    // A full chunk with the largest header fits exactly (protocol.md §12).
    maxFrameBytes: (v['maxFrameBytes'] as number | undefined) ?? chunkBytes + ProtocolLimit.headerLengthPrefixBytes + ProtocolLimit.maxHeaderBytes,
    // Two largest messages in flight at once; at least one must fit (protocol.md §12).
    maxIncompleteBytes: (v['maxIncompleteBytes'] as number | undefined) ?? 2 * maxMessageBytes,
    // A replay is queued at once, so it must fit the send queue or its tail would be dropped right after
    // being reported recovered; half the queue leaves the other half for live traffic.
    maxRecoveryBytes: (v['maxRecoveryBytes'] as number | undefined) ?? Math.floor((v['maxQueuedBytes'] as number) / 2),
  };
  checkConsistency(config);
  return config;
}

function defaultNodeName(): string {
  const name = hostname().replace(/[^!-~]/g, '').slice(0, 64);
  return name === '' ? 'switchboard' : name;
}

/** Rules between fields (protocol.md §12), each failure naming the field to change. */
function checkConsistency(config: Config): void {
  const fail = (key: Key, message: string): never => {
    throw new ConfigError(describeField(key), message);
  };
  const fullChunk = config.chunkBytes + ProtocolLimit.headerLengthPrefixBytes + ProtocolLimit.maxHeaderBytes;
  if (config.maxMessageBytes < config.chunkBytes) {
    fail('maxMessageBytes', `must be at least CHUNK_BYTES (${config.chunkBytes}), got ${config.maxMessageBytes}`);
  }
  if (config.maxFrameBytes < fullChunk) {
    fail('maxFrameBytes', `must fit a full chunk: CHUNK_BYTES + 4 + 4096 = ${fullChunk}, got ${config.maxFrameBytes}`);
  }
  if (config.maxIncompleteBytes < config.maxMessageBytes) {
    fail('maxIncompleteBytes', `must be at least MAX_MESSAGE_BYTES (${config.maxMessageBytes}), got ${config.maxIncompleteBytes}`);
  }
  const largestDelivery = worstCaseEncodedBytes(config.maxMessageBytes, config.chunkBytes);
  if (config.maxQueuedBytes < largestDelivery) {
    fail(
      'maxQueuedBytes',
      `must hold the largest message with its chunk headers (${largestDelivery} bytes for MAX_MESSAGE_BYTES ${config.maxMessageBytes}), got ${config.maxQueuedBytes}`,
    );
  }
  if (config.maxRecoveryBytes > config.maxQueuedBytes) {
    fail('maxRecoveryBytes', `must fit the send queue: at most MAX_QUEUED_BYTES (${config.maxQueuedBytes}), got ${config.maxRecoveryBytes}`);
  }
  if ([config.redisUrl !== undefined, config.redisClusterNodes.length > 0, config.redisSentinels.length > 0].filter(Boolean).length > 1) {
    fail(config.redisSentinels.length > 0 ? 'redisSentinels' : 'redisClusterNodes', 'set one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS');
  }
  if (config.redisWaitReplicas > 0 && config.redisClusterNodes.length > 0) {
    fail('redisWaitReplicas', 'is for REDIS_URL or REDIS_SENTINELS, not a cluster');
  }
  if (config.jwtSecret === undefined && (config.jwtIssuer !== undefined || config.jwtAudience !== undefined)) {
    fail(config.jwtIssuer !== undefined ? 'jwtIssuer' : 'jwtAudience', 'needs JWT_SECRET');
  }
}

/**
 * An upper bound of the bytes a delivery of `payloadBytes` occupies in a send queue: the payload plus, per
 * chunk, a WebSocket frame header (at most 14 bytes), the 4-byte header length and a chunk header (under
 * 1 KiB: protocol.md §12 `maxHeaderBytes` rationale).
 */
export function worstCaseEncodedBytes(payloadBytes: number, chunkBytes: number): number {
  const chunks = Math.max(1, Math.ceil(payloadBytes / chunkBytes));
  return payloadBytes + chunks * (14 + ProtocolLimit.headerLengthPrefixBytes + 1024);
}

/** Reads one string value by its field's kind; throws a ConfigError naming the field. */
function readValue(key: Key, spec: OptionSpec, text: string): unknown {
  const fail = (message: string): never => {
    throw new ConfigError(describeField(key), `${message}, got ${JSON.stringify(text)}`);
  };
  const trimmed = text.trim();
  switch (spec.kind) {
    case 'string':
      return trimmed;
    case 'int':
      return /^-?\d+$/.test(trimmed) ? Number(trimmed) : fail('must be an integer');
    case 'bytes':
      return parseBytes(trimmed) ?? fail('must be a byte count such as 65536, 64KiB or 1MiB');
    case 'duration':
      return parseDuration(trimmed) ?? fail('must be a duration such as 5000, 5000ms, 30s or 2m');
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
      if (['0', 'false', 'no', 'off'].includes(lower)) return false;
      return fail('must be true or false');
    }
    case 'list':
      return trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'rules':
      return trimmed === ''
        ? []
        : trimmed.split(',').map((rule) => {
            const at = rule.lastIndexOf('=');
            if (at <= 0) return fail('must be a list of pattern=policy');
            return { pattern: rule.slice(0, at).trim(), policy: rule.slice(at + 1).trim() };
          });
  }
}

const byteUnits: Record<string, number> = { '': 1, b: 1, k: KiB, kb: 1000, kib: KiB, m: MiB, mb: 1e6, mib: MiB, g: 1024 * MiB, gb: 1e9, gib: 1024 * MiB };
const durationUnits: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = match === null ? undefined : byteUnits[(match[2] ?? '').toLowerCase()];
  return match === null || unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = match === null ? undefined : durationUnits[(match[2] ?? '').toLowerCase()];
  return match === null || unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

const keyByFlag = new Map<string, Key>(Object.entries(options).map(([key, spec]) => [spec.flag, key as Key]));

/**
 * Reads `--flag value`, `--flag=value`, and for booleans `--flag` / `--no-flag`.
 * @throws ConfigError for an unknown flag or a missing value.
 */
export function parseFlags(argv: readonly string[]): ConfigInput {
  const input: Record<string, unknown> = {};
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (!argument.startsWith('--')) throw new ConfigError(argument, 'unexpected argument; flags look like --port 8080');
    const body = argument.slice(2);
    const equals = body.indexOf('=');
    let name = equals === -1 ? body : body.slice(0, equals);
    let negated = false;
    if (!keyByFlag.has(name) && name.startsWith('no-') && keyByFlag.has(name.slice(3))) {
      name = name.slice(3);
      negated = true;
    }
    const key = keyByFlag.get(name);
    if (key === undefined) throw new ConfigError(`--${name}`, 'unknown flag (see --help)');
    const spec: OptionSpec = options[key];
    if (spec.kind === 'boolean' && equals === -1) {
      const next = argv[index + 1];
      if (!negated && next !== undefined && /^(true|false|1|0|yes|no|on|off)$/i.test(next)) {
        input[key] = readValue(key, spec, next);
        index++;
      } else {
        input[key] = !negated;
      }
      continue;
    }
    if (negated) throw new ConfigError(`--no-${name}`, 'only boolean flags can be negated');
    let value: string | undefined;
    if (equals !== -1) value = body.slice(equals + 1);
    else {
      value = argv[index + 1];
      index++;
    }
    if (value === undefined) throw new ConfigError(describeField(key), 'needs a value');
    input[key] = readValue(key, spec, value);
  }
  return input as ConfigInput;
}

/** Every option as documented: flag, environment variable, meaning, default (for `--help` and docs/operations.md). */
export function configReference(): { readonly key: string; readonly flag: string; readonly env: string; readonly help: string; readonly fallback: string | undefined }[] {
  return (Object.entries(options) as [Key, OptionSpec][]).map(([key, spec]) => {
    const fallback = (configDefaults as Partial<Record<Key, unknown>>)[key];
    return {
      key,
      flag: `--${spec.flag}`,
      env: spec.env,
      help: spec.help,
      fallback: fallback === undefined ? undefined : Array.isArray(fallback) ? fallback.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(',') : String(fallback),
    };
  });
}

/** The `--help` text: every flag with its environment variable, default and reason. */
export function configHelp(): string {
  const lines = ['Options (flag / environment variable: meaning [default]):', ''];
  for (const { flag, env, help, fallback } of configReference()) {
    lines.push(`  ${flag} / ${env}`, `      ${help}${fallback === undefined ? '' : ` [${fallback}]`}`);
  }
  return lines.join('\n');
}

/** The slow-consumer policy for a topic: the first rule whose pattern matches, else the default. */
export function policyMatcher(config: Pick<Config, 'slowConsumerPolicy' | 'slowConsumerRules'>): (topic: string) => OverflowPolicy {
  const rules = config.slowConsumerRules.map((rule) => ({ segments: rule.pattern.split('.'), policy: rule.policy }));
  if (rules.length === 0) return () => config.slowConsumerPolicy;
  return (topic) => {
    const segments = topic.split('.');
    for (const rule of rules) if (segmentsMatch(rule.segments, segments)) return rule.policy;
    return config.slowConsumerPolicy;
  };
}
