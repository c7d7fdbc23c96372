import { TopicTrie } from '../topics/topic-trie.js';
import type { RedisKeyspace } from './redis-keyspace.js';

/** One pattern this node subscribes to. */
export interface Subscription {
  readonly pattern: string;
  /** The Redis channels it needs (see `RedisKeyspace.subscribeChannels`). */
  readonly channels: readonly string[];
  /** Stamp since which the pattern's channels have been subscribed without a break; undefined: not yet. */
  activeSince: number | undefined;
}

/**
 * The patterns this node subscribes to, the Redis channels they need (a channel is subscribed while any
 * pattern needs it), and which patterns a topic matches at delivery time. Pure bookkeeping: the engine
 * sends the SUBSCRIBE / UNSUBSCRIBE commands.
 *
 * Stamps (`activeSince`) come from the engine's one counter, which also stamps deliveries, so that
 * `redis-delivery.ts` can tell whether a topic was covered without a break between two of its messages.
 */
export class RedisSubscriptions {
  private readonly byPattern = new Map<string, Subscription>();
  private readonly trie: TopicTrie<Subscription>;
  /** Channel → patterns that need it. */
  private readonly channelUsers = new Map<string, Set<string>>();

  constructor(private readonly keyspace: RedisKeyspace) {
    this.trie = new TopicTrie<Subscription>({ reservedRoots: keyspace.reservedRoots });
  }

  get patternCount(): number {
    return this.byPattern.size;
  }

  get channelCount(): number {
    return this.channelUsers.size;
  }

  /** Every channel some pattern needs (a live view: it changes as patterns come and go). */
  get channels(): ReadonlyMap<string, unknown> {
    return this.channelUsers;
  }

  get(pattern: string): Subscription | undefined {
    return this.byPattern.get(pattern);
  }

  /** Registers `pattern` (a valid pattern) if it is new; returns its subscription either way. */
  add(pattern: string): Subscription {
    let subscription = this.byPattern.get(pattern);
    if (subscription !== undefined) return subscription;
    subscription = { pattern, channels: this.keyspace.subscribeChannels(pattern), activeSince: undefined };
    this.byPattern.set(pattern, subscription);
    this.trie.add(pattern, subscription);
    for (const channel of subscription.channels) {
      let users = this.channelUsers.get(channel);
      if (users === undefined) this.channelUsers.set(channel, (users = new Set()));
      users.add(pattern);
    }
    return subscription;
  }

  /** Forgets `pattern`; returns the channels no pattern needs any more (none for an unknown pattern). */
  remove(pattern: string): string[] {
    const subscription = this.byPattern.get(pattern);
    if (subscription === undefined) return [];
    this.byPattern.delete(pattern);
    this.trie.remove(pattern, subscription);
    const unused: string[] = [];
    for (const channel of subscription.channels) {
      const users = this.channelUsers.get(channel);
      users?.delete(pattern);
      if (users === undefined || users.size > 0) continue;
      this.channelUsers.delete(channel);
      unused.push(channel);
    }
    return unused;
  }

  /** The subscriptions whose patterns match `topic` (with the broker's matching rules). */
  match(topic: string): ReadonlySet<Subscription> {
    return this.trie.match(topic);
  }

  /** Every pattern is subscribed from `stamp` on (the link came up). */
  activateAll(stamp: number): void {
    for (const subscription of this.byPattern.values()) subscription.activeSince = stamp;
  }

  /** No pattern is subscribed any more (the link went down). */
  deactivateAll(): void {
    for (const subscription of this.byPattern.values()) subscription.activeSince = undefined;
  }
}
