/**
 * A double-ended queue on a growable ring buffer: O(1) push at the back, shift at the front and indexed
 * access, without the O(n) cost of `Array.prototype.shift` that a long history would pay on every trim.
 */
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 8) {
    this.items = new Array<T | undefined>(Math.max(1, initialCapacity));
  }

  get length(): number {
    return this.count;
  }

  push(value: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = value;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const value = this.items[this.head];
    this.items[this.head] = undefined; // let the value be collected
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return value;
  }

  /** The value at `index` from the front (0 is the oldest), or undefined when out of range. */
  at(index: number): T | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) return undefined;
    return this.items[(this.head + index) % this.items.length];
  }

  peekFront(): T | undefined {
    return this.at(0);
  }

  peekBack(): T | undefined {
    return this.at(this.count - 1);
  }

  *values(): IterableIterator<T> {
    for (let index = 0; index < this.count; index++) yield this.items[(this.head + index) % this.items.length] as T;
  }

  private grow(): void {
    const grown = new Array<T | undefined>(this.items.length * 2);
    for (let index = 0; index < this.count; index++) grown[index] = this.items[(this.head + index) % this.items.length];
    this.items = grown;
    this.head = 0;
  }
}
