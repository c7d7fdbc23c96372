/**
 * One timer for the keepalive of every connection with the same ping interval, instead of an interval
 * each: a `Timeout`, its arguments array and two heap numbers were about 200 bytes of every idle
 * connection (docs/benchmarks.md), where a place in a Set is about 40. The interval is cut into `SLOTS`
 * steps of a whole number of milliseconds, rounded up, and each step visits one slot. A member joins the
 * slot visited last, so its first visit comes between 7/8 of an interval and one interval after it joined,
 * and each visit after that one revolution (at least the interval) after the one before: a peer always has
 * a whole interval to answer a ping.
 */
export class KeepaliveWheel<T> {
  private readonly slots: Set<T>[] = Array.from({ length: SLOTS }, () => new Set<T>());
  /** The slot the timer visited last. */
  private current = 0;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly visit: (member: T) => void,
  ) {}

  /** Starts watching `member`; returns its slot, which `remove` takes. */
  add(member: T): number {
    const slot = this.current;
    this.slots[slot]!.add(member);
    this.size++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.step(), Math.max(1, Math.ceil(this.intervalMs / SLOTS)));
      this.timer.unref();
    }
    return slot;
  }

  remove(member: T, slot: number): void {
    if (!this.slots[slot]!.delete(member)) return;
    this.size--;
    if (this.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private step(): void {
    this.current = (this.current + 1) % SLOTS;
    // A visit may remove its member (a keepalive timeout closes the connection); a Set allows that while
    // it is iterated.
    for (const member of this.slots[this.current]!) this.visit(member);
  }
}

const SLOTS = 8;
