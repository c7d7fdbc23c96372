import { randomBytes } from 'node:crypto';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { assertValidPattern } from '../topics/topic-checks.js';
import { TopicTrie } from '../topics/topic-trie.js';
import type {
  CommandResult,
  Engine,
  EngineHandler,
  EnginePresence,
  HistoryQuery,
  HistoryResult,
  NodeCommand,
  Payload,
  PresenceEntry,
  Publication,
  PublishOptions,
  PublishResult,
} from './engine.js';
import { MemoryCluster, type MemoryClusterNode } from './engine-memory-cluster.js';

export interface MemoryEngineOptions {
  /**
   * The shared state this node joins. Give several engines the same cluster to simulate broker nodes
   * sharing a backend; configure clocks and windows on the cluster.
   * @default a new private `MemoryCluster` — a single broker node, history lost when the process exits.
   */
  readonly cluster?: MemoryCluster;
  /**
   * This node's name in the cluster; its presence members belong to it.
   * @default 12 random hex digits
   */
  readonly nodeId?: string;
  /**
   * First segments that wildcard-first patterns never reach (the user topic prefix, protocol.md §14.2).
   * @default none
   */
  readonly reservedRoots?: readonly string[];
}

type EngineState = 'created' | 'started' | 'closed';

/**
 * The in-memory engine: one broker node, no backend. History is a bounded ring per topic (size and TTL on
 * the cluster's clock), offsets are monotonic per topic, and each stream's epoch starts with a random
 * prefix chosen at construction, since the history does not survive the process. Delivery is synchronous:
 * `onPublication` runs inside `publish`, before its promise settles (callers must not rely on that; the
 * Redis engine delivers later). Presence lives in the cluster too (`MemoryCluster.join` and the rest); `close`
 * removes this node's members at once, `MemoryCluster.crash` leaves them to the liveness sweep.
 */
export class MemoryEngine implements Engine {
  readonly cluster: MemoryCluster;
  readonly nodeId: string;
  readonly presence: EnginePresence = {
    join: async (topic, member, options) => this.started().join(this.nodeId, topic, member, options),
    leave: async (topic, connectionId, reason, options) => this.started().leave(this.nodeId, topic, connectionId, reason, options),
    flush: async (topic, options) => this.started().flushPresence(topic, options),
    list: async (topic, query) => this.started().listPresence(topic, query.maxMembers),
    stats: async (topic) => this.started().presenceStats(topic),
    history: async (topic, query) => this.started().presenceHistory(topic, query),
    ownMembers: async (topic) => this.started().ownMembers(this.nodeId, topic),
    unregister: async () => this.started().unregister(this.nodeId),
  };
  private readonly patterns: TopicTrie<true>;
  private handler: EngineHandler | undefined;
  private state: EngineState = 'created';
  private readonly node: MemoryClusterNode;

  constructor(options: MemoryEngineOptions = {}) {
    this.cluster = options.cluster ?? new MemoryCluster();
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.patterns = new TopicTrie<true>({ reservedRoots: options.reservedRoots ?? [] });
    this.node = {
      id: this.nodeId,
      deliver: (publication) => this.deliver(publication),
      presence: (entry) => this.deliverPresence(entry),
      interrupted: (error) => this.handler?.onInterrupted?.(error),
      resumed: () => this.handler?.onResumed?.(),
      command: (command) => this.handler?.onCommand?.(command) ?? [],
      swept: (topic, members, reason) => this.handler?.onMembersSwept?.(topic, members, reason),
      nodeSwept: (node) => void this.handler?.onNodeSwept?.(node)?.catch(() => undefined),
    };
  }

  /** Patterns this node is subscribed to (for metrics). */
  get patternCount(): number {
    return this.patterns.patternCount;
  }

  async start(handler: EngineHandler): Promise<void> {
    if (this.state === 'closed') throw closedError();
    if (this.state === 'started') {
      throw new BrokerError(BrokerErrorCode.engineAlreadyStarted, 'engine already started');
    }
    this.handler = handler;
    this.state = 'started';
    this.cluster.attach(this.node);
  }

  async subscribe(pattern: string): Promise<void> {
    this.assertStarted();
    assertValidPattern(pattern);
    // Registered even during an outage: it becomes active by itself when the backend returns.
    this.patterns.add(pattern, true);
    this.cluster.assertAvailable();
  }

  async unsubscribe(pattern: string): Promise<void> {
    this.assertStarted();
    this.patterns.remove(pattern, true);
  }

  async publish(topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult> {
    this.assertStarted();
    return this.cluster.publish(topic, payload, options);
  }

  async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.assertStarted();
    return this.cluster.history(topic, query);
  }

  async command(command: NodeCommand, _timeoutMs: number): Promise<CommandResult> {
    this.assertStarted();
    return this.cluster.command(command);
  }

  async ready(): Promise<boolean> {
    return this.state === 'started' && this.cluster.available;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cluster.detach(this.node);
    this.handler = undefined;
  }

  private deliver(publication: Publication): void {
    if (this.patterns.hasMatch(publication.topic)) this.callHandler((handler) => handler.onPublication(publication));
  }

  private deliverPresence(entry: PresenceEntry): void {
    // Exact subscriptions only: a wildcard is never a member and gets no entries (design §1.2), as on Redis.
    if (this.patterns.has(entry.topic, true)) this.callHandler((handler) => handler.onPresence?.(entry));
  }

  private callHandler(call: (handler: EngineHandler) => void): void {
    const handler = this.handler;
    if (handler === undefined) return;
    try {
      call(handler);
    } catch (error) {
      // The handler broke its contract. Do not let it fail the publisher or other nodes' delivery; surface
      // it like a throwing event listener would, as an uncaught exception.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  private started(): MemoryCluster {
    this.assertStarted();
    return this.cluster;
  }

  private assertStarted(): void {
    if (this.state === 'closed') throw closedError();
    if (this.state === 'created') {
      throw new BrokerError(BrokerErrorCode.engineNotStarted, 'call start() before using the engine');
    }
  }
}

function closedError(): BrokerError {
  return new BrokerError(BrokerErrorCode.engineClosed, 'engine closed');
}
