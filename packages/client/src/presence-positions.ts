/** The last presence position per topic (protocol.md §13.4), beside positions.ts's message positions. */
import type { Position } from './positions.js';
import type { PresencePosition } from './presence-set.js';

/** A `since` entry with presence: the message position, and the last presence `seq` of the same epoch. */
export interface PresenceSince extends Position {
  readonly seq?: number;
}

/**
 * The `seq` each followed topic's member list has applied, so a resubscribe asks only for the entries after
 * it (`since[topic].seq`) and the list survives a reconnect without a re-read.
 */
export class PresencePositions {
  readonly #topics = new Map<string, PresencePosition>();

  get(topic: string): PresencePosition | undefined {
    return this.#topics.get(topic);
  }

  record(topic: string, position: PresencePosition | undefined): void {
    if (position === undefined) this.#topics.delete(topic);
    else this.#topics.set(topic, position);
  }

  forget(topic: string): void {
    this.#topics.delete(topic);
  }

  /**
   * What a resubscribe of `topic` sends: the message position with the presence `seq` when both are of one
   * epoch; the presence position alone when no message arrived (every publication up to its `offset`
   * preceded the entries the client has, protocol.md §13.4); the message position alone across epochs (the
   * list is then re-read).
   */
  since(topic: string, message: Position | undefined): PresenceSince | undefined {
    const presence = this.#topics.get(topic);
    if (presence === undefined) return message;
    if (message === undefined) return { offset: presence.offset, epoch: presence.epoch, seq: presence.seq };
    return message.epoch === presence.epoch ? { offset: message.offset, epoch: message.epoch, seq: presence.seq } : message;
  }
}
