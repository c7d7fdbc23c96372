import { type Capability, type WelcomeMessage, isValidPattern, userTopic } from '@switchboard/protocol';
import type { Identity } from '../auth/authenticator.js';
import { type CompactSet, withMember } from '../collections/compact-set.js';
import type { Config } from '../config/config.js';

/** The connection's user (the token's `sub`); undefined: anonymous. An empty subject is no user, as for presence. */
export function userOf(identity: Identity): string | undefined {
  return identity.subject === '' ? undefined : identity.subject;
}

/** The user's topic (protocol.md §14.2); undefined without a user, with user topics off, or for an id too long. */
export function userTopicOf(user: string | undefined, config: Pick<Config, 'userTopicPrefix'>): string | undefined {
  const prefix = config.userTopicPrefix;
  return user === undefined || prefix === '' ? undefined : userTopic(prefix, user);
}

/**
 * A connection's server-side subscriptions (protocol.md §14.3) as its handshake offers them: patterns the
 * server subscribes it to with no grant needed, from the token's `subs` (or the auth hook's `subscriptions`)
 * and its own user topic; an admin subscribe offers more later. They are **offered** (in
 * `welcome.subscriptions`, or later with `server_subscribe`) and delivered once the client **claims** one
 * with an ordinary `subscribe`: recovery needs positions only the client has, and a client that never claims
 * (an old one) never holds a queue for them. A client `unsubscribe` stops delivery only; the offer stays
 * until the server withdraws it.
 *
 * A compact set (the session keeps it in a field): most users have one offer, their user topic, and a Set
 * with a wrapper object was ~180 bytes of every such connection.
 */
export function offersAtHandshake(identity: Identity, config: Pick<Config, 'userTopicPrefix'>): CompactSet {
  let offers: CompactSet = userTopicOf(userOf(identity), config);
  for (const pattern of identity.subscriptions ?? []) offers = withMember(offers, pattern);
  return offers;
}

/** What `welcome` says of users (protocol.md §2.3, §14): capabilities, the user, the prefix, the offers. */
export function welcomeUserFields(
  user: string | undefined,
  offers: string[],
  config: Pick<Config, 'userTopicPrefix'>,
): Pick<WelcomeMessage, 'capabilities' | 'user' | 'userTopicPrefix' | 'subscriptions'> {
  const userTopics = config.userTopicPrefix !== '';
  const capabilities: Capability[] = [...(userTopics ? (['user_topics'] as const) : []), 'server_subscriptions'];
  return {
    capabilities,
    ...(user === undefined ? {} : { user }),
    ...(userTopics ? { userTopicPrefix: config.userTopicPrefix } : {}),
    ...(offers.length === 0 ? {} : { subscriptions: offers }),
  };
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
