import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { WebhookEndpointOptions, WebhookQueue } from './webhook-endpoint.js';
import type { WebhookEvent } from './webhook-event.js';
import { DropWarnings } from './webhook-stats.js';
import { type PostOutcome, batchBody, postBatch, retryDelay } from './webhook-post.js';

/**
 * The keys of one endpoint's queue, shared by every node on the same Redis: a stream of events (`events`) and
 * the lease (`lease`) naming the one node that sends them. One hash tag, so a Redis Cluster keeps both on
 * one shard.
 */
export function webhookQueueKeys(url: string): { readonly events: string; readonly lease: string } {
  const tag = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return { events: `sb:webhooks:{${tag}}:events`, lease: `sb:webhooks:{${tag}}:lease` };
}

/** Appends an event unless the stream holds `size` already: overflow refuses the new event, never an old one. */
const enqueueScript = `
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
return 1`;

/** Keeps the lease if it is ours, or takes it if it is free: 1 when this node may send. */
const holdScript = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Lets the lease go if it is ours (a clean shutdown hands over at once). */
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

type ScriptedRedis = (Redis | Cluster) & {
  webhookEnqueue(stream: string, size: number, json: string): Promise<number>;
  webhookHold(lease: string, holder: string, ms: number): Promise<number>;
  webhookRelease(lease: string, holder: string): Promise<number>;
};

/** Defines the scripts once on a connection (ioredis sends EVALSHA, and the script itself after NOSCRIPT). */
export function defineWebhookScripts(redis: Redis | Cluster): void {
  redis.defineCommand('webhookEnqueue', { numberOfKeys: 1, lua: enqueueScript });
  redis.defineCommand('webhookHold', { numberOfKeys: 1, lua: holdScript });
  redis.defineCommand('webhookRelease', { numberOfKeys: 1, lua: releaseScript });
}

export interface RedisWebhookEndpointOptions extends WebhookEndpointOptions {
  /** A connection with `defineWebhookScripts` applied, owned by the caller. */
  readonly redis: Redis | Cluster;
}

/**
 * One endpoint's queue in Redis (the Redis engine), so that a node's crash loses none of its events: every
 * node appends to the endpoint's stream, and whichever node holds the lease sends the stream from its oldest
 * entry, one batch in flight, and deletes the entries once the backend answers 2xx. A node killed with `-9`
 * leaves its lease to expire (twice WEBHOOK_TIMEOUT, plus a second, so it outlives any POST of the holder);
 * another node, or the restarted one, then takes it and sends the same entries again, with the same event
 * ids. One stream and one sender keep the endpoint's events in the order Redis appended them, across nodes.
 *
 * The queue bound is the stream's length (overflow refuses the new event in the append script, counted as
 * `queue_full`); appends waiting for Redis are bounded by the same size (beyond: `queue_full` too), and an
 * append Redis refuses or cannot take is counted as `redis_unavailable`. Each is logged.
 */
export class RedisWebhookEndpoint implements WebhookQueue {
  readonly url: string;
  private readonly options: RedisWebhookEndpointOptions;
  private readonly redis: ScriptedRedis;
  private readonly keys: { readonly events: string; readonly lease: string };
  private readonly holder = randomBytes(9).toString('base64url');
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly stop = new AbortController();
  private appending = 0;
  private readonly drops = new DropWarnings();
  /** The stream's length at the last read; what waits cluster-wide (the metric's gauge). */
  private lastLength = 0;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(options: RedisWebhookEndpointOptions) {
    this.options = options;
    this.url = options.url;
    this.redis = options.redis as ScriptedRedis;
    this.keys = webhookQueueKeys(options.url);
    this.leaseMs = 2 * options.timeoutMs + 1000;
    this.pollMs = Math.max(10, options.batchDelayMs);
    this.loop = this.run().catch((error: unknown) => options.logger.error({ err: error, url: this.url }, 'webhook sender stopped'));
  }

  get depth(): number {
    return Math.max(this.lastLength, this.appending);
  }

  enqueue(event: WebhookEvent): boolean {
    const { stats, logger, queueSize } = this.options;
    if (this.stop.signal.aborted) {
      stats.increment(stats.dropped, 'shutdown');
      return false;
    }
    if (this.appending >= queueSize) {
      stats.increment(stats.dropped, 'queue_full');
      this.drops.warn(logger, { url: this.url, queueSize }, 'webhook appends to Redis backed up: events dropped');
      return false;
    }
    this.appending++;
    this.redis.webhookEnqueue(this.keys.events, queueSize, event.json).then(
      (added) => {
        this.appending--;
        if (added === 1) {
          stats.increment(stats.queued, event.type);
          this.wake?.();
        } else {
          stats.increment(stats.dropped, 'queue_full');
          this.drops.warn(logger, { url: this.url, queueSize }, 'webhook queue full: events dropped');
        }
      },
      (error: unknown) => {
        this.appending--;
        stats.increment(stats.dropped, 'redis_unavailable');
        this.drops.warn(logger, { err: error, url: this.url }, 'webhook events not queued: Redis unavailable');
      },
    );
    return true;
  }

  /**
   * Stops sending and hands the lease over. Nothing is dropped: what is queued stays in Redis for the other
   * nodes (or this one, restarted). Waits for this node's appends until `deadline`.
   */
  async close(deadline: number): Promise<void> {
    while (this.appending > 0 && performance.now() < deadline) await sleep(5);
    this.stop.abort();
    this.wake?.();
    await this.loop;
    await this.redis.webhookRelease(this.keys.lease, this.holder).catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { signal } = this.stop;
    while (!signal.aborted) {
      if (!(await this.hold())) {
        await this.pause(this.leaseMs / 3);
        continue;
      }
      const entries = await this.read();
      if (entries === undefined || entries.length === 0) {
        await this.pause(entries === undefined ? this.leaseMs / 3 : this.pollMs);
        continue;
      }
      await this.deliver(entries);
    }
  }

  /** Sends one batch until it is accepted, this node loses the lease, or it closes. */
  private async deliver(entries: readonly [string, string][]): Promise<void> {
    const { stats, logger, retryMinMs, retryMaxMs, random } = this.options;
    const { signal } = this.stop;
    // Named by its first entry, so a batch taken over by another node keeps its id as far as it can.
    const id = `wb_${(entries[0] as [string, string])[0]}`;
    const body = batchBody(id, this.options.node, entries.map(([, json]) => json));
    for (let attempts = 1; !signal.aborted; attempts++) {
      if (attempts > 1) stats.retries++;
      const outcome: PostOutcome = await postBatch(this.options, id, body, signal);
      if (signal.aborted) return;
      stats.increment(stats.requests, outcome);
      if (outcome === 'ok') {
        stats.delivered += entries.length;
        await this.redis.xdel(this.keys.events, ...entries.map(([entryId]) => entryId)).catch((error: unknown) => {
          // Sent again by the next holder: at least once.
          logger.warn({ err: error, url: this.url }, 'webhook batch delivered but not removed from Redis');
        });
        return;
      }
      const delayMs = retryDelay(attempts, retryMinMs, retryMaxMs, random);
      logger.warn({ url: this.url, batch: id, events: entries.length, attempts, outcome, retryInMs: Math.round(delayMs) }, 'webhook delivery failed: retrying');
      // Keep the lease through the wait, in steps shorter than it; lost, the new holder sends the batch.
      for (const until = performance.now() + delayMs; performance.now() < until && !signal.aborted; ) {
        if (!(await this.hold())) return;
        await this.pause(Math.min(until - performance.now(), this.leaseMs / 3), false);
      }
      if (!(await this.hold())) return;
    }
  }

  private async hold(): Promise<boolean> {
    try {
      return (await this.redis.webhookHold(this.keys.lease, this.holder, this.leaseMs)) === 1;
    } catch {
      return false;
    }
  }

  /** The oldest entries, up to a batch, as (stream id, event JSON); undefined when Redis did not answer. */
  private async read(): Promise<[string, string][] | undefined> {
    try {
      const [entries, length] = await Promise.all([
        this.redis.xrange(this.keys.events, '-', '+', 'COUNT', this.options.batchSize),
        this.redis.xlen(this.keys.events),
      ]);
      this.lastLength = length;
      return entries.map(([entryId, fields]) => [entryId, fields[1] as string]);
    } catch (error) {
      this.options.logger.warn({ err: error, url: this.url }, 'webhook queue unreadable: Redis unavailable');
      return undefined;
    }
  }

  /** Waits `ms`, or less when an event is appended (if `wakeable`) or the node closes. */
  private pause(ms: number, wakeable = true): Promise<void> {
    const { signal } = this.stop;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      if (wakeable) this.wake = done;
    });
  }
}
