/** A node handed out by `LinkedList.push`; keep it to remove the value in O(1) later. */
export interface ListNode<T> {
  value: T;
  prev: ListNode<T> | undefined;
  next: ListNode<T> | undefined;
  /** The list holding this node, or undefined once removed (so a stale node is never unlinked twice). */
  list: LinkedList<T> | undefined;
}

/**
 * A doubly linked list with O(1) push, shift and removal by node. Queues use it where entries leave from
 * the middle (a dropped message) as often as from the head, which an array cannot do in O(1).
 */
export class LinkedList<T> {
  private head: ListNode<T> | undefined;
  private tail: ListNode<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get first(): ListNode<T> | undefined {
    return this.head;
  }

  push(value: T): ListNode<T> {
    const node: ListNode<T> = { value, prev: this.tail, next: undefined, list: this };
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.count++;
    return node;
  }

  /** Unlinks `node`; does nothing if it is not (or no longer) in this list. */
  remove(node: ListNode<T>): void {
    if (node.list !== this) return;
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    node.list = undefined;
    this.count--;
  }

  clear(): void {
    for (let node = this.head; node !== undefined; ) {
      const next = node.next;
      node.prev = undefined;
      node.next = undefined;
      node.list = undefined;
      node = next;
    }
    this.head = undefined;
    this.tail = undefined;
    this.count = 0;
  }

  *values(): IterableIterator<T> {
    for (let node = this.head; node !== undefined; node = node.next) yield node.value;
  }
}
