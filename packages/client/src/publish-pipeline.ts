/** A publish from `publish()` to its settling: checked, queued, scheduled, written, retried, settled. */
import {
  type ClientChunkHeader,
  type ErrorMessage,
  type Priority,
  type ProtocolErrorCode,
  type PublishHeader,
  type PublishedMessage,
  DEFAULT_PRIORITY,
  PRIORITIES,
  PROTOCOL_ERROR_CODES,
  encodeBinary,
  joinTextWithData,
  parseTopic,
  splitIntoChunks,
  utf8ByteLength,
} from '@switchboard/protocol';
import { type ClientContext, closedError } from './client-context.js';
import type { PublishAck, PublishOptions } from './client-options.js';
import type { TimerHandle } from './clock.js';
import type { Connection } from './connection.js';
import { ClientErrorCode, type ErrorCode, SwitchboardError, type SwitchboardErrorDetails } from './errors.js';
import { type PayloadSchemas, validatePayload } from './payload-schemas.js';
import { PublishOrder } from './publish-order.js';
import { reconnectDelay } from './reconnect.js';
import type { Outgoing } from './send-queue.js';

/**
 * Where a publish is:
 * - `queued`: in the outbox, waiting for a connection (offline, or after the one it was on ended);
 * - `scheduled`: in the connection's send queue, nothing written yet;
 * - `writing`: its first frame (of several chunks) is written, not its last;
 * - `retrying`: the broker refused it with a retryable code; it waits for its retry;
 * - `written`: all written, waiting for the broker's ack;
 * - `settled`: its promise settled.
 * Unwritten phases (`queued`, `scheduled`, `writing`, `retrying`) count against the send queue limits.
 */
type PublishPhase = 'queued' | 'scheduled' | 'writing' | 'retrying' | 'written' | 'settled';

export interface PendingPublish {
  readonly kind: 'publish';
  /** Publish order: restored after a reconnect. */
  readonly seq: number;
  readonly topic: string;
  readonly priority: Priority;
  readonly key: string | undefined;
  readonly ack: boolean;
  readonly payload: { readonly binary: Uint8Array } | { readonly json: string };
  /** Payload bytes (UTF-8 JSON or raw): what `chunkBytes` and `maxMessageBytes` measure. */
  readonly size: number;
  phase: PublishPhase;
  counted: boolean;
  requestId?: number | undefined;
  transfer?: number | undefined;
  retries: number;
  lastError?: SwitchboardError | undefined;
  queueTimer?: TimerHandle | undefined;
  ackTimer?: TimerHandle | undefined;
  retryTimer?: TimerHandle | undefined;
  detachSignal?: (() => void) | undefined;
  resolve(ack: PublishAck | undefined): void;
  reject(error: SwitchboardError): void;
}

const utf8 = new TextEncoder();

/**
 * Broker refusals after which the publish surely was not applied: every code but `unavailable` (the engine
 * may have timed out on it and still apply it) and `internal` (a bug, anything may have happened).
 */
const definiteRefusals: ReadonlySet<string> = new Set(PROTOCOL_ERROR_CODES.filter((code) => code !== 'unavailable' && code !== 'internal'));

/**
 * Every publish of one client, across connections. A publish made offline waits in the outbox; on a
 * connection it is encoded (chunked over the broker's `chunkBytes`) into the send queue; once written it
 * waits for its ack. A connection that ends sends the unwritten ones and the unacknowledged keyed ones
 * again on the next, in publish order. Nothing is lost silently: every publish settles exactly once.
 */
export class PublishPipeline {
  readonly #context: ClientContext;
  readonly #schemas: PayloadSchemas;
  readonly #outbox: PendingPublish[] = [];
  /** Publishes with an ack, by request id, from scheduling to the ack. */
  readonly #inflight = new Map<number, PendingPublish>();
  readonly #retrying = new Set<PendingPublish>();
  readonly #order = new PublishOrder<PendingPublish>();
  #nextSeq = 1;
  #queuedMessages = 0;
  #queuedBytes = 0;

  constructor(context: ClientContext, schemas: PayloadSchemas) {
    this.#context = context;
    this.#schemas = schemas;
  }

  /** Publishes accepted and not yet written, and their payload bytes. */
  get queued(): { readonly messages: number; readonly bytes: number } {
    return { messages: this.#queuedMessages, bytes: this.#queuedBytes };
  }

  /** Checks a publish (topic, priority, schema, size, queue limits) and sends it, now or once connected. */
  publish(topic: string, data: unknown, options: PublishOptions): Promise<PublishAck | undefined> {
    return new Promise<PublishAck | undefined>((resolve, reject) => {
      const fail = (code: ErrorCode, message: string, cause?: unknown): void =>
        reject(new SwitchboardError(code, message, { topic, ...(cause === undefined ? {} : { cause }) }));
      const { settings, limits } = this.#context;
      if (this.#context.state === 'closed') return reject(closedError());
      const parsed = parseTopic(topic);
      if (!parsed.ok) return fail(parsed.error.code, parsed.error.message);
      const priority = options.priority ?? DEFAULT_PRIORITY;
      if (!(PRIORITIES as readonly string[]).includes(priority)) return fail('bad_request', `priority must be one of ${PRIORITIES.join(', ')}`);
      if (options.signal?.aborted) return fail(ClientErrorCode.aborted, 'the publish was aborted before it was sent', options.signal.reason);
      // Bytes as the subscribers will see them (a Uint8Array), so a schema checks the same value both ways.
      const value = toBytes(data) ?? data;
      if (this.#schemas.length > 0) {
        const result = validatePayload(this.#schemas, parsed.value.segments, value);
        if (!result.ok) return fail(ClientErrorCode.invalidPayload, `${topic}: ${result.problem}`);
      }
      let payload: PendingPublish['payload'];
      let size: number;
      if (value instanceof Uint8Array) {
        const binary = value;
        payload = { binary };
        size = binary.length;
      } else {
        let json: unknown;
        try {
          json = JSON.stringify(value);
        } catch (error) {
          return fail(ClientErrorCode.invalidPayload, `${topic}: the payload is not JSON-serializable`, error);
        }
        if (typeof json !== 'string') return fail(ClientErrorCode.invalidPayload, `${topic}: the payload is not a JSON value`);
        payload = { json };
        size = utf8ByteLength(json);
      }
      if (limits !== undefined && size > limits.maxMessageBytes) {
        return fail('message_too_big', `${size} bytes exceed the broker's maxMessageBytes ${limits.maxMessageBytes}`);
      }
      if (this.#queuedMessages + 1 > settings.maxQueuedMessages || this.#queuedBytes + size > settings.maxQueuedBytes) {
        return fail(
          ClientErrorCode.sendQueueFull,
          `the send queue holds ${this.#queuedMessages} publishes (${this.#queuedBytes} bytes); limits ${settings.maxQueuedMessages} and ${settings.maxQueuedBytes}`,
        );
      }
      const pending: PendingPublish = {
        kind: 'publish',
        seq: this.#nextSeq++,
        topic,
        priority,
        key: options.key,
        ack: options.ack ?? true,
        payload,
        size,
        phase: 'queued',
        counted: false,
        retries: 0,
        resolve,
        reject,
      };
      this.#order.opened(pending);
      this.#count(pending);
      this.#armQueueTimer(pending);
      const signal = options.signal;
      if (signal !== undefined) {
        const onAbort = (): void => this.#abort(pending, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        pending.detachSignal = () => signal.removeEventListener('abort', onAbort);
      }
      this.#enqueue(pending);
    });
  }

  /** A connection was welcomed: what waited in the outbox goes to it, in publish order. */
  connected(connection: Connection): void {
    for (const pending of this.#outbox.splice(0)) this.#admit(connection, pending);
  }

  /**
   * A connection ended. What was not fully written goes back to the outbox (an incomplete transfer is
   * never published, protocol.md §7.4); of the written ones waiting for an ack, keyed ones too, the others
   * reject with `connection_lost`. With `final` (the client stops), the written ones reject with it instead.
   */
  connectionLost(connection: Connection, final: SwitchboardError | undefined): void {
    for (const tag of connection.sendQueue.clear()) {
      if (tag.kind === 'publish') this.#requeue(tag);
    }
    for (const pending of Array.from(this.#inflight.values())) {
      if (pending.phase !== 'written') continue;
      if (final !== undefined) this.#settle(pending, final);
      else if (pending.key !== undefined) {
        // protocol.md §8.4: "a retry after a reconnect is safe".
        this.#count(pending);
        this.#requeue(pending);
      } else {
        this.#settle(pending, new SwitchboardError(ClientErrorCode.connectionLost, `the connection ended before the broker acknowledged the publish to ${pending.topic}; it may or may not have been published (give it a key to have it resent safely)`, { topic: pending.topic }));
      }
    }
    this.#outbox.sort((a, b) => a.seq - b.seq);
  }

  /** The client stopped: every publish not settled yet rejects with `error`. */
  stop(error: SwitchboardError): void {
    for (const pending of [...this.#outbox, ...this.#inflight.values(), ...this.#retrying, ...this.#order.held()]) this.#settle(pending, error);
    this.#outbox.length = 0;
  }

  /** A frame of a publish was written; the last one ends its wait in the queue. */
  frameWritten(connection: Connection, pending: PendingPublish, first: boolean, last: boolean): void {
    if (first) {
      this.#context.clock.clearTimeout(pending.queueTimer);
      pending.queueTimer = undefined;
      pending.phase = 'writing';
    }
    if (!last) return;
    if (pending.transfer !== undefined) connection.transfers.delete(pending.transfer);
    this.#uncount(pending);
    if (!pending.ack) {
      this.#settle(pending, undefined);
      return;
    }
    pending.phase = 'written';
    const { ackTimeoutMs } = this.#context.settings;
    if (ackTimeoutMs > 0) {
      pending.ackTimer = this.#context.clock.setTimeout(() => {
        this.#settle(pending, new SwitchboardError(ClientErrorCode.ackTimeout, `no ack for the publish to ${pending.topic} within ${ackTimeoutMs} ms`, { topic: pending.topic }));
      }, ackTimeoutMs);
    }
  }

  receivePublished(message: PublishedMessage): void {
    const pending = this.#inflight.get(message.id);
    if (pending === undefined) return;
    const ack: PublishAck = {
      topic: pending.topic,
      duplicate: message.duplicate ?? false,
      ...(message.offset === undefined ? {} : { offset: message.offset }),
      ...(message.epoch === undefined ? {} : { epoch: message.epoch }),
    };
    this.#settle(pending, ack);
  }

  /** The broker refused the publish with request id `id`; false when no publish has that id. */
  refused(id: number, message: ErrorMessage, details: SwitchboardErrorDetails): boolean {
    const pending = this.#inflight.get(id);
    return pending !== undefined && this.#refuse(pending, message, details);
  }

  /**
   * The broker abandoned one of our transfers (protocol.md §7.4): stop sending it. False when no unsettled
   * publish of this connection has that transfer.
   */
  transferRefused(connection: Connection, transfer: number, message: ErrorMessage, details: SwitchboardErrorDetails): boolean {
    const pending = connection.transfers.get(transfer);
    if (pending === undefined) return false;
    connection.transfers.delete(transfer);
    return pending.phase !== 'settled' && this.#refuse(pending, message, details);
  }

  #refuse(pending: PendingPublish, message: ErrorMessage, details: SwitchboardErrorDetails): true {
    this.#retryOrSettle(pending, new SwitchboardError(message.code as ProtocolErrorCode, message.message, { ...details, topic: pending.topic }));
    return true;
  }

  #enqueue(pending: PendingPublish): void {
    const connection = this.#context.connection;
    this.#admit(connection?.welcome === undefined ? undefined : connection, pending);
  }

  /**
   * Schedules a publish on `connection`, or puts it in the outbox without one, unless an earlier publish of
   * its topic waits for a retry: then it waits behind that one (publish-order.ts).
   */
  #admit(connection: Connection | undefined, pending: PendingPublish): void {
    pending.phase = 'queued';
    if (!this.#order.admit(pending)) return;
    if (connection !== undefined) this.#schedule(connection, pending);
    else this.#outbox.push(pending);
  }

  #requeue(pending: PendingPublish): void {
    // Written whole, its outcome is unknown; otherwise the broker drops the incomplete transfer (§7.4).
    this.#order.ended(pending, pending.phase === 'written');
    if (pending.requestId !== undefined) this.#inflight.delete(pending.requestId);
    pending.requestId = undefined;
    pending.transfer = undefined;
    pending.phase = 'queued';
    this.#context.clock.clearTimeout(pending.ackTimer);
    this.#armQueueTimer(pending);
    this.#outbox.push(pending);
  }

  /** A publish waiting for its first byte to be written may wait `sendQueue.timeoutMs` (again, after a requeue). */
  #armQueueTimer(pending: PendingPublish): void {
    const { queueTimeoutMs } = this.#context.settings;
    if (pending.queueTimer !== undefined || queueTimeoutMs <= 0) return;
    pending.queueTimer = this.#context.clock.setTimeout(() => this.#queueTimedOut(pending), queueTimeoutMs);
  }

  /** Encodes a publish for this connection (request id, chunking by its `chunkBytes`) and queues it. */
  #schedule(connection: Connection, pending: PendingPublish): void {
    const limits = connection.welcome!.limits;
    if (pending.size > limits.maxMessageBytes) {
      this.#settle(pending, new SwitchboardError('message_too_big', `${pending.size} bytes exceed the broker's maxMessageBytes ${limits.maxMessageBytes}`, { topic: pending.topic }));
      return;
    }
    if (pending.ack) {
      pending.requestId = this.#context.nextRequestId();
      this.#inflight.set(pending.requestId, pending);
    }
    const header: PublishHeader = {
      op: 'publish',
      ...(pending.requestId === undefined ? {} : { id: pending.requestId }),
      topic: pending.topic,
      priority: pending.priority,
      ...(pending.key === undefined ? {} : { key: pending.key }),
    };
    pending.phase = 'scheduled';
    this.#order.sent(pending);
    connection.push(this.#outgoing(connection, pending, header, limits.chunkBytes));
  }

  #outgoing(connection: Connection, pending: PendingPublish, header: PublishHeader, chunkBytes: number): Outgoing<PendingPublish> {
    const { payload, priority } = pending;
    if (pending.size <= chunkBytes || pending.size === 0) {
      const frame = 'binary' in payload ? () => encodeBinary(header, payload.binary) : () => joinTextWithData(JSON.stringify(header), payload.json);
      return { priority, frames: 1, frame, tag: pending };
    }
    // protocol.md §7.1: larger payloads MUST travel as chunks.
    const transfer = connection.nextTransfer++;
    pending.transfer = transfer;
    connection.transfers.set(transfer, pending);
    const bytes = 'binary' in payload ? payload.binary : utf8.encode(payload.json);
    const chunks = splitIntoChunks(header, bytes, chunkBytes, { transfer, encoding: 'binary' in payload ? 'binary' : 'json' });
    return {
      priority,
      frames: chunks.length,
      frame: (index) => {
        const { data, ...chunkHeader } = chunks[index]!;
        return encodeBinary(chunkHeader as ClientChunkHeader, data);
      },
      transfer: { id: transfer, total: bytes.length },
      tag: pending,
    };
  }

  #queueTimedOut(pending: PendingPublish): void {
    pending.queueTimer = undefined;
    if (pending.phase !== 'queued' && pending.phase !== 'scheduled' && pending.phase !== 'retrying') return;
    const { state } = this.#context;
    const waited = `waited ${this.#context.settings.queueTimeoutMs} ms without being sent`;
    this.#settle(
      pending,
      new SwitchboardError(ClientErrorCode.sendTimeout, `the publish to ${pending.topic} ${waited}${state === 'connected' ? '' : ` (${state})`}`, {
        topic: pending.topic,
        ...(pending.lastError === undefined ? {} : { cause: pending.lastError }),
      }),
    );
  }

  #abort(pending: PendingPublish, reason: unknown): void {
    if (pending.phase === 'settled') return;
    const error = new SwitchboardError(ClientErrorCode.aborted, `the publish to ${pending.topic} was aborted`, { topic: pending.topic, cause: reason });
    this.#settle(pending, error, true);
  }

  /**
   * Ends a publish: takes it out of wherever it waits (cancelling a half-sent transfer when
   * `cancelTransfer`, protocol.md §7.4) and settles its promise.
   */
  #settle(pending: PendingPublish, outcome: PublishAck | SwitchboardError | undefined, cancelTransfer = false): void {
    if (pending.phase === 'settled') return;
    const { connection, clock } = this.#context;
    const released = this.#order.settled(pending, this.#mayBeApplied(pending, outcome));
    if (pending.phase === 'queued') {
      const index = this.#outbox.indexOf(pending);
      if (index >= 0) this.#outbox.splice(index, 1);
    } else if ((pending.phase === 'scheduled' || pending.phase === 'writing') && connection !== undefined) {
      const removal = connection.sendQueue.remove(pending);
      if (removal?.started === true && cancelTransfer) {
        // protocol.md §7.4: the sender cancels a transfer whose first chunk it wrote, and drops the rest.
        // (When the broker abandoned the transfer itself, it needs no cancel.)
        connection.send({ op: 'cancel', transfer: removal.transfer });
      }
    }
    if (pending.transfer !== undefined) connection?.transfers.delete(pending.transfer);
    if (pending.requestId !== undefined) this.#inflight.delete(pending.requestId);
    this.#retrying.delete(pending);
    this.#uncount(pending);
    pending.phase = 'settled';
    clock.clearTimeout(pending.queueTimer);
    clock.clearTimeout(pending.ackTimer);
    clock.clearTimeout(pending.retryTimer);
    pending.detachSignal?.();
    if (outcome instanceof SwitchboardError) pending.reject(outcome);
    else pending.resolve(outcome);
    for (const next of released) this.#enqueue(next);
  }

  /**
   * A retryable refusal: try again after `retryAfterMs` (or a backoff), unless the retries are used up, or a
   * resend might publish it twice (`internal`, and `unavailable`, which also answers a publish the engine
   * timed out on, are resent only with a key), or would land it behind a later publish of its topic.
   */
  #retryOrSettle(pending: PendingPublish, error: SwitchboardError): void {
    const { settings, connection, clock } = this.#context;
    const mayBeApplied = this.#mayBeApplied(pending, error);
    if (
      !error.retryable ||
      pending.retries >= settings.publishRetries ||
      (mayBeApplied && pending.key === undefined) ||
      this.#order.overtaken(pending)
    ) {
      this.#settle(pending, error);
      return;
    }
    this.#order.ended(pending, mayBeApplied);
    if (connection !== undefined && (pending.phase === 'scheduled' || pending.phase === 'writing')) connection.sendQueue.remove(pending);
    if (pending.transfer !== undefined) connection?.transfers.delete(pending.transfer);
    if (pending.requestId !== undefined) this.#inflight.delete(pending.requestId);
    clock.clearTimeout(pending.ackTimer);
    pending.requestId = undefined;
    pending.transfer = undefined;
    pending.lastError = error;
    pending.retries += 1;
    this.#count(pending);
    pending.phase = 'retrying';
    this.#retrying.add(pending);
    this.#order.retrying(pending);
    const delay = error.retryAfterMs ?? reconnectDelay(pending.retries, 'backoff', settings.reconnect, settings.random);
    pending.retryTimer = clock.setTimeout(() => {
      pending.retryTimer = undefined;
      if (pending.phase !== 'retrying') return;
      // A later publish of its topic, sent before this one was refused, was applied or is still unanswered.
      if (this.#order.overtaken(pending) || this.#order.awaitingLater(pending)) return this.#settle(pending, error);
      this.#retrying.delete(pending);
      const released = this.#order.resent(pending);
      this.#enqueue(pending);
      for (const next of released) this.#enqueue(next);
    }, delay);
  }

  /** Whether a publish that ends with `outcome` may have been applied (publish-order.ts). */
  #mayBeApplied(pending: PendingPublish, outcome: PublishAck | SwitchboardError | undefined): boolean {
    if (!(outcome instanceof SwitchboardError)) return true;
    return pending.phase === 'written' && !definiteRefusals.has(outcome.code);
  }

  #count(pending: PendingPublish): void {
    if (pending.counted) return;
    pending.counted = true;
    this.#queuedMessages += 1;
    this.#queuedBytes += pending.size;
  }

  #uncount(pending: PendingPublish): void {
    if (!pending.counted) return;
    pending.counted = false;
    this.#queuedMessages -= 1;
    this.#queuedBytes -= pending.size;
  }
}

/** Bytes in any of the forms an application may hold them (`Buffer` is a `Uint8Array`), as a `Uint8Array` view. */
function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
