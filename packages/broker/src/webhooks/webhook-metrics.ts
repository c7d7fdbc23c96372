import { Counter, Gauge, type Registry } from 'prom-client';
import type { Webhooks } from './webhooks.js';

/**
 * The webhooks' series in the broker's registry (docs/operations.md "Metrics"), read from `WebhookStats` at
 * scrape time; counters report the growth since the previous scrape, as `http/metrics.ts` does.
 */
export function registerWebhookMetrics(registry: Registry, webhooks: Webhooks): void {
  const { stats } = webhooks;
  const labelled = (name: string, help: string, label: string, map: Map<string, number>) => {
    const reported = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        for (const [key, value] of map) {
          const before = reported.get(key) ?? 0;
          if (value > before) this.inc({ [label]: key }, value - before);
          reported.set(key, value);
        }
      },
    });
  };
  labelled('switchboard_webhook_events_total', 'Webhook events queued for delivery, by type.', 'type', stats.queued);
  labelled('switchboard_webhook_events_dropped_total', 'Webhook events given up, by reason (queue_full, shutdown).', 'reason', stats.dropped);
  labelled('switchboard_webhook_requests_total', 'Webhook POSTs, by outcome (ok, status_4xx, status_5xx, timeout, network).', 'outcome', stats.requests);
  let delivered = 0;
  new Counter({
    name: 'switchboard_webhook_events_delivered_total',
    help: 'Webhook events the backend acknowledged with a 2xx.',
    registers: [registry],
    collect() {
      if (stats.delivered > delivered) this.inc(stats.delivered - delivered);
      delivered = stats.delivered;
    },
  });
  let retries = 0;
  new Counter({
    name: 'switchboard_webhook_retries_total',
    help: 'Webhook batches sent again after a failed attempt.',
    registers: [registry],
    collect() {
      if (stats.retries > retries) this.inc(stats.retries - retries);
      retries = stats.retries;
    },
  });
  new Gauge({
    name: 'switchboard_webhook_queue_events',
    help: 'Webhook events waiting or in flight, over every endpoint.',
    registers: [registry],
    collect() {
      this.set(webhooks.queueDepth);
    },
  });
}
