/** The application's subscriptions: the registry's decisions carried out on the connection and the handlers. */
import {
  type ErrorMessage,
  type PresenceLevel,
  type ProtocolErrorCode,
  type LatestResult,
  type RecoveryResult,
  type SubscribeMessage,
  type SubscribedMessage,
  type UnsubscribeMessage,
  type UnsubscribedMessage,
  parsePattern,
  parseTopic,
  segmentsMatch,
  topicMatches,
} from '@switchboard/protocol';
import { type ClientContext, closedError } from './client-context.js';
import type { TimerHandle } from './clock.js';
import { ClientErrorCode, type ErrorCode, SwitchboardError } from './errors.js';
import type { PositionTracker } from './positions.js';
import type { PresenceSnapshot, PresenceStats } from './presence-events.js';
import { PresenceMembers, toSnapshot } from './presence-members.js';
import { PresencePositions } from './presence-positions.js';
import type { PresenceRequests } from './presence-requests.js';
import { reconnectDelay } from './reconnect.js';
import { type Message, type RecoveryFailure, type SubscribeAck, type SubscribeOptions, Subscription, type SubscriptionOwner } from './subscription.js';
import { type RegistryEffect, SubscriptionRegistry } from './subscriptions.js';

/** What the registry holds per `subscribe` (or `listen`) call. */
export interface LocalSubscription {
  readonly subscription: Subscription<unknown>;
  readonly handler: (message: Message<unknown>) => void;
  readonly options: SubscribeOptions;
  /** A `listen`: held by the registry only while the broker offers its pattern (protocol.md §14.3). */
  readonly listen: boolean;
}

/**
 * Every `subscribe` of one client. {@link SubscriptionRegistry} decides what the broker must hear (one
 * subscription per pattern, resubscribed with `since` after each reconnect); this carries its effects out:
 * sends the requests, confirms or ends the application's subscriptions, retries retryable refusals, and
 * forgets the positions of topics no subscription matches any more.
 */
export class SubscriptionEffects {
  /** The member lists of topics subscribed with `presence`. */
  readonly members: PresenceMembers;
  readonly #context: ClientContext;
  readonly #positions: PositionTracker;
  readonly #requests: PresenceRequests;
  readonly #registry: SubscriptionRegistry<LocalSubscription>;
  readonly #locals = new Map<Subscription<unknown>, LocalSubscription>();
  /** `listen` calls whose pattern the broker does not offer (yet): not in the registry. */
  readonly #waiting = new Set<LocalSubscription>();
  #offered: ReadonlySet<string> = new Set();
  readonly #retryTimers = new Set<TimerHandle>();
  readonly #owner: SubscriptionOwner;

  constructor(context: ClientContext, positions: PositionTracker, requests: PresenceRequests) {
    this.#context = context;
    this.#positions = positions;
    this.#requests = requests;
    const presencePositions = new PresencePositions();
    this.members = new PresenceMembers(context, requests, presencePositions, (topic) => this.#presenceHolders(topic));
    this.#registry = new SubscriptionRegistry<LocalSubscription>(() => context.nextRequestId(), positions, {
      // protocol.md §2.3: a broker without `presence` hears nothing of it, `since.seq` included.
      presenceLevel: (locals) => (context.unsupported('presence', '') === undefined ? presenceLevel(locals) : undefined),
      presencePositions,
      reservedRoot: () => {
        const welcome = context.welcome;
        return welcome?.capabilities?.includes('user_topics') === true ? welcome.userTopicPrefix : undefined;
      },
    });
    this.#owner = {
      release: (subscription) => this.#release(subscription),
      presence: (topic) => this.#readPresence(topic),
      presenceStats: (topic) => this.#readPresenceStats(topic),
      members: (topic) => this.members.set(topic),
    };
  }

  /**
   * Subscribes the application to a pattern; after `close()` the subscription is ended at once. With
   * `listen`, the pattern is a server-side subscription, claimed whenever the broker offers it.
   * @throws SwitchboardError `invalid_topic` for a pattern that breaks the topic rules, a `since` topic the
   *   pattern does not match, or `presence` on a pattern that is not an exact topic.
   */
  subscribe(pattern: string, handler: (message: Message<unknown>) => void, options: SubscribeOptions, listen = false): Subscription<unknown> {
    const parsed = parsePattern(pattern);
    if (!parsed.ok) throw new SwitchboardError(parsed.error.code, parsed.error.message, { topic: pattern });
    if (options.presence !== undefined && parsed.value.wildcard) {
      // protocol.md §13.1: a wildcard subscription is never a member and gets no join or leave events.
      throw new SwitchboardError('invalid_topic', `presence needs an exact topic, not the pattern ${JSON.stringify(pattern)}`, { topic: pattern });
    }
    for (const topic of Object.keys(options.since ?? {})) {
      const parsedTopic = parseTopic(topic);
      if (!parsedTopic.ok || !segmentsMatch(parsed.value.segments, parsedTopic.value.segments)) {
        throw new SwitchboardError('invalid_topic', `since names ${JSON.stringify(topic)}, which ${JSON.stringify(pattern)} does not match`, { topic });
      }
    }
    const subscription = new Subscription<unknown>(pattern, this.#owner);
    if (this.#context.state === 'closed') {
      subscription.end(closedError());
      return subscription;
    }
    for (const [topic, position] of Object.entries(options.since ?? {})) this.#positions.seed(topic, position);
    const local: LocalSubscription = { subscription, handler, options, listen };
    this.#locals.set(subscription, local);
    if (options.presence !== undefined) this.members.follow(pattern, options.presence);
    if (listen && !this.#offered.has(pattern)) {
      this.#waiting.add(local);
      const unsupported = this.#context.welcome === undefined ? undefined : this.#context.unsupported('server_subscriptions', `listen ${pattern}`);
      if (unsupported !== undefined) this.#end(local, unsupported);
    } else {
      this.#apply(this.#registry.add(local, pattern));
    }
    return subscription;
  }

  /**
   * The server-side subscriptions the broker offers now (at `welcome`, and each `server_subscribe`), and
   * whether it serves them at all: a `listen` is claimed while its pattern is offered, and waits otherwise.
   */
  offered(patterns: ReadonlySet<string>, served: boolean): void {
    this.#offered = patterns;
    for (const local of Array.from(this.#locals.values())) {
      if (!local.listen) continue;
      const pattern = local.subscription.pattern;
      if (!served) {
        this.#end(local, this.#context.unsupported('server_subscriptions', `listen ${pattern}`)!);
      } else if (this.#waiting.has(local) && patterns.has(pattern)) {
        this.#waiting.delete(local);
        this.#apply(this.#registry.add(local, pattern));
      } else if (!this.#waiting.has(local) && !patterns.has(pattern)) {
        // No longer offered (a new connection): an ordinary subscribe would need a grant it may not have.
        this.#registry.remove(local);
        this.#waiting.add(local);
      }
    }
  }

  /** The subscriptions whose pattern matches `topic`. */
  match(topic: string): LocalSubscription[] {
    return this.#registry.match(topic);
  }

  /** A connection was welcomed: every pattern is subscribed again. */
  connected(): void {
    this.#apply(this.#registry.open());
  }

  /** The connection ended: what was sent is forgotten until the next one. */
  connectionLost(): void {
    this.#registry.close();
  }

  /** The client stopped: no more retries; every subscription ends with `error`. */
  stop(error: SwitchboardError): void {
    for (const timer of this.#retryTimers) this.#context.clock.clearTimeout(timer);
    this.#retryTimers.clear();
    this.members.stop();
    this.#waiting.clear();
    for (const local of Array.from(this.#locals.values())) {
      this.#locals.delete(local.subscription);
      local.subscription.end(error);
      if (error.code !== ClientErrorCode.clientClosed) this.#context.callSafely(() => local.options.onError?.(error));
    }
  }

  receiveSubscribed(message: SubscribedMessage): void {
    this.#apply(this.#registry.receiveSubscribed(message));
  }

  receiveUnsubscribed(message: UnsubscribedMessage): void {
    this.#apply(this.#registry.receiveUnsubscribed(message));
  }

  /** The broker refused a request; false when it was not a subscribe or unsubscribe. */
  refused(message: ErrorMessage & { readonly id: number }): boolean {
    const effects = this.#registry.receiveError(message);
    if (effects === undefined) return false;
    this.#apply(effects);
    return true;
  }

  #apply(effects: readonly RegistryEffect<LocalSubscription>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const connection = this.#context.connection;
          if (connection?.welcome !== undefined) connection.send(effect.message satisfies SubscribeMessage | UnsubscribeMessage);
          break;
        }
        case 'subscribed':
          this.#subscribed(effect.pattern, effect.locals, effect.recovery, effect.existing === true, effect.latest);
          break;
        case 'failed': {
          const error = new SwitchboardError(effect.error.code as ProtocolErrorCode, `subscribe ${effect.pattern}: ${effect.error.message}`, {
            topic: effect.pattern,
            ...(effect.error.retryAfterMs === undefined ? {} : { retryAfterMs: effect.error.retryAfterMs }),
          });
          if (effect.retryable) {
            const { settings, clock } = this.#context;
            const delay = effect.error.retryAfterMs ?? reconnectDelay(1, 'backoff', settings.reconnect, settings.random);
            const timer = clock.setTimeout(() => {
              this.#retryTimers.delete(timer);
              this.#apply(this.#registry.retry(effect.pattern));
            }, delay);
            this.#retryTimers.add(timer);
            this.#context.report(error);
          } else {
            for (const local of effect.locals) this.#end(local, error);
          }
          break;
        }
        case 'ended': {
          const error = new SwitchboardError((effect.code ?? ClientErrorCode.closed) as ErrorCode, `the broker ended the subscription to ${effect.pattern}${effect.code === undefined ? '' : ` (${effect.code})`}`, { topic: effect.pattern });
          for (const local of effect.locals) this.#end(local, error);
          break;
        }
      }
    }
  }

  #subscribed(
    pattern: string,
    locals: readonly LocalSubscription[],
    recovery: Readonly<Record<string, RecoveryResult>> | undefined,
    existing: boolean,
    latest?: LatestResult,
  ): void {
    const ack: SubscribeAck = { pattern, ...(recovery === undefined ? {} : { recovery }), ...(latest === undefined ? {} : { latest }) };
    // Nothing kept to replay: live messages continue after the topic's position, which a resubscribe's `since`
    // then starts from. A replayed publication sets the position itself as it arrives (seeding it now would
    // make it look like a duplicate).
    if (latest !== undefined && !latest.replayed && latest.offset > 0 && this.#positions.position(pattern) === undefined) {
      this.#positions.seed(pattern, { offset: latest.offset, epoch: latest.epoch });
    }
    for (const [topic, result] of Object.entries(recovery ?? {})) {
      if (result.status !== 'failed') continue;
      // Nothing is replayed; live messages after `offset` follow (protocol.md §8.2).
      this.#positions.seed(topic, { offset: result.offset, epoch: result.epoch });
      const failure: RecoveryFailure = { topic, reason: result.reason, epoch: result.epoch, offset: result.offset };
      for (const local of this.#registry.match(topic)) this.#context.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    for (const local of locals) local.subscription.confirm(ack);
    if (this.members.set(pattern) === undefined) return;
    // A broker without `presence` heard nothing of it (the registry asks `presenceLevel`): tell who asked.
    const unsupported = this.#context.unsupported('presence', `presence on ${pattern}`);
    if (unsupported === undefined) return this.members.subscribed(pattern, recovery?.[pattern]?.presence, existing);
    for (const local of locals) if (local.options.presence !== undefined) this.#context.callSafely(() => (local.options.onError ?? ((error) => this.#context.report(error)))(unsupported));
  }

  #presenceHolders(topic: string): LocalSubscription[] {
    return Array.from(this.#locals.values()).filter((local) => local.options.presence !== undefined && local.subscription.pattern === topic && !this.#waiting.has(local));
  }

  async #readPresence(topic: string): Promise<PresenceSnapshot<unknown>> {
    // The member list took the answer already, as it arrived (inbound-dispatch.ts).
    return toSnapshot(await this.#requests.read('presence', topic));
  }

  async #readPresenceStats(topic: string): Promise<PresenceStats> {
    const { topic: answered, epoch, offset, seq, connections, users, anonymous } = await this.#requests.read('presence_stats', topic);
    return { topic: answered, epoch, offset, seq, connections, users, anonymous };
  }

  #end(local: LocalSubscription, error: SwitchboardError): void {
    this.#forget(local);
    local.subscription.end(error);
    this.#context.callSafely(() => (local.options.onError === undefined ? this.#context.report(error) : local.options.onError(error)));
    this.#forgetUnmatchedPositions();
  }

  #release(subscription: Subscription<unknown, unknown>): void {
    const local = this.#locals.get(subscription);
    if (local === undefined) return;
    this.#forget(local);
    this.#apply(this.#registry.remove(local));
    this.#forgetUnmatchedPositions();
  }

  /** A subscription is over: the member list of its topic goes when nobody else follows it. */
  #forget(local: LocalSubscription): void {
    this.#locals.delete(local.subscription);
    this.#waiting.delete(local);
    const { pattern } = local.subscription;
    if (local.options.presence !== undefined && this.#presenceHolders(pattern).length === 0) this.members.unfollow(pattern);
  }

  #forgetUnmatchedPositions(): void {
    // A waiting `listen` keeps its positions: it resumes from them once the pattern is offered again.
    const waiting = Array.from(this.#waiting, (local) => local.subscription.pattern);
    for (const topic of this.#positions.positions().keys()) {
      if (!this.#registry.matchesAny(topic) && !waiting.some((pattern) => topicMatches(pattern, topic))) this.#positions.forget(topic);
    }
  }
}

/** The level a pattern's `subscribe` asks for: the widest any of its subscriptions asked for. */
function presenceLevel(locals: ReadonlySet<LocalSubscription>): PresenceLevel | undefined {
  let level: PresenceLevel | undefined;
  for (const { options } of locals) {
    if (options.presence === 'connection') return 'connection';
    if (options.presence === 'user') level = 'user';
  }
  return level;
}
