import type { Config } from './config/config.js';
import { reservedRootsOf } from './config/options-users.js';
import type { Engine } from './engine/engine.js';
import { MemoryCluster } from './engine/engine-memory-cluster.js';
import { MemoryEngine } from './engine/engine-memory.js';
import { RedisEngine } from './engine/engine-redis.js';

/**
 * The engine for a configuration: Redis with `REDIS_URL`, a Sentinel-managed Redis with `REDIS_SENTINELS`
 * (the engine asks the Sentinels for the master on every connect, so it follows a failover), Redis Cluster
 * (sharded pub/sub) with `REDIS_CLUSTER_NODES`, otherwise in-memory (one node). The Redis engine is started
 * by the hub; a Redis that is unreachable at boot fails startup (docs/redis.md).
 */
export function createEngine(
  config: Pick<Config, 'redisUrl' | 'redisClusterNodes' | 'redisSentinels' | 'redisSentinelMaster' | 'redisWaitReplicas' | 'idempotencyWindowMs' | 'presenceNodeTtlMs'> &
    Partial<Pick<Config, 'userTopicPrefix'>>,
): Engine {
  const { idempotencyWindowMs, presenceNodeTtlMs } = config;
  const replicasToAck = config.redisWaitReplicas;
  const reservedRoots = reservedRootsOf(config);
  if (config.redisUrl !== undefined) return new RedisEngine({ redis: config.redisUrl, idempotencyWindowMs, replicasToAck, presenceNodeTtlMs, reservedRoots });
  if (config.redisSentinels.length > 0) {
    const redis = { sentinels: config.redisSentinels.map(hostAndPort), name: config.redisSentinelMaster };
    return new RedisEngine({ redis, idempotencyWindowMs, replicasToAck, presenceNodeTtlMs, reservedRoots });
  }
  if (config.redisClusterNodes.length > 0) {
    return new RedisEngine({ cluster: { nodes: config.redisClusterNodes.map(hostAndPort) }, idempotencyWindowMs, presenceNodeTtlMs, reservedRoots });
  }
  return new MemoryEngine({ cluster: new MemoryCluster({ idempotencyWindowMs, presenceNodeTtlMs }), reservedRoots });
}

/** `host:port` (validated by the config) as ioredis wants a node or a Sentinel. */
function hostAndPort(hostPort: string): { host: string; port: number } {
  const colon = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
}
