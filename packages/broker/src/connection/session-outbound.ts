import { type GapReason as WireGapReason, type TextMessage, encodeText } from '@switchboard/protocol';
import { ReadyState, type SendResult, type WebSocket } from '@switchboard/core';
import type { Config } from '../config/config.js';
import { type CompressionVariant, type Frames, frame } from '../hub/delivery.js';
import type { OutboundFrame, OutboundItem } from '../hub/outbound-item.js';
import type { BrokerStats } from '../stats.js';
import type { Gap } from './gap-tracker.js';
import type { ErrorFields } from './session-errors.js';
import { SendQueue } from './send-queue.js';

/** The send queue's gap reasons as pubsub.v1 names them (protocol.md §8.3). */
const wireGapReasons: Record<Gap['reason'], WireGapReason> = { dropped: 'slow_consumer', conflated: 'conflation' };

const emptyFrame: OutboundFrame<Frames> = Object.freeze({ bytes: 0, payload: Object.freeze([]) as Frames });

/** A connection's send queue, with the state that matters only while there is one: made and dropped with it. */
interface Backlog {
  readonly queue: SendQueue<Frames>;
  /** Inside `pump`: an `enqueue` from within it goes to the queue, never past it. */
  pumping: boolean;
  /** What this queue adds to the node-wide `stats.queuedBytes` now. */
  reportedBytes: number;
}

/** What the outbound path needs of its session (the session itself: no per-connection closures). */
export interface OutboundOwner {
  /** The socket everything is written to. */
  readonly websocket: WebSocket;
  /** False once the connection is closing: nothing more is written from then on. */
  readonly isOpen: boolean;
  readonly variant: CompressionVariant;
  readonly config: Pick<Config, 'maxQueuedBytes' | 'slowConsumerPolicy' | 'maxPendingGaps' | 'highWaterMarkBytes'>;
  readonly context: { readonly stats: BrokerStats };
  /** The queue cannot keep what it owes (an item that must not be lost, or more losses than it tracks). */
  closeSlowConsumer(reason: string): void;
}

/**
 * Everything a connection sends goes through here: control messages above every delivery and never
 * dropped, deliveries by priority. The priority send queue is pumped into the socket only while its
 * `bufferedAmount` is under the high-water mark (resuming on `drain`), so a slow reader costs at most
 * `maxQueuedBytes` of broker memory and never delays anyone else.
 */
export class SessionOutbound {
  /**
   * Created when a delivery cannot be written at once and dropped once it is empty again: a subscriber that
   * keeps up never has one (the fast path in `enqueue`), which keeps an idle connection small.
   */
  private backlog: Backlog | undefined;
  /** Its socket and whether it is open are the owner's: kept once, not in every part of a connection. */
  private readonly owner: OutboundOwner;

  constructor(owner: OutboundOwner) {
    this.owner = owner;
  }

  /** The send queue, created if there is none yet (tests and diagnostics; see `backlog`). */
  get queue(): SendQueue<Frames> {
    return this.madeBacklog.queue;
  }

  /** The send queue if this connection has one now; metrics read only those. */
  get queueIfAny(): SendQueue<Frames> | undefined {
    return this.backlog?.queue;
  }

  /** Nothing left to write, in the queue or in the socket. */
  get flushed(): boolean {
    return (this.backlog?.queue.isEmpty ?? true) && this.owner.websocket.bufferedAmount === 0;
  }

  private get madeBacklog(): Backlog {
    if (this.backlog !== undefined) return this.backlog;
    const { config } = this.owner;
    const queue = new SendQueue<Frames>({
      maxQueuedBytes: config.maxQueuedBytes,
      defaultOverflow: config.slowConsumerPolicy,
      maxPendingGaps: config.maxPendingGaps,
      encodeGap: (gap) => this.encodeGap(gap),
    });
    return (this.backlog = { queue, pumping: false, reportedBytes: 0 });
  }

  /** Queues a control message (acks, errors, welcome): above every delivery, never dropped. */
  sendControl(message: TextMessage): void {
    if (!this.owner.isOpen) return;
    const encoded = frame(Buffer.from(encodeText(message), 'utf8'), false, this.owner.variant.compressor);
    this.enqueue({ priority: 'control', ...encoded });
  }

  /** Sends an `error` and counts it by code. */
  sendError(fields: ErrorFields): void {
    const { stats } = this.owner.context;
    stats.increment(stats.errors, fields.code);
    this.sendControl({ op: 'error', ...fields });
  }

  /** Queues one item: written at once when nothing waits and the socket has room, else by the pump. */
  enqueue(item: OutboundItem<Frames>): void {
    if (!this.owner.isOpen) return;
    const { backlog } = this;
    // Fast path: nothing waits (`queuedBytes` and `pendingGaps` are `isEmpty` without walking the lanes)
    // and the socket has room, so the queue would hand this frame straight back: the common case for a
    // subscriber that keeps up, which then never gets a queue.
    const nothingWaits = backlog === undefined || (!backlog.pumping && backlog.queue.queuedBytes === 0 && backlog.queue.pendingGaps === 0);
    if (nothingWaits && !('chunks' in item) && this.hasRoom()) {
      this.write(item);
      return;
    }
    const made = this.madeBacklog;
    const result = made.queue.enqueue(item);
    if (result.outcome === 'disconnect') {
      this.syncQueuedBytes(made);
      this.owner.closeSlowConsumer(result.reason === 'queue-full' ? 'send queue over its cap' : 'too many unannounced losses');
      return;
    }
    const dropped = result.evicted + (result.outcome === 'dropped' ? 1 : 0);
    if (dropped > 0) this.owner.context.stats.deliveriesDropped += dropped;
    this.pump();
  }

  /** Writes from the queue while the socket has room; `drain` (and the next `enqueue`) resumes it. */
  pump(): void {
    const { backlog, owner } = this;
    if (backlog === undefined || backlog.pumping) return;
    const { queue } = backlog;
    if (owner.isOpen && this.hasRoom()) {
      backlog.pumping = true;
      try {
        // Held: a burst of frames leaves together (core's cork buffer). `bufferedAmount` counts held bytes.
        owner.websocket.corked(() => {
          while (owner.isOpen && this.hasRoom()) {
            const next = queue.next();
            if (next === undefined) break;
            if (next.payload.length === 0) continue;
            if (this.write(next) !== 'sent') break;
          }
        });
      } finally {
        backlog.pumping = false;
      }
    }
    this.syncQueuedBytes(backlog);
    // Emptied: let it go. A failed queue stays, since it answers every later enqueue with `disconnect`.
    if (queue.isEmpty && queue.failed === undefined && backlog.reportedBytes === 0) this.backlog = undefined;
  }

  /** Call once the owner is no longer open: its queue no longer counts node-wide. */
  stop(): void {
    if (this.backlog !== undefined) this.syncQueuedBytes(this.backlog);
  }

  /**
   * Whether the socket takes a frame now: open, and its buffer under the high-water mark. Read each time
   * rather than remembered from the last `send` result, because the buffer also empties below the mark
   * without a `drain` (Node emits one only after a write it refused).
   */
  private hasRoom(): boolean {
    const { websocket } = this.owner;
    return websocket.readyState === ReadyState.OPEN && websocket.bufferedAmount < this.owner.config.highWaterMarkBytes;
  }

  /**
   * The one write to the socket, for the fast path and the pump alike. Core answers like uWebSockets:
   * `sent`, `backpressure` (written, and the buffer is now at the high-water mark: stop the burst) or
   * `dropped` (not written: only past core's `maxBackpressure`, which the broker leaves unbounded since the
   * send queue bounds memory; a frame lost there could not be announced, so the connection goes instead).
   */
  private write(frame: OutboundFrame<Frames>): SendResult {
    const result = this.owner.websocket.sendFrames(frame.payload);
    if (result === 'dropped') {
      this.owner.closeSlowConsumer('the socket refused a frame');
      return result;
    }
    const { stats } = this.owner.context;
    stats.framesWritten++;
    stats.bytesWritten += frame.bytes;
    return result;
  }

  private encodeGap(gap: Gap): OutboundFrame<Frames> {
    const { context, variant } = this.owner;
    if (gap.seq !== undefined && gap.epoch !== undefined) {
      // Dropped presence entries (protocol.md §13.3): one notice per topic; the client re-reads the members.
      context.stats.increment(context.stats.gapNotices, 'presence_slow_consumer');
      const text = encodeText({ op: 'presence_gap', topic: gap.topic, epoch: gap.epoch, seq: gap.seq, reason: 'slow_consumer' });
      return frame(Buffer.from(text, 'utf8'), false, variant.compressor);
    }
    // Every delivery carries its offset and epoch, so every gap has a range (protocol.md §8.3).
    if (gap.epoch === undefined || gap.from === undefined || gap.to === undefined) return emptyFrame;
    const reason = wireGapReasons[gap.reason];
    context.stats.increment(context.stats.gapNotices, reason);
    const text = encodeText({ op: 'gap', topic: gap.topic, epoch: gap.epoch, from: gap.from, to: gap.to, reason });
    return frame(Buffer.from(text, 'utf8'), false, variant.compressor);
  }

  /** Keeps the node-wide queued-bytes figure (metrics, POST /publish saturation) in step with this queue. */
  private syncQueuedBytes(backlog: Backlog): void {
    const now = this.owner.isOpen ? backlog.queue.queuedBytes : 0;
    this.owner.context.stats.queuedBytes += now - backlog.reportedBytes;
    backlog.reportedBytes = now;
  }
}
