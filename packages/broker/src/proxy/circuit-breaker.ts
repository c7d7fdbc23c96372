/** Where a circuit stands (`switchboard_proxy_breaker_state`: 0 closed, 1 half-open, 2 open). */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failures: number;
  /** How long an open circuit refuses calls before it lets one probe through. */
  readonly cooldownMs: number;
  /** A monotonic clock in ms. */
  readonly now: () => number;
}

/**
 * A circuit breaker for one backend endpoint: closed (calls pass; `failures` in a row open it), open (calls
 * are refused at once for `cooldownMs`, so a dead backend costs no timeouts and gets no storm of requests),
 * then half-open (one probe passes; its success closes the circuit, its failure opens it for another
 * cool-down). Pure state: the caller asks `admit()` before a call and reports how it ended.
 */
export class CircuitBreaker {
  private readonly options: BreakerOptions;
  private failuresInARow = 0;
  private openedAt = 0;
  private current: BreakerState = 'closed';
  private probeInFlight = false;
  /** How many times the circuit opened (a metric). */
  opened = 0;

  constructor(options: BreakerOptions) {
    this.options = options;
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.options.now() - this.openedAt >= this.options.cooldownMs) this.current = 'half-open';
    return this.current;
  }

  /** Whether a call may go now; in half-open, only the first (the probe) until it is reported. */
  admit(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  succeeded(): void {
    this.failuresInARow = 0;
    this.probeInFlight = false;
    this.current = 'closed';
  }

  failed(): void {
    this.failuresInARow++;
    const probeFailed = this.probeInFlight;
    this.probeInFlight = false;
    if (probeFailed || (this.current === 'closed' && this.failuresInARow >= this.options.failures)) this.open();
  }

  /** A call that was admitted but never made (e.g. no free slot): a half-open probe may go again. */
  released(): void {
    this.probeInFlight = false;
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.options.now();
    this.opened++;
  }
}
