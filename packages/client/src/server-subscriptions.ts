/** Server-side subscriptions (protocol.md §14.3): what the broker offers this connection, and its changes. */
import type { ServerSubscribeMessage, UnsubscribedMessage, WelcomeMessage } from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import type { SubscriptionEffects } from './subscription-effects.js';

/** The `serverSubscription` event: the broker offered a pattern (`added`), or ended one. */
export interface ServerSubscriptionChange {
  /** The topic or pattern offered or ended; `listen(pattern)` claims it while offered. */
  readonly pattern: string;
  /**
   * `true`: offered (by the welcome or a `server_subscribe`); `false`: ended (`server_unsubscribed`, or absent
   * from a reconnect's welcome).
   */
  readonly added: boolean;
}

/**
 * The patterns the broker offers: `welcome.subscriptions`, then `server_subscribe` adds and an `unsubscribed`
 * with code `server_unsubscribed` removes. Each change is a `serverSubscription` event, and `listen` calls
 * claim their pattern while it is offered (the offer is per connection: a reconnect's welcome says anew).
 */
export class ServerSubscriptions {
  readonly #context: ClientContext;
  readonly #subscriptions: SubscriptionEffects;
  #offered = new Set<string>();

  constructor(context: ClientContext, subscriptions: SubscriptionEffects) {
    this.#context = context;
    this.#subscriptions = subscriptions;
  }

  get offered(): ReadonlySet<string> {
    return this.#offered;
  }

  /** A connection was welcomed; runs before its resubscribes, so claims go out with them. */
  welcome(welcome: WelcomeMessage): void {
    const served = welcome.capabilities?.includes('server_subscriptions') === true;
    const next = new Set(served ? (welcome.subscriptions ?? []) : []);
    const previous = this.#offered;
    this.#offered = next;
    this.#subscriptions.offered(next, served);
    for (const pattern of previous) if (!next.has(pattern)) this.#emit(pattern, false);
    for (const pattern of next) if (!previous.has(pattern)) this.#emit(pattern, true);
  }

  receiveServerSubscribe(message: ServerSubscribeMessage): void {
    if (this.#offered.has(message.pattern)) return;
    this.#offered = new Set(this.#offered).add(message.pattern);
    this.#subscriptions.offered(this.#offered, true);
    this.#emit(message.pattern, true);
  }

  /** Before the registry sees it: an `unsubscribed` that ends an offer. */
  receiveUnsubscribed(message: UnsubscribedMessage): void {
    if (message.id !== undefined || message.code !== 'server_unsubscribed' || !this.#offered.has(message.pattern)) return;
    const next = new Set(this.#offered);
    next.delete(message.pattern);
    this.#offered = next;
    this.#emit(message.pattern, false);
  }

  #emit(pattern: string, added: boolean): void {
    this.#context.events.emit('serverSubscription', { pattern, added });
  }
}
