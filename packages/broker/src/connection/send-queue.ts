import { PriorityRank, SEND_PRIORITIES, type SendPriority } from '@switchboard/protocol';
import { LinkedList, type ListNode } from '../collections/linked-list.js';
import type { OutboundFrame, OutboundItem, OverflowPolicy } from '../hub/outbound-item.js';
import { GapTracker, type Gap } from './gap-tracker.js';

/** `queue-full`: an item that must not be lost did not fit. `too-many-gaps`: losses could no longer be tracked. */
export type DisconnectReason = 'queue-full' | 'too-many-gaps';

/**
 * The outcome of `enqueue`, one of three (like uWebSockets' send): queued, dropped (and announced), or the
 * connection must be closed with the slow-consumer close code. `evicted` counts previously queued messages
 * this call dropped or conflated (for the drops metric).
 */
export type EnqueueResult =
  | { readonly outcome: 'queued'; readonly evicted: number }
  | { readonly outcome: 'dropped'; readonly evicted: number }
  | { readonly outcome: 'disconnect'; readonly reason: DisconnectReason };

export interface SendQueueOptions<P> {
  /**
   * Cap on queued bytes per connection; the queue never holds more.
   * @default 1 MiB (`sendQueueDefaults.maxQueuedBytes`) — about 10,000 typical 100-byte deliveries: enough
   *   to ride out a GC pause or a mobile network stall, while 10,000 stuck connections cost at most 10 GiB.
   *   Must be at least the largest message the broker accepts, or such a message never fits.
   */
  readonly maxQueuedBytes?: number;
  /**
   * Overflow policy for items that do not name one.
   * @default 'drop-oldest' — losses are announced with gap notices and recoverable from history, so a
   *   briefly slow client keeps its connection and subscriptions instead of reconnecting and resubscribing.
   */
  readonly defaultOverflow?: OverflowPolicy;
  /**
   * Most unannounced gap notices (one per topic and run of consecutive lost offsets). They live outside
   * the byte cap, so they need their own bound; past it the connection is closed (`too-many-gaps`) rather
   * than losing silently.
   * @default 1024 — a notice is about 100 bytes, so at most ~100 KiB per connection, a tenth of the cap.
   */
  readonly maxPendingGaps?: number;
  /**
   * Encodes a gap notice (a control frame) for the session. Called by `next()` when the notice is about to
   * be written, so pending losses merge per topic instead of piling up as queued notices.
   */
  readonly encodeGap: (gap: Gap) => OutboundFrame<P>;
}

export const sendQueueDefaults = {
  maxQueuedBytes: 1024 * 1024,
  defaultOverflow: 'drop-oldest',
  maxPendingGaps: 1024,
} as const satisfies Required<Omit<SendQueueOptions<unknown>, 'encodeGap'>>;

interface Entry<P> {
  readonly priority: SendPriority;
  readonly rank: number;
  readonly topic: string | undefined;
  readonly offset: number | undefined;
  readonly epoch: string | undefined;
  /** A presence entry's `seq` (never conflated; a drop is announced as a `presence_gap`). */
  readonly seq: number | undefined;
  readonly overflow: OverflowPolicy;
  readonly frames: readonly OutboundFrame<P>[];
  readonly abandon: OutboundFrame<P> | undefined;
  /** Index of the next frame to send; above 0 the message has started transmitting. */
  cursor: number;
  remainingBytes: number;
  laneNode: ListNode<Entry<P>> | undefined;
  /** Present while the entry may be evicted under pressure. */
  dropNode: ListNode<Entry<P>> | undefined;
}

const queuedWithoutEviction: EnqueueResult = Object.freeze({ outcome: 'queued', evicted: 0 });
const lowestRank = SEND_PRIORITIES.length - 1;

/**
 * A connection's outbound queue: pure scheduling, no socket and no timers. The session enqueues encoded
 * items and, while the socket's `bufferedAmount` is under its high-water mark, writes whatever `next()`
 * returns.
 *
 * Guarantees:
 * - `next()` returns frames by priority (control > high > normal > low), FIFO within a priority, so
 *   per-topic order holds among deliveries of the same priority. Gap notices are control traffic: they go
 *   out after queued control frames (so a chunk abort precedes the gap for its message) and before any
 *   delivery.
 * - Chunks of a sequence go out in order; other messages may go out between them.
 * - `queuedBytes` never exceeds `maxQueuedBytes`, whatever the consumer does.
 * - Every lost delivery is recorded in a gap notice (topic, offset range, count); control items and items
 *   without a topic are never dropped, and a started chunk sequence is dropped only as a whole transfer with
 *   its `abandon` frame.
 * - Presence entries (`kind: 'presence'`) are never conflated, and a newer message never replaces one queued
 *   before them; dropped ones are announced as one `presence_gap` per topic, up to the highest `seq` lost.
 */
export class SendQueue<P = unknown> {
  readonly maxQueuedBytes: number;
  readonly defaultOverflow: OverflowPolicy;
  readonly maxPendingGaps: number;
  private readonly encodeGap: (gap: Gap) => OutboundFrame<P>;
  /** One FIFO lane per priority, indexed by `PriorityRank`. */
  private readonly lanes = SEND_PRIORITIES.map(() => new LinkedList<Entry<P>>());
  /** Per priority, the entries that may be evicted, oldest first; and how many bytes evicting all would free. */
  private readonly droppable = SEND_PRIORITIES.map(() => new LinkedList<Entry<P>>());
  private readonly droppableBytes = SEND_PRIORITIES.map(() => 0);
  /** Per topic, the newest queued message when it is an unstarted `conflate` one: what a newer one replaces. */
  private readonly conflatable = new Map<string, Entry<P>>();
  private readonly gaps = new GapTracker();
  private bytes = 0;
  private failure: DisconnectReason | undefined;

  constructor(options: SendQueueOptions<P>) {
    const {
      maxQueuedBytes = sendQueueDefaults.maxQueuedBytes,
      defaultOverflow = sendQueueDefaults.defaultOverflow,
      maxPendingGaps = sendQueueDefaults.maxPendingGaps,
      encodeGap,
    } = options;
    if (!(Number.isFinite(maxQueuedBytes) && maxQueuedBytes > 0)) {
      throw new RangeError(`maxQueuedBytes must be > 0, got ${maxQueuedBytes}`);
    }
    if (!(Number.isInteger(maxPendingGaps) && maxPendingGaps >= 0)) {
      throw new RangeError(`maxPendingGaps must be an integer >= 0, got ${maxPendingGaps}`);
    }
    this.maxQueuedBytes = maxQueuedBytes;
    this.defaultOverflow = defaultOverflow;
    this.maxPendingGaps = maxPendingGaps;
    this.encodeGap = encodeGap;
  }

  /** Bytes of all frames not yet returned by `next()` (gap notices excluded: they are encoded on demand). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Messages waiting (a chunk sequence counts once until its last chunk is taken). */
  get depth(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.size, 0);
  }

  depthOf(priority: SendPriority): number {
    return this.lanes[PriorityRank[priority]]?.size ?? 0;
  }

  /** Gap notices not yet returned by `next()`. */
  get pendingGaps(): number {
    return this.gaps.size;
  }

  /** The unannounced gaps, oldest first, without announcing them. */
  peekGaps(): Gap[] {
    return this.gaps.peek();
  }

  /** Nothing left to write: the session may finish a graceful close. */
  get isEmpty(): boolean {
    return this.gaps.size === 0 && this.depth === 0;
  }

  /** Why the queue gave up, once `enqueue` returned `disconnect`; the queue then stays empty. */
  get failed(): DisconnectReason | undefined {
    return this.failure;
  }

  /**
   * Queues an item, evicting loss-tolerant deliveries if the cap requires it.
   *
   * When the item does not fit, the queue frees space only by evicting `drop-oldest` and `conflate`
   * deliveries: lowest priority first, oldest first; for a loss-tolerant item only those of its own priority
   * or lower (it never displaces more urgent deliveries). Nothing is evicted unless that makes the item fit.
   * If it cannot fit, a loss-tolerant item is dropped itself (`dropped`, announced as a gap); any other item
   * (`disconnect` policy, control, no topic) fails the queue (`disconnect`): the session closes the
   * connection with the slow-consumer code, and every later call returns the same.
   *
   * @throws RangeError for an empty chunk sequence or a byte count that is not a finite number >= 0.
   */
  enqueue(item: OutboundItem<P>): EnqueueResult {
    if (this.failure !== undefined) return { outcome: 'disconnect', reason: this.failure };
    const entry = this.createEntry(item);
    const tolerant = isLossTolerant(entry);
    const predecessor = tolerant && entry.overflow === 'conflate' ? this.conflatable.get(entry.topic as string) : undefined;
    let need = this.bytes - (predecessor?.remainingBytes ?? 0) + entry.remainingBytes - this.maxQueuedBytes;
    let evicted = 0;
    if (need > 0) {
      // A tolerant item may only displace deliveries of its own priority or lower; others may displace any.
      const highestEvictableRank = tolerant ? entry.rank : PriorityRank.high;
      let evictable = 0;
      for (let rank = lowestRank; rank >= highestEvictableRank; rank--) evictable += this.droppableBytes[rank] ?? 0;
      if (predecessor?.dropNode !== undefined && predecessor.rank >= highestEvictableRank) {
        evictable -= evictionGain(predecessor); // already counted as freed in `need`
      }
      if (evictable < need) {
        if (!tolerant) return this.fail('queue-full');
        // The latest value is lost: the older one must not be delivered as if it were current.
        if (predecessor !== undefined) {
          this.evict(predecessor, 'conflated');
          evicted++;
        }
        this.recordLoss(entry, 'dropped');
        return this.checkGapLimit({ outcome: 'dropped', evicted });
      }
      for (let rank = lowestRank; rank >= highestEvictableRank && need > 0; rank--) {
        let node = this.droppable[rank]?.first;
        while (node !== undefined && need > 0) {
          const victim = node.value;
          node = node.next;
          if (victim === predecessor) continue;
          need -= evictionGain(victim);
          this.evict(victim, 'dropped');
          evicted++;
        }
      }
    }
    if (predecessor !== undefined) {
      this.replace(predecessor, entry);
      evicted++;
    } else {
      this.append(entry);
    }
    if (entry.topic !== undefined) {
      // Only the newest queued message of a topic may be replaced in place: replacing an older one would
      // overtake the messages queued after it and break per-topic order.
      if (tolerant && entry.overflow === 'conflate') this.conflatable.set(entry.topic, entry);
      else this.conflatable.delete(entry.topic);
    }
    return evicted === 0 ? queuedWithoutEviction : this.checkGapLimit({ outcome: 'queued', evicted });
  }

  /**
   * The next frame to write, or undefined when there is none. Call it only while the socket can take more
   * (`bufferedAmount` under the high-water mark): whatever it returns is no longer counted or droppable.
   */
  next(): OutboundFrame<P> | undefined {
    if (this.failure !== undefined) return undefined;
    const control = this.lanes[PriorityRank.control] as LinkedList<Entry<P>>;
    if (control.size === 0) {
      const gap = this.gaps.take();
      if (gap !== undefined) return this.encodeGap(gap);
    }
    for (const lane of this.lanes) {
      const head = lane.first;
      if (head === undefined) continue;
      return this.takeFrame(lane, head);
    }
    return undefined;
  }

  private takeFrame(lane: LinkedList<Entry<P>>, head: ListNode<Entry<P>>): OutboundFrame<P> {
    const entry = head.value;
    const frame = entry.frames[entry.cursor] as OutboundFrame<P>;
    const dropNode = entry.dropNode;
    if (dropNode !== undefined) this.adjustDroppable(entry, -evictionGain(entry));
    entry.cursor++;
    entry.remainingBytes -= frame.bytes;
    this.bytes -= frame.bytes;
    this.forgetConflatable(entry); // started (or finished): a newer message no longer replaces it
    const finished = entry.cursor === entry.frames.length;
    if (finished) {
      lane.remove(head);
      entry.laneNode = undefined;
    }
    if (dropNode !== undefined) {
      // Still droppable only as a whole transfer that can be abandoned, and only if that frees bytes.
      if (!finished && evictionGain(entry) > 0) this.adjustDroppable(entry, evictionGain(entry));
      else {
        this.droppable[entry.rank]?.remove(dropNode);
        entry.dropNode = undefined;
      }
    }
    return frame;
  }

  private createEntry(item: OutboundItem<P>): Entry<P> {
    const isSequence = 'chunks' in item;
    const frames: readonly OutboundFrame<P>[] = isSequence ? item.chunks : [item];
    if (frames.length === 0) throw new RangeError('a chunk sequence needs at least one chunk');
    let bytes = 0;
    for (const frame of frames) bytes += checkedByteCount(frame.bytes);
    const abandon = isSequence ? item.abandon : undefined;
    if (abandon !== undefined) checkedByteCount(abandon.bytes);
    const overflow = item.overflow ?? this.defaultOverflow;
    const presence = item.kind === 'presence';
    return {
      priority: item.priority,
      rank: PriorityRank[item.priority],
      topic: item.topic,
      offset: item.offset,
      epoch: item.epoch,
      seq: presence ? item.seq : undefined,
      // A presence entry is a change, not a value: a newer one never replaces it, nor it a message.
      overflow: presence && overflow === 'conflate' ? 'drop-oldest' : overflow,
      frames,
      abandon,
      cursor: 0,
      remainingBytes: bytes,
      laneNode: undefined,
      dropNode: undefined,
    };
  }

  private append(entry: Entry<P>): void {
    entry.laneNode = this.lanes[entry.rank]?.push(entry);
    this.bytes += entry.remainingBytes;
    if (isLossTolerant(entry) && evictionGain(entry) > 0) {
      entry.dropNode = this.droppable[entry.rank]?.push(entry);
      this.adjustDroppable(entry, evictionGain(entry));
    }
  }

  /**
   * Conflation: `entry` replaces the queued `predecessor` of its topic. At the same priority it takes the
   * predecessor's place in line, so a topic updated faster than the client reads is not pushed to the back
   * forever (it would never be delivered).
   */
  private replace(predecessor: Entry<P>, entry: Entry<P>): void {
    const laneNode = predecessor.laneNode;
    if (predecessor.rank !== entry.rank || laneNode === undefined) {
      this.evict(predecessor, 'conflated');
      this.append(entry);
      return;
    }
    this.gaps.record(predecessor.topic as string, predecessor.epoch, predecessor.offset, 'conflated');
    this.forgetConflatable(predecessor);
    const dropNode = predecessor.dropNode;
    if (dropNode !== undefined) this.adjustDroppable(predecessor, -evictionGain(predecessor));
    laneNode.value = entry;
    entry.laneNode = laneNode;
    predecessor.laneNode = undefined;
    predecessor.dropNode = undefined;
    this.bytes += entry.remainingBytes - predecessor.remainingBytes;
    if (evictionGain(entry) > 0) {
      if (dropNode !== undefined) dropNode.value = entry;
      entry.dropNode = dropNode ?? this.droppable[entry.rank]?.push(entry);
      this.adjustDroppable(entry, evictionGain(entry));
    } else if (dropNode !== undefined) {
      this.droppable[entry.rank]?.remove(dropNode);
    }
  }

  /** Removes a loss-tolerant entry from the queue and records the loss; a started one leaves its abandon frame. */
  private evict(entry: Entry<P>, reason: 'dropped' | 'conflated'): void {
    this.unlinkDroppable(entry);
    this.forgetConflatable(entry);
    if (entry.laneNode !== undefined) this.lanes[entry.rank]?.remove(entry.laneNode);
    entry.laneNode = undefined;
    this.bytes -= entry.remainingBytes;
    if (entry.cursor > 0 && entry.abandon !== undefined) {
      // The receiver holds the first chunks: tell it to discard them, as control so it is never dropped.
      this.append(controlEntry(entry.abandon));
    }
    this.recordLoss(entry, reason);
  }

  private recordLoss(entry: Entry<P>, reason: 'dropped' | 'conflated'): void {
    const topic = entry.topic as string;
    if (entry.seq !== undefined && entry.epoch !== undefined) this.gaps.recordPresence(topic, entry.epoch, entry.seq);
    else this.gaps.record(topic, entry.epoch, entry.offset, reason);
  }

  private adjustDroppable(entry: Entry<P>, delta: number): void {
    this.droppableBytes[entry.rank] = (this.droppableBytes[entry.rank] ?? 0) + delta;
  }

  private unlinkDroppable(entry: Entry<P>): void {
    if (entry.dropNode === undefined) return;
    this.adjustDroppable(entry, -evictionGain(entry));
    this.droppable[entry.rank]?.remove(entry.dropNode);
    entry.dropNode = undefined;
  }

  private forgetConflatable(entry: Entry<P>): void {
    if (entry.topic !== undefined && this.conflatable.get(entry.topic) === entry) this.conflatable.delete(entry.topic);
  }

  private checkGapLimit(result: EnqueueResult): EnqueueResult {
    return this.gaps.size > this.maxPendingGaps ? this.fail('too-many-gaps') : result;
  }

  /** Gives up: everything queued is released at once, since the session is about to close the connection. */
  private fail(reason: DisconnectReason): EnqueueResult {
    this.failure = reason;
    for (const list of [...this.lanes, ...this.droppable]) list.clear();
    this.droppableBytes.fill(0);
    this.conflatable.clear();
    this.gaps.clear();
    this.bytes = 0;
    return { outcome: 'disconnect', reason };
  }
}

function controlEntry<P>(frame: OutboundFrame<P>): Entry<P> {
  return {
    priority: 'control',
    rank: PriorityRank.control,
    topic: undefined,
    offset: undefined,
    epoch: undefined,
    seq: undefined,
    overflow: 'disconnect',
    frames: [frame],
    abandon: undefined,
    cursor: 0,
    remainingBytes: frame.bytes,
    laneNode: undefined,
    dropNode: undefined,
  };
}

/** Deliveries whose loss can be announced and whose policy accepts it. */
function isLossTolerant<P>(entry: Entry<P>): boolean {
  return entry.priority !== 'control' && entry.topic !== undefined && entry.overflow !== 'disconnect';
}

/** Bytes freed by evicting the entry: a started sequence leaves its abandon frame behind. */
function evictionGain<P>(entry: Entry<P>): number {
  if (entry.cursor === 0) return entry.remainingBytes;
  return entry.abandon === undefined ? 0 : entry.remainingBytes - entry.abandon.bytes;
}

function checkedByteCount(bytes: number): number {
  if (!(Number.isFinite(bytes) && bytes >= 0)) throw new RangeError(`bytes must be a finite number >= 0, got ${bytes}`);
  return bytes;
}
