import type { Cluster, Redis } from 'ioredis';
import type { RedisKeyspace } from '../engine/redis-keyspace.js';

/** The part of the engine's key layout the webhooks' keys follow: its prefix and its hash tags. */
export type WebhookKeyspace = Pick<RedisKeyspace, 'prefix' | 'tagOf' | 'bucketTags'>;

/**
 * The webhooks' Redis (create-webhooks-redis.ts): a connection of their own to the engine's Redis, whichever
 * its topology (one server, a Sentinel-managed master, or a Cluster), and the engine's keyspace, so that
 * a topic's occupancy keys carry its hash tag and live on its shard, as its presence keys do.
 */
export interface WebhookRedis {
  readonly connection: Redis | Cluster;
  readonly keyspace: WebhookKeyspace;
}
