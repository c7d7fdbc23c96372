import type { Config } from './config/config.js';
import { type EngineConfig, redisEngineOptionsOf } from './create-engine.js';
import { createSideConnection } from './engine/redis-connections.js';
import { resolveRedisEngineOptions } from './engine/redis-options.js';
import type { WebhookRedis } from './webhooks/webhook-redis.js';

/**
 * The webhooks' Redis for a configuration, or undefined with the memory engine (their queues and occupancy
 * are then the node's own). Built from the engine's own options, so it reaches the same Redis by the same
 * way (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES) and its keys use the engine's hash tags.
 */
export function createWebhooksRedis(config: EngineConfig & Pick<Config, 'nodeName'>): WebhookRedis | undefined {
  const options = redisEngineOptionsOf(config);
  if (options === undefined) return undefined;
  const { target, keyspace, backoff } = resolveRedisEngineOptions(options);
  return { connection: createSideConnection(target, backoff, `switchboard-webhooks-${config.nodeName}`), keyspace };
}
