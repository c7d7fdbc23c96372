import type { SendPriority } from '@switchboard/protocol';

// What fan-out hands a connection's send queue (`connection/send-queue.ts`). Here rather than beside the queue
// so that hub/ depends on nothing in connection/, which depends on the hub.

/**
 * What happens to a topic's deliveries when a connection's queue is full (chosen per topic pattern by the
 * caller and stamped on each item):
 *
 * - `disconnect`: never lose a delivery of this topic; if it cannot be queued, the connection is closed
 *   as a slow consumer (the client reconnects and recovers from history).
 * - `drop-oldest`: under pressure, queued deliveries are dropped, lowest priority first and oldest first,
 *   and announced as a gap.
 * - `conflate`: at most one delivery per topic waits in the queue: a newer one replaces the queued one
 *   (taking its place in line, announced as a `conflated` gap). Under pressure these are dropped like
 *   `drop-oldest` deliveries.
 */
export type OverflowPolicy = 'disconnect' | 'drop-oldest' | 'conflate';

/** One WebSocket message's worth of pre-encoded output: what the session writes. */
export interface OutboundFrame<P = unknown> {
  /** Encoded size, counted against the queue's cap. */
  readonly bytes: number;
  /** Opaque encoded frame(s) the session writes; the queue never looks inside. */
  readonly payload: P;
}

interface DeliveryFields {
  readonly priority: SendPriority;
  /** The topic of a delivery. Items without one (acks, errors) cannot be announced in a gap: never dropped. */
  readonly topic?: string;
  /** The delivery's per-topic offset, reported in gap notices when it is dropped. */
  readonly offset?: number;
  /** The epoch `offset` (or `seq`) belongs to, reported with it (runs of lost offsets never span two epochs). */
  readonly epoch?: string;
  /**
   * `presence`: a join, leave or coalesced stats entry (protocol.md §13.3) at `seq`. Never conflated (each is a
   * change, not a value); under pressure dropped like a `drop-oldest` delivery and announced as one
   * `presence_gap` per topic. @default 'message'
   */
  readonly kind?: 'message' | 'presence';
  /** A presence entry's `seq` in `epoch`, reported in its `presence_gap` when it is dropped. */
  readonly seq?: number;
  /** @default the queue's `defaultOverflow` */
  readonly overflow?: OverflowPolicy;
}

/** A message that travels as one frame. */
export interface OutboundUnit<P = unknown> extends OutboundFrame<P>, DeliveryFields {}

/**
 * A large message split into chunks, each its own WebSocket message. The chunks go out in order; between
 * two chunks the queue re-picks by priority, so a later small `high` message overtakes the rest of a large
 * `normal` one (no head-of-line blocking across priorities).
 *
 * An array rather than an iterator because fan-out encodes a publication's chunks once and enqueues the
 * same array to every subscriber; each queue keeps its own cursor.
 */
export interface OutboundChunkSequence<P = unknown> extends DeliveryFields {
  readonly chunks: readonly OutboundFrame<P>[];
  /**
   * The frame that tells the receiver to discard a partly received message (pubsub.v1's chunk abort). With
   * it, a sequence whose first chunks were already written may still be dropped under pressure: its
   * remaining chunks are replaced by this frame, sent as control. Without it, a started sequence is always
   * completed, because the receiver could not tell a truncated message from a slow one.
   */
  readonly abandon?: OutboundFrame<P>;
}

export type OutboundItem<P = unknown> = OutboundUnit<P> | OutboundChunkSequence<P>;

/** The bytes an item occupies in a send queue: its frame, or all of its chunks. */
export function itemBytes(item: OutboundItem): number {
  return 'chunks' in item ? item.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0) : item.bytes;
}
