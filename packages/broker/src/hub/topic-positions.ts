import type { ItemPosition } from '../history/stream-items.js';

/**
 * Topics whose last delivered position the hub remembers, to recover after an engine interruption. About
 * 100 bytes each: at most ~10 MiB. Beyond it the least recently published topics are forgotten, and a loss
 * on those after an outage cannot be detected by the hub (the engine's own offsets still can).
 */
const maxTrackedTopics = 100_000;

/**
 * Per topic with local subscribers, the last position the hub delivered: the offset, and the presence `seq`
 * while the topic has presence listeners. Least recently delivered first, capped.
 */
export class TopicPositions implements Iterable<[string, ItemPosition]> {
  private readonly positions = new Map<string, ItemPosition>();

  get(topic: string): ItemPosition | undefined {
    return this.positions.get(topic);
  }

  has(topic: string): boolean {
    return this.positions.has(topic);
  }

  delete(topic: string): void {
    this.positions.delete(topic);
  }

  /** Records a delivered position, most recent last, forgetting the oldest topic beyond the cap. */
  track(topic: string, position: ItemPosition): void {
    this.positions.delete(topic);
    this.positions.set(topic, position);
    if (this.positions.size > maxTrackedTopics) {
      const oldest = this.positions.keys().next();
      if (oldest.done !== true) this.positions.delete(oldest.value);
    }
  }

  /** Keeps the topic's offset but not its `seq` (nobody listens to its presence any more). */
  forgetSeq(topic: string): void {
    const last = this.positions.get(topic);
    if (last?.seq !== undefined) this.positions.set(topic, { epoch: last.epoch, offset: last.offset });
  }

  /** The seq of `last` when it is in `epoch`, as a field to spread into a new position. */
  static seqIn(last: ItemPosition | undefined, epoch: string): { seq?: number } {
    return last?.epoch === epoch && last.seq !== undefined ? { seq: last.seq } : {};
  }

  [Symbol.iterator](): Iterator<[string, ItemPosition]> {
    return this.positions[Symbol.iterator]();
  }
}
