import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Deque } from '../collections/deque.js';
import type { WebhookEvent } from './webhook-event.js';
import { type PostOutcome, batchBody, postBatch, retryDelay } from './webhook-post.js';
import { DropWarnings, type WebhookStats } from './webhook-stats.js';

export interface WebhookEndpointOptions {
  readonly url: string;
  readonly secret: string;
  readonly node: string;
  /** Most events per POST. */
  readonly batchSize: number;
  /** How long a batch's first event waits for more. */
  readonly batchDelayMs: number;
  readonly timeoutMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Events waiting, beyond the batch in flight; a new event past it is dropped and counted. */
  readonly queueSize: number;
  readonly stats: WebhookStats;
  readonly logger: Logger;
  /** @default Math.random (tests may pin the jitter) */
  readonly random?: () => number;
}

/** A batch being delivered: the same id and events on every attempt. */
interface Batch {
  readonly id: string;
  readonly events: readonly WebhookEvent[];
  readonly body: string;
  attempts: number;
}

/** An endpoint's queue: in memory (`WebhookEndpoint`) or in Redis (`RedisWebhookEndpoint`). */
export interface WebhookQueue {
  readonly url: string;
  /** Events waiting or in flight (the Redis queue: as of its last read, cluster-wide). */
  readonly depth: number;
  /** Queues an event, or counts and logs it as dropped; O(1), never throws, never waits. */
  enqueue(event: WebhookEvent): boolean;
  /** Stops, giving the queue until `deadline` (performance.now()) to be delivered or handed over. */
  close(deadline: number): Promise<void>;
}

/**
 * One endpoint's events as a single ordered stream: a bounded queue, and one batch in flight at a time,
 * retried until the endpoint answers 2xx (at least once), so every event reaches the backend after the ones
 * that happened before it, whatever their topic. Nothing here waits on a connection or makes one wait:
 * `enqueue` is O(1) and a full queue drops the new event (counted in `dropped{reason="queue_full"}`, logged).
 * Retries back off as `retryDelay` says.
 */
export class WebhookEndpoint implements WebhookQueue {
  readonly url: string;
  private readonly options: WebhookEndpointOptions;
  private readonly queue = new Deque<WebhookEvent>();
  private inFlight: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private closing = false;
  private readonly drops = new DropWarnings();
  private readonly idle = new Set<() => void>();

  constructor(options: WebhookEndpointOptions) {
    this.options = options;
    this.url = options.url;
  }

  /** Events waiting or in flight. */
  get depth(): number {
    return this.queue.length + (this.inFlight?.events.length ?? 0);
  }

  /** Queues an event; false (counted and logged) when the queue is full or the node is closing. */
  enqueue(event: WebhookEvent): boolean {
    const { stats } = this.options;
    if (this.closing) {
      stats.increment(stats.dropped, 'shutdown');
      return false;
    }
    if (this.queue.length >= this.options.queueSize) {
      stats.increment(stats.dropped, 'queue_full');
      this.drops.warn(
        this.options.logger,
        { url: this.url, queueSize: this.options.queueSize },
        'webhook queue full: events dropped (switchboard_webhook_events_dropped_total{reason="queue_full"})',
      );
      return false;
    }
    this.queue.push(event);
    stats.increment(stats.queued, event.type);
    this.schedule();
    return true;
  }

  /**
   * Stops taking events and gives the queue until `deadline` (performance.now()) to be delivered; what is
   * left then is dropped, counted as `shutdown` and logged.
   */
  async close(deadline: number): Promise<void> {
    this.closing = true;
    this.flushSoon();
    if (this.depth > 0) {
      await new Promise<void>((resolve) => {
        const bound = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        this.idle.add(() => {
          clearTimeout(bound);
          resolve();
        });
      });
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    const left = this.depth;
    if (left > 0) {
      const { stats } = this.options;
      stats.increment(stats.dropped, 'shutdown', left);
      this.options.logger.warn({ url: this.url, events: left }, 'webhook events not delivered before shutdown: dropped');
    }
    while (this.queue.length > 0) this.queue.shift();
    this.inFlight = undefined;
  }

  private schedule(): void {
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    if (this.queue.length >= this.options.batchSize || this.closing) {
      this.flushSoon();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendNext();
    }, this.options.batchDelayMs);
  }

  /** Sends on the next turn rather than now: `enqueue` runs inside a connection's handling and must stay O(1). */
  private flushSoon(): void {
    if (this.inFlight !== undefined) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendNext();
    }, 0);
  }

  private sendNext(): void {
    if (this.inFlight !== undefined) return;
    if (this.queue.length === 0) {
      for (const resolve of this.idle) resolve();
      this.idle.clear();
      return;
    }
    const events: WebhookEvent[] = [];
    while (events.length < this.options.batchSize && this.queue.length > 0) events.push(this.queue.shift() as WebhookEvent);
    const id = `wb_${randomBytes(12).toString('base64url')}`;
    const body = batchBody(id, this.options.node, events.map((event) => event.json));
    this.inFlight = { id, events, body, attempts: 0 };
    void this.attempt(this.inFlight);
  }

  private async attempt(batch: Batch): Promise<void> {
    const { stats, logger } = this.options;
    batch.attempts++;
    if (batch.attempts > 1) stats.retries++;
    const outcome = await this.post(batch);
    if (this.inFlight !== batch) return;
    stats.increment(stats.requests, outcome);
    if (outcome === 'ok') {
      stats.delivered += batch.events.length;
      this.inFlight = undefined;
      if (this.queue.length === 0) this.sendNext();
      else this.schedule();
      return;
    }
    const { retryMinMs, retryMaxMs, random } = this.options;
    const delayMs = retryDelay(batch.attempts, retryMinMs, retryMaxMs, random);
    logger.warn({ url: this.url, batch: batch.id, events: batch.events.length, attempts: batch.attempts, outcome, retryInMs: Math.round(delayMs) }, 'webhook delivery failed: retrying');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt(batch);
    }, delayMs);
  }

  private async post(batch: Batch): Promise<PostOutcome> {
    const abort = new AbortController();
    this.abort = abort;
    try {
      return await postBatch(this.options, batch.id, batch.body, abort.signal);
    } finally {
      if (this.abort === abort) this.abort = undefined;
    }
  }
}
