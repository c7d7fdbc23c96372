import {
  type LatestResult,
  type PresenceLevel,
  ProtocolErrorCode,
  type RecoveryResult,
  type SubscribeMessage,
  type UnsubscribeMessage,
  isValidTopic,
  topicMatches,
} from '@switchboard/protocol';
import { type CompactSet, hasMember, membersOf, sizeOf, withMember, withoutMember } from '../collections/compact-set.js';
import type { StreamPosition } from '../engine/engine.js';
import { type Admission, RecoveryGate } from '../history/recovery-gate.js';
import { type RecoveryRead, planRecovery, recoveryTurnedOff } from '../history/recovery-plan.js';
import { type ItemPosition, type StreamItem, isPresenceEntry } from '../history/stream-items.js';
import type { Delivery, Frames } from '../hub/delivery.js';
import type { HubSubscriber } from '../hub/hub-subscriber.js';
import { type OutboundItem, itemBytes } from '../hub/outbound-item.js';
import type { PresenceDelivery } from '../hub/presence-delivery.js';
import type { PresenceRegistry } from '../presence/presence-registry.js';
import type { SessionScope } from './session-context.js';
import { PRESENCE_NOT_SERVED } from './session-errors.js';
import { backendAllowsSubscribe } from './session-proxy.js';

/** A recovered topic's replay, encoded, and the position the answer reported (what it accounts for). */
interface Replay {
  readonly items: readonly OutboundItem<Frames>[];
  readonly covered: ItemPosition;
}

/** A live item of a topic: a publication, or a presence entry. */
type LiveDelivery = Delivery | PresenceDelivery;

/** One `since` entry, and what its recovery reads: the presence entries too when the subscription asks (`seq`). */
interface RecoveryRequest {
  readonly topic: string;
  readonly since: ItemPosition;
  readonly recoverable: boolean;
}

/**
 * Shared by every connection with no server-side presence membership (most): an empty Set is ~150 bytes of an
 * idle connection. Never added to (`joinOffered` gives the connection its own); delete and clear leave it empty.
 */
const noServerMembers: Set<string> = new Set();

/**
 * A connection's subscriptions in the hub: `subscribe` (with recovery, protocol.md §8.2), `unsubscribe`,
 * and the end of those a refreshed token no longer allows.
 */
export class SessionSubscriptions {
  private readonly session: SessionScope & HubSubscriber;
  /** Patterns subscribed, or being subscribed (they count toward the limit while the engine answers). */
  private patterns: CompactSet = undefined;
  /**
   * Presence topics the connection is a member of because the server offered them (design §1.7: the
   * membership is the server's, written at the offer, claimed or not; a client `unsubscribe` keeps it).
   */
  private serverMembers = noServerMembers;
  /**
   * Topics being recovered: their live deliveries wait here until the replay is queued (protocol.md §6,
   * guarantee 5), capped like the send queue, since they are owed deliveries too. Created on a
   * connection's first recovery.
   */
  private recoveryGate: RecoveryGate<LiveDelivery> | undefined;

  constructor(session: SessionScope & HubSubscriber) {
    this.session = session;
  }

  get size(): number {
    return sizeOf(this.patterns);
  }

  /** The patterns subscribed (claimed, for server-side ones). */
  get list(): readonly string[] {
    return [...membersOf(this.patterns)];
  }

  /**
   * A live delivery: `pass` (queue it), `held` for a recovery, or `overflow` (held over the cap: the
   * connection must go as a slow consumer).
   */
  admit(delivery: LiveDelivery): Admission {
    return this.recoveryGate?.admit(positionOf(delivery).topic, delivery) ?? 'pass';
  }

  async subscribe(message: SubscribeMessage): Promise<void> {
    const { session } = this;
    const { config, outbound } = session;
    const { id, since } = message;
    // The connection keeps the hub's string, not its own copy.
    const pattern = session.context.hub.sharedPattern(message.pattern);
    if (hasMember(this.patterns, pattern)) {
      outbound.sendError({ id, code: ProtocolErrorCode.alreadySubscribed, message: `already subscribed to ${pattern}` });
      return;
    }
    const server = session.isServerSubscription(pattern);
    // protocol.md "Backend proxy": where the backend decides subscribes, it does instead of the grants.
    const proxyUrl = server ? undefined : session.context.proxy?.routes.subscribeUrl(pattern);
    if (proxyUrl !== undefined && !(await backendAllowsSubscribe(session, proxyUrl, id, pattern))) return;
    if (!server && proxyUrl === undefined && !session.permissions.canSubscribe(pattern)) {
      outbound.sendError({ id, code: ProtocolErrorCode.forbidden, message: `subscribe to ${pattern} is not permitted` });
      return;
    }
    const level = message.presence;
    if (level !== undefined && this.presenceOf(pattern) === undefined) {
      // Refused rather than ignored, so no client waits for join/leave events that will never come.
      const served = session.context.hub.presence === undefined ? PRESENCE_NOT_SERVED : `${pattern} keeps no presence (no PRESENCE pattern matches it)`;
      outbound.sendError({ id, code: ProtocolErrorCode.presenceDisabled, message: served });
      return;
    }
    if (sizeOf(this.patterns) >= config.maxSubscriptions) {
      outbound.sendError({
        id,
        code: ProtocolErrorCode.tooManySubscriptions,
        message: `a connection may hold ${config.maxSubscriptions} subscriptions`,
      });
      return;
    }
    const requests = this.recoveryRequests(since, level);
    // Without a position, a `latest` topic starts from its latest publication: read like a recovery.
    const latestTopic = this.startsFromLatest(pattern, since) ? pattern : undefined;
    const topics = requests.map((request) => request.topic);
    if (latestTopic !== undefined) topics.push(latestTopic);
    this.patterns = withMember(this.patterns, pattern);
    // Live deliveries of recovered topics wait until their replay is queued.
    for (const topic of topics) this.gate.hold(topic);
    const { hub } = session.context;
    let recovery: Record<string, RecoveryResult> | undefined;
    let latest: LatestResult | undefined;
    let replays: ReadonlyMap<string, Replay> = new Map();
    try {
      await hub.subscribe(session, pattern, { presence: level });
      // Written before `subscribed`, so a `presence` read right after lists this connection (protocol.md §13.1).
      // A close meanwhile has already left (or its leave is queued after this join).
      const presence = this.presenceOf(pattern);
      if (presence !== undefined && session.isOpen) await presence.join(pattern, session.presenceMember);
      if (requests.length > 0) {
        const histories = await Promise.all(requests.map((request) => this.read(request)));
        ({ recovery, replays } = this.planReplays(requests, histories, level));
      }
      if (latestTopic !== undefined) {
        const read = await this.readLatest(latestTopic);
        latest = read.latest;
        replays = new Map([[latestTopic, read.replay]]);
      }
    } catch (error) {
      if (!session.isOpen) return;
      this.patterns = withoutMember(this.patterns, pattern);
      hub.unsubscribe(session, pattern);
      // A join written before a later step failed is undone (a leave of a non-member changes nothing).
      if (!this.serverMembers.has(pattern)) void this.presenceOf(pattern)?.leave(pattern, session.connectionId, 'left');
      this.endRecovery(topics, new Map());
      session.failRequest(error, { id }, `subscribe to ${pattern}`);
      return;
    }
    if (!session.isOpen) return;
    outbound.sendControl({ op: 'subscribed', id, pattern, ...(server ? { server } : {}), ...(recovery === undefined ? {} : { recovery }), ...(latest === undefined ? {} : { latest }) });
    this.endRecovery(topics, replays);
  }

  /** Resolves once a presence topic's leave is written: `unsubscribed` then means "no longer listed". */
  async unsubscribe(message: UnsubscribeMessage): Promise<void> {
    const { session } = this;
    const { id, pattern } = message;
    if (!hasMember(this.patterns, pattern)) {
      session.outbound.sendError({ id, code: ProtocolErrorCode.notSubscribed, message: `not subscribed to ${pattern}` });
      return;
    }
    this.patterns = withoutMember(this.patterns, pattern);
    session.context.hub.unsubscribe(session, pattern);
    if (!this.serverMembers.has(pattern)) await this.presenceOf(pattern)?.leave(pattern, session.connectionId, 'left');
    session.outbound.sendControl({ op: 'unsubscribed', id, pattern });
  }

  /** protocol.md §9: subscriptions the new token no longer allows end, with `forbidden`. */
  endForbidden(): void {
    const { session } = this;
    for (const pattern of [...membersOf(this.patterns)]) {
      // The backend allowed the proxied ones; grants never covered them.
      if (session.isServerSubscription(pattern) || session.permissions.canSubscribe(pattern)) continue;
      if (session.context.proxy?.routes.subscribeUrl(pattern) !== undefined) continue;
      this.patterns = withoutMember(this.patterns, pattern);
      session.context.hub.unsubscribe(session, pattern);
      void this.presenceOf(pattern)?.leave(pattern, session.connectionId, 'left');
      session.outbound.sendControl({ op: 'unsubscribed', pattern, code: ProtocolErrorCode.forbidden });
    }
  }

  /** Ends delivery of `pattern` if subscribed (a withdrawn server-side subscription); its answer is the caller's. */
  end(pattern: string): void {
    const member = this.serverMembers.delete(pattern);
    const subscribed = hasMember(this.patterns, pattern);
    this.patterns = withoutMember(this.patterns, pattern);
    if (subscribed) this.session.context.hub.unsubscribe(this.session, pattern);
    if (member || subscribed) void this.presenceOf(pattern)?.leave(pattern, this.session.connectionId, 'server');
  }

  /**
   * Writes the memberships of the offered presence topics (right after `welcome`, and on an admin subscribe),
   * before any claim. A join the engine cannot take now is logged; the claim's own join retries it.
   */
  joinOffered(patterns: Iterable<string>): void {
    const { session } = this;
    for (const pattern of patterns) {
      const presence = this.presenceOf(pattern);
      if (presence === undefined || this.serverMembers.has(pattern) || !session.isOpen) continue;
      if (this.serverMembers === noServerMembers) this.serverMembers = new Set();
      this.serverMembers.add(pattern);
      presence.join(pattern, session.presenceMember).catch((error: unknown) => {
        session.logger.warn({ err: error, topic: pattern }, 'server-side presence membership not written');
      });
    }
  }

  /** Leaves the hub and drops held deliveries (the connection is closing). */
  release(): void {
    const { session } = this;
    for (const pattern of membersOf(this.patterns)) {
      session.context.hub.unsubscribe(session, pattern);
      if (!this.serverMembers.has(pattern)) void this.presenceOf(pattern)?.leave(pattern, session.connectionId, 'disconnected');
    }
    for (const pattern of this.serverMembers) void this.presenceOf(pattern)?.leave(pattern, session.connectionId, 'disconnected');
    this.patterns = undefined;
    this.serverMembers.clear();
    this.recoveryGate?.clear();
  }

  /** The registry when `pattern` is a presence topic (exact, matched by `PRESENCE`): subscribing makes a member. */
  private presenceOf(pattern: string): PresenceRegistry | undefined {
    const { presence } = this.session.context.hub;
    return presence?.serves(pattern) === true ? presence : undefined;
  }

  /**
   * What each `since` entry asks: its position, with `seq` only when the subscription asks for presence events
   * (without them there is nothing of presence to continue), and whether its namespace allows recovery.
   */
  private recoveryRequests(since: SubscribeMessage['since'], level: PresenceLevel | undefined): RecoveryRequest[] {
    const { namespaces } = this.session.context;
    return Object.entries(since ?? {}).map(([topic, { offset, epoch, seq }]) => ({
      topic,
      since: level === undefined || seq === undefined ? { offset, epoch } : { offset, epoch, seq },
      recoverable: namespaces.namespaceFor(topic).recovery,
    }));
  }

  /**
   * Whether a subscribe starts from the topic's latest publication (protocol.md §8.6): an exact topic of a
   * `latest` namespace, without a position for it. Not a wildcard: which topics it matches is unknown until
   * they publish, and every one of them would be a history read on each subscribe. Not while another of the
   * connection's subscriptions (held or being made) matches the topic: its messages already flow to the
   * connection, and holding them back to drop those before the read would take them from that subscription.
   */
  private startsFromLatest(pattern: string, since: SubscribeMessage['since']): boolean {
    if (since?.[pattern] !== undefined || !isValidTopic(pattern)) return false;
    if (!this.session.context.namespaces.namespaceFor(pattern).latest) return false;
    for (const held of membersOf(this.patterns)) if (topicMatches(held, pattern)) return false;
    return true;
  }

  /**
   * The topic's latest publication and position, read once its live deliveries are held: what the read
   * returns is replayed, the live deliveries up to its position are dropped (the replay or the position
   * accounts for them), those after it follow. The publication is replayed only if it is the one at the
   * position (one read: history and position agree).
   */
  private async readLatest(topic: string): Promise<{ latest: LatestResult; replay: Replay }> {
    const { hub } = this.session.context;
    const history = await hub.history(topic, { limit: 1 });
    const { epoch, offset } = history.position;
    const publication = history.publications.at(-1);
    const replayed = publication !== undefined && publication.epoch === epoch && publication.offset === offset;
    const items = replayed ? [hub.deliveryOf(publication).itemFor(this.session.variant)] : [];
    return { latest: { epoch, offset, replayed }, replay: { items, covered: { epoch, offset } } };
  }

  /** One topic's history read; a topic whose namespace turns recovery off needs only its position for the answer. */
  private read({ topic, since, recoverable }: RecoveryRequest): Promise<RecoveryRead> {
    const { hub } = this.session.context;
    const limit = recoverable ? this.session.config.maxRecoveryMessages : 0;
    const position: StreamPosition = { offset: since.offset, epoch: since.epoch };
    if (since.seq !== undefined) return hub.presenceHistory(topic, { since: position, presenceSince: since.seq, limit });
    return hub.history(topic, recoverable ? { since: position, limit } : { limit: 0 });
  }

  private get gate(): RecoveryGate<LiveDelivery> {
    const { session } = this;
    return (this.recoveryGate ??= new RecoveryGate<LiveDelivery>({
      positionOf,
      weigh: (delivery) => itemBytes(delivery.itemFor(session.variant)),
      maxHeldBytes: session.config.maxQueuedBytes,
    }));
  }

  /**
   * The recovery answer and replays of one subscribe. The whole replay is queued at once, so all topics
   * together get one byte budget (`maxRecoveryBytes`): a topic whose replay would not fit fails recovery
   * (the client resyncs) instead of being dropped from the queue right after it was reported recovered. A
   * topic not `recoverable` (its namespace turns recovery off) fails with `no_history`.
   */
  private planReplays(
    requests: readonly RecoveryRequest[],
    histories: readonly RecoveryRead[],
    level: PresenceLevel | undefined,
  ): { recovery: Record<string, RecoveryResult>; replays: Map<string, Replay> } {
    const { session } = this;
    const { hub } = session.context;
    // Weighing an item encodes it: keep the encoding for the replay.
    const encoded = new Map<StreamItem, OutboundItem<Frames>>();
    const itemOf = (item: StreamItem): OutboundItem<Frames> => {
      let outbound = encoded.get(item);
      if (outbound === undefined) {
        const delivery = isPresenceEntry(item) ? hub.presenceDeliveryOf(item) : hub.deliveryOf(item);
        encoded.set(item, (outbound = delivery.itemFor(session.variant)));
      }
      return outbound;
    };
    const weigh = (item: StreamItem): number => itemBytes(itemOf(item));
    const recovery: Record<string, RecoveryResult> = {};
    const replays = new Map<string, Replay>();
    let budget = session.config.maxRecoveryBytes;
    for (const [index, history] of histories.entries()) {
      const { topic, since, recoverable } = requests[index] as RecoveryRequest;
      const limits = { maxMessages: session.config.maxRecoveryMessages, maxBytes: budget, weigh, ...(level === undefined ? {} : { level }) };
      const plan = recoverable ? planRecovery(history, since, limits) : recoveryTurnedOff(history, since.seq);
      const { result } = plan;
      recovery[topic] = result;
      // protocol.md §8.2, §13.4: a failed recovery replays nothing of its kind; the answer announces the loss.
      const messages = result.status === 'recovered';
      const presence = result.presence?.status === 'recovered';
      const kept = plan.replay.filter((item) => (isPresenceEntry(item) ? presence : messages));
      const items = kept.map(itemOf);
      for (const item of items) budget -= itemBytes(item);
      const covered = { epoch: result.epoch, offset: result.offset, ...(result.presence === undefined ? {} : { seq: result.presence.seq }) };
      replays.set(topic, { items, covered });
    }
    return { recovery, replays };
  }

  /**
   * Queues each recovered topic's replay, then the live deliveries that waited, skipping those the replay
   * or the reported position already covers.
   */
  private endRecovery(topics: readonly string[], replays: ReadonlyMap<string, Replay>): void {
    const gate = this.recoveryGate;
    if (gate === undefined) return;
    const { outbound, variant } = this.session;
    for (const topic of topics) {
      const replay = replays.get(topic);
      const waiting = gate.release(topic, replay?.covered);
      for (const item of replay?.items ?? []) outbound.enqueue(item);
      for (const delivery of waiting) outbound.enqueue(delivery.itemFor(variant));
    }
  }
}

function positionOf(delivery: LiveDelivery): ItemPosition & { readonly topic: string } {
  return 'entry' in delivery ? delivery.entry : delivery.publication;
}
