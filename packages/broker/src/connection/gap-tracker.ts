/**
 * Why deliveries were lost: `conflated` when a newer message of the topic replaced them by policy (the
 * client still has the latest value coming, no recovery needed), `dropped` when they were evicted to keep
 * the queue under its cap (the client should recover from history or resync).
 */
export type GapReason = 'dropped' | 'conflated';

/**
 * Deliveries of one topic that a connection will never receive. When the deliveries carried offsets,
 * `from`..`to` (inclusive) is a run of consecutive lost offsets: every offset in it is lost, none will be
 * delivered, so `count` is `to - from + 1`. Without offsets only `count` says how many were lost.
 */
export interface Gap {
  readonly topic: string;
  readonly count: number;
  readonly epoch?: string;
  readonly from?: number;
  readonly to?: number;
  readonly reason: GapReason;
  /**
   * Present for lost presence entries (protocol.md §13.3 `presence_gap`): entries of `topic` in `epoch` up to
   * this `seq` may be missing. One notice per topic, whatever was lost, until it is taken.
   */
  readonly seq?: number;
}

interface MutableGap {
  readonly topic: string;
  readonly epoch: string | undefined;
  readonly streamKey: string;
  /** Opening order: the older of two merged notices keeps its place in line. */
  readonly serial: number;
  count: number;
  from: number | undefined;
  to: number | undefined;
  reason: GapReason;
  seq?: number;
}

/**
 * Pending losses, merged until the session announces them, so that a consumer losing thousands of
 * deliveries gets one notice per run of consecutive offsets rather than one per message (notices that
 * would themselves need queueing). A new loss joins the run(s) it is adjacent to, in any order, so runs
 * split by a still-queued message merge once that message is lost too. Runs are never merged across an
 * offset that was delivered or is still queued, nor across epochs: a notice never claims a message that
 * will arrive. Oldest first.
 */
export class GapTracker {
  /** Pending gaps in the order they were opened. */
  private readonly pending = new Set<MutableGap>();
  /** Runs by `stream key + first offset` and `stream key + last offset`, to find a loss's neighbours. */
  private readonly runsByFrom = new Map<string, MutableGap>();
  private readonly runsByTo = new Map<string, MutableGap>();
  /** Per stream, the pending count-only notice (losses without offsets). */
  private readonly uncounted = new Map<string, MutableGap>();
  /** Per topic and epoch, the pending presence notice: it only says up to which `seq` entries may be missing. */
  private readonly presence = new Map<string, MutableGap>();
  private opened = 0;

  /** Number of pending gap notices. */
  get size(): number {
    return this.pending.size;
  }

  record(topic: string, epoch: string | undefined, offset: number | undefined, reason: GapReason): void {
    // NUL cannot occur in a topic, so the keys are unambiguous.
    const streamKey = epoch === undefined ? topic : `${topic}\u0000${epoch}`;
    if (offset === undefined) {
      const gap = this.uncounted.get(streamKey);
      if (gap === undefined) this.open(topic, epoch, streamKey, undefined, reason);
      else absorb(gap, 1, reason);
      return;
    }
    const before = this.runsByTo.get(`${streamKey}\u0000${offset - 1}`);
    const after = this.runsByFrom.get(`${streamKey}\u0000${offset + 1}`);
    if (before !== undefined && after !== undefined) {
      // The loss joins two runs: keep the older notice, fold the other into it.
      const [kept, folded] = before.serial < after.serial ? [before, after] : [after, before];
      this.close(kept);
      this.close(folded);
      this.pending.delete(folded);
      absorb(kept, folded.count + 1, reason);
      if (folded.reason === 'dropped') kept.reason = 'dropped';
      kept.from = before.from;
      kept.to = after.to;
      this.index(kept);
    } else if (before !== undefined || after !== undefined) {
      const run = (before ?? after) as MutableGap;
      this.close(run);
      absorb(run, 1, reason);
      if (before !== undefined) run.to = offset;
      else run.from = offset;
      this.index(run);
    } else {
      this.open(topic, epoch, streamKey, offset, reason);
    }
  }

  /** A presence entry at `seq` was dropped: one pending `presence_gap` per topic and epoch carries the highest. */
  recordPresence(topic: string, epoch: string, seq: number): void {
    const streamKey = `${topic}\u0000${epoch}`;
    const gap = this.presence.get(streamKey);
    if (gap !== undefined) {
      gap.count++;
      gap.seq = Math.max(gap.seq ?? 0, seq);
      return;
    }
    const opened: MutableGap = { topic, epoch, streamKey, serial: this.opened++, count: 1, from: undefined, to: undefined, reason: 'dropped', seq };
    this.pending.add(opened);
    this.presence.set(streamKey, opened);
  }

  /** Removes and returns the oldest pending gap. */
  take(): Gap | undefined {
    const first = this.pending.values().next();
    if (first.done === true) return undefined;
    const gap = first.value;
    this.pending.delete(gap);
    this.close(gap);
    return freeze(gap);
  }

  /** A snapshot of the pending gaps, oldest first (for metrics and tests); does not announce them. */
  peek(): Gap[] {
    return [...this.pending].map(freeze);
  }

  clear(): void {
    this.pending.clear();
    this.runsByFrom.clear();
    this.runsByTo.clear();
    this.uncounted.clear();
    this.presence.clear();
  }

  private open(topic: string, epoch: string | undefined, streamKey: string, offset: number | undefined, reason: GapReason): void {
    const gap: MutableGap = { topic, epoch, streamKey, serial: this.opened++, count: 1, from: offset, to: offset, reason };
    this.pending.add(gap);
    this.index(gap);
  }

  private index(gap: MutableGap): void {
    if (gap.from === undefined || gap.to === undefined) {
      this.uncounted.set(gap.streamKey, gap);
      return;
    }
    this.runsByFrom.set(`${gap.streamKey}\u0000${gap.from}`, gap);
    this.runsByTo.set(`${gap.streamKey}\u0000${gap.to}`, gap);
  }

  /** Removes a gap from the neighbour indexes (it stays pending unless the caller removes it). */
  private close(gap: MutableGap): void {
    if (gap.seq !== undefined) {
      if (this.presence.get(gap.streamKey) === gap) this.presence.delete(gap.streamKey);
      return;
    }
    if (gap.from === undefined || gap.to === undefined) {
      if (this.uncounted.get(gap.streamKey) === gap) this.uncounted.delete(gap.streamKey);
      return;
    }
    this.runsByFrom.delete(`${gap.streamKey}\u0000${gap.from}`);
    this.runsByTo.delete(`${gap.streamKey}\u0000${gap.to}`);
  }
}

function absorb(gap: MutableGap, count: number, reason: GapReason): void {
  gap.count += count;
  // A drop needs recovery, a conflation does not: once any loss in the notice was a drop, say so.
  if (reason === 'dropped') gap.reason = 'dropped';
}

function freeze({ topic, epoch, count, from, to, reason, seq }: MutableGap): Gap {
  return {
    topic,
    count,
    ...(epoch === undefined ? {} : { epoch }),
    ...(from === undefined || to === undefined ? {} : { from, to }),
    reason,
    ...(seq === undefined ? {} : { seq }),
  };
}
