/** Longest delay `setTimeout` takes (2^31-1 ms); longer waits are re-armed. */
const maxTimerDelay = 2_147_483_647;

/** Something the schedule tells once its time has come. */
export interface Expiring {
  /** When it expires, on the schedule's clock. Read while scheduled: change it only while not. */
  readonly expiryTime: number;
  /** Its place in the schedule, kept by the schedule alone: -1 while not in it. */
  expiryIndex: number;
  /** Its time has come (the schedule has already let it go). */
  expired(): void;
}

/**
 * The token expiries of a node's connections under one timer: a min-heap by `expiryTime`, with the timer set
 * for the earliest. A timer per connection (its `Timeout`, its closure and, for each distinct delay, Node's
 * own list) was ~600 bytes of every connection whose token expires. Each item is told at the same moment
 * its own timer would have fired: the timer waits for the earliest on the clock given, and on waking tells
 * every item whose time has come by that clock, then sets itself for the next.
 */
export class ExpirySchedule {
  private readonly now: () => number;
  private readonly heap: Expiring[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The `expiryTime` the timer is set for. */
  private timerFor: number | undefined;

  constructor(now: () => number) {
    this.now = now;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `item` (at its `expiryTime`); it must not be scheduled already. */
  add(item: Expiring): void {
    const { heap } = this;
    item.expiryIndex = heap.length;
    heap.push(item);
    this.siftUp(item.expiryIndex);
    this.arm();
  }

  /** Takes `item` out, if it is in. */
  remove(item: Expiring): void {
    const index = item.expiryIndex;
    if (index < 0) return;
    this.take(index);
    this.arm();
  }

  private take(index: number): Expiring {
    const { heap } = this;
    const item = heap[index] as Expiring;
    const last = heap.pop() as Expiring;
    item.expiryIndex = -1;
    if (last !== item) {
      heap[index] = last;
      last.expiryIndex = index;
      this.siftDown(index);
      this.siftUp(last.expiryIndex);
    }
    return item;
  }

  /** Sets the timer for the earliest item, unless it is set for it already. */
  private arm(): void {
    const first = this.heap[0];
    if (first !== undefined && this.timer !== undefined && first.expiryTime === this.timerFor) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerFor = undefined;
    if (first === undefined) return;
    const delay = Math.max(0, first.expiryTime - this.now());
    this.timer = setTimeout(() => this.fire(), Math.min(delay, maxTimerDelay));
    this.timer.unref();
    this.timerFor = first.expiryTime;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerFor = undefined;
    const { heap } = this;
    const now = this.now();
    // Each one taken out before it is told: what it does then (a close, a new expiry) may change the heap.
    while (heap.length > 0 && (heap[0] as Expiring).expiryTime <= now) this.take(0).expired();
    this.arm();
  }

  private siftUp(start: number): void {
    const { heap } = this;
    let index = start;
    const item = heap[index] as Expiring;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as Expiring;
      if (parent.expiryTime <= item.expiryTime) break;
      heap[index] = parent;
      parent.expiryIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.expiryIndex = index;
  }

  private siftDown(start: number): void {
    const { heap } = this;
    const { length } = heap;
    let index = start;
    const item = heap[index] as Expiring;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (heap[right] as Expiring).expiryTime < (heap[left] as Expiring).expiryTime ? right : left;
      const smaller = heap[child] as Expiring;
      if (smaller.expiryTime >= item.expiryTime) break;
      heap[index] = smaller;
      smaller.expiryIndex = index;
      index = child;
    }
    heap[index] = item;
    item.expiryIndex = index;
  }
}
