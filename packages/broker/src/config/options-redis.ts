import { z } from 'zod';
import { option } from './option.js';
import { intFrom, visibleAscii } from './option-schemas.js';

/**
 * Which engine carries publications between nodes: one Redis (REDIS_URL), a Sentinel-managed Redis or a
 * Redis Cluster; none of them: the in-memory engine, one node (docs/redis.md). At most one may be set
 * (config-checks.ts).
 */

/**
 * No user info: these options have no place for a password, so a `user:password@host:port` item is refused
 * rather than handed to DNS as a host name (whose error would print it).
 */
const hostPortList = z.array(z.string().regex(/^[^\s:@/]+:\d{1,5}$/, 'must be a list of host:port'));

export const redisOptions = {
  redisUrl: option({
    env: 'REDIS_URL',
    flag: 'redis-url',
    kind: 'string',
    schema: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
    /** `redis://user:password@host:6379`: the host is worth showing, the password never. */
    secret: 'url-password',
    optional: true,
    help: 'Redis engine URL (one Redis); unset, and no REDIS_CLUSTER_NODES: the in-memory engine (one node)',
  }),
  redisClusterNodes: option({
    env: 'REDIS_CLUSTER_NODES',
    flag: 'redis-cluster-nodes',
    kind: 'list',
    schema: hostPortList,
    /** Holds no password, but is where a `redis://:password@host` pasted by mistake would land. */
    secret: 'url-password',
    /** No cluster unless asked for: a single Redis (REDIS_URL) is the common deployment. */
    default: [],
    help: 'comma-separated host:port seed nodes of a Redis Cluster (sharded pub/sub); instead of REDIS_URL',
  }),
  redisSentinels: option({
    env: 'REDIS_SENTINELS',
    flag: 'redis-sentinels',
    kind: 'list',
    schema: hostPortList,
    /** As REDIS_CLUSTER_NODES. */
    secret: 'url-password',
    default: [],
    help: 'comma-separated host:port of Redis Sentinels; the engine follows the master they name (failover); instead of REDIS_URL',
  }),
  redisSentinelMaster: option({
    env: 'REDIS_SENTINEL_MASTER',
    flag: 'redis-sentinel-master',
    kind: 'string',
    schema: z.string().min(1).regex(visibleAscii, 'must be visible ASCII'),
    /** Sentinel's own example name. */
    default: 'mymaster',
    help: 'the master name the Sentinels monitor',
  }),
  redisWaitReplicas: option({
    env: 'REDIS_WAIT_REPLICAS',
    flag: 'redis-wait-replicas',
    kind: 'int',
    schema: intFrom(0, 16),
    /** Acknowledged when the master has it, as Redis itself does; a failover then starts new epochs (docs/redis.md). */
    default: 0,
    help: 'replicas that must have a publication before its publish is acknowledged (WAIT); set to the number of replicas so a failover keeps every acknowledged publication and its epoch; 0: a failover starts new epochs; not with a cluster',
  }),
};
