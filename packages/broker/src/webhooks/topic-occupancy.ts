/** First and last subscribers of exact topics, reported as occupied and vacated after a grace period. */
export interface Occupancy {
  /** The topic got its first subscriber on this node. */
  gained(topic: string): void;
  /** The topic lost its last subscriber on this node. */
  lost(topic: string): void;
  close(): void;
}

/**
 * Whether each exact topic has subscribers, reported with a grace period: a topic left empty is reported
 * vacated only if nobody subscribes again within `graceMs`, so a reconnect (a page reload, a client moving
 * to another node of the same process' cluster) fires neither vacated nor a second occupied.
 *
 * This is one node's view, from the hub's first-subscriber and last-subscriber transitions: with the memory
 * engine, the whole cluster's. With REDIS_URL, `RedisTopicOccupancy` counts across nodes instead. Wildcard
 * subscriptions occupy no topic.
 */
export class TopicOccupancy implements Occupancy {
  private readonly graceMs: number;
  private readonly report: (topic: string, occupied: boolean) => void;
  /** Topics reported occupied; a pending vacate holds its timer. */
  private readonly occupied = new Map<string, NodeJS.Timeout | undefined>();

  constructor(graceMs: number, report: (topic: string, occupied: boolean) => void) {
    this.graceMs = graceMs;
    this.report = report;
  }

  /** The topic got its first local subscriber. */
  gained(topic: string): void {
    if (this.occupied.has(topic)) {
      // Back within the grace period: still occupied as far as the backend knows.
      clearTimeout(this.occupied.get(topic));
      this.occupied.set(topic, undefined);
      return;
    }
    this.occupied.set(topic, undefined);
    this.report(topic, true);
  }

  /** The topic lost its last local subscriber. */
  lost(topic: string): void {
    if (!this.occupied.has(topic)) return;
    clearTimeout(this.occupied.get(topic));
    const timer = setTimeout(() => {
      this.occupied.delete(topic);
      this.report(topic, false);
    }, this.graceMs);
    timer.unref();
    this.occupied.set(topic, timer);
  }

  /**
   * The node is closing, its connections gone: a topic waiting out its grace period is reported vacated now,
   * since no subscriber will come back to this node.
   */
  close(): void {
    for (const [topic, timer] of this.occupied) {
      clearTimeout(timer);
      if (timer !== undefined) this.report(topic, false);
    }
    this.occupied.clear();
  }
}
