import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BrokerError } from '../errors.js';
import { closedError, unavailable } from './redis-errors.js';
import { type Backoff, reconnectDelay } from './redis-link.js';
import type { RedisTarget } from './redis-options.js';
import { historyScript } from './redis-scripts.js';

/**
 * The ioredis connections the engine opens, and the options it overrides on them. Whatever the user passes
 * (password, TLS, Sentinel, natMap...) is kept; queueing, retries and timeouts are the engine's, because
 * they decide whether a publisher hears "unavailable" at once or a message is published twice.
 */

/**
 * The scripts ioredis defines on the command connection (`defineCommand`). Not the publish script: a
 * `NOSCRIPT` would have ioredis resend it behind later publishes (redis-ordered-script.ts).
 */
export interface ScriptCommands {
  switchboardHistoryBuffer(numKeys: number, ...args: string[]): Promise<unknown>;
}

/** The command connection: a `Redis`, or in cluster mode a `Cluster` client, with the engine's scripts. */
export type CommandConnection = ScriptCommands & (Redis | Cluster);

/** What every connection the engine opens is configured from. */
export interface ConnectionSettings {
  readonly target: RedisTarget;
  /** Bounds every command and every connect. */
  readonly commandTimeoutMs: number;
  readonly backoff: Backoff;
  /** Names the connections (`CLIENT LIST`): `switchboard-<node>` and `switchboard-sub-<node>`. */
  readonly nodeId: string;
}

/**
 * The connection for scripts, canaries and `INFO`, created lazily (call `connect()`). ioredis reconnects
 * it by itself with the engine's backoff; the engine listens to its `ready` and `close`.
 */
export function createCommandConnection(settings: ConnectionSettings): CommandConnection {
  const { target, commandTimeoutMs, backoff, nodeId } = settings;
  const retryStrategy = (attempt: number): number => reconnectDelay(backoff, attempt);
  const connectionName = `switchboard-${nodeId}`;
  let commands: Redis | Cluster;
  if (target.mode === 'cluster') {
    const { cluster } = target;
    commands = new Cluster([...cluster.nodes], {
      ...cluster.clusterOptions,
      lazyConnect: true,
      enableOfflineQueue: false,
      scaleReads: 'master',
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: commandTimeoutMs,
      // Node connections are the cluster client's to open and queue on (it connects them lazily); the
      // cluster-level offline queue is off, and commands in flight fail rather than being resent.
      redisOptions: {
        ...cluster.redisOptions,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        commandTimeout: commandTimeoutMs,
        connectTimeout: commandTimeoutMs,
        connectionName,
      },
    });
  } else {
    const overrides: RedisOptions = {
      lazyConnect: true,
      // Fail at once while disconnected instead of queueing: the publisher must hear "unavailable" now.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails: resending a publish could publish it twice.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: commandTimeoutMs,
      retryStrategy,
      connectionName,
    };
    commands = withOverrides(target.redis, overrides);
  }
  commands.defineCommand('switchboardHistory', { lua: historyScript });
  return commands as CommandConnection;
}

/**
 * A subscriber connection, created lazily: to `node` (a cluster master), or else to the single Redis.
 * It never reconnects or resubscribes by itself: the engine rebuilds subscribers, so that it knows when
 * pub/sub was broken.
 */
export function createSubscriberConnection(settings: ConnectionSettings, node: { readonly host: string; readonly port: number } | undefined): Redis {
  const { target, commandTimeoutMs, nodeId } = settings;
  const overrides: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs,
    connectionName: `switchboard-sub-${nodeId}`,
  };
  if (node !== undefined) {
    return new Redis({ ...(target.mode === 'cluster' ? target.cluster.redisOptions : undefined), ...node, ...overrides });
  }
  if (target.mode === 'cluster') throw new RangeError('a cluster subscriber needs the master it connects to');
  return withOverrides(target.redis, overrides);
}

/**
 * A connection to the engine's Redis for another part of the broker (the webhooks' queue and occupancy):
 * the same target and the user's options (password, TLS, Sentinel, natMap...), its own socket so that its
 * commands never wait behind the engine's publishes, nor the reverse. Unlike the engine's, it keeps
 * ioredis's offline queue and a couple of retries: its callers bound what they wait for themselves, and an
 * event appended while Redis reconnects is better late than dropped. Reconnects at the engine's pace
 * (`backoff`). Connects at once.
 */
export function createSideConnection(target: RedisTarget, backoff: Backoff, connectionName: string): Redis | Cluster {
  const retryStrategy = (attempt: number): number => reconnectDelay(backoff, attempt);
  const overrides: RedisOptions = { maxRetriesPerRequest: 2, connectionName };
  if (target.mode === 'single') return withOverrides(target.redis, { ...overrides, retryStrategy });
  const { cluster } = target;
  return new Cluster([...cluster.nodes], {
    ...cluster.clusterOptions,
    scaleReads: 'master',
    clusterRetryStrategy: retryStrategy,
    redisOptions: { ...cluster.redisOptions, ...overrides },
  });
}

function withOverrides(redis: string | RedisOptions, overrides: RedisOptions): Redis {
  return typeof redis === 'string' ? new Redis(redis, overrides) : new Redis({ ...redis, ...overrides });
}

/**
 * WAIT until `replicas` replicas have every earlier write of `commands` (a publication's included), or
 * `timeoutMs`; rejects with `ERR_BROKER_ENGINE_UNAVAILABLE` when fewer confirmed it in time.
 */
export async function waitForReplicas(commands: Redis, replicas: number, timeoutMs: number): Promise<void> {
  let acked: number;
  try {
    acked = Number(await commands.wait(replicas, timeoutMs));
  } catch (error) {
    throw unavailable('publish not confirmed by the replicas', error);
  }
  if (acked < replicas) throw unavailable(`publish reached ${acked} of ${replicas} replicas in time`);
}

/** Resolves when the connection is ready; rejects after `timeoutMs` or when `signal` aborts (the engine closed). */
export function waitForReady(connection: Redis | Cluster, timeoutMs: number, signal: AbortSignal): Promise<void> {
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
