import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Occupancy } from './topic-occupancy.js';
import type { WebhookKeyspace } from './webhook-redis.js';

/**
 * Whether each exact topic has subscribers anywhere in the cluster (the Redis engine), reported with the
 * grace period (docs/operations.md "Webhooks across a cluster"). `<tag>` is the engine's hash tag of the
 * topic's bucket (redis-keyspace.ts; empty on a single Redis), so every script below touches one slot:
 *
 * - `sb:<tag>webhooks:occ:<topic>`, a hash of the nodes that have the topic's subscribers. The node whose
 *   `HSET` makes it non-empty reports `topic.occupied`, unless the topic was waiting out its grace period
 *   (then it is still occupied, and nothing is reported).
 * - `sb:<tag>webhooks:vacating`, per bucket, a sorted set of emptied topics scored by the end of their grace
 *   period. The script's `ZREM` in a sweep hands each due topic to one node, which reports `topic.vacated`
 *   if the hash is still empty. A user moving between nodes within the grace period fires nothing.
 * - `sb:<tag>webhooks:node-topics:<node>`, per bucket, the topics this node holds, and
 *   `sb:webhooks:alive:<node>`, a key the node renews (listed in `sb:webhooks:nodes`): a node found dead
 *   (its key expired) has its fields removed as if its topics were left, so they are reported vacated after
 *   the grace period. A node starting under the name of a previous life does the same to its own leftovers.
 *
 * A node sweeps the buckets where it knows a topic waits (its own losses, the nodes it forgot, what a sweep
 * left for later) when they fall due, and every bucket once per third of the node TTL, which finds what a
 * node that stopped or died during a grace period left behind: a cluster's 256 buckets are not all read
 * every second. A node's calls for one topic run in order on one connection (in a Cluster, the one to the
 * topic's shard), so its gained/lost of a topic are applied in order.
 */

/** The keys of the occupancy, on the engine's keyspace (`tag`: one of `keyspace.bucketTags()`). */
export class OccupancyKeys {
  constructor(private readonly keyspace: WebhookKeyspace) {}

  occupancy(topic: string): string {
    return `${this.occupancyPrefix(this.keyspace.tagOf(topic))}${topic}`;
  }

  /** `occupancy` without the topic, for the scripts that read the topics of one bucket. */
  occupancyPrefix(tag: string): string {
    return `${this.keyspace.prefix}${tag}webhooks:occ:`;
  }

  vacating(tag: string): string {
    return `${this.keyspace.prefix}${tag}webhooks:vacating`;
  }

  nodeTopics(tag: string, node: string): string {
    return `${this.keyspace.prefix}${tag}webhooks:node-topics:${node}`;
  }

  alive(node: string): string {
    return `${this.keyspace.prefix}webhooks:alive:${node}`;
  }

  nodes(): string {
    return `${this.keyspace.prefix}webhooks:nodes`;
  }

  /** The keys `gained` and `lost` of `topic` by `node` touch, in one slot. */
  ofTopic(topic: string, node: string): [occupancy: string, vacating: string, nodeTopics: string] {
    const tag = this.keyspace.tagOf(topic);
    return [this.occupancy(topic), this.vacating(tag), this.nodeTopics(tag, node)];
  }
}

/** KEYS: occ hash, vacating, node topics. ARGV: node, topic. 1: newly occupied. */
const gainScript = `
redis.call('HSET', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('HLEN', KEYS[1]) ~= 1 then return 0 end
if redis.call('ZREM', KEYS[2], ARGV[2]) == 1 then return 0 end
return 1`;

/** KEYS: occ hash, vacating, node topics. ARGV: node, topic, due. 1: the topic now waits out its grace period. */
const loseScript = `
redis.call('SREM', KEYS[3], ARGV[2])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  return 1
end
return 0`;

/**
 * Forgets a node's topics of one bucket (a dead node, or this one's previous life). KEYS: node topics,
 * vacating. ARGV: node, due, occupancy prefix of the bucket. Returns how many topics now wait.
 */
const forgetNodeScript = `
local waiting = 0
for _, topic in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local occ = ARGV[3] .. topic
  if redis.call('HDEL', occ, ARGV[1]) == 1 and redis.call('HLEN', occ) == 0 then
    redis.call('ZADD', KEYS[2], ARGV[2], topic)
    waiting = waiting + 1
  end
end
redis.call('DEL', KEYS[1])
return waiting`;

/**
 * Takes the due topics of one bucket. KEYS: vacating. ARGV: now, limit, occupancy prefix of the bucket.
 * Returns the score of the next topic still waiting ('' if none), then the vacated topics.
 */
const sweepScript = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local reply = {''}
for _, topic in ipairs(due) do
  redis.call('ZREM', KEYS[1], topic)
  if redis.call('HLEN', ARGV[3] .. topic) == 0 then table.insert(reply, topic) end
end
local following = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if following[2] then reply[1] = following[2] end
return reply`;

type ScriptedRedis = (Redis | Cluster) & {
  webhookOccGain(occ: string, vacating: string, nodeTopics: string, node: string, topic: string): Promise<number>;
  webhookOccLose(occ: string, vacating: string, nodeTopics: string, node: string, topic: string, due: number): Promise<number>;
  webhookOccForgetNode(nodeTopics: string, vacating: string, node: string, due: number, prefix: string): Promise<number>;
  webhookOccSweep(vacating: string, now: number, limit: number, prefix: string): Promise<string[]>;
};

export function defineOccupancyScripts(redis: Redis | Cluster): void {
  redis.defineCommand('webhookOccGain', { numberOfKeys: 3, lua: gainScript });
  redis.defineCommand('webhookOccLose', { numberOfKeys: 3, lua: loseScript });
  redis.defineCommand('webhookOccForgetNode', { numberOfKeys: 2, lua: forgetNodeScript });
  redis.defineCommand('webhookOccSweep', { numberOfKeys: 1, lua: sweepScript });
}

export interface RedisTopicOccupancyOptions {
  /** A connection with `defineOccupancyScripts` applied, owned by the caller. */
  readonly redis: Redis | Cluster;
  readonly keyspace: WebhookKeyspace;
  readonly node: string;
  readonly graceMs: number;
  /** How long a node may go unheard before the others forget its topics. */
  readonly nodeTtlMs: number;
  readonly logger: Logger;
  readonly report: (topic: string, occupied: boolean) => void;
  /** Wall clock (the sorted sets' scores; the nodes' clocks must agree within a fraction of the grace). @default Date.now */
  readonly now?: () => number;
}

/** Due topics taken per bucket and sweep; the next sweep takes more. */
const sweepLimit = 500;
/** Buckets swept at once (a cluster has 256), so a pass neither crawls nor floods Redis. */
const bucketsAtOnce = 16;

export class RedisTopicOccupancy implements Occupancy {
  private readonly options: RedisTopicOccupancyOptions;
  private readonly redis: ScriptedRedis;
  private readonly keys: OccupancyKeys;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private readonly started: Promise<unknown>;
  /** Bucket tag -> when the earliest topic this node knows to wait there falls due. */
  private readonly due = new Map<string, number>();
  private sweeping = false;
  private lastPass = -Infinity;

  constructor(options: RedisTopicOccupancyOptions) {
    this.options = options;
    this.redis = options.redis as ScriptedRedis;
    this.keys = new OccupancyKeys(options.keyspace);
    this.now = options.now ?? Date.now;
    // A previous life under this name may have died holding topics: they are not held now.
    this.started = this.forgetNode(options.node).catch((error: unknown) => this.failed(error, 'forgetting a previous life'));
    const period = Math.max(20, Math.min(1000, options.graceMs / 4, options.nodeTtlMs / 3));
    this.timer = setInterval(() => void this.sweep(), period);
    this.timer.unref();
  }

  gained(topic: string): void {
    const { node } = this.options;
    void this.started
      .then(() => this.redis.webhookOccGain(...this.keys.ofTopic(topic, node), node, topic))
      .then((occupied) => {
        if (occupied === 1) this.options.report(topic, true);
      })
      .catch((error: unknown) => this.failed(error, `topic ${topic} gained`));
  }

  lost(topic: string): void {
    const { node, graceMs, keyspace } = this.options;
    const due = this.now() + graceMs;
    void this.started
      .then(() => this.redis.webhookOccLose(...this.keys.ofTopic(topic, node), node, topic, due))
      .then((waiting) => {
        if (waiting === 1) this.waits(keyspace.tagOf(topic), due);
      })
      .catch((error: unknown) => this.failed(error, `topic ${topic} lost`));
  }

  /** Stops sweeping; this node's topics were lost already (its connections closed first). */
  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Renews this node and forgets dead ones, once per third of the node TTL, with a pass over every bucket;
   * between passes, sweeps the buckets known to have due topics, and reports those whose grace is over.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const { node, nodeTtlMs, keyspace } = this.options;
    try {
      const now = this.now();
      let tags: string[];
      if (now - this.lastPass >= nodeTtlMs / 3) {
        await this.redis.set(this.keys.alive(node), '1', 'PX', nodeTtlMs);
        await this.redis.sadd(this.keys.nodes(), node);
        for (const other of await this.redis.smembers(this.keys.nodes())) {
          if (other === node || (await this.redis.exists(this.keys.alive(other))) === 1) continue;
          this.options.logger.info({ node: other }, 'webhooks: node gone, its topics are left');
          await this.forgetNode(other);
          await this.redis.srem(this.keys.nodes(), other);
        }
        this.lastPass = now;
        tags = keyspace.bucketTags();
      } else {
        tags = [...this.due].filter(([, at]) => at <= now).map(([tag]) => tag);
      }
      await inBatches(tags, (tag) => this.sweepBucket(tag, now));
    } catch (error) {
      this.failed(error, 'sweep');
    } finally {
      this.sweeping = false;
    }
  }

  private async sweepBucket(tag: string, now: number): Promise<void> {
    this.due.delete(tag);
    const [next, ...vacated] = await this.redis.webhookOccSweep(this.keys.vacating(tag), now, sweepLimit, this.keys.occupancyPrefix(tag));
    if (next !== undefined && next !== '') this.waits(tag, Number(next));
    for (const topic of vacated) this.options.report(topic, false);
  }

  /** Removes `node` from its topics in every bucket, as if it had left them. */
  private async forgetNode(node: string): Promise<void> {
    const due = this.now() + this.options.graceMs;
    await inBatches(this.options.keyspace.bucketTags(), async (tag) => {
      const waiting = await this.redis.webhookOccForgetNode(this.keys.nodeTopics(tag, node), this.keys.vacating(tag), node, due, this.keys.occupancyPrefix(tag));
      if (waiting > 0) this.waits(tag, due);
    });
  }

  private waits(tag: string, due: number): void {
    this.due.set(tag, Math.min(due, this.due.get(tag) ?? Infinity));
  }

  private failed(error: unknown, what: string): void {
    this.options.logger.warn({ err: error }, `webhook occupancy: ${what} failed (Redis unavailable?)`);
  }
}

/** Runs `task` for every item, `bucketsAtOnce` at a time. */
async function inBatches<T>(items: readonly T[], task: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += bucketsAtOnce) await Promise.all(items.slice(start, start + bucketsAtOnce).map(task));
}
