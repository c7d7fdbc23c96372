export interface IdempotencyWindowOptions {
  /** How long a key is remembered, in milliseconds. */
  readonly windowMs: number;
  /** Most keys remembered; beyond it the oldest are forgotten early, so memory stays bounded under any load. */
  readonly maxKeys: number;
  /** Current time in milliseconds (injected: no timers, tests drive time). */
  readonly now: () => number;
}

/**
 * Remembers the result of a keyed operation for a time window, so a retry with the same key gets the first
 * result instead of repeating the operation. Expired keys are swept lazily, oldest first, on every call:
 * with one window length for all keys, insertion order is expiry order.
 */
export class IdempotencyWindow<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: IdempotencyWindowOptions) {
    if (!(options.windowMs >= 0)) throw new RangeError(`windowMs must be >= 0, got ${options.windowMs}`);
    if (!(Number.isInteger(options.maxKeys) && options.maxKeys >= 0)) {
      throw new RangeError(`maxKeys must be an integer >= 0, got ${options.maxKeys}`);
    }
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys;
    this.now = options.now;
  }

  get size(): number {
    this.sweep(this.now());
    return this.entries.size;
  }

  /** The value remembered for `key`, if it is still within the window. */
  get(key: string): V | undefined {
    this.sweep(this.now());
    return this.entries.get(key)?.value;
  }

  remember(key: string, value: V): void {
    const now = this.now();
    this.sweep(now);
    if (this.maxKeys === 0) return;
    this.entries.delete(key); // re-inserting keeps the map in expiry order
    this.entries.set(key, { value, expiresAt: now + this.windowMs });
    if (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }
}
