/** Waiting helpers for tests that talk to real sockets: every wait has a deadline, so a bug fails, never hangs. */

/** Resolves once `predicate` holds, polling every few ms; rejects with `what` after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects if `promise` has not settled within `timeoutMs`. */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    }),
  ]);
}

/** Collects values pushed by callbacks and lets a test wait for the n-th one. */
export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly push = (item: T): void => {
    this.items.push(item);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.items.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Resolves with the items once there are at least `count`. */
  async atLeast(count: number, what = `${count} items`, timeoutMs = 10_000): Promise<T[]> {
    if (this.items.length < count) {
      await within(new Promise<void>((resolve) => this.waiters.push({ count, resolve })), `${what} (have ${this.items.length})`, timeoutMs);
    }
    return this.items;
  }
}
