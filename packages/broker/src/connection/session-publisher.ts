import { ChunkAssembler, type ClientChunkMessage, ProtocolCloseCode, ProtocolErrorCode, type PublishMessage } from '@switchboard/protocol';
import { type NamespaceSettings, payloadTooBig } from '../config/namespace-resolver.js';
import type { Payload } from '../engine/engine.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { SessionScope } from './session-context.js';
import { type RequestAddress, publishAddress } from './session-errors.js';
import { backendPublishPayload } from './session-proxy.js';

/**
 * A connection's publishes: permission, rate limit and size checks (by the topic's namespace), reassembly of
 * chunked publishes (with their timeout), and the hand-off to the hub. Publishes go to the engine in order
 * without waiting for each other (the engine keeps their order); their acks follow as the engine confirms.
 * Created on a connection's first publish: most connections only subscribe.
 */
export class SessionPublisher {
  private readonly session: SessionScope;
  /**
   * Token buckets by `publishRate.bucket` (`''`: the top-level PUBLISH_RATE one), created on a connection's
   * first publish under each; undefined for an unlimited rate.
   */
  private readonly buckets = new Map<string, TokenBucket | undefined>();
  private chunkAssembler: ChunkAssembler<ClientChunkMessage> | undefined;
  private inFlight = 0;
  private rateLimitedInARow = 0;
  private chunkTimer: NodeJS.Timeout | undefined;
  private chunkTimerAt: number | undefined;

  constructor(session: SessionScope) {
    this.session = session;
  }

  private bucketFor({ publishRate }: NamespaceSettings): TokenBucket | undefined {
    if (this.buckets.has(publishRate.bucket)) return this.buckets.get(publishRate.bucket);
    const { perSecond, burst } = publishRate;
    const bucket = perSecond > 0 ? new TokenBucket({ capacity: burst, refillPerSecond: perSecond, now: this.session.context.monotonicNow }) : undefined;
    this.buckets.set(publishRate.bucket, bucket);
    return bucket;
  }

  // Created on first use: most connections never publish in chunks, and at 10,000s of connections an
  // assembler each is kilobytes per connection (pnpm bench memory).
  private get assembler(): ChunkAssembler<ClientChunkMessage> {
    const { context } = this.session;
    return (this.chunkAssembler ??= new ChunkAssembler<ClientChunkMessage>(context.limits, { now: context.now }));
  }

  /**
   * Checks a publish and hands it to the hub. A publish the backend decides (protocol.md "Backend proxy")
   * returns the promise of that decision: the connection's next message waits for it, which keeps the
   * order of its publishes.
   */
  publish(message: PublishMessage): Promise<void> | undefined {
    const takenUpAt = performance.now();
    const { session } = this;
    const { config, context, outbound } = session;
    const { id, topic, data } = message;
    // protocol.md §5.1: a failed publish without id still gets an error, naming the topic.
    const address = publishAddress(id, topic);
    const proxyUrl = context.proxy?.routes.publishUrl(topic);
    if (proxyUrl === undefined && !session.permissions.canPublish(topic)) {
      outbound.sendError({ ...address, code: ProtocolErrorCode.forbidden, message: `publish to ${topic} is not permitted` });
      return;
    }
    const namespace = context.namespaces.namespaceFor(topic);
    const bucket = this.bucketFor(namespace);
    if (bucket !== undefined && !bucket.tryTake()) {
      this.rateLimitedInARow++;
      outbound.sendError({
        ...address,
        code: ProtocolErrorCode.rateLimited,
        message: `publish rate ${namespace.publishRate.perSecond}/s${namespace.publishRate.bucket === '' ? '' : ` for ${namespace.publishRate.bucket}`} exceeded`,
        retryAfterMs: Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, bucket.msUntilAvailable())),
      });
      const limit = config.rateLimitCloseAfter;
      if (limit > 0 && this.rateLimitedInARow >= limit) {
        session.close(ProtocolCloseCode.rateLimited, 'kept publishing over the rate limit');
      }
      return;
    }
    this.rateLimitedInARow = 0;
    const payload: Payload = data instanceof Uint8Array ? { encoding: 'binary', bytes: data } : { encoding: 'json', text: JSON.stringify(data) };
    const size = payload.encoding === 'binary' ? payload.bytes.length : Buffer.byteLength(payload.text, 'utf8');
    if (size > namespace.maxMessageBytes) {
      outbound.sendError({ ...address, code: ProtocolErrorCode.messageTooBig, message: payloadTooBig(size, namespace) });
      return;
    }
    if (proxyUrl !== undefined) {
      return backendPublishPayload(session, proxyUrl, topic, payload, address, namespace).then((allowed) => {
        if (allowed !== undefined && session.isOpen) this.store(message, allowed, address, takenUpAt);
      });
    }
    this.store(message, payload, address, takenUpAt);
    return undefined;
  }

  /** Hands an allowed publish to the hub; it is acknowledged once the engine has it. */
  private store(message: PublishMessage, payload: Payload, address: RequestAddress, takenUpAt: number): void {
    const { session } = this;
    const { config, context, outbound } = session;
    const { id, topic, priority, key } = message;
    const namespace = context.namespaces.namespaceFor(topic);
    if (this.inFlight >= config.maxPendingRequests) {
      session.close(ProtocolCloseCode.unavailable, 'too many publishes waiting for the engine');
      return;
    }
    this.inFlight++;
    context.hub.publish(topic, payload, { priority, idempotencyKey: key }).then(
      (result) => {
        this.inFlight--;
        context.stats.publishesWebSocket++;
        if (!result.duplicate) context.events?.published(topic, payload, result, session.presenceMember);
        if (id === undefined) return;
        const position = namespace.history === undefined ? {} : { offset: result.offset, epoch: result.epoch };
        outbound.sendControl({ op: 'published', id, ...position, ...(result.duplicate ? { duplicate: true } : {}) });
        context.stats.publishAckLatency.websocket.observe((performance.now() - takenUpAt) / 1000);
      },
      (error: unknown) => {
        this.inFlight--;
        session.failRequest(error, address, `publish to ${topic}`);
      },
    );
  }

  receiveChunk(chunk: ClientChunkMessage): Promise<void> | undefined {
    const { session } = this;
    const result = this.assembler.receive(chunk);
    let decided: Promise<void> | undefined;
    switch (result.status) {
      case 'pending': {
        const header = chunk.header;
        // Refuse a forbidden upload at its first chunk rather than after buffering all of it.
        const decidedByBackend = header !== undefined && session.context.proxy?.routes.publishUrl(header.topic) !== undefined;
        if (chunk.index === 0 && header !== undefined && !decidedByBackend && !session.permissions.canPublish(header.topic)) {
          this.assembler.abandon(chunk.transfer);
          session.outbound.sendError({
            ...publishAddress(header.id, header.topic),
            code: ProtocolErrorCode.forbidden,
            message: `publish to ${header.topic} is not permitted`,
            transfer: chunk.transfer,
          });
        }
        break;
      }
      case 'complete':
        decided = this.publish(result.message);
        break;
      case 'ignored':
        break;
      case 'rejected': {
        const header = result.header;
        const address = header === undefined ? {} : publishAddress(header.id, header.topic);
        session.reject(result.error, { ...address, transfer: result.transfer });
        break;
      }
    }
    this.armChunkTimer();
    return decided;
  }

  /** protocol.md §7.4: the sender abandons its transfer; no response, unknown ids are ignored. */
  cancel(transfer: number): void {
    this.assembler.abandon(transfer);
    this.armChunkTimer();
  }

  /** Drops a transfer whose chunk could not be decoded (protocol.md §7.3); its later chunks are ignored. */
  abandon(transfer: number): void {
    this.assembler.abandon(transfer);
  }

  /** Drops reassembly buffers and the chunk timer (the connection is closing). */
  release(): void {
    clearTimeout(this.chunkTimer);
    this.chunkAssembler?.clear();
  }

  private armChunkTimer(): void {
    const at = this.assembler.nextExpiryAt();
    if (at === this.chunkTimerAt) return;
    clearTimeout(this.chunkTimer);
    this.chunkTimer = undefined;
    this.chunkTimerAt = at;
    if (at === undefined) return;
    const { session } = this;
    this.chunkTimer = setTimeout(() => {
      this.chunkTimerAt = undefined;
      if (!session.isOpen) return;
      for (const expired of this.assembler.expire()) {
        const { header } = expired;
        session.outbound.sendError({
          ...publishAddress(header.id, header.topic),
          code: expired.error.code,
          message: expired.error.message,
          transfer: expired.transfer,
        });
      }
      this.armChunkTimer();
    }, Math.max(0, at - session.context.now()) + 1);
    this.chunkTimer.unref();
  }
}
