/** What a subscriber sees: the subscription handle, deliveries, gaps and recovery failures. */
import type { GapReason, LatestResult, Priority, RecoveryFailureReason, RecoveryResult } from '@switchboard/protocol';
import { ClientErrorCode, SwitchboardError } from './errors.js';
import type { Position } from './positions.js';
import type { PresenceCounts, PresenceOptions, PresenceSnapshot, PresenceStats } from './presence-events.js';
import type { PresenceSet } from './presence-set.js';

/** A delivery as handlers see it. */
export interface Message<Data> {
  /** The topic it was published to; with a wildcard subscription, the concrete one. */
  readonly topic: string;
  /**
   * The payload as published: a JSON value, or bytes for a binary publish; checked against the topic's
   * schema when one is declared.
   */
  readonly data: Data;
  /** The priority it was published with; the broker sends `high` ahead of `normal` and `low`. */
  readonly priority: Priority;
  /** The message's place in its topic's history (protocol.md §8.1). */
  readonly offset: number;
  /** The epoch of the topic's history `offset` counts in; it changes when the history is reset. */
  readonly epoch: string;
}

/**
 * Messages of `topic` with offsets `from`..`to` will not arrive. `reason` is the broker's (protocol.md §8.3),
 * or `abandoned` when this client gave up reassembling a chunked delivery (§7.4); the next reconnect
 * recovers an abandoned one if the topic keeps history.
 */
export interface Gap {
  /** The topic that lost messages. */
  readonly topic: string;
  /** The epoch `from` and `to` count in. */
  readonly epoch: string;
  /** The first offset lost. */
  readonly from: number;
  /** The last offset lost (inclusive). */
  readonly to: number;
  /** Why they were lost: the broker's reason, or `abandoned` by this client. */
  readonly reason: GapReason | 'abandoned';
}

/**
 * The client could not bring `topic` up to date: messages may have been missed and the application should
 * reload the topic's state (e.g. over HTTP). `reason` as in protocol.md §8.2; `epoch_mismatch` also when a
 * delivery revealed that the topic's history was reset. Live messages after `offset` follow.
 */
export interface RecoveryFailure {
  /** The topic whose missed messages cannot be replayed. */
  readonly topic: string;
  /** Why: another epoch, messages past the history kept, or no history at all. */
  readonly reason: RecoveryFailureReason;
  /** The topic's current epoch; with `offset`, the position to load state from. */
  readonly epoch: string;
  /** The topic's current offset; live messages after it follow. */
  readonly offset: number;
}

/**
 * What `subscribe` takes besides the pattern and handler: where to resume, callbacks for losses, and the
 * presence level and callbacks (see {@link PresenceOptions}).
 */
export interface SubscribeOptions<Info = unknown> extends PresenceOptions<Info> {
  /**
   * Positions the application already has (e.g. it loaded state up to them over HTTP, or stored them):
   * the broker replays what came after, if it keeps history (protocol.md §8.2). Each topic must match the
   * pattern. Later reconnects use the client's own positions.
   */
  readonly since?: Readonly<Record<string, Position>>;
  /** Messages matching this subscription were lost and will not arrive. */
  readonly onGap?: (gap: Gap) => void;
  /** A topic of this subscription could not be recovered: reload its state. */
  readonly onRecoveryFailed?: (failure: RecoveryFailure) => void;
  /**
   * The subscription failed or ended (`forbidden`, `too_many_subscriptions`, the broker ended it, the client
   * closed), or a delivery's payload failed its schema (`invalid_payload`; the subscription continues).
   */
  readonly onError?: (error: SwitchboardError) => void;
}

/** What awaiting a subscription yields: the broker's confirmation. */
export interface SubscribeAck {
  /** The pattern the broker subscribed this connection to. */
  readonly pattern: string;
  /** Per topic of `since`: whether its missed messages follow (protocol.md §8.2). */
  readonly recovery?: Readonly<Record<string, RecoveryResult>>;
  /**
   * A subscribe without a position to a topic of a `latest` namespace (protocol.md §8.6): where the topic
   * stood, and whether its latest publication follows (as an ordinary message, before any live one).
   */
  readonly latest?: LatestResult;
}

/**
 * `pending` until the broker confirms the subscription, `active` after, `ended` once it was unsubscribed,
 * refused, ended by the broker, or the client closed. A reconnect does not make it pending again.
 */
export type SubscriptionState = 'pending' | 'active' | 'ended';

/** @internal What a subscription reaches of its client: release, and presence reads of its topic. */
export interface SubscriptionOwner {
  release(subscription: Subscription<unknown, unknown>): void;
  presence(topic: string): Promise<PresenceSnapshot<unknown>>;
  presenceStats(topic: string): Promise<PresenceStats>;
  members(topic: string): PresenceSet<unknown> | undefined;
}

const NO_MEMBERS: ReadonlyMap<string, never> = new Map<string, never>();

/**
 * A subscription: await it for the broker's confirmation, `unsubscribe()` to stop. Awaiting it yields a
 * {@link SubscribeAck} (keep the subscription itself to unsubscribe later).
 *
 * @typeParam Data - The payload type its handler receives, from the client's topic map.
 * @typeParam Info - What a member's presence `info` holds, as the client declared it.
 */
export class Subscription<Data, Info = unknown> implements PromiseLike<SubscribeAck> {
  /** The topic or pattern subscribed to (protocol.md §4: `*` one segment, `>` the rest). */
  readonly pattern: string;
  /** Settles with the broker's first confirmation, or rejects if the subscription fails before it. */
  readonly ready: Promise<SubscribeAck>;
  #currentState: SubscriptionState = 'pending';
  #endError: SwitchboardError | undefined;
  readonly #owner: SubscriptionOwner;
  #settleReady: ((ack: SubscribeAck) => void) | undefined;
  #failReady: ((error: SwitchboardError) => void) | undefined;
  /** Keeps `Data` in the type (for handlers and type tests) without a run-time field. */
  declare readonly __data?: Data;

  /** @internal Created by `Client.subscribe`. */
  constructor(pattern: string, owner: SubscriptionOwner) {
    this.pattern = pattern;
    this.#owner = owner;
    this.ready = new Promise<SubscribeAck>((resolve, reject) => {
      this.#settleReady = resolve;
      this.#failReady = reject;
    });
    // A failure is also reported to `onError` and the client's `error` event: an un-awaited subscription
    // must not become an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** Where the subscription is: see {@link SubscriptionState}. */
  get state(): SubscriptionState {
    return this.#currentState;
  }

  /** Why the subscription ended, when the broker or the client ended it. */
  get error(): SwitchboardError | undefined {
    return this.#endError;
  }

  /** Stops the subscription: its handler is not called again. Idempotent. */
  unsubscribe(): void {
    if (this.#currentState === 'ended') return;
    this.end(undefined);
    this.#owner.release(this as Subscription<unknown, unknown>);
  }

  /**
   * The topic's members now (protocol.md §13.2), grouped by user. The topic must be exact and its broker
   * serve presence (else `invalid_topic`, `presence_disabled` or `unsupported`); needs a connection.
   */
  presence(): Promise<PresenceSnapshot<Info>> {
    return this.#owner.presence(this.pattern) as Promise<PresenceSnapshot<Info>>;
  }

  /** The topic's counts now: connections, distinct users, anonymous connections. */
  presenceStats(): Promise<PresenceStats> {
    return this.#owner.presenceStats(this.pattern);
  }

  /**
   * With `presence`: the live member list, user → connection id → info, kept from a snapshot and the join
   * and leave events, and re-read after any loss. Empty without `presence` or before the first snapshot.
   */
  get members(): ReadonlyMap<string, ReadonlyMap<string, Info | null>> {
    return (this.#owner.members(this.pattern)?.users ?? NO_MEMBERS) as ReadonlyMap<string, ReadonlyMap<string, Info | null>>;
  }

  /** With `presence`: the live list of anonymous members, connection id → info. */
  get anonymous(): ReadonlyMap<string, Info | null> {
    return (this.#owner.members(this.pattern)?.anonymous ?? NO_MEMBERS) as ReadonlyMap<string, Info | null>;
  }

  /**
   * With `presence`: the counts as of the last snapshot, stats entry or event; `undefined` before the first
   * snapshot. At level `user`, `connections` moves with snapshots and stats entries only (the joins and leaves
   * of a user's other connections do not arrive).
   */
  get presenceCounts(): PresenceCounts | undefined {
    return this.#owner.members(this.pattern)?.counts;
  }

  then<Result1 = SubscribeAck, Result2 = never>(
    onfulfilled?: ((value: SubscribeAck) => Result1 | PromiseLike<Result1>) | null,
    onrejected?: ((reason: unknown) => Result2 | PromiseLike<Result2>) | null,
  ): Promise<Result1 | Result2> {
    return this.ready.then(onfulfilled, onrejected);
  }

  /** @internal The broker confirmed the pattern. */
  confirm(ack: SubscribeAck): void {
    if (this.#currentState !== 'pending') return;
    this.#currentState = 'active';
    this.#settleReady?.(ack);
    this.#settleReady = undefined;
    this.#failReady = undefined;
  }

  /** @internal Ends the subscription (an error: the broker or the client ended it). */
  end(error: SwitchboardError | undefined): void {
    if (this.#currentState === 'ended') return;
    this.#currentState = 'ended';
    this.#endError = error;
    this.#failReady?.(error ?? new SwitchboardError(ClientErrorCode.aborted, `unsubscribed from ${this.pattern} before the broker confirmed it`, { topic: this.pattern }));
    this.#settleReady = undefined;
    this.#failReady = undefined;
  }
}
