import { randomBytes } from 'node:crypto';
import type { Payload } from '../engine/engine.js';
import { type CompressionVariant, type Delivery, uncompressed } from '../hub/delivery.js';
import type { HubSubscriber, OutageGap } from '../hub/hub-subscriber.js';

/** One line of a tail: a publication (its payload cut to a preview) or a gap the engine announced. */
export type TailEntry =
  | {
      readonly seq: number;
      readonly kind: 'message';
      readonly topic: string;
      readonly epoch: string;
      readonly offset: number;
      readonly priority: string;
      /** Publication time, ms since the Unix epoch (the engine's clock). */
      readonly time: number;
      readonly encoding: 'json' | 'binary';
      /** JSON text, or base64 of the bytes, cut at the preview size. */
      readonly preview: string;
      readonly truncated: boolean;
      /** The whole payload's size. */
      readonly bytes: number;
    }
  | { readonly seq: number; readonly kind: 'gap'; readonly topic: string; readonly epoch: string; readonly from: number; readonly to: number; readonly time: number };

export interface TailOptions {
  /** Entries kept; older ones are overwritten (drop-oldest). */
  readonly capacity: number;
  /** Longest preview of a payload, in characters of JSON text or bytes of binary. */
  readonly previewBytes: number;
  readonly now: () => number;
}

/**
 * A read-only live tail of a pattern for the console: a subscriber of the hub like a connection, whose
 * "queue" is a ring of the last `capacity` entries. A delivery is recorded in O(1) and never waits, nothing
 * is encoded for it, and the oldest entry is overwritten when the ring is full, so a tail on a busy pattern
 * costs the fan-out one small object per publication and never holds the broker back. Readers ask for the
 * entries after the last `seq` they saw and learn how many they missed.
 */
export class ConsoleTail implements HubSubscriber {
  readonly id = `t_${randomBytes(9).toString('base64url')}`;
  readonly pattern: string;
  readonly variant: CompressionVariant = uncompressed;
  /** When a reader last asked (ms), for the registry's idle expiry. */
  lastRead: number;
  private readonly options: TailOptions;
  private readonly ring: (TailEntry | undefined)[];
  /** The seq the next entry gets; the first is 1. */
  private nextSeq = 1;

  constructor(pattern: string, options: TailOptions) {
    this.pattern = pattern;
    this.options = options;
    this.ring = new Array<TailEntry | undefined>(options.capacity);
    this.lastRead = options.now();
  }

  get capacity(): number {
    return this.ring.length;
  }

  deliver(delivery: Delivery): void {
    const { topic, epoch, offset, priority, time, payload } = delivery.publication;
    const preview = previewOf(payload, this.options.previewBytes);
    this.push({ seq: this.nextSeq, kind: 'message', topic, epoch, offset, priority, time, ...preview });
  }

  /** Tails subscribe without a presence level: no presence entries come, and none would be shown. */
  deliverPresence(): void {}

  notifyPresenceGap(): void {}

  notifyGap(gap: OutageGap): void {
    this.push({ seq: this.nextSeq, kind: 'gap', topic: gap.topic, epoch: gap.epoch, from: gap.from, to: gap.to, time: this.options.now() });
  }

  /**
   * The entries after `after` still in the ring, oldest first; `missed` counts those after `after` that were
   * overwritten before this read; `last` is the seq to ask after next time.
   */
  read(after: number): { entries: TailEntry[]; missed: number; last: number } {
    this.lastRead = this.options.now();
    const last = this.nextSeq - 1;
    const oldest = Math.max(1, last - this.ring.length + 1);
    const from = Math.max(after + 1, oldest);
    const entries: TailEntry[] = [];
    for (let seq = from; seq <= last; seq++) entries.push(this.ring[seq % this.ring.length] as TailEntry);
    return { entries, missed: Math.max(0, oldest - (after + 1)), last };
  }

  private push(entry: TailEntry): void {
    this.ring[this.nextSeq % this.ring.length] = entry;
    this.nextSeq++;
  }
}

function previewOf(payload: Payload, limit: number): { encoding: 'json' | 'binary'; preview: string; truncated: boolean; bytes: number } {
  if (payload.encoding === 'json') {
    const { text } = payload;
    const bytes = Buffer.byteLength(text);
    if (text.length <= limit) return { encoding: 'json', preview: text, truncated: false, bytes };
    // A copy, not a slice: a slice would keep the whole (up to MAX_MESSAGE_BYTES) payload alive in the ring.
    return { encoding: 'json', preview: Buffer.from(text.slice(0, limit)).toString(), truncated: true, bytes };
  }
  const { bytes } = payload;
  const cut = bytes.subarray(0, limit);
  return { encoding: 'binary', preview: Buffer.from(cut.buffer, cut.byteOffset, cut.byteLength).toString('base64'), truncated: bytes.length > limit, bytes: bytes.length };
}
