import { type ItemPosition, coveredBy } from './stream-items.js';

/**
 * What `admit` did with a live item: `pass` (its topic is not being recovered: deliver it now), `held`
 * (kept until `release`), or `overflow` (kept, but the held bytes are now over the cap: nothing may be
 * dropped, since the replay is not queued yet, so the caller ends the connection as a slow consumer).
 */
export type Admission = 'pass' | 'held' | 'overflow';

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
    if (waiting === undefined) return 'pass';
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
    return covered === undefined ? waiting : waiting.filter((item) => !coveredBy(positionOf(item), covered));
  }

  /** Forgets every held item (the connection ended). */
  clear(): void {
    this.held.clear();
    this.bytes = 0;
  }
}
