export interface TokenBucketOptions {
  /**
   * The most tokens the bucket holds: the burst a client may spend at once after being idle. No default:
   * the broker's config chooses it per limit (e.g. publishes per connection).
   */
  readonly capacity: number;
  /** Tokens added per second, continuously (fractions accrue), up to `capacity`. 0 never refills. */
  readonly refillPerSecond: number;
  /**
   * Current time in milliseconds. Injected so that tests drive time and the limiter owns no timers; any
   * clock works (`performance.now` is immune to wall-clock jumps, `Date.now` is not but is tolerated: a
   * backwards jump adds nothing).
   */
  readonly now: () => number;
  /**
   * Tokens available at construction.
   * @default capacity — a new connection may burst straight away, as if it had been idle.
   */
  readonly initialTokens?: number;
}

/**
 * A token bucket: `tryTake` succeeds while tokens remain, and tokens refill at a steady rate. Refilling is
 * computed lazily from the clock on each call, so the bucket is pure state with no timers.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  private readonly now: () => number;
  private tokens: number;
  private refilledAt: number;

  constructor(options: TokenBucketOptions) {
    const { capacity, refillPerSecond, now, initialTokens = capacity } = options;
    if (!(Number.isFinite(capacity) && capacity > 0)) throw new RangeError(`capacity must be > 0, got ${capacity}`);
    if (!(Number.isFinite(refillPerSecond) && refillPerSecond >= 0)) {
      throw new RangeError(`refillPerSecond must be >= 0, got ${refillPerSecond}`);
    }
    if (!(initialTokens >= 0 && initialTokens <= capacity)) {
      throw new RangeError(`initialTokens must be within [0, capacity], got ${initialTokens}`);
    }
    this.capacity = capacity;
    this.refillPerSecond = refillPerSecond;
    this.now = now;
    this.tokens = initialTokens;
    this.refilledAt = now();
  }

  /** Tokens available now (may be fractional). */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /**
   * Takes `n` tokens if that many are available; otherwise takes none.
   * @returns whether the tokens were taken (the action is allowed).
   */
  tryTake(n = 1): boolean {
    assertTokenCount(n);
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /**
   * Milliseconds until `n` tokens will be available (0 if they are now): the value behind a `Retry-After`.
   * `Infinity` when they never will be (`n` above capacity, or no refill).
   */
  msUntilAvailable(n = 1): number {
    assertTokenCount(n);
    this.refill();
    const missing = n - this.tokens;
    if (missing <= 0) return 0;
    if (n > this.capacity || this.refillPerSecond === 0) return Number.POSITIVE_INFINITY;
    return Math.ceil((missing * 1000) / this.refillPerSecond);
  }

  private refill(): void {
    const now = this.now();
    const elapsedMs = now - this.refilledAt;
    this.refilledAt = now;
    if (elapsedMs <= 0) return; // a clock that went backwards adds nothing
    this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs * this.refillPerSecond) / 1000);
  }
}

function assertTokenCount(n: number): void {
  if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`token count must be >= 0, got ${n}`);
}
