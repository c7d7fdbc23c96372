import { type DeflateParams, PerMessageDeflate } from '@switchboard/core';
import type { Logger } from 'pino';
import type { Priority } from '@switchboard/protocol';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import type {
  CommandResult,
  ConnectionReport,
  Engine,
  EngineCommand,
  EngineHandler,
  HistoryQuery,
  HistoryResult,
  HistoryRetention,
  LeaveReason,
  NodeCommand,
  Payload,
  PresenceEntry,
  PresenceHistoryQuery,
  PresenceMember,
  Publication,
  PublishResult,
  StreamPosition,
} from '../engine/engine.js';
import { RecoveryGate } from '../history/recovery-gate.js';
import { type LostRange, type RecoveryPlan, type RecoveryRead, planRecovery } from '../history/recovery-plan.js';
import { type ItemPosition, type StreamItem, isPresenceEntry, skippedBefore } from '../history/stream-items.js';
import type { BrokerStats } from '../stats.js';
import { PresenceRegistry, type PresenceRegistryOptions } from '../presence/presence-registry.js';
import { TopicTrie } from '../topics/topic-trie.js';
import { type CompressionVariant, Delivery, type DeliveryEncoding, uncompressed } from './delivery.js';
import type { OverflowPolicy } from './outbound-item.js';
import { PresenceDelivery } from './presence-delivery.js';
import { PresenceListeners } from './presence-listeners.js';
import { TopicPositions } from './topic-positions.js';
import type { HubSubscribeOptions, HubSubscriber, OutageGap, PresenceOutageGap } from './hub-subscriber.js';

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
  /** Told when a pattern gets its first local subscriber (true) or loses its last (false): webhooks' occupancy. */
  readonly onSubscribersChanged?: (pattern: string, occupied: boolean) => void;
  /** Presence settings (`PRESENCE…`); served only when the engine has presence and a pattern is set. */
  readonly presence?: Omit<PresenceRegistryOptions, 'engine' | 'logger' | 'stats'>;
  /** Told of members this node's sweeps removed, of dead nodes it swept, and of its own lapse (webhooks: a crashed node's events). */
  readonly swept?: Required<Pick<EngineHandler, 'onMembersSwept' | 'onNodeSwept' | 'onMembershipLost'>>;
  /** Runs an admin command on this node's connections (`EngineHandler.onCommand`). */
  readonly onCommand?: (command: NodeCommand) => readonly ConnectionReport[];
  /** First segments that wildcard-first patterns never match (the user topic prefix, protocol.md §14.2). */
  readonly reservedRoots?: readonly string[];
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
  private readonly trie: TopicTrie<HubSubscriber>;
  /** Engine subscriptions in flight, so later subscribers of the same pattern wait for the same outcome. */
  private readonly engineSubscribes = new Map<string, Promise<void>>();
  private readonly variants = new Map<number, CompressionVariant>();
  private readonly encoding: DeliveryEncoding;
  private transferCounter = 0;
  private interrupted: BrokerError | undefined;
  /** Per topic with local subscribers, the last position delivered (and presence `seq` while listened to). */
  private readonly positions = new TopicPositions();
  /** Local subscriptions that asked for a topic's join and leave events, with their level. */
  private readonly listeners = new PresenceListeners<HubSubscriber>();
  /**
   * Topics being recovered after an interruption: their live publications and presence entries wait here, in
   * order. No cap: the engine delivers them whatever the hub does, and each waits for one history read only.
   */
  private readonly gate = new RecoveryGate<StreamItem>({ positionOf: (item) => item });
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
        : new PresenceRegistry({ ...options.presence, reservedRoots: options.reservedRoots ?? [], engine: enginePresence, logger: options.logger, stats: options.stats });
    this.trie = new TopicTrie<HubSubscriber>({ reservedRoots: options.reservedRoots ?? [] });
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
  async subscribe(subscriber: HubSubscriber, pattern: string, options: HubSubscribeOptions = {}): Promise<void> {
    const isNewPattern = this.trie.add(pattern, subscriber);
    // Listening from now on, so the subscriber's own join (written once this resolves) reaches it.
    if (options.presence !== undefined) this.listeners.add(pattern, subscriber, options.presence);
    let pending = this.engineSubscribes.get(pattern);
    if (isNewPattern) {
      this.options.onSubscribersChanged?.(pattern, true);
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

  /** The hub's own string equal to `pattern` if it has subscribers (`TopicTrie.sharedPattern`), to keep instead. */
  sharedPattern(pattern: string): string {
    return this.trie.sharedPattern(pattern);
  }

  /** Removes a local subscription; the engine forgets the pattern after its last local subscriber. */
  unsubscribe(subscriber: HubSubscriber, pattern: string): void {
    if (this.listeners.remove(pattern, subscriber)) this.positions.forgetSeq(pattern);
    if (!this.trie.remove(pattern, subscriber)) return;
    this.options.onSubscribersChanged?.(pattern, false);
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

  /** Runs an admin command on every node through the engine (engine/engine-commands.ts). */
  command(command: NodeCommand, timeoutMs: number): Promise<CommandResult> {
    return this.engine.command(command, timeoutMs);
  }

  onCommand(command: NodeCommand): readonly ConnectionReport[] {
    return this.options.onCommand?.(command) ?? [];
  }

  /** The local subscribers with a pattern matching `topic`, each once. */
  subscribersOf(topic: string): ReadonlySet<HubSubscriber> {
    return this.trie.match(topic);
  }

  /**
   * `history` plus the presence entries after `query.presenceSince` in one read (a subscribe with `since.seq`);
   * rejects like `history`, and with `ERR_BROKER_ENGINE_UNAVAILABLE` for an engine without presence.
   */
  presenceHistory(topic: string, query: PresenceHistoryQuery): Promise<RecoveryRead> {
    const presence = this.engine.presence;
    if (presence === undefined) return Promise.reject(new BrokerError(BrokerErrorCode.engineUnavailable, 'the engine keeps no presence'));
    return presence.history(topic, query);
  }

  /** Encodes a presence entry for one subscriber outside fan-out (recovery replays). */
  presenceDeliveryOf(entry: PresenceEntry): PresenceDelivery {
    return new PresenceDelivery(entry, this.options.policyFor(entry.topic));
  }

  /** Encodes a publication for one subscriber outside fan-out (recovery replays). */
  deliveryOf(publication: Publication): Delivery {
    return new Delivery(publication, this.options.policyFor(publication.topic), this.encoding);
  }

  onPublication(publication: Publication): void {
    this.receive(publication);
  }

  onPresence(entry: PresenceEntry): void {
    this.options.stats.increment(this.options.stats.presenceEntries, entry.kind);
    const { topic, epoch, seq } = entry;
    const last = this.positions.get(topic);
    const expected = last?.epoch === epoch && last.seq !== undefined ? last.seq + 1 : undefined;
    // `seq` is dense: a skipped one is a loss (design §2.1), recovered from the presence history like an
    // outage of this one topic, while its live items wait.
    if (expected !== undefined && seq > expected && this.interrupted === undefined && !this.gate.holds(topic) && this.listeners.has(topic)) {
      this.options.logger.warn({ topic, expected, seq }, 'presence entries skipped: recovering them');
      this.gate.hold(topic);
      this.gate.admit(topic, entry);
      void this.recoverTopic(topic, last as ItemPosition);
      return;
    }
    this.receive(entry);
  }

  private receive(item: StreamItem): void {
    const { topic } = item;
    if (this.interrupted !== undefined && this.positions.has(topic) && this.gate.hold(topic)) this.heldSinceInterruption.add(topic);
    if (this.gate.admit(topic, item) !== 'pass') return;
    if (isPresenceEntry(item)) this.fanOutPresence(item);
    // Live publications only, once each however many subscribers: a replay after an outage is old by design.
    else if (this.fanOut(item) > 0) this.options.stats.deliveryLatency.observe((Date.now() - item.time) / 1000);
  }

  private fanOutItem(item: StreamItem): void {
    if (isPresenceEntry(item)) this.fanOutPresence(item);
    else this.fanOut(item);
  }

  /**
   * Delivers a presence entry to the local subscriptions that asked for the topic's events and whose level
   * gets it, once per (topic, epoch, seq), encoded once.
   */
  private fanOutPresence(entry: PresenceEntry): void {
    const { topic, epoch, offset, seq } = entry;
    const last = this.positions.get(topic);
    if (last !== undefined && last.epoch === epoch && last.seq !== undefined && seq <= last.seq) return;
    let delivery: PresenceDelivery | undefined;
    let listened = false;
    try {
      this.listeners.forEach(topic, (subscriber, level) => {
        listened = true;
        delivery ??= this.presenceDeliveryOf(entry);
        if (delivery.visibleAt(level)) subscriber.deliverPresence(delivery);
      });
    } catch (error) {
      this.options.logger.error({ err: error, topic }, 'presence fan-out failed');
    }
    // The seq is tracked only while someone listens: a later listener starts from its own join.
    if (!listened) {
      this.positions.forgetSeq(topic);
      return;
    }
    const position = last !== undefined && last.epoch === epoch ? { epoch, offset: last.offset, seq } : { epoch, offset, seq };
    this.positions.track(topic, position);
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
    stats.topicActivity.record(topic, count);
    if (count === 0) {
      this.positions.delete(topic);
      return 0;
    }
    this.positions.track(topic, { epoch, offset, ...TopicPositions.seqIn(last, epoch) });
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
    const topics: [string, ItemPosition][] = [];
    for (const [topic, position] of this.positions) {
      if (this.gate.hold(topic) || this.heldSinceInterruption.has(topic)) topics.push([topic, position]);
    }
    this.heldSinceInterruption.clear();
    this.options.logger.info({ topics: topics.length }, 'engine resumed: recovering missed publications');
    void this.recoverTopics(topics);
    // Joins and leaves that failed in the outage are written now: late, never lost (design §3.4).
    void this.presence?.reconcileUnsettled();
  }

  /** This node's presence liveness had lapsed and its members may have been swept: re-assert them. */
  onMembershipLost(): void {
    this.options.logger.warn('presence liveness had lapsed: reconciling this node\'s members');
    void this.presence?.reconcileAll();
    this.options.swept?.onMembershipLost();
  }

  onMembersSwept(topic: string, members: readonly PresenceMember[], reason: LeaveReason): void {
    this.options.swept?.onMembersSwept(topic, members, reason);
  }

  async onNodeSwept(node: string): Promise<void> {
    await this.options.swept?.onNodeSwept(node);
  }

  private async recoverTopics(topics: readonly [string, ItemPosition][]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < topics.length) {
        const [topic, since] = topics[next++] as [string, ItemPosition];
        await this.recoverTopic(topic, since);
      }
    };
    await Promise.all(Array.from({ length: Math.min(recoveryConcurrency, topics.length) }, worker));
  }

  /**
   * Replays what the engine lost of one topic since the last delivered position: publications, and presence
   * entries since the last delivered `seq` while the topic has presence listeners. What history cannot give
   * back is announced: a `gap` for offsets, a `presence_gap` for entries.
   */
  private async recoverTopic(topic: string, since: ItemPosition): Promise<void> {
    let plan: RecoveryPlan | undefined;
    const limit = this.options.maxRecoveryMessages;
    const withPresence = since.seq !== undefined && this.engine.presence !== undefined && this.listeners.has(topic);
    const from: ItemPosition = withPresence ? since : { epoch: since.epoch, offset: since.offset };
    // Listeners, yet no entry delivered to start from (their joins were coalesced): whatever the outage took
    // of presence cannot be told apart, so the notice covers the topic's entries so far.
    let unknownSeq: { epoch: string; seq: number } | undefined;
    try {
      const history = withPresence
        ? await this.presenceHistory(topic, { since: from, presenceSince: since.seq as number, limit })
        : await this.history(topic, { since: from, limit });
      plan = planRecovery(history, from, { maxMessages: limit });
      if (!withPresence && this.listeners.has(topic) && this.engine.presence !== undefined) {
        const { epoch, seq } = await this.engine.presence.stats(topic);
        if (seq > 0) unknownSeq = { epoch, seq };
      }
    } catch (error) {
      // The engine failed again: it will report another interruption, and this topic is recovered then.
      this.options.logger.warn({ err: error, topic }, 'recovery read failed');
    }
    // What the replay covers, fan-out skips by the positions it keeps.
    const waiting = this.gate.release(topic);
    // Nobody here can be answered `failed`: whatever history gives back is replayed, the rest announced.
    for (const item of plan?.replay ?? []) this.fanOutItem(item);
    const lost = plan?.lost;
    if (lost !== undefined) {
      const gap: OutageGap = { topic, ...lost };
      this.trie.match(topic, (subscriber) => subscriber.notifyGap(gap));
      // Live publications inside the announced range must not arrive after all: the notice said they won't.
      const last = this.positions.get(topic);
      this.positions.track(topic, { epoch: lost.epoch, offset: lost.to, ...TopicPositions.seqIn(last, lost.epoch) });
    }
    const presenceLost = plan?.presenceLost ?? unknownSeq ?? (plan === undefined && withPresence ? skippedBefore(waiting, since) : undefined);
    if (presenceLost !== undefined) {
      const gap: PresenceOutageGap = { topic, ...presenceLost };
      this.listeners.forEach(topic, (subscriber) => subscriber.notifyPresenceGap(gap));
      const last = this.positions.get(topic);
      const offset = last?.epoch === presenceLost.epoch ? last.offset : (plan?.result.offset ?? 0);
      this.positions.track(topic, { epoch: presenceLost.epoch, offset, seq: presenceLost.seq });
    }
    for (const item of waiting) this.fanOutItem(item);
  }

  /** Releases the shared compressors (call after the engine is closed). */
  close(): void {
    this.presence?.close();
    for (const variant of this.variants.values()) variant.compressor?.close();
    this.variants.clear();
  }
}
