import { SEND_PRIORITIES, type SendPriority, PriorityRank } from '@switchboard/protocol';

/**
 * One thing to send: a single WebSocket message, or every chunk of a chunked publish (protocol.md §7).
 * Frames are encoded when they are written, so a large payload is copied one chunk at a time.
 */
export interface Outgoing<Tag> {
  readonly priority: SendPriority;
  /** How many WebSocket messages this is written as: 1, or the number of chunks. */
  readonly frames: number;
  /** Encodes frame `index` (0-based). Called exactly once per frame, in order, when it is written. */
  frame(index: number): string | Uint8Array;
  /** Set on chunked publishes: counted against the broker's `maxConcurrentTransfers` and `maxIncompleteBytes`. */
  readonly transfer?: { readonly id: number; readonly total: number };
  /** The caller's handle on it, returned by {@link SendQueue.write} and accepted by {@link SendQueue.remove}. */
  readonly tag: Tag;
}

/** The broker's reassembly limits this side must respect (protocol.md §12: they bind both directions). */
export interface TransferLimits {
  readonly maxConcurrentTransfers: number;
  readonly maxIncompleteBytes: number;
}

/** What a socket offers the queue: `bufferedAmount` as in the browser's WebSocket, and a way to write. */
export interface FrameSink {
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
}

/** One frame the queue handed to the sink. */
export interface WrittenFrame<Tag> {
  readonly tag: Tag;
  readonly index: number;
  /** The item's first frame: for a chunked publish, the transfer is now open on the broker. */
  readonly first: boolean;
  /** The item's last frame: it is fully written. */
  readonly last: boolean;
}

/** The outcome of {@link SendQueue.write}. */
export interface WriteResult<Tag> {
  readonly written: readonly WrittenFrame<Tag>[];
  /**
   * `true` when writing stopped because `bufferedAmount` reached the high-water mark with frames still
   * ready: the caller writes again once the socket drains.
   */
  readonly blocked: boolean;
  /** What the sink threw (the socket closed under us); writing stopped before that frame. */
  readonly error?: unknown;
}

/** What {@link SendQueue.remove} found. */
export type Removal =
  /** It was queued and no frame of it was written: it is simply forgotten. */
  | { readonly started: false }
  /** Some of its chunks were written: the broker holds an open transfer that the caller must `cancel`. */
  | { readonly started: true; readonly transfer: number };

interface Entry<Tag> {
  readonly item: Outgoing<Tag>;
  next: number;
}

/**
 * The SDK's outgoing scheduler (protocol.md §6): one FIFO lane per send priority, always writing from the
 * most urgent lane that can write, one frame at a time. Chunks travel at their message's priority, so a
 * small urgent publish overtakes a large upload between two of its chunks; within a lane, order is kept
 * (messages of one topic and priority are published in the order the application made them).
 *
 * A chunked publish may start (write its first chunk) only while the broker's transfer limits allow. While
 * a lane's head waits for that, the transfers under way in less urgent lanes inherit its urgency (they
 * give the capacity back by finishing) and nothing else less urgent is written.
 *
 * Pure: no timers, no sockets. The I/O layer calls {@link write} with the socket whenever something was
 * queued or the socket drained.
 */
export class SendQueue<Tag> {
  readonly #lanes: Entry<Tag>[][] = SEND_PRIORITIES.map(() => []);
  readonly #entries = new Map<Tag, Entry<Tag>>();
  readonly #openTransfers = new Map<number, number>();
  #openBytes = 0;
  #limits: TransferLimits;

  constructor(limits: TransferLimits = { maxConcurrentTransfers: Infinity, maxIncompleteBytes: Infinity }) {
    this.#limits = limits;
  }

  /** Items queued (including a chunked publish that is partly written). */
  get length(): number {
    return this.#entries.size;
  }

  /** Chunked publishes whose first chunk was written and last was not. */
  get transfersInProgress(): number {
    return this.#openTransfers.size;
  }

  /** Replaces the transfer limits (the broker's `welcome` states them). */
  setLimits(limits: TransferLimits): void {
    this.#limits = limits;
  }

  /**
   * Queues an item behind everything of its priority.
   * @throws RangeError for an item with no frames, or a tag that is already queued.
   */
  push(item: Outgoing<Tag>): void {
    if (!(item.frames >= 1)) throw new RangeError(`an outgoing item needs at least one frame, got ${item.frames}`);
    if (this.#entries.has(item.tag)) throw new RangeError('this tag is already queued');
    const entry: Entry<Tag> = { item, next: 0 };
    this.#entries.set(item.tag, entry);
    this.#lanes[PriorityRank[item.priority]]!.push(entry);
  }

  /** Whether the item with this tag is queued. */
  has(tag: Tag): boolean {
    return this.#entries.has(tag);
  }

  /**
   * Writes frames to `sink` in priority order while `sink.bufferedAmount` is below `highWaterMark` (checked
   * before every frame, so at most one frame overshoots the mark).
   */
  write(sink: FrameSink, highWaterMark: number): WriteResult<Tag> {
    const written: WrittenFrame<Tag>[] = [];
    for (;;) {
      const entry = this.#pick();
      if (entry === undefined) return { written, blocked: false };
      if (sink.bufferedAmount >= highWaterMark) return { written, blocked: true };
      try {
        written.push(this.#writeFrame(entry, sink));
      } catch (error) {
        return { written, blocked: false, error };
      }
    }
  }

  /** The next frame {@link write} would take, without writing it: for tests and diagnostics. */
  peek(): { readonly tag: Tag; readonly index: number } | undefined {
    const entry = this.#pick();
    return entry === undefined ? undefined : { tag: entry.item.tag, index: entry.next };
  }

  /**
   * Takes an item out of the queue (the application aborted it, or it timed out). Returns `undefined` when
   * it is not queued (never was, or fully written).
   */
  remove(tag: Tag): Removal | undefined {
    const entry = this.#entries.get(tag);
    if (entry === undefined) return undefined;
    this.#entries.delete(tag);
    const lane = this.#lanes[PriorityRank[entry.item.priority]]!;
    lane.splice(lane.indexOf(entry), 1);
    const transfer = entry.item.transfer;
    if (entry.next === 0 || transfer === undefined) return { started: false };
    this.#closeTransfer(transfer.id);
    return { started: true, transfer: transfer.id };
  }

  /**
   * Empties the queue (the connection ended) and returns the tags of every item that was not fully written,
   * oldest push first within each priority, most urgent priority first. Partly written transfers are gone
   * with the connection (protocol.md §7.4), so their items must be sent again from the start.
   */
  clear(): Tag[] {
    const tags = this.#lanes.flatMap((lane) => lane.map((entry) => entry.item.tag));
    for (const lane of this.#lanes) lane.length = 0;
    this.#entries.clear();
    this.#openTransfers.clear();
    this.#openBytes = 0;
    return tags;
  }

  /** The entry whose frame goes next, or `undefined` when nothing can be written. */
  #pick(): Entry<Tag> | undefined {
    for (const [rank, lane] of this.#lanes.entries()) {
      const head = lane[0];
      if (head === undefined) continue;
      const transfer = head.item.transfer;
      if (head.next > 0 || transfer === undefined || this.#canStart(transfer.total)) return head;
      // This lane's transfer waits for capacity, which only the transfers under way (all in less urgent
      // lanes, or they would have been picked) give back by finishing. They inherit its urgency; nothing
      // else less urgent is written meanwhile.
      return this.#lanes.slice(rank + 1).find((other) => (other[0]?.next ?? 0) > 0)?.[0];
    }
    return undefined;
  }

  #canStart(total: number): boolean {
    // A transfer larger than maxIncompleteBytes on its own can never fit; the broker will reject it with
    // message_too_big or transfer_buffer_full, which settles the publish, rather than it blocking forever.
    if (this.#openTransfers.size === 0) return true;
    return this.#openTransfers.size < this.#limits.maxConcurrentTransfers && this.#openBytes + total <= this.#limits.maxIncompleteBytes;
  }

  #writeFrame(entry: Entry<Tag>, sink: FrameSink): WrittenFrame<Tag> {
    const { item } = entry;
    const index = entry.next;
    const first = index === 0;
    const last = index === item.frames - 1;
    // Sent first: if the sink throws (the socket just closed), the queue is as it was.
    sink.send(item.frame(index));
    entry.next += 1;
    if (first && item.transfer !== undefined && !last) {
      this.#openTransfers.set(item.transfer.id, item.transfer.total);
      this.#openBytes += item.transfer.total;
    }
    if (last) {
      this.#entries.delete(item.tag);
      this.#lanes[PriorityRank[item.priority]]!.shift();
      if (item.transfer !== undefined) this.#closeTransfer(item.transfer.id);
    }
    return { tag: item.tag, index, first, last };
  }

  #closeTransfer(id: number): void {
    const total = this.#openTransfers.get(id);
    if (total === undefined) return;
    this.#openTransfers.delete(id);
    this.#openBytes -= total;
  }
}
