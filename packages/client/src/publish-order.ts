/**
 * Publisher order across retries (protocol.md §8.5): per topic, offsets follow the order of the publishes.
 * A publish the broker refused waits for its retry, and the later publishes of its topic wait behind it. It
 * is resent only if no later publish of its topic may have been applied (acknowledged, still unanswered, or
 * ended with an unknown outcome): a resend would then be applied behind that one, so it fails with the
 * broker's code instead. Later publishes the broker refused as well do not stand in its way: they are resent
 * after it. Other topics never wait.
 */

/** What the order needs to know of a publish. */
export interface OrderedPublish {
  /** Publish order, client-wide. */
  readonly seq: number;
  readonly topic: string;
}

interface TopicOrder<P extends OrderedPublish> {
  /** Unsettled publishes of the topic: the record lives while there are any. */
  unsettled: number;
  /** The highest `seq` of the topic's publishes that may have been applied. */
  appliedUpTo: number;
  /** The topic's publishes sent and not answered yet. */
  readonly unanswered: Set<P>;
  /** The topic's publishes waiting for a retry. */
  readonly retrying: Set<P>;
  /** Later publishes waiting behind them, in publish order. */
  readonly held: P[];
}

export class PublishOrder<P extends OrderedPublish> {
  readonly #topics = new Map<string, TopicOrder<P>>();

  /** A publish was made: it stays known until {@link settled}. */
  opened(publish: P): void {
    this.#orderOf(publish.topic).unsettled++;
  }

  /** Whether `publish` may be sent now; if not, it is held until an earlier publish of its topic goes. */
  admit(publish: P): boolean {
    const order = this.#orderOf(publish.topic);
    for (const earlier of order.retrying) {
      if (earlier.seq < publish.seq) {
        order.held.push(publish);
        order.held.sort((a, b) => a.seq - b.seq);
        return false;
      }
    }
    return true;
  }

  /** `publish` was handed to a connection. */
  sent(publish: P): void {
    this.#orderOf(publish.topic).unanswered.add(publish);
  }

  /**
   * `publish`'s sending ended: answered, refused, or cut off. `mayBeApplied`: the broker acknowledged it, or
   * its outcome is unknown (no answer, `unavailable`); false when it surely was not (a definite refusal, or
   * it never reached the broker whole).
   */
  ended(publish: P, mayBeApplied: boolean): void {
    const order = this.#orderOf(publish.topic);
    if (!order.unanswered.delete(publish) || !mayBeApplied) return;
    order.appliedUpTo = Math.max(order.appliedUpTo, publish.seq);
  }

  /** Whether a later publish of its topic may have been applied: a resend would land behind it. */
  overtaken(publish: P): boolean {
    return this.#orderOf(publish.topic).appliedUpTo > publish.seq;
  }

  /** Whether a later publish of its topic was sent and is still unanswered. */
  awaitingLater(publish: P): boolean {
    for (const later of this.#orderOf(publish.topic).unanswered) {
      if (later.seq > publish.seq) return true;
    }
    return false;
  }

  /** `publish` waits for a retry: later publishes of its topic are held from now on. */
  retrying(publish: P): void {
    this.#orderOf(publish.topic).retrying.add(publish);
  }

  /** `publish` goes again (admit it first); returns the publishes it held back, to admit in this order. */
  resent(publish: P): P[] {
    return this.#stopRetrying(publish);
  }

  /** `publish` settled (see {@link ended}); returns the publishes it held back, to admit in this order. */
  settled(publish: P, mayBeApplied: boolean): P[] {
    this.ended(publish, mayBeApplied);
    const order = this.#orderOf(publish.topic);
    const index = order.held.indexOf(publish);
    if (index >= 0) order.held.splice(index, 1);
    const released = this.#stopRetrying(publish);
    if (--order.unsettled <= 0) this.#topics.delete(publish.topic);
    return released;
  }

  /** Every publish held back, for a client that stops. */
  held(): P[] {
    return [...this.#topics.values()].flatMap((order) => order.held);
  }

  #stopRetrying(publish: P): P[] {
    const order = this.#orderOf(publish.topic);
    return order.retrying.delete(publish) ? order.held.splice(0) : [];
  }

  #orderOf(topic: string): TopicOrder<P> {
    let order = this.#topics.get(topic);
    if (order === undefined) {
      order = { unsettled: 0, appliedUpTo: 0, unanswered: new Set(), retrying: new Set(), held: [] };
      this.#topics.set(topic, order);
    }
    return order;
  }
}
