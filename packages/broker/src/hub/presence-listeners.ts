import type { PresenceLevel } from '@switchboard/protocol';

/**
 * The local subscriptions that asked for a topic's join and leave events (`subscribe.presence`), each with its
 * level. Exact topics only: a wildcard subscription never gets presence (protocol.md §13.1).
 */
export class PresenceListeners<S> {
  private readonly byTopic = new Map<string, Map<S, PresenceLevel>>();

  add(topic: string, subscriber: S, level: PresenceLevel): void {
    let listeners = this.byTopic.get(topic);
    if (listeners === undefined) this.byTopic.set(topic, (listeners = new Map()));
    listeners.set(subscriber, level);
  }

  /** True when this removed the topic's last listener. */
  remove(topic: string, subscriber: S): boolean {
    const listeners = this.byTopic.get(topic);
    if (listeners?.delete(subscriber) !== true || listeners.size > 0) return false;
    this.byTopic.delete(topic);
    return true;
  }

  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  forEach(topic: string, visit: (subscriber: S, level: PresenceLevel) => void): void {
    const listeners = this.byTopic.get(topic);
    if (listeners === undefined) return;
    for (const [subscriber, level] of listeners) visit(subscriber, level);
  }
}
