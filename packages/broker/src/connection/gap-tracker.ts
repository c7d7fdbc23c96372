/**
 * Why deliveries were lost: `conflated` when a newer message of the topic replaced them by policy (the
 * client still has the latest value coming, no recovery needed), `dropped` when they were evicted to keep
 * the queue under its cap (the client should recover from history or resync).
 */
export type GapReason = 'dropped' | 'conflated';

/**
 * Deliveries of one topic that a connection will never receive. `from`/`to` bound the lost offsets when
 * the deliveries carried offsets; `count` is how many were lost within that range (it can be smaller than
 * `to - from + 1` when deliveries in between were sent, or at another priority).
 */
export interface Gap {
  readonly topic: string;
  readonly count: number;
  readonly from?: number;
  readonly to?: number;
  readonly reason: GapReason;
}

interface MutableGap {
  topic: string;
  count: number;
  from: number | undefined;
  to: number | undefined;
  reason: GapReason;
}

/**
 * Pending losses per topic, merged until the session announces them, so that a consumer losing thousands of
 * deliveries gets one notice per topic rather than thousands of notices (which would themselves need
 * queueing). Oldest topic first.
 */
export class GapTracker {
  private readonly gaps = new Map<string, MutableGap>();

  /** Number of topics with an unannounced loss. */
  get size(): number {
    return this.gaps.size;
  }

  record(topic: string, offset: number | undefined, reason: GapReason): void {
    const gap = this.gaps.get(topic);
    if (gap === undefined) {
      this.gaps.set(topic, { topic, count: 1, from: offset, to: offset, reason });
      return;
    }
    gap.count++;
    if (offset !== undefined) {
      gap.from = gap.from === undefined ? offset : Math.min(gap.from, offset);
      gap.to = gap.to === undefined ? offset : Math.max(gap.to, offset);
    }
    // A drop needs recovery, a conflation does not: once any loss of the topic was a drop, say so.
    if (reason === 'dropped') gap.reason = 'dropped';
  }

  /** Removes and returns the oldest pending gap. */
  take(): Gap | undefined {
    const first = this.gaps.values().next();
    if (first.done === true) return undefined;
    const { topic, count, from, to, reason } = first.value;
    this.gaps.delete(topic);
    return from === undefined || to === undefined ? { topic, count, reason } : { topic, count, from, to, reason };
  }

  /** A snapshot of the pending gaps, oldest first (for metrics and tests); does not announce them. */
  peek(): Gap[] {
    return [...this.gaps.values()].map(({ topic, count, from, to, reason }) =>
      from === undefined || to === undefined ? { topic, count, reason } : { topic, count, from, to, reason },
    );
  }

  clear(): void {
    this.gaps.clear();
  }
}
