import { TopicSyntax } from '@switchboard/protocol';
import { assertValidPattern } from './topic-checks.js';

const { separator: topicSeparator, singleSegmentWildcard, tailWildcard } = TopicSyntax;

/** One pattern segment. Children are split by kind so matching never compares wildcards as text. */
interface TrieNode<S> {
  readonly parent: TrieNode<S> | undefined;
  /** The segment under which the parent holds this node (`*`, `>` or a literal). */
  readonly segment: string;
  /** Allocated on first use: most nodes near the leaves have no literal children. */
  literal: Map<string, TrieNode<S>> | undefined;
  /** The `*` child: matches any one segment. */
  single: TrieNode<S> | undefined;
  /** The `>` child: always a leaf, matches one or more remaining segments. */
  tail: TrieNode<S> | undefined;
  /** Subscribers of the pattern that ends at this node; undefined when no pattern ends here. */
  subscribers: Set<S> | undefined;
  /** The pattern that ends at this node, the very string `nodesByPattern` is keyed by (`sharedPattern`). */
  pattern: string | undefined;
}

function createNode<S>(parent: TrieNode<S> | undefined, segment: string): TrieNode<S> {
  return { parent, segment, literal: undefined, single: undefined, tail: undefined, subscribers: undefined, pattern: undefined };
}

/**
 * A subscription index keyed by pattern: which subscribers want a topic.
 *
 * Patterns are dot-separated with `*` (exactly one segment) and `>` (one or more trailing segments, last
 * only; protocol.md §4). Matching walks the trie along the topic, following at each level the
 * literal child, the `*` child and the `>` child, so its cost depends on the topic's length and on how
 * many patterns actually match, never on how many patterns are stored.
 *
 * `S` is compared by identity (it lives in a `Set`): a session object, a connection id, or anything else.
 * The same index serves the hub (subscriber = local session) and an engine (subscriber = `true`).
 */
export class TopicTrie<S> {
  /**
   * Reserved roots (protocol.md §14.2): first segments of topics that a pattern starting with a wildcard
   * never matches (`>` and `*.x` do not see `user.alice`).
   */
  private readonly reservedRoots: ReadonlySet<string>;
  private readonly root: TrieNode<S> = createNode<S>(undefined, '');
  /** Pattern → the node where it ends, so add/remove/has do not walk and `patterns()` does not scan. */
  private readonly nodesByPattern = new Map<string, TrieNode<S>>();
  private subscriptionCount = 0;
  private nodes = 1;

  constructor(options: { readonly reservedRoots?: readonly string[] } = {}) {
    this.reservedRoots = new Set(options.reservedRoots);
  }

  /** Number of (pattern, subscriber) pairs: the subscription count metrics report. */
  get size(): number {
    return this.subscriptionCount;
  }

  /** Number of distinct patterns with at least one subscriber (for metrics and node-level subscriptions). */
  get patternCount(): number {
    return this.nodesByPattern.size;
  }

  /** Number of trie nodes including the root: memory grows with it, and pruning brings it back to 1. */
  get nodeCount(): number {
    return this.nodes;
  }

  /**
   * Subscribes `subscriber` to `pattern`. Adding the same pair twice is a no-op.
   *
   * @returns `true` when the pattern had no subscriber before this call: the caller subscribes upstream
   *   (the engine's node-level subscription) exactly on this transition.
   * @throws BrokerError `ERR_BROKER_INVALID_PATTERN` when the pattern is structurally invalid.
   */
  add(pattern: string, subscriber: S): boolean {
    let node = this.nodesByPattern.get(pattern);
    const isNewPattern = node === undefined;
    if (node === undefined) {
      assertValidPattern(pattern);
      node = this.insertPath(pattern);
      node.subscribers = new Set();
      node.pattern = pattern;
      this.nodesByPattern.set(pattern, node);
    }
    const subscribers = node.subscribers as Set<S>;
    if (!subscribers.has(subscriber)) {
      subscribers.add(subscriber);
      this.subscriptionCount++;
    }
    return isNewPattern;
  }

  /**
   * Unsubscribes `subscriber` from `pattern`, pruning trie nodes that no longer lead anywhere.
   *
   * @returns `true` when this call removed the pattern's last subscriber, so the pattern now has no
   *   subscribers: the caller unsubscribes upstream exactly on this transition. `false` when others remain,
   *   and also when the pair was not subscribed (nothing changed, so there is nothing to undo upstream).
   */
  remove(pattern: string, subscriber: S): boolean {
    const node = this.nodesByPattern.get(pattern);
    if (node?.subscribers?.delete(subscriber) !== true) return false;
    this.subscriptionCount--;
    if (node.subscribers.size > 0) return false;
    node.subscribers = undefined;
    node.pattern = undefined;
    this.nodesByPattern.delete(pattern);
    this.prune(node);
    return true;
  }

  has(pattern: string, subscriber: S): boolean {
    return this.nodesByPattern.get(pattern)?.subscribers?.has(subscriber) === true;
  }

  /**
   * The trie's own string equal to `pattern` while the pattern has subscribers, else `pattern` itself. A
   * subscriber that keeps its patterns keeps this one: one string per pattern on the node, not one per
   * subscriber (each parsed from its own `subscribe`, ~32 bytes of an idle connection).
   */
  sharedPattern(pattern: string): string {
    return this.nodesByPattern.get(pattern)?.pattern ?? pattern;
  }

  /** The subscribers of exactly this pattern (not of patterns that would match it). Do not mutate. */
  subscribersOf(pattern: string): ReadonlySet<S> | undefined {
    return this.nodesByPattern.get(pattern)?.subscribers;
  }

  /** Every pattern with at least one subscriber, in the order they were first added. */
  patterns(): IterableIterator<string> {
    return this.nodesByPattern.keys();
  }

  /**
   * The subscribers whose patterns match `topic`, each once even when several of its patterns match
   * (a session subscribed to `a.*` and `a.>` gets one delivery of `a.b`, not two).
   *
   * With `visit`, calls it once per subscriber and allocates no result set when a single pattern matches
   * (the common case for fan-out). Changes to the trie made from inside `visit` may or may not be seen by
   * the rest of that walk. `topic` is expected to be valid (see `isValidTopic`); a `*` or `>` segment in it
   * only ever matches wildcards, never literal segments.
   */
  match(topic: string): Set<S>;
  match(topic: string, visit: (subscriber: S) => void): void;
  match(topic: string, visit?: (subscriber: S) => void): Set<S> | void {
    const matched: Set<S>[] = [];
    const segments = topic.split(topicSeparator);
    if (this.isReserved(segments)) {
      const literal = this.root.literal?.get(segments[0] as string);
      if (literal !== undefined) this.collect(literal, segments, 1, matched);
    } else {
      this.collect(this.root, segments, 0, matched);
    }
    if (visit === undefined) {
      const result = new Set<S>();
      for (const subscribers of matched) for (const subscriber of subscribers) result.add(subscriber);
      return result;
    }
    const only = matched.length === 1 ? matched[0] : undefined;
    if (only !== undefined) {
      for (const subscriber of only) visit(subscriber);
      return;
    }
    // Several patterns matched: the same subscriber may be in more than one of their sets.
    const seen = new Set<S>();
    for (const subscribers of matched) {
      for (const subscriber of subscribers) {
        if (seen.has(subscriber)) continue;
        seen.add(subscriber);
        visit(subscriber);
      }
    }
  }

  /** Whether any pattern matches `topic`; stops at the first match. */
  hasMatch(topic: string): boolean {
    const segments = topic.split(topicSeparator);
    if (!this.isReserved(segments)) return this.anyMatch(this.root, segments, 0);
    const literal = this.root.literal?.get(segments[0] as string);
    return literal !== undefined && this.anyMatch(literal, segments, 1);
  }

  /** A topic under a reserved root: only patterns naming the root literally may match it. */
  private isReserved(segments: readonly string[]): boolean {
    return this.reservedRoots.size > 0 && this.reservedRoots.has(segments[0] as string);
  }

  private collect(node: TrieNode<S>, segments: readonly string[], index: number, matched: Set<S>[]): void {
    if (index === segments.length) {
      if (node.subscribers !== undefined) matched.push(node.subscribers);
      return;
    }
    // `>` needs at least one remaining segment, which `index < segments.length` guarantees here.
    const tailSubscribers = node.tail?.subscribers;
    if (tailSubscribers !== undefined) matched.push(tailSubscribers);
    const literal = node.literal?.get(segments[index] as string);
    if (literal !== undefined) this.collect(literal, segments, index + 1, matched);
    if (node.single !== undefined) this.collect(node.single, segments, index + 1, matched);
  }

  private anyMatch(node: TrieNode<S>, segments: readonly string[], index: number): boolean {
    if (index === segments.length) return node.subscribers !== undefined;
    if (node.tail?.subscribers !== undefined) return true;
    const literal = node.literal?.get(segments[index] as string);
    if (literal !== undefined && this.anyMatch(literal, segments, index + 1)) return true;
    return node.single !== undefined && this.anyMatch(node.single, segments, index + 1);
  }

  private insertPath(pattern: string): TrieNode<S> {
    let node = this.root;
    for (const segment of pattern.split(topicSeparator)) {
      if (segment === singleSegmentWildcard) {
        node = node.single ??= this.createChild(node, segment);
      } else if (segment === tailWildcard) {
        node = node.tail ??= this.createChild(node, segment);
      } else {
        node.literal ??= new Map();
        let child = node.literal.get(segment);
        if (child === undefined) {
          child = this.createChild(node, segment);
          node.literal.set(segment, child);
        }
        node = child;
      }
    }
    return node;
  }

  private createChild(parent: TrieNode<S>, segment: string): TrieNode<S> {
    this.nodes++;
    return createNode(parent, segment);
  }

  /** Detaches nodes from `node` upwards while they hold no pattern and lead to none. */
  private prune(node: TrieNode<S>): void {
    let current: TrieNode<S> = node;
    while (current.parent !== undefined && isEmptyNode(current)) {
      const parent: TrieNode<S> = current.parent;
      if (parent.single === current) parent.single = undefined;
      else if (parent.tail === current) parent.tail = undefined;
      else {
        parent.literal?.delete(current.segment);
        if (parent.literal?.size === 0) parent.literal = undefined;
      }
      this.nodes--;
      current = parent;
    }
  }
}

function isEmptyNode<S>(node: TrieNode<S>): boolean {
  return (
    node.subscribers === undefined &&
    node.single === undefined &&
    node.tail === undefined &&
    (node.literal === undefined || node.literal.size === 0)
  );
}
