/** The client's time source and timers, injected so that tests can run the client on a fake clock. */

/** What a timer is to its clock: only the clock that made it can read it. */
export type TimerHandle = unknown;

/**
 * The current time and one-shot timers. Everything in the client that depends on time (reconnect backoff
 * and stability, token refresh, pings, timeouts, chunk expiry) goes through one `Clock`, so a test can
 * move time by hand and assert when things happen instead of waiting for them.
 *
 * Contract: `now()` is in epoch milliseconds (token expiry times from the broker are compared with it) and
 * never goes back; a timer fires once, never synchronously inside `setTimeout`, and not before `now()` has
 * reached the time it was set for; `clearTimeout` of a timer that fired or was cleared, or of `undefined`,
 * does nothing.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The platform's clock. Wrapped in functions: browsers refuse `setTimeout` called on another `this`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};
