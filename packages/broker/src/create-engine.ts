import type { Config } from './config/config.js';
import { reservedRootsOf } from './config/options-users.js';
import type { Engine } from './engine/engine.js';
import { MemoryCluster } from './engine/engine-memory-cluster.js';
import { MemoryEngine } from './engine/engine-memory.js';
import { RedisEngine } from './engine/engine-redis.js';
import type { RedisEngineOptions } from './engine/redis-options.js';

export type EngineConfig = Pick<Config, 'redisUrl' | 'redisClusterNodes' | 'redisSentinels' | 'redisSentinelMaster' | 'redisWaitReplicas' | 'idempotencyWindowMs' | 'presenceNodeTtlMs'> &
  Partial<Pick<Config, 'userTopicPrefix'>>;

/**
 * The engine for a configuration: Redis with `REDIS_URL`, a Sentinel-managed Redis with `REDIS_SENTINELS`
 * (the engine asks the Sentinels for the master on every connect, so it follows a failover), Redis Cluster
 * (sharded pub/sub) with `REDIS_CLUSTER_NODES`, otherwise in-memory (one node). The Redis engine is started
 * by the hub; a Redis that is unreachable at boot fails startup (docs/redis.md).
 */
export function createEngine(config: EngineConfig): Engine {
  const redis = redisEngineOptionsOf(config);
  if (redis !== undefined) return new RedisEngine(redis);
  const { idempotencyWindowMs, presenceNodeTtlMs } = config;
  return new MemoryEngine({ cluster: new MemoryCluster({ idempotencyWindowMs, presenceNodeTtlMs }), reservedRoots: reservedRootsOf(config) });
}

/**
 * The Redis engine's options for a configuration, or undefined without Redis. Also where the webhooks'
 * own connection and keys come from (create-webhooks-redis.ts), so both reach the same Redis the same way.
 */
export function redisEngineOptionsOf(config: EngineConfig): RedisEngineOptions | undefined {
  const { idempotencyWindowMs, presenceNodeTtlMs } = config;
  const replicasToAck = config.redisWaitReplicas;
  const reservedRoots = reservedRootsOf(config);
  if (config.redisUrl !== undefined) return { redis: config.redisUrl, idempotencyWindowMs, replicasToAck, presenceNodeTtlMs, reservedRoots };
  if (config.redisSentinels.length > 0) {
    const redis = { sentinels: config.redisSentinels.map(hostAndPort), name: config.redisSentinelMaster };
    return { redis, idempotencyWindowMs, replicasToAck, presenceNodeTtlMs, reservedRoots };
  }
  if (config.redisClusterNodes.length > 0) {
    return { cluster: { nodes: config.redisClusterNodes.map(hostAndPort) }, idempotencyWindowMs, presenceNodeTtlMs, reservedRoots };
  }
  return undefined;
}

/** `host:port` (validated by the config) as ioredis wants a node or a Sentinel. */
function hostAndPort(hostPort: string): { host: string; port: number } {
  const colon = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
}
