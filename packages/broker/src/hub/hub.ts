import { PerMessageDeflate } from '@switchboard/core';
import type { Logger } from 'pino';
import type { OverflowPolicy } from '../connection/send-queue.js';
import type { BrokerError } from '../errors.js';
import type { Engine, EngineHandler, HistoryRetention, Payload, Publication, PublishResult } from '../engine/engine.js';
import type { PublishPriority } from '../priority.js';
import type { BrokerStats } from '../stats.js';
import { TopicTrie } from '../topics/topic-trie.js';
import { type CompressionVariant, Delivery, type DeliveryEncoding, uncompressed } from './delivery.js';

/** What the hub needs from a local subscriber (a session). */
export interface HubSubscriber {
  /** How this connection's messages are framed: subscribers with the same variant get the same bytes. */
  readonly variant: CompressionVariant;
  /** Queues a delivery; must not throw. Called at most once per publication, however many patterns match. */
  deliver(delivery: Delivery): void;
}

export interface HubOptions {
  readonly engine: Engine;
  readonly stats: BrokerStats;
  readonly logger: Logger;
  /** protocol.md §7.1: deliveries with larger payloads are chunked. */
  readonly chunkBytes: number;
  /** The slow-consumer policy of a topic's deliveries. */
  readonly policyFor: (topic: string) => OverflowPolicy;
  /** Stored with every publication; undefined: no history (recovery reports `no_history`). */
  readonly history: HistoryRetention | undefined;
  /** Shared compressors' settings (permessage-deflate). */
  readonly deflate: { readonly threshold: number; readonly maxInflatedSize: number };
}

export interface HubPublishOptions {
  readonly priority: PublishPriority;
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
  readonly engine: Engine;
  private readonly options: HubOptions;
  private readonly trie = new TopicTrie<HubSubscriber>();
  /** Engine subscriptions in flight, so later subscribers of the same pattern wait for the same outcome. */
  private readonly engineSubscribes = new Map<string, Promise<void>>();
  private readonly variants = new Map<number, CompressionVariant>();
  private readonly encoding: DeliveryEncoding;
  private transferCounter = 0;
  private interrupted: BrokerError | undefined;

  constructor(options: HubOptions) {
    this.options = options;
    this.engine = options.engine;
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
   * The variant for a connection that negotiated permessage-deflate with this server window (or none):
   * one shared compressor per window size. Valid because the server always compresses without context
   * takeover (RFC 7692 §7.1.1.1), so no frame depends on what else the connection was sent.
   */
  variantFor(serverMaxWindowBits: number | undefined): CompressionVariant {
    if (serverMaxWindowBits === undefined) return uncompressed;
    let variant = this.variants.get(serverMaxWindowBits);
    if (variant === undefined) {
      const compressor = new PerMessageDeflate(
        'server',
        { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits, clientMaxWindowBits: 15 },
        { threshold: this.options.deflate.threshold, maxInflatedSize: this.options.deflate.maxInflatedSize },
      );
      variant = { id: serverMaxWindowBits, compressor };
      this.variants.set(serverMaxWindowBits, variant);
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

  /** Publishes through the engine, storing history as configured. */
  publish(topic: string, payload: Payload, options: HubPublishOptions): Promise<PublishResult> {
    const { history } = this.options;
    return this.engine.publish(topic, payload, {
      priority: options.priority,
      ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
      ...(history === undefined ? {} : { history }),
    });
  }

  /** Encodes a publication for one subscriber outside fan-out (recovery replays). */
  deliveryOf(publication: Publication): Delivery {
    return new Delivery(publication, this.options.policyFor(publication.topic), this.encoding);
  }

  onPublication(publication: Publication): void {
    const { stats } = this.options;
    stats.publications++;
    let delivery: Delivery | undefined;
    let count = 0;
    try {
      this.trie.match(publication.topic, (subscriber) => {
        delivery ??= this.deliveryOf(publication);
        count++;
        subscriber.deliver(delivery);
      });
    } catch (error) {
      // The engine contract forbids throwing back into its I/O; a bug here must not stop other topics.
      this.options.logger.error({ err: error, topic: publication.topic }, 'fan-out failed');
    }
    stats.deliveries += count;
  }

  onInterrupted(error: BrokerError): void {
    this.interrupted = error;
    this.options.logger.warn({ err: error }, 'engine interrupted: publishes fail with unavailable until it resumes');
  }

  onResumed(): void {
    this.interrupted = undefined;
    this.options.logger.info('engine resumed');
  }

  /** Releases the shared compressors (call after the engine is closed). */
  close(): void {
    for (const variant of this.variants.values()) variant.compressor?.close();
    this.variants.clear();
  }
}
