import { type ReconnectAdvice, reconnectAdvice } from '@switchboard/protocol';

/** How the client reconnects after a connection it did not close ends (protocol.md §11). */
export interface ReconnectOptions {
  /**
   * Whether to reconnect at all. `false`: the first lost connection closes the client.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The ceiling of the first backoff delay; each later attempt doubles it (times `multiplier`).
   * @default 500 (fast enough that a blip goes unnoticed, slow enough that a restarting broker is not stormed)
   */
  readonly initialDelayMs?: number;
  /**
   * The largest ceiling any delay can have.
   * @default 20000 (a client that has been away for minutes comes back within 20 s of the broker)
   */
  readonly maxDelayMs?: number;
  /**
   * Growth of the ceiling per failed attempt.
   * @default 2
   */
  readonly multiplier?: number;
  /**
   * The ceiling of the random delay for "reconnect now" codes (4100-4199, 1001, 1012), which spreads a
   * broker's shutdown over time; protocol.md §11 allows up to 1 s.
   * @default 1000
   */
  readonly nowJitterMs?: number;
  /**
   * Consecutive failed attempts after which the client gives up and closes.
   * @default Infinity (a client in a browser tab should come back whenever the broker does)
   */
  readonly maxAttempts?: number;
  /**
   * A connection that stayed connected at least this long resets the backoff: a broker that accepts and
   * then drops connections at once must not be reconnected to at the initial rate forever.
   * @default 5000
   */
  readonly stableAfterMs?: number;
}

export type ResolvedReconnectOptions = Required<ReconnectOptions>;

export const DEFAULT_RECONNECT_OPTIONS: ResolvedReconnectOptions = {
  enabled: true,
  initialDelayMs: 500,
  maxDelayMs: 20_000,
  multiplier: 2,
  nowJitterMs: 1000,
  maxAttempts: Infinity,
  stableAfterMs: 5000,
};

/** Fills in the defaults; rejects settings that would make delays meaningless. */
export function resolveReconnectOptions(options: ReconnectOptions = {}): ResolvedReconnectOptions {
  const resolved = { ...DEFAULT_RECONNECT_OPTIONS, ...options };
  for (const key of ['initialDelayMs', 'maxDelayMs', 'nowJitterMs'] as const) {
    if (!(resolved[key] >= 0)) throw new RangeError(`reconnect.${key} must be >= 0, got ${resolved[key]}`);
  }
  if (!(resolved.multiplier >= 1)) throw new RangeError(`reconnect.multiplier must be >= 1, got ${resolved.multiplier}`);
  if (!(resolved.maxAttempts >= 0)) throw new RangeError(`reconnect.maxAttempts must be >= 0, got ${resolved.maxAttempts}`);
  return resolved;
}

/** What to do after a connection ended or an attempt failed. */
export type ReconnectDecision =
  | { readonly action: 'retry'; readonly delayMs: number; readonly attempt: number; readonly advice: 'backoff' | 'now' }
  | { readonly action: 'stop'; readonly reason: 'never' | 'disabled' | 'attempts_exhausted' };

/**
 * The ceiling of the backoff delay before attempt `attempt` (0-based): `initial * multiplier^attempt`,
 * capped at `maxDelayMs`.
 */
export function backoffCeiling(attempt: number, options: ResolvedReconnectOptions): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** attempt);
}

/**
 * The delay before reconnect attempt `attempt` (0-based count of consecutive failures) for a given advice.
 * Full jitter: uniform in `[0, ceiling)` (a fleet of clients cut off together must not come back in step).
 * `random` returns values in `[0, 1)` like `Math.random`; it is injected so tests are exact.
 */
export function reconnectDelay(
  attempt: number,
  advice: 'backoff' | 'now',
  options: ResolvedReconnectOptions,
  random: () => number,
): number {
  const ceiling = advice === 'now' ? options.nowJitterMs : backoffCeiling(attempt, options);
  return Math.floor(random() * ceiling);
}

/**
 * Reconnect bookkeeping: counts consecutive failures and turns each close into a decision. Pure: time and
 * randomness are passed in.
 */
export class Reconnector {
  readonly #options: ResolvedReconnectOptions;
  readonly #random: () => number;
  #failures = 0;
  #connectedAt: number | undefined;

  constructor(options: ResolvedReconnectOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Consecutive attempts that failed (or connections that did not last `stableAfterMs`). */
  get attempts(): number {
    return this.#failures;
  }

  /** A connection was established (the broker's `welcome` arrived) at `now`. */
  connected(now: number): void {
    this.#connectedAt = now;
  }

  /**
   * The connection (or the attempt, when it never connected) ended at `now` with `closeCode`; `advice`
   * overrides the close code's own (e.g. a handshake refused with 401 is `never` without a way to get a
   * new token). Only for ends the application did not ask for.
   */
  next(closeCode: number, now: number, advice: ReconnectAdvice = reconnectAdvice(closeCode)): ReconnectDecision {
    if (this.#connectedAt !== undefined && now - this.#connectedAt >= this.#options.stableAfterMs) this.#failures = 0;
    this.#connectedAt = undefined;
    if (!this.#options.enabled) return { action: 'stop', reason: 'disabled' };
    // protocol.md §11: "The `never` codes mean the same request would fail again; reconnecting would only loop."
    if (advice === 'never') return { action: 'stop', reason: 'never' };
    if (this.#failures >= this.#options.maxAttempts) return { action: 'stop', reason: 'attempts_exhausted' };
    const attempt = this.#failures;
    this.#failures += 1;
    return { action: 'retry', delayMs: reconnectDelay(attempt, advice, this.#options, this.#random), attempt, advice };
  }

  /** Forget the failures (the application called `connect()` itself). */
  reset(): void {
    this.#failures = 0;
    this.#connectedAt = undefined;
  }
}
