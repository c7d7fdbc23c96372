import type { BrokerStats } from '../stats.js';
import { brokerVersion } from './broker-version.js';
import { RateMeter } from './rate-meter.js';

/**
 * One node as the console shows it (`GET /admin/nodes`): who it is, whether it is ready, and its traffic.
 * Rates are per second over the last two seconds or so (`RateMeter`); totals count since the node started.
 */
export interface NodeReport {
  readonly node: string;
  /** The broker package's version. */
  readonly version: string;
  /** Node.js's version. */
  readonly runtime: string;
  /** When this node started, ms since the Unix epoch; `uptimeSeconds` is measured to `time`. */
  readonly startedAt: number;
  readonly uptimeSeconds: number;
  /** When the report was made (this node's clock). */
  readonly time: number;
  readonly state: string;
  readonly ready: boolean;
  readonly readyReason?: string;
  readonly engineUp: boolean;
  readonly connections: number;
  readonly subscriptions: number;
  readonly patterns: number;
  /** WebSocket messages received plus POST /publish requests accepted. */
  readonly messagesInPerSecond: number;
  /** Deliveries queued to local subscribers. */
  readonly messagesOutPerSecond: number;
  readonly bytesInPerSecond: number;
  readonly bytesOutPerSecond: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Bytes waiting in all connections' send queues now. */
  readonly queuedBytes: number;
  /** Slow-consumer events: deliveries dropped or conflated, and connections closed with 4001. */
  readonly deliveriesDropped: number;
  readonly slowConsumerCloses: number;
  /** Gap notices sent, all reasons together, and by reason. */
  readonly gapNotices: number;
  readonly gapNoticesByReason: Readonly<Record<string, number>>;
}

/** What a report is made of: the node's live figures, read when asked. */
export interface NodeReportSources {
  readonly nodeName: string;
  readonly stats: BrokerStats;
  state(): string;
  connectionCount(): number;
  readonly hub: { readonly subscriptionCount: number; readonly patternCount: number; readonly engineInterrupted: boolean };
}

/** Whether the node is ready (GET /readyz's answer, or what the node knows without asking the engine). */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

type Counter = 'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut';

/** Makes this node's reports; one per app, so its rates are measured between the reports it makes. */
export class NodeReporter {
  private readonly sources: NodeReportSources;
  private readonly startedAt: number;
  private readonly version = brokerVersion();
  private readonly meter = new RateMeter<Counter>();

  constructor(sources: NodeReportSources, startedAt: number) {
    this.sources = sources;
    this.startedAt = startedAt;
  }

  /**
   * This node's report at `time`. `readiness` is GET /readyz's answer where the caller can wait for it, or
   * {@link NodeReporter.knownReadiness} where it cannot.
   */
  report(time: number, readiness: Readiness): NodeReport {
    const { sources, startedAt } = this;
    const { stats, hub } = sources;
    const totals = {
      messagesIn: stats.messagesReceived + stats.publishesHttp,
      messagesOut: stats.deliveries,
      bytesIn: stats.bytesReceived,
      bytesOut: stats.bytesWritten,
    };
    const rates = this.meter.rates(time, totals);
    const gapNoticesByReason = Object.fromEntries(stats.gapNotices);
    return {
      node: sources.nodeName,
      version: this.version,
      runtime: process.version,
      startedAt,
      uptimeSeconds: Math.max(0, Math.floor((time - startedAt) / 1000)),
      time,
      state: sources.state(),
      ready: readiness.ready,
      ...(readiness.reason === undefined ? {} : { readyReason: readiness.reason }),
      engineUp: !hub.engineInterrupted,
      connections: sources.connectionCount(),
      subscriptions: hub.subscriptionCount,
      patterns: hub.patternCount,
      messagesInPerSecond: rates.messagesIn,
      messagesOutPerSecond: rates.messagesOut,
      bytesInPerSecond: rates.bytesIn,
      bytesOutPerSecond: rates.bytesOut,
      ...totals,
      queuedBytes: stats.queuedBytes,
      deliveriesDropped: stats.deliveriesDropped,
      slowConsumerCloses: stats.slowConsumerCloses,
      gapNotices: [...stats.gapNotices.values()].reduce((sum, count) => sum + count, 0),
      gapNoticesByReason,
    };
  }

  /** Readiness without the engine's canary: running, and no engine outage reported. */
  knownReadiness(): Readiness {
    if (this.sources.state() !== 'running') return { ready: false, reason: 'shutting down' };
    if (this.sources.hub.engineInterrupted) return { ready: false, reason: 'engine unavailable' };
    return { ready: true };
  }
}
