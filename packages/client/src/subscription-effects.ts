/** The application's subscriptions: the registry's decisions carried out on the connection and the handlers. */
import {
  type ErrorMessage,
  type ProtocolErrorCode,
  type RecoveryResult,
  type SubscribeMessage,
  type SubscribedMessage,
  type UnsubscribeMessage,
  type UnsubscribedMessage,
  parsePattern,
  parseTopic,
  segmentsMatch,
} from '@switchboard/protocol';
import { type ClientContext, closedError } from './client-context.js';
import type { TimerHandle } from './clock.js';
import { ClientErrorCode, type ErrorCode, SwitchboardError } from './errors.js';
import type { PositionTracker } from './positions.js';
import { reconnectDelay } from './reconnect.js';
import { type Message, type RecoveryFailure, type SubscribeAck, type SubscribeOptions, Subscription } from './subscription.js';
import { type RegistryEffect, SubscriptionRegistry } from './subscriptions.js';

/** What the registry holds per `subscribe` call. */
export interface LocalSubscription {
  readonly subscription: Subscription<unknown>;
  readonly handler: (message: Message<unknown>) => void;
  readonly options: SubscribeOptions;
}

/**
 * Every `subscribe` of one client. {@link SubscriptionRegistry} decides what the broker must hear (one
 * subscription per pattern, resubscribed with `since` after each reconnect); this carries its effects out:
 * sends the requests, confirms or ends the application's subscriptions, retries retryable refusals, and
 * forgets the positions of topics no subscription matches any more.
 */
export class SubscriptionEffects {
  readonly #context: ClientContext;
  readonly #positions: PositionTracker;
  readonly #registry: SubscriptionRegistry<LocalSubscription>;
  readonly #locals = new Map<Subscription<unknown>, LocalSubscription>();
  readonly #retryTimers = new Set<TimerHandle>();

  constructor(context: ClientContext, positions: PositionTracker) {
    this.#context = context;
    this.#positions = positions;
    this.#registry = new SubscriptionRegistry<LocalSubscription>(() => context.nextRequestId(), positions);
  }

  /**
   * Subscribes the application to a pattern; after `close()` the subscription is ended at once.
   * @throws SwitchboardError `invalid_topic` for a pattern that breaks the topic rules, or a `since` topic the
   *   pattern does not match.
   */
  subscribe(pattern: string, handler: (message: Message<unknown>) => void, options: SubscribeOptions): Subscription<unknown> {
    const parsed = parsePattern(pattern);
    if (!parsed.ok) throw new SwitchboardError(parsed.error.code, parsed.error.message, { topic: pattern });
    for (const topic of Object.keys(options.since ?? {})) {
      const parsedTopic = parseTopic(topic);
      if (!parsedTopic.ok || !segmentsMatch(parsed.value.segments, parsedTopic.value.segments)) {
        throw new SwitchboardError('invalid_topic', `since names ${JSON.stringify(topic)}, which ${JSON.stringify(pattern)} does not match`, { topic });
      }
    }
    const subscription = new Subscription<unknown>(pattern, (ended) => this.#release(ended));
    if (this.#context.state === 'closed') {
      subscription.end(closedError());
      return subscription;
    }
    for (const [topic, position] of Object.entries(options.since ?? {})) this.#positions.seed(topic, position);
    const local: LocalSubscription = { subscription, handler, options };
    this.#locals.set(subscription, local);
    this.#apply(this.#registry.add(local, pattern));
    return subscription;
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
          this.#subscribed(effect.pattern, effect.locals, effect.recovery);
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

  #subscribed(pattern: string, locals: readonly LocalSubscription[], recovery: Readonly<Record<string, RecoveryResult>> | undefined): void {
    const ack: SubscribeAck = { pattern, ...(recovery === undefined ? {} : { recovery }) };
    for (const [topic, result] of Object.entries(recovery ?? {})) {
      if (result.status !== 'failed') continue;
      // Nothing is replayed; live messages after `offset` follow (protocol.md §8.2).
      this.#positions.seed(topic, { offset: result.offset, epoch: result.epoch });
      const failure: RecoveryFailure = { topic, reason: result.reason, epoch: result.epoch, offset: result.offset };
      for (const local of this.#registry.match(topic)) this.#context.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    for (const local of locals) local.subscription.confirm(ack);
  }

  #end(local: LocalSubscription, error: SwitchboardError): void {
    this.#locals.delete(local.subscription);
    local.subscription.end(error);
    this.#context.callSafely(() => (local.options.onError === undefined ? this.#context.report(error) : local.options.onError(error)));
    this.#forgetUnmatchedPositions();
  }

  #release(subscription: Subscription<unknown>): void {
    const local = this.#locals.get(subscription);
    if (local === undefined) return;
    this.#locals.delete(subscription);
    this.#apply(this.#registry.remove(local));
    this.#forgetUnmatchedPositions();
  }

  #forgetUnmatchedPositions(): void {
    for (const topic of this.#positions.positions().keys()) {
      if (!this.#registry.matchesAny(topic)) this.#positions.forget(topic);
    }
  }
}
