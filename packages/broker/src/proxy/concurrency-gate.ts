/**
 * At most `limit` holders at once; others wait in arrival order until a slot frees or their signal aborts.
 * The backend proxy's cap on calls in flight per node.
 */
export class ConcurrencyGate {
  private readonly limit: number;
  private held = 0;
  private readonly waiting: { resolve: (granted: boolean) => void }[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get inFlight(): number {
    return this.held;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves true with a slot (give it back with `release`), or false when `signal` aborted first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (this.held < this.limit && this.waiting.length === 0) {
      this.held++;
      return Promise.resolve(true);
    }
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = { resolve };
      this.waiting.push(waiter);
      signal.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(waiter);
          if (index !== -1) {
            this.waiting.splice(index, 1);
            resolve(false);
          }
        },
        { once: true },
      );
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.held--;
    else next.resolve(true);
  }
}
