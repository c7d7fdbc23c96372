import { randomBytes } from 'node:crypto';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { assertValidTopic } from '../topics/topic-checks.js';
import { TopicStream } from './topic-stream.js';
import type { HistoryQuery, HistoryResult, Payload, Publication, PublishOptions, PublishResult } from './engine.js';
import { IdempotencyWindow } from './idempotency-window.js';

export interface MemoryClusterOptions {
  /**
   * Current time in milliseconds since the Unix epoch: publication times, history TTLs, idempotency windows.
   * @default Date.now — publication times are wall-clock so they mean the same to every client.
   */
  readonly now?: () => number;
  /**
   * Start of every epoch this cluster issues; a stream's epoch is this plus a per-cluster counter.
   * @default 12 random hex digits — the memory engine loses its history when the process exits, so a new
   *   process must never reissue an old epoch (clients would "recover" from history that is not there).
   */
  readonly epochPrefix?: string;
  /**
   * How long an idempotency key is remembered.
   * @default 120000 (2 minutes) — covers a publisher's retries across a reconnect with backoff.
   */
  readonly idempotencyWindowMs?: number;
  /**
   * Most idempotency keys remembered; beyond it the oldest are forgotten early.
   * @default 100000 — about 10 MiB at most, ~800 keyed publishes/s over the whole window.
   */
  readonly maxIdempotencyKeys?: number;
  /**
   * How long a topic's stream (offset counter and epoch) outlives its last publish and its retained history.
   * Once forgotten, the topic's next publish starts a new epoch at offset 1.
   * @default 86400000 (24 hours) — bounds memory when topics come and go (one per user, per session), while
   *   outliving any client's reconnect window.
   */
  readonly streamIdleTtlMs?: number;
}

export const memoryClusterDefaults = {
  idempotencyWindowMs: 2 * 60 * 1000,
  maxIdempotencyKeys: 100_000,
  streamIdleTtlMs: 24 * 60 * 60 * 1000,
} as const;

/** What a memory engine node exposes to its cluster. */
export interface MemoryClusterNode {
  deliver(publication: Publication): void;
  interrupted(error: BrokerError): void;
  resumed(): void;
}

interface StreamSlot {
  readonly stream: TopicStream;
  /** When the stream may be forgotten: idle TTL after the last publish, or the newest retained publication's expiry. */
  expiresAt: number;
}

/** Streams swept per call at most, so one call never pays for a large backlog of expired topics. */
const maxStreamsSweptPerCall = 64;

/**
 * The shared state behind memory engine nodes: per-topic streams (offsets, epochs, history) and the
 * idempotency window. One `MemoryEngine` makes its own; several nodes given the same cluster behave like
 * broker nodes sharing one Redis, so cross-node behaviour (and the engine contract's cross-node checks) can
 * be tested in one process. `interrupt()`/`resume()` simulate a backend outage.
 */
export class MemoryCluster {
  private readonly now: () => number;
  private readonly epochPrefix: string;
  private readonly streamIdleTtlMs: number;
  private readonly idempotency: IdempotencyWindow<PublishResult>;
  /** In order of last publish (re-inserted on publish), so expired streams are found at the front. */
  private readonly streams = new Map<string, StreamSlot>();
  private readonly nodes = new Set<MemoryClusterNode>();
  private epochCounter = 0;
  private outage: BrokerError | undefined;

  constructor(options: MemoryClusterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.epochPrefix = options.epochPrefix ?? randomBytes(6).toString('hex');
    this.streamIdleTtlMs = options.streamIdleTtlMs ?? memoryClusterDefaults.streamIdleTtlMs;
    this.idempotency = new IdempotencyWindow({
      windowMs: options.idempotencyWindowMs ?? memoryClusterDefaults.idempotencyWindowMs,
      maxKeys: options.maxIdempotencyKeys ?? memoryClusterDefaults.maxIdempotencyKeys,
      now: this.now,
    });
  }

  /** Whether the simulated backend is up. */
  get available(): boolean {
    return this.outage === undefined;
  }

  /** Topics with a live stream (for memory metrics and tests). */
  get streamCount(): number {
    return this.streams.size;
  }

  attach(node: MemoryClusterNode): void {
    this.nodes.add(node);
  }

  detach(node: MemoryClusterNode): void {
    this.nodes.delete(node);
  }

  /** Simulates losing the backend: publishes and history reads fail until `resume()`. */
  interrupt(): void {
    if (this.outage !== undefined) return;
    const outage = new BrokerError(BrokerErrorCode.engineUnavailable, 'memory cluster: simulated outage');
    this.outage = outage;
    for (const node of this.nodes) node.interrupted(outage);
  }

  resume(): void {
    if (this.outage === undefined) return;
    this.outage = undefined;
    for (const node of this.nodes) node.resumed();
  }

  /** Throws `ERR_BROKER_ENGINE_UNAVAILABLE` during a simulated outage. */
  assertAvailable(): void {
    if (this.outage !== undefined) {
      throw new BrokerError(BrokerErrorCode.engineUnavailable, this.outage.message, { cause: this.outage });
    }
  }

  publish(topic: string, payload: Payload, options: PublishOptions): PublishResult {
    this.assertAvailable();
    assertValidTopic(topic);
    if (options.history !== undefined) assertRetention(options.history.size, options.history.ttlMs);
    const now = this.now();
    this.sweepStreams(now);
    const { idempotencyKey } = options;
    // The NUL separator cannot occur in a topic or collide across (topic, key) pairs of printable keys.
    const idempotencySlot = idempotencyKey === undefined ? undefined : `${topic}\u0000${idempotencyKey}`;
    if (idempotencySlot !== undefined) {
      const first = this.idempotency.get(idempotencySlot);
      if (first !== undefined) return { ...first, duplicate: true };
    }
    const slot = this.slotFor(topic, now);
    const { stream } = slot;
    const publication: Publication = {
      topic,
      payload,
      priority: options.priority,
      offset: stream.allocateOffset(),
      epoch: stream.epoch,
      time: now,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    };
    stream.append(publication, options.history, now);
    slot.expiresAt = Math.max(now + this.streamIdleTtlMs, stream.retainedUntil ?? 0);
    this.streams.delete(topic); // re-insert: most recently published last
    this.streams.set(topic, slot);
    const result: PublishResult = { offset: publication.offset, epoch: publication.epoch, duplicate: false };
    if (idempotencySlot !== undefined) this.idempotency.remember(idempotencySlot, result);
    for (const node of this.nodes) node.deliver(publication);
    return result;
  }

  history(topic: string, query: HistoryQuery): HistoryResult {
    this.assertAvailable();
    assertValidTopic(topic);
    if (!(Number.isSafeInteger(query.limit) && query.limit >= 0)) {
      throw new RangeError(`limit must be an integer >= 0, got ${query.limit}`);
    }
    const now = this.now();
    this.sweepStreams(now);
    const { stream } = this.slotFor(topic, now);
    stream.trim(now);
    if (query.since === undefined) {
      return { publications: stream.latest(query.limit), position: stream.position, recovered: false };
    }
    const continuation = stream.continueAfter(query.since, query.limit);
    return continuation.recovered
      ? { publications: continuation.publications, position: stream.position, recovered: true }
      : { publications: [], position: stream.position, recovered: false, recoveryFailure: continuation.failure };
  }

  /** The topic's stream, created (with a new epoch) if it does not exist or was forgotten. */
  private slotFor(topic: string, now: number): StreamSlot {
    let slot = this.streams.get(topic);
    if (slot === undefined) {
      const epoch = `${this.epochPrefix}-${(++this.epochCounter).toString(36)}`;
      slot = { stream: new TopicStream(topic, epoch), expiresAt: now + this.streamIdleTtlMs };
      this.streams.set(topic, slot);
    }
    return slot;
  }

  /**
   * Forgets expired streams from the front (least recently published). A stream kept alive by long-lived
   * history may shield expired ones behind it for a while; they go once it does.
   */
  private sweepStreams(now: number): void {
    let swept = 0;
    for (const [topic, slot] of this.streams) {
      if (slot.expiresAt > now || swept === maxStreamsSweptPerCall) break;
      this.streams.delete(topic);
      swept++;
    }
  }
}

function assertRetention(size: number, ttlMs: number): void {
  if (!(Number.isSafeInteger(size) && size >= 0)) throw new RangeError(`history size must be an integer >= 0, got ${size}`);
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`history ttlMs must be > 0, got ${ttlMs}`);
}
