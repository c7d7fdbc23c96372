import type { Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge, scrapedLabelledCounter } from '../scraped-metrics.js';
import type { Webhooks } from './webhooks.js';

/**
 * The webhooks' series in the broker's registry (docs/operations.md "Metrics"), read from `WebhookStats` at
 * scrape time (scraped-metrics.ts), as `http/metrics.ts` does.
 */
export function registerWebhookMetrics(registry: Registry, webhooks: Webhooks): void {
  const { stats } = webhooks;
  const labelled = (name: string, help: string, label: string, totals: ReadonlyMap<string, number>) =>
    scrapedLabelledCounter(registry, name, help, label, totals);
  labelled('switchboard_webhook_events_total', 'Webhook events queued for delivery, by type.', 'type', stats.queued);
  labelled('switchboard_webhook_events_dropped_total', 'Webhook events given up, by reason (queue_full, shutdown).', 'reason', stats.dropped);
  labelled('switchboard_webhook_requests_total', 'Webhook POSTs, by outcome (ok, status_4xx, status_5xx, timeout, network).', 'outcome', stats.requests);
  scrapedCounter(registry, 'switchboard_webhook_events_delivered_total', 'Webhook events the backend acknowledged with a 2xx.', () => stats.delivered);
  scrapedCounter(registry, 'switchboard_webhook_retries_total', 'Webhook batches sent again after a failed attempt.', () => stats.retries);
  scrapedGauge(registry, 'switchboard_webhook_queue_events', 'Webhook events waiting or in flight, over every endpoint.', () => webhooks.queueDepth);
}
