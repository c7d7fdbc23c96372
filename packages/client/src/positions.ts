/** A place in a topic's history (protocol.md §8.1): what a subscribe's `since` carries. */
export interface Position {
  /** The offset of the last message the application has; the broker replays those after it. */
  readonly offset: number;
  /** The epoch that offset counts in; another epoch means the history was reset and cannot be replayed. */
  readonly epoch: string;
}

/** What {@link PositionTracker.deliver} concluded about a delivery. */
export type DeliveryVerdict =
  /** A message not seen before: hand it to the application. */
  | { readonly status: 'new' }
  /** Already delivered (a replay overlapping what arrived live): drop it. */
  | { readonly status: 'duplicate' }
  /**
   * The topic's epoch changed: its history was lost on the broker (protocol.md §8.1), so messages since
   * `previous` may be gone. The message is new; the application should resync the topic.
   */
  | { readonly status: 'epoch_changed'; readonly previous: Position };

export interface PositionTrackerOptions {
  /**
   * Holes (offsets neither delivered nor covered by a gap) remembered per topic. The broker announces every
   * loss, so holes close; an abandoned chunked delivery leaves one until the next reconnect recovers it.
   * Past the bound, the oldest hole is given up (the position moves past it).
   * @default 256
   */
  readonly maxHoles?: number;
}

/** Offsets `from`..`to` inclusive, all delivered or covered by a gap. */
interface Range {
  from: number;
  to: number;
}

interface TopicState {
  epoch: string;
  /** Sorted, disjoint and non-adjacent; never empty. */
  ranges: Range[];
  /** Offsets at or below this were handled before (a seeded or recovered position); `-Infinity` when none. */
  floor: number;
}

const DEFAULT_MAX_HOLES = 256;

/**
 * Per-topic contiguous positions (protocol.md §6): "the highest offset N such that every offset <= N of
 * the epoch was either delivered or covered by a `gap`. That, not the highest offset seen, is what it puts
 * in `since`." Messages of different priorities may overtake each other, so offsets arrive out of order;
 * the tracker keeps the ranges seen and reports the end of the first one. It also drops duplicates: after a
 * reconnect the broker replays from the position, which can include messages that had arrived out of order.
 *
 * The first range starts at the lowest offset delivered since the topic became known (every message after
 * the subscription began is owed to the client), or at a seeded position.
 */
export class PositionTracker {
  readonly #topics = new Map<string, TopicState>();
  readonly #maxHoles: number;

  constructor(options: PositionTrackerOptions = {}) {
    this.#maxHoles = options.maxHoles ?? DEFAULT_MAX_HOLES;
  }

  /** Topics with a position. */
  get size(): number {
    return this.#topics.size;
  }

  /** The contiguous position of `topic`, or `undefined` if nothing of it was seen or seeded. */
  position(topic: string): Position | undefined {
    const state = this.#topics.get(topic);
    return state === undefined ? undefined : { offset: state.ranges[0]!.to, epoch: state.epoch };
  }

  /** Every topic's contiguous position. */
  positions(): Map<string, Position> {
    const result = new Map<string, Position>();
    for (const topic of this.#topics.keys()) result.set(topic, this.position(topic)!);
    return result;
  }

  /**
   * Sets a topic's position: everything up to `position.offset` counts as handled (a position the
   * application stored, or the current position after a failed recovery).
   */
  seed(topic: string, position: Position): void {
    const { offset, epoch } = position;
    this.#topics.set(topic, { epoch, ranges: [{ from: offset, to: offset }], floor: offset });
  }

  /** Records a delivered message and says whether it is new. */
  deliver(topic: string, epoch: string, offset: number): DeliveryVerdict {
    const state = this.#topics.get(topic);
    if (state === undefined) {
      this.#topics.set(topic, { epoch, ranges: [{ from: offset, to: offset }], floor: -Infinity });
      return { status: 'new' };
    }
    if (state.epoch !== epoch) {
      const previous = { offset: state.ranges[0]!.to, epoch: state.epoch };
      this.#topics.set(topic, { epoch, ranges: [{ from: offset, to: offset }], floor: -Infinity });
      return { status: 'epoch_changed', previous };
    }
    if (offset <= state.floor || state.ranges.some((range) => offset >= range.from && offset <= range.to)) {
      return { status: 'duplicate' };
    }
    this.#insert(state, offset, offset);
    return { status: 'new' };
  }

  /**
   * Records a `gap` (protocol.md §8.3): offsets `from`..`to` will not be delivered, so they no longer hold
   * the position back. A gap in another epoch than the one tracked is ignored (it is about history the
   * client no longer follows, or about one it has not seen yet: then its first delivery starts the range).
   */
  cover(topic: string, epoch: string, from: number, to: number): void {
    const state = this.#topics.get(topic);
    if (state === undefined || state.epoch !== epoch) return;
    this.#insert(state, Math.max(from, state.floor + 1), to);
  }

  /** Forgets a topic (no subscription matches it any more). */
  forget(topic: string): void {
    this.#topics.delete(topic);
  }

  #insert(state: TopicState, from: number, to: number): void {
    if (from > to) return;
    const ranges = state.ranges;
    let index = 0;
    while (index < ranges.length && ranges[index]!.to < from - 1) index++;
    // `index` is the first range that touches or follows [from, to]; merge every range that touches it.
    let end = index;
    let mergedFrom = from;
    let mergedTo = to;
    while (end < ranges.length && ranges[end]!.from <= to + 1) {
      mergedFrom = Math.min(mergedFrom, ranges[end]!.from);
      mergedTo = Math.max(mergedTo, ranges[end]!.to);
      end++;
    }
    ranges.splice(index, end - index, { from: mergedFrom, to: mergedTo });
    if (ranges.length > this.#maxHoles + 1) {
      // Give up the oldest hole: the first two ranges become one.
      const [first, second] = ranges as [Range, Range];
      ranges.splice(0, 2, { from: first.from, to: second.to });
    }
  }
}
