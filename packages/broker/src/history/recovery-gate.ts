import { type ItemPosition, coveredBy } from './stream-items.js';

/**
 * What `admit` did with a live item: `pass` (its topic is not being recovered: deliver it now), `held`
 * (kept until `release`), `overflow` (kept, but the held bytes are now over the cap: nothing may be
 * dropped, since the replay is not queued yet, so the caller ends the connection as a slow consumer), or
 * `covered` (it arrived after its topic's release, yet the replay or the answer already accounted for it:
 * drop it).
 */
export type Admission = 'pass' | 'held' | 'overflow' | 'covered';

export interface RecoveryGateOptions<T> {
  /** The position of the publication (or presence entry, with its `seq`) an item carries. */
  readonly positionOf: (item: T) => ItemPosition;
  /** What an item weighs against `maxHeldBytes`. Omitted: nothing. */
  readonly weigh?: (item: T) => number;
  /** Most bytes held over all topics; past it `admit` answers `overflow`. Omitted: no cap. */
  readonly maxHeldBytes?: number;
}

/**
 * Holds the live deliveries of topics being recovered until their replay is queued, so a replay always
 * comes before the live messages of its topic, in order (protocol.md §6, guarantee 5). Used by a session
 * recovering a subscribe with `since` and by the hub replaying after an engine outage. Synchronous and
 * without I/O.
 */
export class RecoveryGate<T> {
  private readonly options: RecoveryGateOptions<T>;
  private readonly held = new Map<string, T[]>();
  /**
   * Per released topic, the position its release covered, until a later publication of the topic passes. An
   * engine may still be carrying live items from before the history read when the topic is released (Redis
   * delivers Pub/Sub on another connection than the one that read), and they must not follow the replay.
   */
  private readonly floors = new Map<string, ItemPosition>();
  private bytes = 0;

  constructor(options: RecoveryGateOptions<T>) {
    this.options = options;
  }

  /** Bytes held now, by `weigh`. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Whether `topic` is being held. */
  holds(topic: string): boolean {
    return this.held.has(topic);
  }

  /** Holds `topic`'s live items from now on. False (and nothing changes) if it is held already. */
  hold(topic: string): boolean {
    if (this.held.has(topic)) return false;
    this.held.set(topic, []);
    return true;
  }

  /** Offers a live item of `topic`. */
  admit(topic: string, item: T): Admission {
    const waiting = this.held.get(topic);
    if (waiting === undefined) return this.afterRelease(topic, item);
    waiting.push(item);
    this.bytes += this.options.weigh?.(item) ?? 0;
    const cap = this.options.maxHeldBytes;
    return cap !== undefined && this.bytes > cap ? 'overflow' : 'held';
  }

  /**
   * Stops holding `topic` and returns its held items in arrival order, without those `covered` already
   * accounts for (at or before it, in its epoch; presence entries by `seq`, when `covered` names one): the
   * replay carried them, or the answer reported a position after them. Call right after queueing the replay,
   * before anything else is delivered.
   */
  release(topic: string, covered?: ItemPosition): T[] {
    const waiting = this.held.get(topic);
    if (waiting === undefined) return [];
    this.held.delete(topic);
    const { positionOf, weigh } = this.options;
    if (weigh !== undefined) for (const item of waiting) this.bytes -= weigh(item);
    if (covered === undefined) return waiting;
    const released = waiting.filter((item) => !coveredBy(positionOf(item), covered));
    // A publication after `covered` is released already: the engine delivers a topic in order, so none older follows.
    if (!released.some((item) => positionOf(item).seq === undefined)) this.floors.set(topic, covered);
    return released;
  }

  /** A live item of a topic not held: `covered` while it is at or before what the topic's release covered. */
  private afterRelease(topic: string, item: T): Admission {
    const floor = this.floors.get(topic);
    if (floor === undefined) return 'pass';
    const position = this.options.positionOf(item);
    if (coveredBy(position, floor)) return 'covered';
    if (position.seq === undefined) this.floors.delete(topic);
    return 'pass';
  }

  /** Forgets every held item (the connection ended). */
  clear(): void {
    this.held.clear();
    this.floors.clear();
    this.bytes = 0;
  }
}
