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
  /** Presence entries the engine delivered to this node, by kind (`join`, `leave`, `stats`). */
  readonly presenceEntries = new Map<string, number>();
  /** Joins and leaves of this node's members that the per-topic event cap coalesced into a stats entry. */
  presenceCoalesced = 0;
  /** POST /publish answers, by HTTP status. */
  readonly httpPublishes = new Map<number, number>();

  /** Bytes queued in all connections' send queues right now (kept up to date by the sessions). */
  queuedBytes = 0;

  /** Times the engine became unavailable (an outage began; a Redis pub/sub gap counts as a momentary one). */
  engineInterruptions = 0;

  /**
   * Seconds from a publication's time (the engine's clock) to its hand-off to this node's sockets, observed
   * once per live publication with local subscribers, after the fan-out wrote it (or queued it where a
   * socket was backed up). Whole milliseconds: that is the publication time's resolution.
   */
  readonly deliveryLatency = new LatencyHistogram(LatencyHistogram.millisecondBounds);
  /** Seconds from taking up a publish to its acknowledgement: the `published` frame, or the POST /publish 200. */
  readonly publishAckLatency = { websocket: new LatencyHistogram(), http: new LatencyHistogram() };
  /** Seconds the engine's backend took per command, answered or failed (Redis: the publish script, history reads). */
  readonly engineCommandLatency = { publish: new LatencyHistogram(), history: new LatencyHistogram() };
  /** Publications and deliveries per topic, for the console's busiest topics (`console/`). */
  readonly topicActivity = new TopicActivity();

  increment<K>(map: Map<K, number>, key: K, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}

/**
 * A Prometheus-style histogram that the hot paths fill without allocating: fixed bucket bounds, one count
 * per bucket, a sum. `http/metrics-histogram.ts` exports it; prom-client's own `Histogram.observe` builds
 * label objects and hash keys on every call, which the fan-out path avoids.
 */
export class LatencyHistogram {
  /** Seconds: 100 µs to 10 s, roughly 2.5x apart (Prometheus's defaults start at 5 ms, too coarse here). */
  static readonly defaultBounds: readonly number[] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ];

  /**
   * For durations measured in whole milliseconds (a publication's time): finer buckets would only split 0
   * from 1 ms and make quantiles below 1 ms look measured.
   */
  static readonly millisecondBounds: readonly number[] = LatencyHistogram.defaultBounds.filter((bound) => bound >= 0.001);

  /** Upper bounds (inclusive), ascending. */
  readonly bounds: readonly number[];
  /** Observations per bucket, not cumulative: `counts[i]` is in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = LatencyHistogram.defaultBounds) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one duration in seconds; a negative one (clocks of two machines) or NaN counts as 0. */
  observe(seconds: number): void {
    const value = seconds > 0 ? seconds : 0;
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** One topic's traffic in a window of {@link TopicActivity}. */
export interface TopicCounts {
  /** Publications fanned out on this node. */
  publications: number;
  /** Deliveries queued to local subscribers. */
  deliveries: number;
  /** Local subscribers the latest publication went to. */
  subscribers: number;
}

/**
 * Traffic per topic in windows that the reader closes (`rotate`), so the fan-out path does one map lookup
 * per publication and reads no clock. At most `maxTopics` topics per window: a node with more counts the
 * rest in `untracked` instead of growing without bound.
 */
export class TopicActivity {
  /** About 100 bytes per topic: at most ~1 MiB per window. */
  static readonly maxTopics = 10_000;
  private current = new Map<string, TopicCounts>();
  /** Publications of topics that found no room in the current window. */
  untracked = 0;

  /** Called by the hub once per publication fanned out to `deliveries` local subscribers. */
  record(topic: string, deliveries: number): void {
    const counts = this.current.get(topic);
    if (counts !== undefined) {
      counts.publications++;
      counts.deliveries += deliveries;
      counts.subscribers = deliveries;
    } else if (this.current.size < TopicActivity.maxTopics) {
      this.current.set(topic, { publications: 1, deliveries, subscribers: deliveries });
    } else {
      this.untracked++;
    }
  }

  /** Ends the current window: returns its counts and starts an empty one. */
  rotate(): { readonly topics: ReadonlyMap<string, TopicCounts>; readonly untracked: number } {
    const ended = { topics: this.current, untracked: this.untracked };
    this.current = new Map();
    this.untracked = 0;
    return ended;
  }
}
