import { isValidTopic } from '@switchboard/protocol';
import { TopicTrie } from '../topics/topic-trie.js';

/**
 * Which topics keep presence: those a `PRESENCE` pattern matches (docs/design/presence.md §1.2). Only a topic
 * can be present; a wildcard subscription is never a member, so a pattern here never "serves" a pattern.
 * A pattern starting with a wildcard does not reach a reserved root (the user topic prefix), as for grants and
 * subscriptions: `PRESENCE=>` must not turn every user's private topic into a listed room.
 */
export class PresenceMatcher {
  private readonly trie: TopicTrie<true>;
  readonly empty: boolean;

  constructor(patterns: readonly string[], reservedRoots: readonly string[] = []) {
    this.trie = new TopicTrie<true>({ reservedRoots });
    for (const pattern of patterns) this.trie.add(pattern, true);
    this.empty = patterns.length === 0;
  }

  /** Whether `topic` (an exact topic, never a pattern) keeps presence. */
  matches(topic: string): boolean {
    return !this.empty && isValidTopic(topic) && this.trie.hasMatch(topic);
  }
}
