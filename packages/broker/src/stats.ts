/**
 * The broker's counters as plain numbers: the hot paths (fan-out, the send pump) add to fields, and the
 * Prometheus registry (`http/metrics.ts`) reads them at scrape time. Keeping prom-client off the per-message
 * path costs nothing when nobody scrapes.
 */
export class BrokerStats {
  /** WebSocket connections accepted (welcome sent). */
  connectionsOpened = 0;
  connectionsClosed = 0;
  /** Upgrades refused, by pubsub.v1 error code (`unsupported_protocol`, `invalid_token`, ...). */
  readonly handshakeRejections = new Map<string, number>();
  /** Connections ended by the broker or the peer, by close code. */
  readonly closes = new Map<number, number>();
  /** WebSocket messages received and their bytes (after decompression). */
  messagesReceived = 0;
  bytesReceived = 0;
  /** Publishes accepted, by where they came from. */
  publishesWebSocket = 0;
  publishesHttp = 0;
  /** Publications the engine delivered to this node. */
  publications = 0;
  /** Deliveries queued to local subscribers (one per subscriber per publication). */
  deliveries = 0;
  /** Deliveries encoded: once per publication and compression variant, however many subscribers. */
  encodings = 0;
  /** WebSocket messages and bytes handed to sockets. */
  framesWritten = 0;
  bytesWritten = 0;
  /** Queued deliveries given up under the slow-consumer policies (dropped or replaced by conflation). */
  deliveriesDropped = 0;
  /** Gap notices sent, by wire reason (`slow_consumer`, `conflation`). */
  readonly gapNotices = new Map<string, number>();
  /** Connections closed with 4001 because their queue could not take a message that must not be lost. */
  slowConsumerCloses = 0;
  /** `error` frames sent, by code. */
  readonly errors = new Map<string, number>();
  /** POST /publish answers, by HTTP status. */
  readonly httpPublishes = new Map<number, number>();

  /** Bytes queued in all connections' send queues right now (kept up to date by the sessions). */
  queuedBytes = 0;

  increment<K>(map: Map<K, number>, key: K, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}
