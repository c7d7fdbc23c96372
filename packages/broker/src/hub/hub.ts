import { type DeflateParams, PerMessageDeflate } from '@switchboard/core';
import type { Logger } from 'pino';
import type { Priority } from '@switchboard/protocol';
import type { BrokerError } from '../errors.js';
import type {
  Engine,
  EngineCommand,
  EngineHandler,
  HistoryQuery,
  HistoryResult,
  HistoryRetention,
  Payload,
  Publication,
  PublishResult,
  StreamPosition,
} from '../engine/engine.js';
import { RecoveryGate } from '../history/recovery-gate.js';
import { type LostRange, type RecoveryPlan, planRecovery } from '../history/recovery-plan.js';
import type { BrokerStats } from '../stats.js';
import { PresenceRegistry, type PresenceRegistryOptions } from '../presence/presence-registry.js';
import { TopicTrie } from '../topics/topic-trie.js';
import { type CompressionVariant, Delivery, type DeliveryEncoding, uncompressed } from './delivery.js';
import type { OverflowPolicy } from './outbound-item.js';

/** What the hub needs from a local subscriber (a session). */
export interface HubSubscriber {
  /** How this connection's messages are framed: subscribers with the same variant get the same bytes. */
  readonly variant: CompressionVariant;
  /** Queues a delivery; must not throw. Called at most once per publication, however many patterns match. */
  deliver(delivery: Delivery): void;
  /**
   * Announces offsets of a topic that the engine lost and history could not fill (protocol.md §8.3,
   * reason `engine_outage`); must not throw.
   */
  notifyGap(gap: OutageGap): void;
}

/** Offsets `from`..`to` of `topic` in `epoch` that will never be delivered. */
export interface OutageGap extends LostRange {
  readonly topic: string;
}

/**
 * Topics whose last delivered position the hub remembers, to recover after an engine interruption. About
 * 100 bytes each: at most ~10 MiB. Beyond it the least recently published topics are forgotten, and a loss
 * on those after an outage cannot be detected by the hub (the engine's own offsets still can).
 */
const maxTrackedTopics = 100_000;
/** History reads in flight at once while recovering, so an outage does not stampede the backend. */
const recoveryConcurrency = 32;

export interface HubOptions {
  readonly engine: Engine;
  readonly stats: BrokerStats;
  readonly logger: Logger;
  /** protocol.md §7.1: deliveries with larger payloads are chunked. */
  readonly chunkBytes: number;
  /** The slow-consumer policy of a topic's deliveries. */
  readonly policyFor: (topic: string) => OverflowPolicy;
  /**
   * What is stored of a publication to `topic` (its namespace's history settings); undefined: nothing
   * (recovery reports `no_history`).
   */
  readonly historyFor: (topic: string) => HistoryRetention | undefined;
  /** Shared compressors' settings (permessage-deflate). */
  readonly deflate: { readonly threshold: number; readonly maxInflatedSize: number };
  /** Most publications replayed per topic after an engine interruption; beyond, the rest is a gap. */
  readonly maxRecoveryMessages: number;
  /** Told when the engine becomes unavailable (true) and available again (false); transitions only. */
  readonly onEngineAvailability?: (interrupted: boolean) => void;
  /** Presence settings (`PRESENCE…`); served only when the engine has presence and a pattern is set. */
  readonly presence?: Omit<PresenceRegistryOptions, 'engine' | 'logger'>;
}

export interface HubPublishOptions {
  readonly priority: Priority;
  readonly idempotencyKey?: string | undefined;
}

/**
 * The node-level subscription index, after centrifuge's hub. Connections subscribe here; the hub
 * reference-counts patterns and subscribes the engine to a pattern only on its first local subscriber
 * (unsubscribing after the last), so the engine's work scales with distinct patterns, not connections.
 *
 * Fan-out: each publication the engine delivers is matched against the trie once, encoded once per
 * compression variant (on first use), and the same frames are queued to every matching connection.
 */
export class Hub implements EngineHandler {
  /** Only the hub talks to the engine: everything else goes through `subscribe`, `publish` and `history`. */
  private readonly engine: Engine;
  private readonly options: HubOptions;
  private readonly trie = new TopicTrie<HubSubscriber>();
  /** Engine subscriptions in flight, so later subscribers of the same pattern wait for the same outcome. */
  private readonly engineSubscribes = new Map<string, Promise<void>>();
  private readonly variants = new Map<number, CompressionVariant>();
  private readonly encoding: DeliveryEncoding;
  private transferCounter = 0;
  private interrupted: BrokerError | undefined;
  /** Per topic with local subscribers, the last position delivered; least recently delivered first. */
  private readonly positions = new Map<string, StreamPosition>();
  /**
   * Topics being recovered after an interruption: their live publications wait here, in order. No cap: the
   * engine delivers them whatever the hub does, and each waits for one history read only.
   */
  private readonly gate = new RecoveryGate<Publication>({ positionOf: (publication) => publication });
  /**
   * Tracked topics the gate started holding during an interruption, their recovery not started yet: an
   * engine may resubscribe before it calls `onResumed`, and delivering what then arrives would move a topic's
   * position past what the outage lost, so the recovery would start after the hole. `onResumed` starts them.
   */
  private readonly heldSinceInterruption = new Set<string>();
  /**
   * This node's presence members, when served (docs/design/presence.md §4.2): the engine has presence and
   * `PRESENCE` names topics. Undefined: every presence request is `presence_disabled`.
   */
  readonly presence: PresenceRegistry | undefined;

  constructor(options: HubOptions) {
    this.options = options;
    this.engine = options.engine;
    const enginePresence = options.engine.presence;
    this.presence =
      enginePresence === undefined || options.presence === undefined || options.presence.patterns.length === 0
        ? undefined
        : new PresenceRegistry({ ...options.presence, engine: enginePresence, logger: options.logger });
    this.encoding = {
      chunkBytes: options.chunkBytes,
      nextTransfer: () => this.nextTransfer(),
      onEncoded: () => {
        options.stats.encodings++;
      },
    };
  }

  /** (pattern, connection) pairs. */
  get subscriptionCount(): number {
    return this.trie.size;
  }

  /** Distinct patterns: what the engine is subscribed to. */
  get patternCount(): number {
    return this.trie.patternCount;
  }

  /** Whether the engine reported an outage that has not ended. */
  get engineInterrupted(): boolean {
    return this.interrupted !== undefined;
  }

  /** Starts the engine with this hub as its handler. */
  async start(): Promise<void> {
    await this.engine.start(this);
  }

  /** Transfer ids for the broker's chunked deliveries: one node-wide counter (protocol.md §7.2). */
  nextTransfer(): number {
    this.transferCounter = this.transferCounter >= Number.MAX_SAFE_INTEGER ? 1 : this.transferCounter + 1;
    return this.transferCounter;
  }

  /**
   * The variant for a connection, given the permessage-deflate it negotiated (core's `websocket.deflate`)
   * or none: one shared compressor per server window size. Sharing is valid because the server compresses
   * without context takeover (RFC 7692 §7.1.1.1, core's default), so no frame depends on what else the
   * connection was sent; a connection that agreed to context takeover is sent uncompressed frames, which
   * RFC 7692 always allows. The shared compressor only compresses, so the client's half of the agreement it
   * is built from does not matter.
   */
  variantFor(deflate: DeflateParams | undefined): CompressionVariant {
    if (deflate === undefined || !deflate.serverNoContextTakeover) return uncompressed;
    const windowBits = deflate.serverMaxWindowBits;
    let variant = this.variants.get(windowBits);
    if (variant === undefined) {
      const { threshold, maxInflatedSize } = this.options.deflate;
      variant = { id: windowBits, compressor: new PerMessageDeflate('server', deflate, { threshold, maxInflatedSize }) };
      this.variants.set(windowBits, variant);
    }
    return variant;
  }

  /**
   * Adds a local subscription. Resolves once the engine delivers the pattern to this node; rejects (and
   * undoes the subscription) with the engine's error when it cannot, e.g. `ERR_BROKER_ENGINE_UNAVAILABLE`.
   */
  async subscribe(subscriber: HubSubscriber, pattern: string): Promise<void> {
    const isNewPattern = this.trie.add(pattern, subscriber);
    let pending = this.engineSubscribes.get(pattern);
    if (isNewPattern) {
      const started = this.engine.subscribe(pattern);
      pending = started;
      this.engineSubscribes.set(pattern, started);
      const forget = () => {
        if (this.engineSubscribes.get(pattern) === started) this.engineSubscribes.delete(pattern);
      };
      started.then(forget, forget);
    }
    if (pending === undefined) return;
    try {
      await pending;
    } catch (error) {
      this.unsubscribe(subscriber, pattern);
      throw error;
    }
  }

  /** Removes a local subscription; the engine forgets the pattern after its last local subscriber. */
  unsubscribe(subscriber: HubSubscriber, pattern: string): void {
    if (!this.trie.remove(pattern, subscriber)) return;
    this.engine.unsubscribe(pattern).catch((error: unknown) => {
      this.options.logger.warn({ err: error, pattern }, 'engine unsubscribe failed');
    });
  }

  /** Publishes through the engine, storing history as the topic's namespace says. */
  publish(topic: string, payload: Payload, options: HubPublishOptions): Promise<PublishResult> {
    const history = this.options.historyFor(topic);
    return this.engine.publish(topic, payload, {
      priority: options.priority,
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(history === undefined ? {} : { history }),
    });
  }

  /**
   * Reads a topic's stored history and current position (see `Engine.history`); rejects like it, e.g. with
   * `ERR_BROKER_ENGINE_UNAVAILABLE`.
   */
  history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.engine.history(topic, query);
  }

  /** Encodes a publication for one subscriber outside fan-out (recovery replays). */
  deliveryOf(publication: Publication): Delivery {
    return new Delivery(publication, this.options.policyFor(publication.topic), this.encoding);
  }

  onPublication(publication: Publication): void {
    const { topic } = publication;
    if (this.interrupted !== undefined && this.positions.has(topic) && this.gate.hold(topic)) this.heldSinceInterruption.add(topic);
    if (this.gate.admit(topic, publication) !== 'pass') return;
    // Live publications only, once each however many subscribers: a replay after an outage is old by design.
    if (this.fanOut(publication) > 0) this.options.stats.deliveryLatency.observe((Date.now() - publication.time) / 1000);
  }

  onCommandTimed(command: EngineCommand, seconds: number): void {
    this.options.stats.engineCommandLatency[command].observe(seconds);
  }

  /**
   * Delivers a publication to every matching local subscriber, once, skipping offsets already delivered.
   * Returns how many it was handed to (0 for a copy already delivered).
   */
  private fanOut(publication: Publication): number {
    const { stats } = this.options;
    const { topic, epoch, offset } = publication;
    const last = this.positions.get(topic);
    // The one de-duplication: an engine hands over copies (Redis: one per channel of overlapping patterns),
    // live publications race the outage replay, and clients never see any of them twice.
    if (last !== undefined && last.epoch === epoch && offset <= last.offset) return 0;
    stats.publications++;
    let delivery: Delivery | undefined;
    let count = 0;
    try {
      this.trie.match(topic, (subscriber) => {
        delivery ??= this.deliveryOf(publication);
        count++;
        subscriber.deliver(delivery);
      });
    } catch (error) {
      // The engine contract forbids throwing back into its I/O; a bug here must not stop other topics.
      this.options.logger.error({ err: error, topic }, 'fan-out failed');
    }
    stats.deliveries += count;
    this.positions.delete(topic);
    if (count === 0) return 0;
    this.positions.set(topic, { epoch, offset });
    if (this.positions.size > maxTrackedTopics) {
      const oldest = this.positions.keys().next();
      if (oldest.done !== true) this.positions.delete(oldest.value);
    }
    return count;
  }

  onInterrupted(error: BrokerError): void {
    const wasInterrupted = this.interrupted !== undefined;
    this.interrupted = error;
    if (!wasInterrupted) {
      this.options.stats.engineInterruptions++;
      this.options.onEngineAvailability?.(true);
    }
    this.options.logger.warn({ err: error }, 'engine interrupted: publishes fail with unavailable until it resumes');
  }

  /**
   * The engine is back and may have missed publications (engine contract). For every topic this node has
   * delivered, read history since the last delivered position: replay what was missed, in order and before
   * the topic's new live publications (which wait meanwhile), and announce what history cannot give back
   * as an `engine_outage` gap. A loss is never silent.
   */
  onResumed(): void {
    const wasInterrupted = this.interrupted !== undefined;
    this.interrupted = undefined;
    if (wasInterrupted) this.options.onEngineAvailability?.(false);
    const topics: [string, StreamPosition][] = [];
    for (const [topic, position] of this.positions) {
      if (this.gate.hold(topic) || this.heldSinceInterruption.has(topic)) topics.push([topic, position]);
    }
    this.heldSinceInterruption.clear();
    this.options.logger.info({ topics: topics.length }, 'engine resumed: recovering missed publications');
    void this.recoverTopics(topics);
  }

  private async recoverTopics(topics: readonly [string, StreamPosition][]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < topics.length) {
        const [topic, since] = topics[next++] as [string, StreamPosition];
        await this.recoverTopic(topic, since);
      }
    };
    await Promise.all(Array.from({ length: Math.min(recoveryConcurrency, topics.length) }, worker));
  }

  private async recoverTopic(topic: string, since: StreamPosition): Promise<void> {
    let plan: RecoveryPlan | undefined;
    try {
      const history = await this.history(topic, { since, limit: this.options.maxRecoveryMessages });
      plan = planRecovery(history, since, { maxMessages: this.options.maxRecoveryMessages });
    } catch (error) {
      // The engine failed again: it will report another interruption, and this topic is recovered then.
      this.options.logger.warn({ err: error, topic }, 'recovery read failed');
    }
    // What the replay covers, fan-out skips by the positions it keeps.
    const waiting = this.gate.release(topic);
    // Nobody here can be answered `failed`: whatever history gives back is replayed, the rest announced.
    for (const publication of plan?.replay ?? []) this.fanOut(publication);
    const lost = plan?.lost;
    if (lost !== undefined) {
      const gap: OutageGap = { topic, ...lost };
      this.trie.match(topic, (subscriber) => subscriber.notifyGap(gap));
      // Live publications inside the announced range must not arrive after all: the notice said they won't.
      this.positions.delete(topic);
      this.positions.set(topic, { epoch: lost.epoch, offset: lost.to });
    }
    for (const publication of waiting) this.fanOut(publication);
  }

  /** Releases the shared compressors (call after the engine is closed). */
  close(): void {
    this.presence?.close();
    for (const variant of this.variants.values()) variant.compressor?.close();
    this.variants.clear();
  }
}
