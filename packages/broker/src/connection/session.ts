import type { IncomingHttpHeaders } from 'node:http';
import {
  ChunkAssembler,
  type ClientChunkMessage,
  type ClientMessage,
  type ErrorMessage,
  type GapReason as WireGapReason,
  type ProtocolError,
  ProtocolCloseCode,
  ProtocolErrorCode,
  type PublishMessage,
  type RecoveryResult,
  type RefreshMessage,
  SUBPROTOCOL,
  type ServerLimits,
  type SubscribeMessage,
  type TextMessage,
  type UnsubscribeMessage,
  decodeClientMessage,
  encodeText,
} from '@switchboard/protocol';
import { ReadyState, type MessageData, type WebSocket } from '@switchboard/core';
import type { Logger } from 'pino';
import { type AuthHook, type Identity, runAuthHook } from '../auth/authenticator.js';
import { Permissions } from '../auth/permissions.js';
import { Deque } from '../collections/deque.js';
import type { Config } from '../config/config.js';
import type { Payload, Publication, StreamPosition } from '../engine/engine.js';
import { RecoveryGate } from '../history/recovery-gate.js';
import { planRecovery } from '../history/recovery-plan.js';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { type CompressionVariant, type Delivery, type Frames, frame } from '../hub/delivery.js';
import type { Hub, HubSubscriber, OutageGap } from '../hub/hub.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { BrokerStats } from '../stats.js';
import type { Gap } from './gap-tracker.js';
import { type EnqueueResult, type OutboundFrame, type OutboundItem, SendQueue } from './send-queue.js';

/** What every session of a broker shares. */
export interface SessionContext {
  readonly config: Config;
  readonly hub: Hub;
  readonly stats: BrokerStats;
  readonly logger: Logger;
  readonly authenticate: AuthHook;
  /** Sent in `welcome` (protocol.md §12); they bind both directions. */
  readonly limits: ServerLimits;
  /** Milliseconds since the Unix epoch (token expiry, chunk timeouts). */
  readonly now: () => number;
  /** Milliseconds on a monotonic clock (the publish rate limiter). */
  readonly monotonicNow: () => number;
  /** Called once, when the connection has ended and the session has released everything. */
  readonly onClosed: (session: Session) => void;
}

export interface SessionInit {
  readonly websocket: WebSocket;
  readonly connectionId: string;
  readonly identity: Identity;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  readonly variant: CompressionVariant;
}

export type SessionState = 'open' | 'closing' | 'closed';

/**
 * Error codes that count as invalid input toward `maxInvalidMessages` (protocol.md §10: "a connection keeps
 * sending invalid messages"). Refusals of well-formed requests (forbidden, rate_limited, ...) do not count.
 */
const invalidInputCodes: ReadonlySet<string> = new Set([
  ProtocolErrorCode.malformed,
  ProtocolErrorCode.headerTooBig,
  ProtocolErrorCode.unknownOp,
  ProtocolErrorCode.badRequest,
  ProtocolErrorCode.chunkOutOfOrder,
  ProtocolErrorCode.chunkSizeMismatch,
  ProtocolErrorCode.unknownTransfer,
  ProtocolErrorCode.duplicateTransfer,
]);

/** The send queue's gap reasons as pubsub.v1 names them (protocol.md §8.3). */
const wireGapReasons: Record<Gap['reason'], WireGapReason> = { dropped: 'slow_consumer', conflated: 'conflation' };

/** Longest delay `setTimeout` takes (2^31-1 ms); longer waits are re-armed. */
const maxTimerDelay = 2_147_483_647;

const emptyFrame: OutboundFrame<Frames> = Object.freeze({ bytes: 0, payload: Object.freeze([]) as Frames });

type ErrorFields = Omit<ErrorMessage, 'op'>;

/** A recovered topic's missed deliveries, encoded, and the position they reach (or the current one, if failed). */
interface Replay {
  readonly items: readonly OutboundItem<Frames>[];
  readonly after: StreamPosition;
}

function itemBytes(item: OutboundItem<Frames>): number {
  return 'chunks' in item ? item.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0) : item.bytes;
}

/**
 * One pubsub.v1 connection: decodes and validates every inbound message, answers requests, holds the
 * connection's subscriptions in the hub, reassembles chunked publishes, and pumps the priority send queue
 * into the socket only while its `bufferedAmount` is under the high-water mark (resuming on `drain`), so a
 * slow reader costs at most `maxQueuedBytes` of broker memory and never delays anyone else.
 *
 * Inbound messages are handled in order. A request that waits for the engine (subscribe, refresh) holds
 * back the ones after it, so "subscribe, then publish" behaves as written; publishes are handed to the
 * engine in order without waiting (the engine keeps their order), and their acks follow when it confirms.
 */
export class Session implements HubSubscriber {
  readonly connectionId: string;
  readonly variant: CompressionVariant;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  /**
   * Created when a delivery cannot be written at once and dropped once it is empty again: a subscriber that
   * keeps up never has one (the fast path in `enqueue`), which keeps an idle connection small.
   */
  private sendQueue: SendQueue<Frames> | undefined;
  private readonly websocket: WebSocket;
  private readonly context: SessionContext;
  private readonly config: Config;
  private sessionLogger: Logger | undefined;
  private chunkAssembler: ChunkAssembler<ClientChunkMessage> | undefined;
  private readonly bucket: TokenBucket | undefined;
  private identity: Identity;
  private permissions: Permissions;
  private currentState: SessionState = 'open';
  /** Patterns subscribed, or being subscribed (they count toward the limit while the engine answers). */
  private readonly subscriptions = new Set<string>();
  /**
   * Topics being recovered: their live deliveries wait here until the replay is queued (protocol.md §6.5),
   * capped like the send queue, since they are owed deliveries too. Created on first use.
   */
  private recoveryGate: RecoveryGate<Delivery> | undefined;
  private readonly inbound = new Deque<ClientMessage | (() => void)>();
  private inboundBusy = false;
  private publishesInFlight = 0;
  private invalidMessages = 0;
  private rateLimitedInARow = 0;
  private pumping = false;
  private reportedQueuedBytes = 0;
  private heardSincePing = true;
  private closeCode: number | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private chunkTimer: NodeJS.Timeout | undefined;
  private chunkTimerAt: number | undefined;

  constructor(init: SessionInit, context: SessionContext) {
    this.websocket = init.websocket;
    this.connectionId = init.connectionId;
    this.variant = init.variant;
    this.headers = init.headers;
    this.remoteAddress = init.remoteAddress;
    this.identity = init.identity;
    this.permissions = new Permissions(init.identity.grants);
    this.context = context;
    this.config = context.config;
    this.bucket =
      this.config.publishRatePerSecond > 0
        ? new TokenBucket({ capacity: this.config.publishRateBurst, refillPerSecond: this.config.publishRatePerSecond, now: context.monotonicNow })
        : undefined;
  }

  // Created on first use: most connections never log, and never publish in chunks, and at 10,000s of
  // connections a pino child and an assembler each are kilobytes per connection (pnpm bench memory).
  private get logger(): Logger {
    return (this.sessionLogger ??= this.context.logger.child({ connectionId: this.connectionId }));
  }

  private get assembler(): ChunkAssembler<ClientChunkMessage> {
    return (this.chunkAssembler ??= new ChunkAssembler<ClientChunkMessage>(this.context.limits, { now: this.context.now }));
  }

  /** The send queue, created if there is none yet (tests and diagnostics; see `sendQueue`). */
  get queue(): SendQueue<Frames> {
    return (this.sendQueue ??= new SendQueue<Frames>({
      maxQueuedBytes: this.config.maxQueuedBytes,
      defaultOverflow: this.config.slowConsumerPolicy,
      maxPendingGaps: this.config.maxPendingGaps,
      encodeGap: (gap) => this.encodeGap(gap),
    }));
  }

  private get gate(): RecoveryGate<Delivery> {
    return (this.recoveryGate ??= new RecoveryGate<Delivery>({
      positionOf: (delivery) => delivery.publication,
      weigh: (delivery) => itemBytes(delivery.itemFor(this.variant)),
      maxHeldBytes: this.config.maxQueuedBytes,
    }));
  }

  /** The send queue if this connection has one now; metrics read only those. */
  get queueIfAny(): SendQueue<Frames> | undefined {
    return this.sendQueue;
  }

  get state(): SessionState {
    return this.currentState;
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Nothing left to write, in the queue or in the socket: a graceful shutdown may close now. */
  get flushed(): boolean {
    return (this.sendQueue?.isEmpty ?? true) && this.websocket.bufferedAmount === 0;
  }

  /** Sends `welcome` and starts serving. Call once, right after the upgrade. */
  start(): void {
    const { websocket } = this;
    websocket.on('message', (data, isBinary) => this.receive(data, isBinary));
    websocket.on('drain', () => this.pump());
    websocket.on('pong', () => {
      this.heardSincePing = true;
    });
    websocket.on('ping', () => {
      this.heardSincePing = true;
    });
    websocket.on('error', (error) => this.logger.debug({ err: error }, 'websocket error'));
    websocket.on('close', (code, reason) => this.finish(code, reason));
    const { expiresAt } = this.identity;
    this.sendControl({
      op: 'welcome',
      protocol: SUBPROTOCOL,
      connectionId: this.connectionId,
      node: this.config.nodeName,
      limits: this.context.limits,
      ...(expiresAt === undefined ? {} : { tokenExpiresAt: Math.floor(expiresAt) }),
    });
    this.scheduleTokenExpiry();
    if (this.config.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.keepalive(), this.config.pingIntervalMs);
      this.pingTimer.unref();
    }
  }

  /**
   * Ends the connection with a pubsub.v1 close code (protocol.md §11). Subscriptions and reassembly buffers
   * are released at once; queued messages are not sent.
   */
  close(code: number, reason: string): void {
    if (this.currentState !== 'open') return;
    this.currentState = 'closing';
    this.closeCode = code;
    this.release();
    if (this.websocket.readyState === ReadyState.OPEN) this.websocket.close(code, reason);
    else this.websocket.terminate();
  }

  /** Queues a publication for this connection (called by the hub's fan-out). */
  deliver(delivery: Delivery): void {
    if (this.currentState !== 'open') return;
    const admission = this.recoveryGate?.admit(delivery.publication.topic, delivery) ?? 'pass';
    if (admission === 'pass') {
      this.enqueue(delivery.itemFor(this.variant));
    } else if (admission === 'overflow') {
      // A history read that takes long under heavy traffic must not buffer without bound. Nothing may be
      // dropped here (the replay has not been queued yet), so the connection goes as a slow consumer and
      // recovers after reconnecting.
      this.context.stats.slowConsumerCloses++;
      this.close(ProtocolCloseCode.slowConsumer, 'deliveries waiting for a recovery over the send queue cap');
    }
  }

  /** Announces offsets the engine lost for good (protocol.md §8.3 `engine_outage`); control, never dropped. */
  notifyGap(gap: OutageGap): void {
    if (this.currentState !== 'open') return;
    const { stats } = this.context;
    stats.increment(stats.gapNotices, 'engine_outage');
    this.sendControl({ op: 'gap', topic: gap.topic, epoch: gap.epoch, from: gap.from, to: gap.to, reason: 'engine_outage' });
  }

  // -------------------------------------------------------------------------------------------------------
  // Inbound
  // -------------------------------------------------------------------------------------------------------

  private receive(data: MessageData, isBinary: boolean): void {
    this.heardSincePing = true;
    if (this.currentState !== 'open') return;
    const { stats } = this.context;
    stats.messagesReceived++;
    stats.bytesReceived += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    const decoded = decodeClientMessage(isBinary ? (data as Buffer | ArrayBuffer) : (data as string));
    if (!decoded.ok) {
      // Abandon a transfer whose chunk failed to decode, in order with its other chunks (protocol.md §7.3).
      this.schedule(() => {
        if (decoded.transfer !== undefined) this.assembler.abandon(decoded.transfer);
        this.reject(decoded.error, { id: decoded.id, transfer: decoded.transfer });
      });
      return;
    }
    this.schedule(decoded.message);
  }

  /** Runs inbound work in arrival order; work that waits for the engine holds back what follows. */
  private schedule(message: ClientMessage | (() => void)): void {
    if (this.inboundBusy) {
      if (this.inbound.length >= this.config.maxPendingRequests) {
        this.close(ProtocolCloseCode.unavailable, 'too many requests waiting for the engine');
        return;
      }
      this.inbound.push(message);
      return;
    }
    void this.runInbound(message);
  }

  private async runInbound(first: ClientMessage | (() => void)): Promise<void> {
    this.inboundBusy = true;
    let next: ClientMessage | (() => void) | undefined = first;
    while (next !== undefined && this.currentState === 'open') {
      try {
        const pending = typeof next === 'function' ? next() : this.handle(next);
        if (pending !== undefined) await pending;
      } catch (error) {
        this.internalError(error);
      }
      next = this.inbound.shift();
    }
    this.inboundBusy = false;
  }

  private handle(message: ClientMessage): Promise<void> | undefined {
    switch (message.op) {
      case 'subscribe':
        return this.subscribe(message);
      case 'unsubscribe':
        this.unsubscribe(message);
        return undefined;
      case 'publish':
        this.publish(message);
        return undefined;
      case 'chunk':
        this.receiveChunk(message);
        return undefined;
      case 'cancel':
        // protocol.md §7.4: the sender abandons its transfer; no response, unknown ids are ignored.
        this.assembler.abandon(message.transfer);
        this.armChunkTimer();
        return undefined;
      case 'refresh':
        return this.refresh(message);
      case 'ping':
        this.sendControl({ op: 'pong', id: message.id });
        return undefined;
    }
  }

  private async subscribe(message: SubscribeMessage): Promise<void> {
    const { id, pattern, since } = message;
    if (this.subscriptions.has(pattern)) {
      this.sendError({ id, code: ProtocolErrorCode.alreadySubscribed, message: `already subscribed to ${pattern}` });
      return;
    }
    if (!this.permissions.canSubscribe(pattern)) {
      this.sendError({ id, code: ProtocolErrorCode.forbidden, message: `subscribe to ${pattern} is not permitted` });
      return;
    }
    if (this.subscriptions.size >= this.config.maxSubscriptions) {
      this.sendError({
        id,
        code: ProtocolErrorCode.tooManySubscriptions,
        message: `a connection may hold ${this.config.maxSubscriptions} subscriptions`,
      });
      return;
    }
    const positions = since === undefined ? [] : (Object.entries(since) as [string, StreamPosition][]);
    const topics = positions.map(([topic]) => topic);
    this.subscriptions.add(pattern);
    // Live deliveries of recovered topics wait until their replay is queued (protocol.md §6 rule 5).
    for (const topic of topics) this.gate.hold(topic);
    const { hub } = this.context;
    let recovery: Record<string, RecoveryResult> | undefined;
    const replays = new Map<string, Replay>();
    try {
      await hub.subscribe(this, pattern);
      if (positions.length > 0) {
        const limit = this.config.maxRecoveryMessages;
        const histories = await Promise.all(positions.map(([topic, position]) => hub.history(topic, { since: position, limit })));
        recovery = {};
        // The whole replay is queued at once, so all topics together get one byte budget: a topic whose
        // replay would not fit fails recovery (the client resyncs) instead of being dropped from the queue
        // right after it was reported recovered.
        let budget = this.config.maxRecoveryBytes;
        // Weighing a publication encodes it: keep the item for the replay.
        const encoded = new Map<Publication, OutboundItem<Frames>>();
        const itemOf = (publication: Publication): OutboundItem<Frames> => {
          let item = encoded.get(publication);
          if (item === undefined) encoded.set(publication, (item = hub.deliveryOf(publication).itemFor(this.variant)));
          return item;
        };
        const weigh = (publication: Publication): number => itemBytes(itemOf(publication));
        for (const [index, history] of histories.entries()) {
          const [topic, position] = positions[index] as [string, StreamPosition];
          const plan = planRecovery(history, position, { maxMessages: limit, maxBytes: budget, weigh });
          const { result } = plan;
          recovery[topic] = result;
          // protocol.md §8.2: a failed recovery replays nothing; the answer itself announces the loss.
          const recovered = result.status === 'recovered';
          if (recovered) budget -= plan.replayBytes;
          const items = recovered ? plan.replay.map(itemOf) : [];
          replays.set(topic, { items, after: { epoch: result.epoch, offset: result.offset } });
        }
      }
    } catch (error) {
      if (this.currentState !== 'open') return;
      this.subscriptions.delete(pattern);
      hub.unsubscribe(this, pattern);
      this.endRecovery(topics, new Map());
      this.failRequest(error, { id }, `subscribe to ${pattern}`);
      return;
    }
    if (this.currentState !== 'open') return;
    this.sendControl({ op: 'subscribed', id, pattern, ...(recovery === undefined ? {} : { recovery }) });
    this.endRecovery(topics, replays);
  }

  /**
   * Queues each recovered topic's replay, then the live deliveries that waited, skipping those the replay
   * or the reported position already covers.
   */
  private endRecovery(topics: readonly string[], replays: ReadonlyMap<string, Replay>): void {
    const gate = this.recoveryGate;
    if (gate === undefined) return;
    for (const topic of topics) {
      const replay = replays.get(topic);
      const waiting = gate.release(topic, replay?.after);
      for (const item of replay?.items ?? []) this.enqueue(item);
      for (const delivery of waiting) this.enqueue(delivery.itemFor(this.variant));
    }
  }

  private unsubscribe(message: UnsubscribeMessage): void {
    const { id, pattern } = message;
    if (!this.subscriptions.has(pattern)) {
      this.sendError({ id, code: ProtocolErrorCode.notSubscribed, message: `not subscribed to ${pattern}` });
      return;
    }
    this.subscriptions.delete(pattern);
    this.context.hub.unsubscribe(this, pattern);
    this.sendControl({ op: 'unsubscribed', id, pattern });
  }

  private publish(message: PublishMessage): void {
    const { id, topic, priority, key, data } = message;
    // protocol.md §5.1: a failed publish without id still gets an error, naming the topic.
    const address = id === undefined ? { topic } : { id };
    if (!this.permissions.canPublish(topic)) {
      this.sendError({ ...address, code: ProtocolErrorCode.forbidden, message: `publish to ${topic} is not permitted` });
      return;
    }
    if (this.bucket !== undefined && !this.bucket.tryTake()) {
      this.rateLimitedInARow++;
      this.sendError({
        ...address,
        code: ProtocolErrorCode.rateLimited,
        message: `publish rate ${this.config.publishRatePerSecond}/s exceeded`,
        retryAfterMs: Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, this.bucket.msUntilAvailable())),
      });
      const limit = this.config.rateLimitCloseAfter;
      if (limit > 0 && this.rateLimitedInARow >= limit) {
        this.close(ProtocolCloseCode.rateLimited, 'kept publishing over the rate limit');
      }
      return;
    }
    this.rateLimitedInARow = 0;
    const payload: Payload = data instanceof Uint8Array ? { encoding: 'binary', bytes: data } : { encoding: 'json', text: JSON.stringify(data) };
    const size = payload.encoding === 'binary' ? payload.bytes.length : Buffer.byteLength(payload.text, 'utf8');
    if (size > this.config.maxMessageBytes) {
      this.sendError({
        ...address,
        code: ProtocolErrorCode.messageTooBig,
        message: `payload of ${size} bytes exceeds maxMessageBytes ${this.config.maxMessageBytes}`,
      });
      return;
    }
    if (this.publishesInFlight >= this.config.maxPendingRequests) {
      this.close(ProtocolCloseCode.unavailable, 'too many publishes waiting for the engine');
      return;
    }
    this.publishesInFlight++;
    this.context.hub.publish(topic, payload, { priority, idempotencyKey: key }).then(
      (result) => {
        this.publishesInFlight--;
        this.context.stats.publishesWebSocket++;
        if (id === undefined) return;
        const position = this.config.historySize > 0 ? { offset: result.offset, epoch: result.epoch } : {};
        this.sendControl({ op: 'published', id, ...position, ...(result.duplicate ? { duplicate: true } : {}) });
      },
      (error: unknown) => {
        this.publishesInFlight--;
        this.failRequest(error, address, `publish to ${topic}`);
      },
    );
  }

  private receiveChunk(chunk: ClientChunkMessage): void {
    const result = this.assembler.receive(chunk);
    switch (result.status) {
      case 'pending': {
        const header = chunk.header;
        // Refuse a forbidden upload at its first chunk rather than after buffering all of it.
        if (chunk.index === 0 && header !== undefined && !this.permissions.canPublish(header.topic)) {
          this.assembler.abandon(chunk.transfer);
          this.sendError({
            ...(header.id === undefined ? { topic: header.topic } : { id: header.id }),
            code: ProtocolErrorCode.forbidden,
            message: `publish to ${header.topic} is not permitted`,
            transfer: chunk.transfer,
          });
        }
        break;
      }
      case 'complete':
        this.publish(result.message);
        break;
      case 'ignored':
        break;
      case 'rejected': {
        const header = result.header;
        const address = header === undefined ? {} : header.id === undefined ? { topic: header.topic } : { id: header.id };
        this.reject(result.error, { ...address, transfer: result.transfer });
        break;
      }
    }
    this.armChunkTimer();
  }

  private async refresh(message: RefreshMessage): Promise<void> {
    const outcome = await runAuthHook(this.context.authenticate, {
      kind: 'refresh',
      token: message.token,
      headers: this.headers,
      remoteAddress: this.remoteAddress,
    });
    if (this.currentState !== 'open') return;
    if (!outcome.ok) {
      if (outcome.hookError !== undefined) this.logger.error({ err: outcome.hookError }, 'auth hook failed on refresh');
      this.sendError({ id: message.id, code: outcome.code, message: outcome.message });
      // protocol.md §9: the hook denying a refresh revokes the connection (4403, do not reconnect). A hook
      // that threw is a fault on our side, not a verdict: the connection keeps its grants until expiry.
      if (outcome.code === ProtocolErrorCode.forbidden && outcome.hookError === undefined) {
        this.close(ProtocolCloseCode.forbidden, 'access revoked');
      }
      return;
    }
    this.identity = outcome.identity;
    this.permissions = new Permissions(outcome.identity.grants);
    this.scheduleTokenExpiry();
    const { expiresAt } = outcome.identity;
    this.sendControl({ op: 'refreshed', id: message.id, ...(expiresAt === undefined ? {} : { tokenExpiresAt: Math.floor(expiresAt) }) });
    // protocol.md §9: subscriptions the new token no longer allows end, with `forbidden`.
    for (const pattern of [...this.subscriptions]) {
      if (this.permissions.canSubscribe(pattern)) continue;
      this.subscriptions.delete(pattern);
      this.context.hub.unsubscribe(this, pattern);
      this.sendControl({ op: 'unsubscribed', pattern, code: ProtocolErrorCode.forbidden });
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Errors
  // -------------------------------------------------------------------------------------------------------

  /** Answers invalid input and closes with 4400 once the connection has sent too much of it. */
  private reject(error: ProtocolError, fields: { id?: number | undefined; topic?: string | undefined; transfer?: number | undefined }): void {
    this.sendError({
      ...(fields.id === undefined ? {} : { id: fields.id }),
      ...(fields.topic === undefined ? {} : { topic: fields.topic }),
      ...(fields.transfer === undefined ? {} : { transfer: fields.transfer }),
      code: error.code,
      message: error.message,
    });
    if (!invalidInputCodes.has(error.code)) return;
    this.invalidMessages++;
    if (this.invalidMessages > this.config.maxInvalidMessages) {
      this.close(ProtocolCloseCode.protocolViolation, 'too many invalid messages');
    }
  }

  /** Maps an engine failure to `unavailable` (retryable) or `internal`. */
  private failRequest(error: unknown, address: { id: number } | { topic: string } | { id?: number }, what: string): void {
    if (error instanceof BrokerError && error.code === BrokerErrorCode.engineUnavailable) {
      this.sendError({
        ...address,
        code: ProtocolErrorCode.unavailable,
        message: `${what} failed: the engine is unavailable`,
        retryAfterMs: this.config.httpRetryAfterSeconds * 1000,
      });
      return;
    }
    this.logger.error({ err: error }, `${what} failed`);
    this.sendError({ ...address, code: ProtocolErrorCode.internal, message: `${what} failed` });
  }

  private internalError(error: unknown): void {
    this.logger.error({ err: error }, 'session failed');
    this.close(ProtocolCloseCode.internalError, 'internal error');
  }

  private sendError(fields: ErrorFields): void {
    this.context.stats.increment(this.context.stats.errors, fields.code);
    this.sendControl({ op: 'error', ...fields });
  }

  // -------------------------------------------------------------------------------------------------------
  // Outbound
  // -------------------------------------------------------------------------------------------------------

  /** Queues a control message (acks, errors, welcome): above every delivery, never dropped. */
  private sendControl(message: TextMessage): void {
    if (this.currentState !== 'open') return;
    const encoded = frame(Buffer.from(encodeText(message), 'utf8'), false, this.variant.compressor);
    this.enqueue({ priority: 'control', ...encoded });
  }

  private enqueue(item: OutboundItem<Frames>): void {
    if (this.currentState !== 'open') return;
    const { websocket } = this;
    if (
      !this.pumping &&
      !('chunks' in item) &&
      // Same as `queue.isEmpty` without walking the lanes: every queued frame has bytes.
      (this.sendQueue === undefined || (this.sendQueue.queuedBytes === 0 && this.sendQueue.pendingGaps === 0)) &&
      websocket.readyState === ReadyState.OPEN &&
      websocket.bufferedAmount < this.config.highWaterMarkBytes
    ) {
      // Fast path: nothing is waiting and the socket has room, so the queue would hand this frame straight
      // back; write it without the bookkeeping (the common case for a subscriber that keeps up).
      websocket.sendFrames(item.payload);
      this.context.stats.framesWritten++;
      this.context.stats.bytesWritten += item.bytes;
      return;
    }
    const result: EnqueueResult = this.queue.enqueue(item);
    if (result.outcome === 'disconnect') {
      this.syncQueuedBytes();
      this.context.stats.slowConsumerCloses++;
      this.close(
        ProtocolCloseCode.slowConsumer,
        result.reason === 'queue-full' ? 'send queue over its cap' : 'too many unannounced losses',
      );
      return;
    }
    const dropped = result.evicted + (result.outcome === 'dropped' ? 1 : 0);
    if (dropped > 0) this.context.stats.deliveriesDropped += dropped;
    this.pump();
  }

  /** Writes from the queue while the socket's buffer is under the high-water mark; `drain` resumes it. */
  private pump(): void {
    const queue = this.sendQueue;
    if (this.pumping || queue === undefined) return;
    this.pumping = true;
    const { websocket } = this;
    const { stats } = this.context;
    const highWaterMark = this.config.highWaterMarkBytes;
    try {
      // Corked: a burst of frames leaves in one writev. `bufferedAmount` still counts corked bytes.
      websocket.corked(() => {
        while (this.currentState === 'open' && websocket.readyState === ReadyState.OPEN && websocket.bufferedAmount < highWaterMark) {
          const next = queue.next();
          if (next === undefined) break;
          if (next.payload.length === 0) continue;
          websocket.sendFrames(next.payload);
          stats.framesWritten++;
          stats.bytesWritten += next.bytes;
        }
      });
    } finally {
      this.pumping = false;
    }
    this.syncQueuedBytes();
    // Emptied: let it go. A failed queue stays, since it answers every later enqueue with `disconnect`.
    if (queue.isEmpty && queue.failed === undefined) this.sendQueue = undefined;
  }

  private encodeGap(gap: Gap): OutboundFrame<Frames> {
    // Every delivery carries its offset and epoch, so every gap has a range (protocol.md §8.3).
    if (gap.epoch === undefined || gap.from === undefined || gap.to === undefined) return emptyFrame;
    const reason = wireGapReasons[gap.reason];
    this.context.stats.increment(this.context.stats.gapNotices, reason);
    const text = encodeText({ op: 'gap', topic: gap.topic, epoch: gap.epoch, from: gap.from, to: gap.to, reason });
    return frame(Buffer.from(text, 'utf8'), false, this.variant.compressor);
  }

  /** Keeps the node-wide queued-bytes figure (metrics, POST /publish saturation) in step with this queue. */
  private syncQueuedBytes(): void {
    const now = this.currentState === 'open' ? (this.sendQueue?.queuedBytes ?? 0) : 0;
    this.context.stats.queuedBytes += now - this.reportedQueuedBytes;
    this.reportedQueuedBytes = now;
  }

  // -------------------------------------------------------------------------------------------------------
  // Timers and teardown
  // -------------------------------------------------------------------------------------------------------

  private keepalive(): void {
    if (this.currentState !== 'open') return;
    if (!this.heardSincePing) {
      this.close(ProtocolCloseCode.pingTimeout, 'no answer to ping');
      return;
    }
    this.heardSincePing = false;
    if (this.websocket.readyState === ReadyState.OPEN) this.websocket.ping();
  }

  /** protocol.md §9: at expiry, `token_expired` and `tokenGraceMs` to refresh, then 4102. */
  private scheduleTokenExpiry(): void {
    clearTimeout(this.expiryTimer);
    clearTimeout(this.graceTimer);
    this.expiryTimer = undefined;
    this.graceTimer = undefined;
    const { expiresAt } = this.identity;
    if (expiresAt === undefined) return;
    const fire = (): void => {
      const remaining = expiresAt - this.context.now();
      if (remaining > 0) {
        this.expiryTimer = setTimeout(fire, Math.min(remaining, maxTimerDelay));
        this.expiryTimer.unref();
        return;
      }
      const grace = this.config.tokenGraceMs;
      this.sendError({ code: ProtocolErrorCode.tokenExpired, message: `token expired; refresh within ${grace} ms` });
      this.graceTimer = setTimeout(() => this.close(ProtocolCloseCode.tokenExpired, 'token expired'), grace);
      this.graceTimer.unref();
    };
    fire();
  }

  private armChunkTimer(): void {
    const at = this.assembler.nextExpiryAt();
    if (at === this.chunkTimerAt) return;
    clearTimeout(this.chunkTimer);
    this.chunkTimer = undefined;
    this.chunkTimerAt = at;
    if (at === undefined) return;
    this.chunkTimer = setTimeout(() => {
      this.chunkTimerAt = undefined;
      if (this.currentState !== 'open') return;
      for (const expired of this.assembler.expire()) {
        const { header } = expired;
        this.sendError({
          ...(header.id === undefined ? { topic: header.topic } : { id: header.id }),
          code: expired.error.code,
          message: expired.error.message,
          transfer: expired.transfer,
        });
      }
      this.armChunkTimer();
    }, Math.max(0, at - this.context.now()) + 1);
    this.chunkTimer.unref();
  }

  /** Drops subscriptions, buffers and timers: nothing of this connection stays referenced by the node. */
  private release(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.graceTimer);
    clearTimeout(this.chunkTimer);
    for (const pattern of this.subscriptions) this.context.hub.unsubscribe(this, pattern);
    this.subscriptions.clear();
    this.recoveryGate?.clear();
    this.chunkAssembler?.clear();
    while (this.inbound.shift() !== undefined);
    this.syncQueuedBytes();
  }

  private finish(code: number, reason: string): void {
    if (this.currentState === 'closed') return;
    const initiatedByUs = this.currentState === 'closing';
    this.currentState = 'closed';
    this.release();
    const { stats } = this.context;
    const closeCode = this.closeCode ?? code;
    stats.increment(stats.closes, closeCode);
    stats.connectionsClosed++;
    this.logger.debug({ code: closeCode, reason, initiatedByUs }, 'connection closed');
    this.context.onClosed(this);
  }
}
