import type { Subscription } from './redis-subscriptions.js';

/** Offsets `from`..`to` of a topic in `epoch` that never arrived through pub/sub. */
export interface MissingOffsets {
  readonly epoch: string;
  readonly from: number;
  readonly to: number;
}

/** The last position delivered for a topic. */
interface TrackedPosition {
  readonly epoch: string;
  readonly offset: number;
  /** Stamp of the delivery (the engine's counter, shared with `Subscription.activeSince`). */
  readonly seenAt: number;
}

/**
 * Gap detection on what arrives through pub/sub. Redis pub/sub should never drop a message without dropping
 * the connection, but a loss must never be silent: per topic the node remembers the last offset it
 * delivered, and an offset that skips ahead on a topic subscribed without a break since then is reported,
 * so the hub recovers the missing offsets from history or announces the gap.
 *
 * Copies of one publication arriving on several channels (topic channel and prefix channels of
 * overlapping patterns) come back to back: they are neither a gap nor progress, and are handed to the hub,
 * which delivers each (topic, epoch, offset) once.
 *
 * At most `maxTrackedTopics` topics are remembered, the least recently delivered forgotten first; a
 * forgotten topic loses only this check (its next offset is taken as it comes).
 */
export class GapDetector {
  /** Topic → last delivered position, least recently delivered first. */
  private readonly positions = new Map<string, TrackedPosition>();

  constructor(private readonly maxTrackedTopics: number) {}

  /**
   * Records that `offset` of `topic` in `epoch` arrived. Returns the offsets skipped if `checking` (the
   * link is up) and one of `matches` has been subscribed without a break since the topic's last delivery,
   * else undefined (a copy of an offset already seen changes nothing). `stamp` orders this delivery
   * against subscription activations.
   */
  observe(topic: string, epoch: string, offset: number, matches: ReadonlySet<Subscription>, stamp: number, checking: boolean): MissingOffsets | undefined {
    const tracked = this.positions.get(topic);
    if (tracked !== undefined && tracked.epoch === epoch && offset <= tracked.offset) return undefined;
    let missing: MissingOffsets | undefined;
    if (tracked !== undefined && checking) {
      const expected = tracked.epoch === epoch ? tracked.offset + 1 : 1;
      if (offset > expected && coveredSince(matches, tracked.seenAt)) missing = { epoch, from: expected, to: offset - 1 };
    }
    this.positions.delete(topic); // re-inserted last: the map stays in least-recently-delivered order
    this.positions.set(topic, { epoch, offset, seenAt: stamp });
    if (this.positions.size > this.maxTrackedTopics) {
      const oldest = this.positions.keys().next();
      if (oldest.done !== true) this.positions.delete(oldest.value);
    }
    return missing;
  }

  /** Forgets every position: positions seen before a break say nothing about continuity after it. */
  clear(): void {
    this.positions.clear();
  }
}

function coveredSince(matches: ReadonlySet<Subscription>, seenAt: number): boolean {
  for (const subscription of matches) {
    if (subscription.activeSince !== undefined && subscription.activeSince < seenAt) return true;
  }
  return false;
}
