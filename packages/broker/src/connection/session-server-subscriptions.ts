import { type Capability, type WelcomeMessage, isValidPattern, userTopic } from '@switchboard/protocol';
import type { Identity } from '../auth/authenticator.js';
import type { Config } from '../config/config.js';

/** The offers of every connection that has none: an empty Set each was ~150 bytes of an idle connection. */
const noOffers: Set<string> = new Set();

/**
 * A connection's user and its server-side subscriptions (protocol.md §14.3): patterns the server subscribes
 * it to with no grant needed, from the token's `subs` (or the auth hook's `subscriptions`), its own user
 * topic, and admin subscribe. They are **offered** (in `welcome.subscriptions`, or later with
 * `server_subscribe`) and delivered once the client **claims** one with an ordinary `subscribe`: recovery
 * needs positions only the client has, and a client that never claims (an old one) never holds a queue for
 * them. A client `unsubscribe` stops delivery only; the offer stays until the server withdraws it.
 */
export class ServerSubscriptions {
  /** The connection's user (the token's `sub`); undefined: anonymous. */
  readonly user: string | undefined;
  /** The user's topic (protocol.md §14.2); undefined without a user, with user topics off, or for an id too long. */
  readonly userTopic: string | undefined;
  /** `noOffers` (shared, never added to) until something is offered: most connections have no offer. */
  private offered: Set<string>;

  constructor(identity: Identity, config: Pick<Config, 'userTopicPrefix'>) {
    // An empty subject is no user, as for presence (session.ts's presenceMember).
    this.user = identity.subject === '' ? undefined : identity.subject;
    const prefix = config.userTopicPrefix;
    this.userTopic = this.user === undefined || prefix === '' ? undefined : userTopic(prefix, this.user);
    const offers = [...(this.userTopic === undefined ? [] : [this.userTopic]), ...(identity.subscriptions ?? [])];
    this.offered = offers.length === 0 ? noOffers : new Set(offers);
  }

  /** Whether `pattern` is offered: a `subscribe` of it needs no grant, and is answered `server: true`. */
  has(pattern: string): boolean {
    return this.offered.has(pattern);
  }

  get patterns(): readonly string[] {
    return [...this.offered];
  }

  /** Offers `pattern`; false if it already was. */
  offer(pattern: string): boolean {
    if (this.offered.has(pattern)) return false;
    if (this.offered === noOffers) this.offered = new Set();
    this.offered.add(pattern);
    return true;
  }

  /** Withdraws `pattern`; false if it was not offered. */
  withdraw(pattern: string): boolean {
    return this.offered.delete(pattern);
  }

  /** What `welcome` says of users (protocol.md §2.3, §14): capabilities, the user, the prefix, the offers. */
  welcomeFields(config: Pick<Config, 'userTopicPrefix'>): Pick<WelcomeMessage, 'capabilities' | 'user' | 'userTopicPrefix' | 'subscriptions'> {
    const userTopics = config.userTopicPrefix !== '';
    const capabilities: Capability[] = [...(userTopics ? (['user_topics'] as const) : []), 'server_subscriptions'];
    return {
      capabilities,
      ...(this.user === undefined ? {} : { user: this.user }),
      ...(userTopics ? { userTopicPrefix: config.userTopicPrefix } : {}),
      ...(this.offered.size === 0 ? {} : { subscriptions: [...this.offered] }),
    };
  }
}

/**
 * Why an identity from a custom auth hook cannot be served (its `subscriptions` are not patterns, or more
 * than MAX_SUBSCRIPTIONS), or undefined. The built-in JWT check refuses such tokens itself (401).
 */
export function identityProblem(identity: Identity, config: Pick<Config, 'maxSubscriptions'>): string | undefined {
  const subscriptions = identity.subscriptions ?? [];
  if (!Array.isArray(subscriptions) || !subscriptions.every((pattern) => typeof pattern === 'string' && isValidPattern(pattern))) {
    return 'identity.subscriptions must be an array of topic patterns';
  }
  if (subscriptions.length > config.maxSubscriptions) return `identity.subscriptions names ${subscriptions.length} patterns; the limit is ${config.maxSubscriptions}`;
  if (identity.subject !== undefined && typeof identity.subject !== 'string') return 'identity.subject must be a string';
  return undefined;
}
