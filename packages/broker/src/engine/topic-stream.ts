import { Deque } from '../collections/deque.js';
import type { HistoryRetention, Publication, RecoveryFailure, StreamPosition } from './engine.js';

interface Retained {
  readonly publication: Publication;
  readonly expiresAt: number;
}

/** The answer to "continue the stream after this position". */
export type StreamContinuation =
  | { readonly recovered: true; readonly publications: Publication[] }
  | { readonly recovered: false; readonly publications: []; readonly failure: RecoveryFailure };

/**
 * One topic's stream in one epoch: the offset counter and a bounded window of retained publications
 * (by count and by age), plus what recovery needs to know: from which offset on every publication is still
 * here. Pure: time comes in as arguments.
 */
export class TopicStream {
  readonly topic: string;
  readonly epoch: string;
  private lastOffset = 0;
  /** Every publication with an offset at or above this one is retained (or not yet published). */
  private firstRecoverableOffset = 1;
  /** What moved `firstRecoverableOffset` last: the reason recovery from before it fails. */
  private recoveryBarrier: 'expired' | 'no_history' = 'expired';
  private readonly retained = new Deque<Retained>();
  private maxRetained = 0;

  constructor(topic: string, epoch: string) {
    this.topic = topic;
    this.epoch = epoch;
  }

  get position(): StreamPosition {
    return { offset: this.lastOffset, epoch: this.epoch };
  }

  get retainedCount(): number {
    return this.retained.length;
  }

  /** Expiry of the newest retained publication, or undefined when none is retained. */
  get retainedUntil(): number | undefined {
    return this.retained.peekBack()?.expiresAt;
  }

  /** The offset the next publication gets. Offsets are consumed whether or not the publication is kept. */
  allocateOffset(): number {
    return ++this.lastOffset;
  }

  /**
   * Records the publication that got the last allocated offset: keeps it if `retention` asks for it, and
   * trims older ones to the latest retention. A publication not kept breaks recovery across it.
   */
  append(publication: Publication, retention: HistoryRetention | undefined, now: number): void {
    if (retention === undefined || retention.size <= 0) {
      this.firstRecoverableOffset = publication.offset + 1;
      this.recoveryBarrier = 'no_history';
    } else {
      this.maxRetained = retention.size;
      this.retained.push({ publication, expiresAt: now + retention.ttlMs });
    }
    this.trim(now);
  }

  /**
   * Drops publications beyond the size limit or past their TTL, oldest first. Trimming stops at the first
   * publication still within its TTL, so a publication kept with a long TTL keeps newer short-TTL ones
   * (a stream has one window, not holes).
   */
  trim(now: number): void {
    for (let oldest = this.retained.peekFront(); oldest !== undefined; oldest = this.retained.peekFront()) {
      if (this.retained.length <= this.maxRetained && oldest.expiresAt > now) break;
      this.retained.shift();
      if (oldest.publication.offset + 1 > this.firstRecoverableOffset) {
        this.firstRecoverableOffset = oldest.publication.offset + 1;
        this.recoveryBarrier = 'expired';
      }
    }
  }

  /** The newest `limit` retained publications, ascending. */
  latest(limit: number): Publication[] {
    const start = Math.max(0, this.retained.length - limit);
    const result: Publication[] = [];
    for (let index = start; index < this.retained.length; index++) {
      result.push((this.retained.at(index) as Retained).publication);
    }
    return result;
  }

  /**
   * The publications after `since`, if the stream can be continued from there: same epoch, not ahead of
   * the stream, and nothing after it trimmed or left unretained.
   */
  continueAfter(since: StreamPosition, limit: number): StreamContinuation {
    const samePositionSpace =
      since.epoch === this.epoch &&
      Number.isSafeInteger(since.offset) &&
      since.offset >= 0 &&
      since.offset <= this.lastOffset;
    if (!samePositionSpace) return { recovered: false, publications: [], failure: 'epoch_mismatch' };
    if (since.offset + 1 < this.firstRecoverableOffset) {
      return { recovered: false, publications: [], failure: this.recoveryBarrier };
    }
    const result: Publication[] = [];
    for (let index = this.indexAfter(since.offset); index < this.retained.length && result.length < limit; index++) {
      result.push((this.retained.at(index) as Retained).publication);
    }
    return { recovered: true, publications: result };
  }

  /** Index of the first retained publication with an offset above `offset` (binary search: offsets ascend). */
  private indexAfter(offset: number): number {
    let low = 0;
    let high = this.retained.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.retained.at(middle) as Retained).publication.offset <= offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
