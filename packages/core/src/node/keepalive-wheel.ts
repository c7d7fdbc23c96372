/** What the wheel keeps on each member: its place on the wheel, which the wheel updates as members move. */
export interface WheelMember {
  /** Slot and index on the wheel, or -1 when on none. Written by the wheel only. */
  keepalivePlace: number;
}

/**
 * One timer for the keepalive of every connection with the same ping interval, instead of an interval
 * each: a `Timeout`, its arguments array and two heap numbers were about 200 bytes of every idle
 * connection (docs/benchmarks.md). The interval is cut into `SLOTS` steps of a whole number of
 * milliseconds, rounded up, and each step visits one slot. A member joins the slot visited last, so its
 * first visit comes between 7/8 of an interval and one interval after it joined, and each visit after that
 * one revolution (at least the interval) after the one before: a peer always has a whole interval to
 * answer a ping.
 *
 * A slot is an array, and a member knows its index there (a removal moves the slot's last member into the
 * gap): 8 bytes of array per member, where a place in a Set was ~33.
 */
export class KeepaliveWheel<T extends WheelMember> {
  private readonly slots: T[][] = Array.from({ length: SLOTS }, () => []);
  /** The slot the timer visited last. */
  private current = 0;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly visit: (member: T) => void,
  ) {}

  /** Starts watching `member`, which must be on no wheel. */
  add(member: T): void {
    const slot = this.slots[this.current]!;
    member.keepalivePlace = slot.length * SLOTS + this.current;
    slot.push(member);
    this.size++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.step(), Math.max(1, Math.ceil(this.intervalMs / SLOTS)));
      this.timer.unref();
    }
  }

  /** Stops watching `member`; nothing when it is not watched. */
  remove(member: T): void {
    const place = member.keepalivePlace;
    if (place < 0) return;
    member.keepalivePlace = -1;
    const slotIndex = place % SLOTS;
    const slot = this.slots[slotIndex]!;
    const last = slot.pop()!;
    if (last !== member) {
      slot[(place - slotIndex) / SLOTS] = last;
      last.keepalivePlace = place;
    }
    this.size--;
    if (this.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private step(): void {
    this.current = (this.current + 1) % SLOTS;
    // Over a copy, so that a visit that removes members (a keepalive timeout ends its connection) moves
    // none into a place already passed or not yet reached; a member removed before its turn is skipped.
    for (const member of this.slots[this.current]!.slice()) {
      if (member.keepalivePlace >= 0) this.visit(member);
    }
  }
}

const SLOTS = 8;
