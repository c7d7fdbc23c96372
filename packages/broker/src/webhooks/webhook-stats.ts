import type { Logger } from 'pino';

/**
 * The webhooks' counters as plain numbers, read by `webhook-metrics.ts` at scrape time (as `stats.ts` is for
 * the rest of the broker).
 */
export class WebhookStats {
  /** Events accepted into a queue, by type. */
  readonly queued = new Map<string, number>();
  /** Events the backend acknowledged (a 2xx to the batch that carried them). */
  delivered = 0;
  /** Events given up, by reason: `queue_full` (the endpoint's queue was at WEBHOOK_QUEUE_SIZE), `shutdown`,
   * `redis_unavailable` (the Redis queue could not take it). */
  readonly dropped = new Map<string, number>();
  /** POSTs, by outcome: `ok`, `status_4xx`, `status_5xx`, `timeout`, `network`. */
  readonly requests = new Map<string, number>();
  /** Batches sent again after a failed attempt. */
  retries = 0;

  increment(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}

/** Drop warnings at most this often, with the count since the last one: an overflow is never silent, nor a flood. */
const dropLogIntervalMs = 10_000;

export class DropWarnings {
  private since = 0;
  private last = -Infinity;

  warn(logger: Logger, fields: Record<string, unknown>, message: string): void {
    this.since++;
    const now = performance.now();
    if (now - this.last < dropLogIntervalMs) return;
    logger.warn({ ...fields, dropped: this.since }, message);
    this.last = now;
    this.since = 0;
  }
}
