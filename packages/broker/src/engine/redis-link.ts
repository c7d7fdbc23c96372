import type { BrokerError } from '../errors.js';
import { closedError, unavailable } from './redis-errors.js';

/** How fast a lost connection is retried: doubling from `minDelayMs` up to `maxDelayMs`. */
export interface Backoff {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The wait before reconnect attempt `attempt` (1 for the first): `minDelayMs * 2^(attempt-1)`, at most
 * `maxDelayMs`. The one formula for the engine's rebuilds and ioredis's command connection, so both come
 * back at the same pace.
 */
export function reconnectDelay(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.minDelayMs * 2 ** (attempt - 1), backoff.maxDelayMs);
}

/**
 * What the link needs from the engine that owns it. Called synchronously from the link's own state changes;
 * none of them may throw except `rebuild`.
 */
export interface RedisLinkHost {
  /**
   * Builds pub/sub from scratch: new subscriber connections, every channel subscribed, the canary back.
   * Rejects on any failure (the link then waits out its backoff and calls it again). `generation` names
   * this attempt: after every await, `RedisLink.assertGeneration(generation)` stops an attempt that an
   * interruption or `close()` has overtaken.
   */
  rebuild(generation: number): Promise<void>;
  /**
   * An interruption: every one, including those while the link is already down (`wentDown` false), so that
   * waits on the old connections (canaries) end at once. `wentDown` true: the link was up until now, and
   * the engine owes its handler `onInterrupted` now and `onResumed` later.
   */
  interrupted(error: BrokerError, wentDown: boolean): void;
  /**
   * The link is up: every pattern is subscribed from now on. `resumed` true: it had gone down since it was
   * last up (the engine calls `onResumed`).
   */
  up(resumed: boolean): void;
}

/**
 * The link supervisor: whether pub/sub works (`up`), and the loop that rebuilds it after any interruption,
 * with backoff, until it works again or the engine closes. It owns no connection: the host builds them
 * (`RedisLinkHost.rebuild`); the link decides when, and tells the host when the link goes down and up.
 *
 * `up` exactly while every subscriber is subscribed to every pattern and the canary came back. Every
 * interruption and every rebuild attempt bumps `generation`, so a rebuild overtaken by an interruption
 * fails its next `assertGeneration` and starts over.
 */
export class RedisLink {
  private status: 'up' | 'down' = 'down';
  private currentGeneration = 0;
  private closed = false;
  private recovering: Promise<void> | undefined;
  /** The host was told the link went down, and is owed an `up(true)`. */
  private resumeOwed = false;
  private wakeRecovery: (() => void) | undefined;
  private readonly upWaiters = new Set<(up: boolean) => void>();
  /** Aborted by close(), to end waits that no connection event would end. */
  private readonly closing = new AbortController();
  /** The last failure seen (a connection error, a failed rebuild), for the message of the next one. */
  lastError: unknown;

  constructor(
    private readonly host: RedisLinkHost,
    private readonly backoff: Backoff,
  ) {}

  get up(): boolean {
    return this.status === 'up';
  }

  get generation(): number {
    return this.currentGeneration;
  }

  /** Aborts when the link closes. */
  get closingSignal(): AbortSignal {
    return this.closing.signal;
  }

  /** Starts the first build (the link starts down). */
  start(): void {
    this.ensureRecovering();
  }

  /** Pub/sub is broken, or may be: take the link down (if up) and rebuild. */
  interrupt(error: BrokerError): void {
    if (this.closed) return;
    this.currentGeneration++;
    this.lastError = error;
    const wentDown = this.status === 'up';
    if (wentDown) {
      this.status = 'down';
      this.resumeOwed = true;
    }
    this.host.interrupted(error, wentDown);
    this.ensureRecovering();
  }

  /** Ends a backoff pause early: the command connection is ready, so a rebuild may succeed now. */
  wake(): void {
    this.wakeRecovery?.();
  }

  /** Throws if the link closed, or if `generation` is no longer the current attempt. */
  assertGeneration(generation: number): void {
    if (this.closed) throw closedError();
    if (this.currentGeneration !== generation) throw unavailable('interrupted while reconnecting');
  }

  /** Resolves true as soon as the link is up, false after `timeoutMs` or when the link closes. */
  waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (this.status === 'up') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.upWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      const done = (up: boolean): void => {
        clearTimeout(timer);
        resolve(up);
      };
      this.upWaiters.add(done);
    });
  }

  /**
   * Stops for good: down, waiters told false, the current attempt stopped at its next check. Synchronous up
   * to the returned promise, which resolves when the rebuild loop has ended.
   */
  close(): Promise<void> {
    this.closed = true;
    this.status = 'down';
    this.currentGeneration++;
    this.closing.abort();
    this.wakeRecovery?.();
    for (const waiter of this.upWaiters) waiter(false);
    this.upWaiters.clear();
    return this.recovering ?? Promise.resolve();
  }

  private ensureRecovering(): void {
    if (this.recovering !== undefined || this.closed) return;
    this.recovering = this.recover().finally(() => {
      this.recovering = undefined;
      // An interruption during the last attempt's final step may need another round.
      if (this.status === 'down' && !this.closed) this.ensureRecovering();
    });
  }

  private async recover(): Promise<void> {
    let failures = 0;
    while (!this.closed && this.status === 'down') {
      const generation = ++this.currentGeneration;
      try {
        await this.host.rebuild(generation);
        if (this.currentGeneration !== generation) throw unavailable('interrupted while resubscribing');
      } catch (error) {
        this.lastError = error;
        failures++;
        await this.pause(reconnectDelay(this.backoff, failures));
        continue;
      }
      if (this.closed) return;
      this.status = 'up';
      const resumed = this.resumeOwed;
      this.resumeOwed = false;
      for (const waiter of this.upWaiters) waiter(true);
      this.upWaiters.clear();
      this.host.up(resumed);
    }
  }

  /** Sleeps, waking early on `wake()` or `close()`. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, ms);
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeRecovery = () => {
        this.wakeRecovery = undefined;
        wake();
      };
    });
  }
}
