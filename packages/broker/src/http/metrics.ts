import { Counter, Gauge, Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge, scrapedLabelledCounter } from '../scraped-metrics.js';
import type { BrokerStats } from '../stats.js';
import { ExportedHistogram } from './metrics-histogram.js';
import { registerProcessMetrics } from './process-metrics.js';

/** Live figures the registry reads at scrape time. */
export interface MetricSources {
  readonly stats: BrokerStats;
  connections(): number;
  subscriptions(): number;
  patterns(): number;
  /** This node's presence members (connections, summed over topics). */
  presenceMembers?(): number;
  /** Per-connection send queues: total depth (messages), the fullest one's bytes, and how many are over half their cap. */
  queues(): { readonly depth: number; readonly maxBytes: number; readonly overHalf: number; readonly pendingGaps: number };
  /** Whether the engine can publish and deliver now (no outage reported; the hub's view, without a canary). */
  engineAvailable(): boolean;
}

/**
 * The broker's Prometheus registry (prom-client), one per app so several brokers can live in one process
 * (tests). Values are read from {@link BrokerStats} at scrape time; counters report the growth since the
 * previous scrape, so they stay monotonic.
 *
 * Beside them, prom-client's process metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC,
 * handles), shared by every broker of the process (`process-metrics.ts`).
 *
 * Queue depth is visible before anything is dropped: `switchboard_send_queue_bytes`,
 * `switchboard_send_queue_max_connection_bytes` and `switchboard_send_queue_connections_over_half_cap` rise
 * while a reader falls behind; drops, gap notices and slow-consumer closes come after.
 */
export function createMetricsRegistry(sources: MetricSources, labels: { readonly node: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  registerProcessMetrics(registry);
  const { stats } = sources;

  const gauge = (name: string, help: string, read: () => number) => scrapedGauge(registry, name, help, read);
  const counter = (name: string, help: string, read: () => number) => scrapedCounter(registry, name, help, read);
  const labelledCounter = <K extends string | number>(name: string, help: string, label: string, totals: ReadonlyMap<K, number>) =>
    scrapedLabelledCounter(registry, name, help, label, totals);

  gauge('switchboard_connections', 'Open WebSocket connections.', () => sources.connections());
  counter('switchboard_connections_opened_total', 'WebSocket connections accepted.', () => stats.connectionsOpened);
  labelledCounter('switchboard_handshake_rejections_total', 'Upgrades refused, by error code.', 'code', stats.handshakeRejections);
  labelledCounter('switchboard_connection_closes_total', 'Connections ended, by close code.', 'code', stats.closes);
  gauge('switchboard_subscriptions', 'Subscriptions held by local connections.', () => sources.subscriptions());
  gauge('switchboard_subscription_patterns', 'Distinct patterns subscribed on this node (engine subscriptions).', () => sources.patterns());
  counter('switchboard_messages_received_total', 'WebSocket messages received.', () => stats.messagesReceived);
  counter('switchboard_bytes_received_total', 'Bytes of WebSocket messages received.', () => stats.bytesReceived);
  const publishesReported = { websocket: 0, http: 0 };
  new Counter({
    name: 'switchboard_publishes_total',
    help: 'Publishes accepted by the engine, by source.',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      const current = { websocket: stats.publishesWebSocket, http: stats.publishesHttp };
      for (const source of ['websocket', 'http'] as const) {
        if (current[source] > publishesReported[source]) this.inc({ source }, current[source] - publishesReported[source]);
        publishesReported[source] = current[source];
      }
    },
  });
  counter('switchboard_publications_total', 'Publications the engine delivered to this node.', () => stats.publications);
  counter('switchboard_deliveries_total', 'Messages queued to local subscribers (messages out).', () => stats.deliveries);
  counter('switchboard_delivery_encodings_total', 'Deliveries encoded: once per publication and compression variant.', () => stats.encodings);
  counter('switchboard_frames_written_total', 'WebSocket messages written to sockets.', () => stats.framesWritten);
  counter('switchboard_bytes_written_total', 'Bytes written to sockets.', () => stats.bytesWritten);
  gauge('switchboard_send_queue_bytes', 'Bytes waiting in all connections\' send queues.', () => stats.queuedBytes);
  gauge('switchboard_send_queue_messages', 'Messages waiting in all connections\' send queues.', () => sources.queues().depth);
  gauge('switchboard_send_queue_max_connection_bytes', 'Bytes queued for the most backed-up connection.', () => sources.queues().maxBytes);
  gauge(
    'switchboard_send_queue_connections_over_half_cap',
    'Connections whose send queue holds more than half of its byte cap.',
    () => sources.queues().overHalf,
  );
  gauge('switchboard_send_queue_pending_gaps', 'Gap notices waiting to be sent.', () => sources.queues().pendingGaps);
  counter('switchboard_deliveries_dropped_total', 'Queued deliveries dropped or conflated by slow-consumer policies.', () => stats.deliveriesDropped);
  labelledCounter('switchboard_gap_notices_total', 'Gap notices sent, by reason.', 'reason', stats.gapNotices);
  counter('switchboard_slow_consumer_closes_total', 'Connections closed with 4001 (slow consumer).', () => stats.slowConsumerCloses);
  labelledCounter('switchboard_errors_total', 'Error frames sent, by code.', 'code', stats.errors);
  gauge('switchboard_presence_members', 'Presence members on this node, summed over topics.', () => sources.presenceMembers?.() ?? 0);
  labelledCounter('switchboard_presence_events_total', 'Presence entries the engine delivered to this node, by kind (join, leave, stats).', 'kind', stats.presenceEntries);
  counter('switchboard_presence_coalesced_total', 'Joins and leaves of this node\'s members coalesced into stats entries by PRESENCE_EVENT_RATE.', () => stats.presenceCoalesced);
  labelledCounter('switchboard_http_publishes_total', 'POST /publish answers, by HTTP status.', 'status', stats.httpPublishes);
  gauge('switchboard_engine_up', 'Whether the engine can publish and deliver (1) or reported an outage that has not ended (0).', () =>
    sources.engineAvailable() ? 1 : 0,
  );
  counter('switchboard_engine_interruptions_total', 'Engine outages begun (a Redis pub/sub gap counts as a momentary one).', () => stats.engineInterruptions);

  new ExportedHistogram(
    registry,
    'switchboard_delivery_latency_seconds',
    'Seconds from a publication\'s time (engine clock) to its hand-off to this node\'s sockets, once per publication with local subscribers.',
    [{ labels: {}, histogram: stats.deliveryLatency }],
  );
  new ExportedHistogram(registry, 'switchboard_publish_ack_latency_seconds', 'Seconds from taking up a publish to acknowledging it, by source.', [
    { labels: { source: 'websocket' }, histogram: stats.publishAckLatency.websocket },
    { labels: { source: 'http' }, histogram: stats.publishAckLatency.http },
  ]);
  new ExportedHistogram(
    registry,
    'switchboard_engine_command_duration_seconds',
    'Seconds the engine\'s backend took per command, answered or failed (Redis: the publish script, history reads).',
    [
      { labels: { command: 'publish' }, histogram: stats.engineCommandLatency.publish },
      { labels: { command: 'history' }, histogram: stats.engineCommandLatency.history },
    ],
  );
  return registry;
}
