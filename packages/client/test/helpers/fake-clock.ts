import type { Clock, TimerHandle } from '../../src/clock.js';

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when the test moves it: a client on it has its timers fire inside `advance`, at
 * exactly the time they were set for, so a test asserts timing without waiting for it. Sockets stay real.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(start = 1_767_225_600_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in the order they fall due
   * (those set earlier first among equals), including timers their callbacks set.
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (let timer = this.due(end); timer !== undefined; timer = this.due(end)) {
      this.timers.delete(timer.id);
      this.time = timer.at;
      timer.callback();
    }
    this.time = end;
  }

  private due(end: number): FakeTimer | undefined {
    let first: FakeTimer | undefined;
    for (const timer of this.timers.values()) {
      if (timer.at <= end && (first === undefined || timer.at < first.at)) first = timer;
    }
    return first;
  }
}
