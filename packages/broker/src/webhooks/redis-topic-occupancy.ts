import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Occupancy } from './topic-occupancy.js';

/**
 * Whether each exact topic has subscribers anywhere in the cluster (the Redis engine), reported with the
 * grace period (docs/operations.md "Webhooks across a cluster"):
 *
 * - `sb:webhooks:occ:<topic>`, a hash of the nodes that have the topic's subscribers. The node whose
 *   `HSET` makes it non-empty reports `topic.occupied`, unless the topic was waiting out its grace period
 *   (then it is still occupied, and nothing is reported).
 * - `sb:webhooks:vacating`, a sorted set of emptied topics scored by the end of their grace period. Every
 *   node sweeps it; the script's `ZREM` hands each due topic to one node, which reports `topic.vacated`
 *   if the hash is still empty. A user moving between nodes within the grace period fires nothing.
 * - `sb:webhooks:node-topics:<node>`, the topics this node holds, and `sb:webhooks:alive:<node>`, a key the
 *   node renews: a node found dead (its key expired) by a sweep has its fields removed as if its topics
 *   were left, so they are reported vacated after the grace period. A node starting under the name of a
 *   previous life does the same to its own leftovers first.
 *
 * Calls from one node run in order on one connection, so its gained/lost of a topic are applied in order.
 */

const occupancyPrefix = 'sb:webhooks:occ:';
const vacatingKey = 'sb:webhooks:vacating';
const nodesKey = 'sb:webhooks:nodes';
const nodeTopicsPrefix = 'sb:webhooks:node-topics:';
const alivePrefix = 'sb:webhooks:alive:';

/** KEYS: occ hash, vacating, node topics. ARGV: node, topic. 1: newly occupied. */
const gainScript = `
redis.call('HSET', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('HLEN', KEYS[1]) ~= 1 then return 0 end
if redis.call('ZREM', KEYS[2], ARGV[2]) == 1 then return 0 end
return 1`;

/** KEYS: occ hash, vacating, node topics. ARGV: node, topic, due. */
const loseScript = `
redis.call('SREM', KEYS[3], ARGV[2])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 1`;

/**
 * Forgets a node's topics (a dead node, or this one's previous life). KEYS: node topics, vacating.
 * ARGV: node, due, occupancy prefix.
 */
const forgetNodeScript = `
for _, topic in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local occ = ARGV[3] .. topic
  if redis.call('HDEL', occ, ARGV[1]) == 1 and redis.call('HLEN', occ) == 0 then
    redis.call('ZADD', KEYS[2], ARGV[2], topic)
  end
end
redis.call('DEL', KEYS[1])
return 1`;

/** Takes the due topics. KEYS: vacating. ARGV: now, limit, occupancy prefix. Returns the vacated ones. */
const sweepScript = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local vacated = {}
for _, topic in ipairs(due) do
  redis.call('ZREM', KEYS[1], topic)
  if redis.call('HLEN', ARGV[3] .. topic) == 0 then table.insert(vacated, topic) end
end
return vacated`;

type ScriptedRedis = Redis & {
  webhookOccGain(occ: string, vacating: string, nodeTopics: string, node: string, topic: string): Promise<number>;
  webhookOccLose(occ: string, vacating: string, nodeTopics: string, node: string, topic: string, due: number): Promise<number>;
  webhookOccForgetNode(nodeTopics: string, vacating: string, node: string, due: number, prefix: string): Promise<number>;
  webhookOccSweep(vacating: string, now: number, limit: number, prefix: string): Promise<string[]>;
};

export function defineOccupancyScripts(redis: Redis): void {
  redis.defineCommand('webhookOccGain', { numberOfKeys: 3, lua: gainScript });
  redis.defineCommand('webhookOccLose', { numberOfKeys: 3, lua: loseScript });
  redis.defineCommand('webhookOccForgetNode', { numberOfKeys: 2, lua: forgetNodeScript });
  redis.defineCommand('webhookOccSweep', { numberOfKeys: 1, lua: sweepScript });
}

export interface RedisTopicOccupancyOptions {
  /** A connection with `defineOccupancyScripts` applied, owned by the caller. */
  readonly redis: Redis;
  readonly node: string;
  readonly graceMs: number;
  /** How long a node may go unheard before the others forget its topics. */
  readonly nodeTtlMs: number;
  readonly logger: Logger;
  readonly report: (topic: string, occupied: boolean) => void;
  /** Wall clock (the sorted set's scores; the nodes' clocks must agree within a fraction of the grace). @default Date.now */
  readonly now?: () => number;
}

/** Due topics taken per sweep; the next sweep takes more. */
const sweepLimit = 500;

export class RedisTopicOccupancy implements Occupancy {
  private readonly options: RedisTopicOccupancyOptions;
  private readonly redis: ScriptedRedis;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private readonly started: Promise<unknown>;
  private sweeping = false;
  private lastPing = -Infinity;

  constructor(options: RedisTopicOccupancyOptions) {
    this.options = options;
    this.redis = options.redis as ScriptedRedis;
    this.now = options.now ?? Date.now;
    const { node } = options;
    // A previous life under this name may have died holding topics: they are not held now.
    this.started = this.redis
      .webhookOccForgetNode(`${nodeTopicsPrefix}${node}`, vacatingKey, node, this.now() + options.graceMs, occupancyPrefix)
      .catch((error: unknown) => this.failed(error, 'forgetting a previous life'));
    const period = Math.max(20, Math.min(1000, options.graceMs / 4, options.nodeTtlMs / 3));
    this.timer = setInterval(() => void this.sweep(), period);
    this.timer.unref();
  }

  gained(topic: string): void {
    const { node } = this.options;
    void this.started
      .then(() => this.redis.webhookOccGain(`${occupancyPrefix}${topic}`, vacatingKey, `${nodeTopicsPrefix}${node}`, node, topic))
      .then((occupied) => {
        if (occupied === 1) this.options.report(topic, true);
      })
      .catch((error: unknown) => this.failed(error, `topic ${topic} gained`));
  }

  lost(topic: string): void {
    const { node, graceMs } = this.options;
    void this.started
      .then(() => this.redis.webhookOccLose(`${occupancyPrefix}${topic}`, vacatingKey, `${nodeTopicsPrefix}${node}`, node, topic, this.now() + graceMs))
      .catch((error: unknown) => this.failed(error, `topic ${topic} lost`));
  }

  /** Stops sweeping; this node's topics were lost already (its connections closed first). */
  close(): void {
    clearInterval(this.timer);
  }

  /** Renews this node, forgets dead ones, and reports the topics whose grace period is over. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const { node, nodeTtlMs, graceMs, report } = this.options;
    try {
      const now = this.now();
      if (now - this.lastPing >= nodeTtlMs / 3) {
        await this.redis.multi().set(`${alivePrefix}${node}`, '1', 'PX', nodeTtlMs).sadd(nodesKey, node).exec();
        this.lastPing = now;
        for (const other of await this.redis.smembers(nodesKey)) {
          if (other === node || (await this.redis.exists(`${alivePrefix}${other}`)) === 1) continue;
          this.options.logger.info({ node: other }, 'webhooks: node gone, its topics are left');
          await this.redis.webhookOccForgetNode(`${nodeTopicsPrefix}${other}`, vacatingKey, other, now + graceMs, occupancyPrefix);
          await this.redis.srem(nodesKey, other);
        }
      }
      for (const topic of await this.redis.webhookOccSweep(vacatingKey, now, sweepLimit, occupancyPrefix)) report(topic, false);
    } catch (error) {
      this.failed(error, 'sweep');
    } finally {
      this.sweeping = false;
    }
  }

  private failed(error: unknown, what: string): void {
    this.options.logger.warn({ err: error }, `webhook occupancy: ${what} failed (Redis unavailable?)`);
  }
}
