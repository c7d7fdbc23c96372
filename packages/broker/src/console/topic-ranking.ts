import type { TopicActivity } from '../stats.js';

/** One of the busiest topics on this node. */
export interface TopicRow {
  readonly topic: string;
  readonly publicationsPerSecond: number;
  readonly deliveriesPerSecond: number;
  /** Local subscribers (connections and console tails) the latest publication went to. */
  readonly subscribers: number;
}

export interface BusiestTopics {
  readonly topics: readonly TopicRow[];
  /** The window the rates are measured over. */
  readonly windowSeconds: number;
  /** Publications per second of topics beyond the tracked ones (`TopicActivity.maxTopics`). */
  readonly untrackedPerSecond: number;
}

/**
 * The busiest topics of the last closed window of {@link TopicActivity}: a window closes when read at least
 * `windowMs` after it opened, so every reader within the next second sees the same figures.
 */
export class TopicRanking {
  private readonly activity: TopicActivity;
  private readonly windowMs: number;
  private windowStart: number;
  private closed: BusiestTopics & { readonly all: readonly TopicRow[] } = { topics: [], all: [], windowSeconds: 0, untrackedPerSecond: 0 };

  constructor(activity: TopicActivity, now: number, windowMs = 1000) {
    this.activity = activity;
    this.windowMs = windowMs;
    this.windowStart = now;
    activity.rotate();
  }

  busiest(now: number, limit: number): BusiestTopics {
    if (now - this.windowStart >= this.windowMs) {
      const seconds = (now - this.windowStart) / 1000;
      const ended = this.activity.rotate();
      const all: TopicRow[] = [];
      for (const [topic, counts] of ended.topics) {
        all.push({ topic, publicationsPerSecond: counts.publications / seconds, deliveriesPerSecond: counts.deliveries / seconds, subscribers: counts.subscribers });
      }
      all.sort((a, b) => b.publicationsPerSecond - a.publicationsPerSecond || b.deliveriesPerSecond - a.deliveriesPerSecond || (a.topic < b.topic ? -1 : 1));
      this.closed = { topics: [], all, windowSeconds: seconds, untrackedPerSecond: ended.untracked / seconds };
      this.windowStart = now;
    }
    const { all, windowSeconds, untrackedPerSecond } = this.closed;
    return { topics: all.slice(0, limit), windowSeconds, untrackedPerSecond };
  }
}
