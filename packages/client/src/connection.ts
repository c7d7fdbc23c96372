/** One WebSocket connection to the broker, and everything bound to it, which ends with it. */
import { type TextMessage, type WelcomeMessage, encodeText } from '@switchboard/protocol';
import type { InboundChunks } from './chunks.js';
import type { ClientContext } from './client-context.js';
import type { TimerHandle } from './clock.js';
import type { PendingPublish, PublishPipeline } from './publish-pipeline.js';
import { type Outgoing, SendQueue } from './send-queue.js';
import type { Transport } from './transport/transport.js';

/** The close code the client sends when it ends a connection itself. */
export const CLIENT_CLOSE_CODE = 1000;
/** Reported for connections the client dropped itself (dead, or no welcome): there was no close frame. */
export const ABNORMAL_CLOSE = 1006;
/** How often a blocked send queue re-checks `bufferedAmount` when the transport reports no `drain`. */
const DRAIN_POLL_MS = 10;

/** A control message (subscribe, refresh, ping, cancel ...) in the send queue. */
export interface ControlTag {
  readonly kind: 'control';
}

export type SendTag = PendingPublish | ControlTag;

/**
 * A connection from the moment its transport exists until it ends. It writes its send queue to the
 * transport (in priority order, within the broker's limits and the socket's high-water mark) while it is
 * the client's current connection, and holds the timers of its session, which {@link dispose} clears.
 */
export class Connection {
  readonly transport: Transport;
  /** Resolves once the transport has reported its close. */
  readonly closed: Promise<void>;
  markClosed!: () => void;
  /** The broker's `welcome`: until it arrives nothing but the welcome is accepted or sent. */
  welcome: WelcomeMessage | undefined;
  readonly sendQueue = new SendQueue<SendTag>();
  /** Chunked deliveries being reassembled, within the limits the welcome brought. */
  inbound: InboundChunks | undefined;
  nextTransfer = 1;
  /** Transfers of this connection's publishes, for `error`s that name only the transfer. */
  readonly transfers = new Map<number, PendingPublish>();
  welcomeTimer: TimerHandle | undefined;
  pingTimer: TimerHandle | undefined;
  pongTimer: TimerHandle | undefined;
  chunkTimer: TimerHandle | undefined;
  refreshTimer: TimerHandle | undefined;
  /** The `refresh` request waiting for its answer. */
  refreshId: number | undefined;
  readonly #context: ClientContext;
  readonly #publishes: PublishPipeline;
  #flushScheduled = false;
  #drainTimer: TimerHandle | undefined;

  /**
   * `open` creates the transport, whose events may name this connection; what it throws, this throws.
   * Every publish frame written is reported to `publishes`.
   */
  constructor(context: ClientContext, publishes: PublishPipeline, open: (connection: Connection) => Transport) {
    this.#context = context;
    this.#publishes = publishes;
    this.closed = new Promise<void>((resolve) => (this.markClosed = resolve));
    this.transport = open(this);
  }

  /** Queues an item; it is written on the next microtask, or when the socket drains. */
  push(item: Outgoing<SendTag>): void {
    this.sendQueue.push(item);
    this.#requestFlush();
  }

  /** Sends a control message ahead of every publish. */
  send(message: TextMessage): void {
    this.push({ priority: 'control', frames: 1, frame: () => encodeText(message), tag: { kind: 'control' } });
  }

  /** Writes what the send queue holds, as far as the socket's high-water mark lets it. */
  flush(): void {
    const result = this.sendQueue.write(this.transport, this.#context.settings.highWaterMark);
    for (const frame of result.written) {
      if (frame.tag.kind === 'publish') this.#publishes.frameWritten(this, frame.tag, frame.first, frame.last);
    }
    if (result.blocked && this.#drainTimer === undefined) {
      // Transports report `drain` when they can; polling covers the rest (and browsers have no `drain`).
      this.#drainTimer = this.#context.clock.setTimeout(() => {
        this.#drainTimer = undefined;
        if (this.#context.connection === this) this.flush();
      }, DRAIN_POLL_MS);
    }
  }

  /** The connection ended: its timers stop and half-received deliveries are dropped. */
  dispose(): void {
    for (const timer of [this.#drainTimer, this.welcomeTimer, this.pongTimer, this.chunkTimer, this.refreshTimer, this.pingTimer]) {
      this.#context.clock.clearTimeout(timer);
    }
    this.inbound?.clear();
  }

  /** Writes on the next microtask, so a burst of publishes is ordered by priority before any is written. */
  #requestFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      if (this.#context.connection === this) this.flush();
    });
  }
}
