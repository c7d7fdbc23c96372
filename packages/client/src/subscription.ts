/** What a subscriber sees: the subscription handle, deliveries, gaps and recovery failures. */
import type { GapReason, Priority, RecoveryFailureReason, RecoveryResult } from '@switchboard/protocol';
import { ClientErrorCode, SwitchboardError } from './errors.js';
import type { Position } from './positions.js';

/** A delivery as handlers see it. */
export interface Message<Data> {
  readonly topic: string;
  readonly data: Data;
  readonly priority: Priority;
  /** The message's place in its topic's history (protocol.md §8.1). */
  readonly offset: number;
  readonly epoch: string;
}

/**
 * Messages of `topic` with offsets `from`..`to` will not arrive. `reason` is the broker's (protocol.md §8.3),
 * or `abandoned` when this client gave up reassembling a chunked delivery (§7.4); the next reconnect
 * recovers an abandoned one if the topic keeps history.
 */
export interface Gap {
  readonly topic: string;
  readonly epoch: string;
  readonly from: number;
  readonly to: number;
  readonly reason: GapReason | 'abandoned';
}

/**
 * The client could not bring `topic` up to date: messages may have been missed and the application should
 * reload the topic's state (e.g. over HTTP). `reason` as in protocol.md §8.2; `epoch_mismatch` also when a
 * delivery revealed that the topic's history was reset. Live messages after `offset` follow.
 */
export interface RecoveryFailure {
  readonly topic: string;
  readonly reason: RecoveryFailureReason;
  readonly epoch: string;
  readonly offset: number;
}

export interface SubscribeOptions {
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
  readonly pattern: string;
  /** Per topic of `since`: whether its missed messages follow (protocol.md §8.2). */
  readonly recovery?: Readonly<Record<string, RecoveryResult>>;
}

export type SubscriptionState = 'pending' | 'active' | 'ended';

/**
 * A subscription: await it for the broker's confirmation, `unsubscribe()` to stop. Awaiting it yields a
 * {@link SubscribeAck} (keep the subscription itself to unsubscribe later).
 */
export class Subscription<Data> implements PromiseLike<SubscribeAck> {
  readonly pattern: string;
  /** Settles with the broker's first confirmation, or rejects if the subscription fails before it. */
  readonly ready: Promise<SubscribeAck>;
  #currentState: SubscriptionState = 'pending';
  #endError: SwitchboardError | undefined;
  readonly #release: (subscription: Subscription<Data>) => void;
  #settleReady: ((ack: SubscribeAck) => void) | undefined;
  #failReady: ((error: SwitchboardError) => void) | undefined;
  /** Keeps `Data` in the type (for handlers and type tests) without a run-time field. */
  declare readonly __data?: Data;

  /** @internal Created by `Client.subscribe`. */
  constructor(pattern: string, release: (subscription: Subscription<Data>) => void) {
    this.pattern = pattern;
    this.#release = release;
    this.ready = new Promise<SubscribeAck>((resolve, reject) => {
      this.#settleReady = resolve;
      this.#failReady = reject;
    });
    // A failure is also reported to `onError` and the client's `error` event: an un-awaited subscription
    // must not become an unhandled rejection.
    this.ready.catch(() => {});
  }

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
    this.#release(this);
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
