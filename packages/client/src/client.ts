import { InboundChunks } from './chunks.js';
import { closeAdvice } from './close-advice.js';
import type { Clock, TimerHandle } from './clock.js';
import {
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type PublishAck,
  type PublishOptions,
  type Settings,
  type StateChange,
  resolveSettings,
} from './client-options.js';
import { Emitter } from './emitter.js';
import { ClientErrorCode, type ErrorCode, SwitchboardError } from './errors.js';
import { type Position, PositionTracker } from './positions.js';
import {
  type ClientChunkHeader,
  type DeliveryHeader,
  type DeliveryMessage,
  type ErrorMessage,
  type GapMessage,
  type Priority,
  type ProtocolErrorCode,
  type PublishHeader,
  type RecoveryResult,
  type ServerLimits,
  type ServerMessage,
  type SubscribeMessage,
  type TextMessage,
  type UnsubscribeMessage,
  type WelcomeMessage,
  DEFAULT_PRIORITY,
  PRIORITIES,
  SUBPROTOCOL,
  decodeServerMessage,
  encodeBinary,
  encodeText,
  parsePattern,
  parseTopic,
  segmentsMatch,
  splitIntoChunks,
  utf8ByteLength,
} from './protocol/index.js';
import { joinTextWithData } from './protocol/encode.js';
import { Reconnector, reconnectDelay } from './reconnect.js';
import { type Outgoing, SendQueue } from './send-queue.js';
import { type Gap, type Message, type RecoveryFailure, type SubscribeAck, type SubscribeOptions, Subscription } from './subscription.js';
import { type RegistryEffect, SubscriptionRegistry } from './subscriptions.js';
import type { CheckPattern, CheckTopic, Checked, PayloadSchema, PublishData, SubscribeData, TopicMap, TopicsOf, UntypedTopics } from './topic-map.js';
import type { Transport, TransportClose } from './transport/transport.js';

/** Where a publish is. Unwritten phases count against the send queue limits. */
type PublishPhase = 'queued' | 'scheduled' | 'writing' | 'retrying' | 'written' | 'settled';

interface PendingPublish {
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
  requestId: number | undefined;
  transfer: number | undefined;
  retries: number;
  lastError: SwitchboardError | undefined;
  queueTimer: TimerHandle | undefined;
  ackTimer: TimerHandle | undefined;
  retryTimer: TimerHandle | undefined;
  detachSignal: (() => void) | undefined;
  resolve(ack: PublishAck | undefined): void;
  reject(error: SwitchboardError): void;
}

interface ControlTag {
  readonly kind: 'control';
}

type Tag = PendingPublish | ControlTag;

/** What the registry holds per `subscribe` call. */
interface LocalSubscription {
  readonly subscription: Subscription<unknown>;
  readonly handler: (message: Message<unknown>) => void;
  readonly options: SubscribeOptions;
}

interface Connection {
  readonly transport: Transport;
  readonly closed: Promise<void>;
  markClosed(): void;
  welcome: WelcomeMessage | undefined;
  sendQueue: SendQueue<Tag>;
  inbound: InboundChunks | undefined;
  nextTransfer: number;
  /** Transfers of this connection's publishes, for `error`s that name only the transfer. */
  readonly transfers: Map<number, PendingPublish>;
  flushScheduled: boolean;
  drainTimer: TimerHandle | undefined;
  welcomeTimer: TimerHandle | undefined;
  pingTimer: TimerHandle | undefined;
  pongTimer: TimerHandle | undefined;
  chunkTimer: TimerHandle | undefined;
  refreshTimer: TimerHandle | undefined;
  refreshId: number | undefined;
}

interface PendingPing {
  readonly sentAt: number;
  resolve(rtt: number): void;
  reject(error: SwitchboardError): void;
}

/** protocol.md §9: "the SDK does [refresh] at about 90% of the token's lifetime". */
const TOKEN_REFRESH_FRACTION = 0.9;
/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The close code the client sends when it ends a connection itself. */
const CLIENT_CLOSE_CODE = 1000;
/** Reported for connections the client dropped itself (dead, or no welcome): there was no close frame. */
const ABNORMAL_CLOSE = 1006;
/** How often a blocked send queue re-checks `bufferedAmount` when the transport reports no `drain`. */
const DRAIN_POLL_MS = 10;

const utf8 = new TextEncoder();

/**
 * The Switchboard client: one WebSocket connection to a broker, kept alive across failures, with typed
 * publish and subscribe. Create it with {@link createClient}.
 */
export class Client<Topics extends TopicMap = UntypedTopics> {
  private readonly settings: Settings;
  private readonly clock: Clock;
  private readonly events = new Emitter<ClientEvents>((error, event) => this.reportHandlerError(error, event));
  private readonly reconnector: Reconnector;
  private readonly positions = new PositionTracker();
  private readonly registry: SubscriptionRegistry<LocalSubscription>;
  private readonly locals = new Map<Subscription<unknown>, LocalSubscription>();
  private readonly schemas: ReadonlyArray<{ readonly segments: readonly string[]; readonly schema: PayloadSchema }>;
  private readonly outbox: PendingPublish[] = [];
  private readonly inflight = new Map<number, PendingPublish>();
  private readonly retrying = new Set<PendingPublish>();
  private readonly pings = new Map<number, PendingPing>();
  private readonly subscribeRetryTimers = new Set<TimerHandle>();
  private readonly stopWatchingNetwork: () => void;
  private currentState: ConnectionState;
  private connection: Connection | undefined;
  private everConnected = false;
  private attemptRunning = false;
  private retryTimer: TimerHandle | undefined;
  private nextRequestId = 1;
  private nextSeq = 1;
  private queuedMessages = 0;
  private queuedBytes = 0;
  private lastLimits: ServerLimits | undefined;

  /** @internal Use {@link createClient}. */
  constructor(options: ClientOptions<Topics>) {
    this.settings = resolveSettings(options as ClientOptions<TopicMap>);
    this.clock = this.settings.clock;
    this.reconnector = new Reconnector(this.settings.reconnect, this.settings.random);
    this.registry = new SubscriptionRegistry<LocalSubscription>(() => this.allocateRequestId(), this.positions);
    this.schemas = compileSchemas(options.schemas as Record<string, PayloadSchema | undefined> | undefined);
    this.stopWatchingNetwork = this.settings.network(() => this.onNetworkBack());
    this.currentState = 'disconnected';
    if (options.autoConnect ?? true) this.startAttempt();
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The broker's id for the current connection; quote it in bug reports. */
  get connectionId(): string | undefined {
    return this.connection?.welcome?.connectionId;
  }

  /** The current (or last) broker's limits (protocol.md §12). */
  get limits(): ServerLimits | undefined {
    return this.lastLimits;
  }

  /** Publishes accepted and not yet written, and their payload bytes (bounded by `sendQueue`). */
  get queued(): { readonly messages: number; readonly bytes: number } {
    return { messages: this.queuedMessages, bytes: this.queuedBytes };
  }

  /** The contiguous position of a topic (protocol.md §6), what a reconnect recovers from. */
  position(topic: string): Position | undefined {
    return this.positions.position(topic);
  }

  /** Adds an event listener; returns a function that removes it. */
  on<Name extends keyof ClientEvents>(name: Name, listener: (value: ClientEvents[Name]) => void): () => void {
    return this.events.on(name, listener);
  }

  off<Name extends keyof ClientEvents>(name: Name, listener: (value: ClientEvents[Name]) => void): void {
    this.events.off(name, listener);
  }

  /** Resolves when connected (at once if already), rejects if the client closes first. */
  whenConnected(): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    if (this.currentState === 'closed') return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      const off = this.events.on('state', (change) => {
        if (change.state === 'connected') {
          off();
          resolve();
        } else if (change.state === 'closed') {
          off();
          reject(change.error ?? this.closedError());
        }
      });
    });
  }

  /**
   * Connects now: the first connection with `autoConnect: false`, or at once instead of waiting out the
   * backoff. Does nothing while connected or connecting.
   * @throws SwitchboardError `client_closed` after `close()`.
   */
  connect(): void {
    if (this.currentState === 'closed') throw this.closedError();
    if (this.currentState !== 'disconnected' || this.attemptRunning) return;
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.startAttempt();
  }

  /**
   * Subscribes to a pattern (protocol.md §4: `*` one segment, `>` the rest). The handler receives every
   * message whose topic matches, typed by the topic map. Re-subscribed after every reconnect, recovering
   * what was missed where the broker keeps history.
   *
   * @throws SwitchboardError `invalid_topic` for a pattern that breaks the topic rules, or a `since` topic the
   *   pattern does not match.
   */
  subscribe<P extends string>(
    patternArgument: Checked<P, CheckPattern<Topics, P>>,
    handler: (message: Message<SubscribeData<Topics, P>>) => void,
    options: SubscribeOptions = {},
  ): Subscription<SubscribeData<Topics, P>> {
    // The type check guarantees a string; the error type only exists at compile time.
    const pattern = patternArgument as string;
    const parsed = parsePattern(pattern);
    if (!parsed.ok) throw new SwitchboardError(parsed.error.code, parsed.error.message, { topic: pattern });
    for (const topic of Object.keys(options.since ?? {})) {
      const parsedTopic = parseTopic(topic);
      if (!parsedTopic.ok || !segmentsMatch(parsed.value.segments, parsedTopic.value.segments)) {
        throw new SwitchboardError('invalid_topic', `since names ${JSON.stringify(topic)}, which ${JSON.stringify(pattern)} does not match`, { topic });
      }
    }
    const subscription = new Subscription<SubscribeData<Topics, P>>(pattern, (ended) => this.release(ended as Subscription<unknown>));
    if (this.currentState === 'closed') {
      subscription.end(this.closedError());
      return subscription;
    }
    for (const [topic, position] of Object.entries(options.since ?? {})) this.positions.seed(topic, position);
    const local: LocalSubscription = {
      subscription: subscription as Subscription<unknown>,
      handler: handler as (message: Message<unknown>) => void,
      options,
    };
    this.locals.set(local.subscription, local);
    this.applyEffects(this.registry.add(local, pattern));
    return subscription;
  }

  /**
   * Publishes to a topic. Settles with the broker's ack (or, with `ack: false`, once written), or rejects
   * with a {@link SwitchboardError}: the broker's code (`forbidden`, `message_too_big`, `rate_limited` after
   * retries ...) or the SDK's (`send_queue_full`, `send_timeout`, `ack_timeout`, `connection_lost` ...).
   * Bytes (`Uint8Array`, `Buffer`, `ArrayBuffer`) travel as binary; anything else as JSON. Payloads over the
   * broker's `chunkBytes` are chunked. While disconnected, publishes wait in a bounded queue.
   */
  publish<T extends string>(topic: Checked<T, CheckTopic<Topics, T>>, data: PublishData<Topics, T>, options: PublishOptions & { readonly ack: false }): Promise<void>;
  publish<T extends string>(topic: Checked<T, CheckTopic<Topics, T>>, data: PublishData<Topics, T>, options?: PublishOptions & { readonly ack?: true }): Promise<PublishAck>;
  publish<T extends string>(topic: Checked<T, CheckTopic<Topics, T>>, data: PublishData<Topics, T>, options: PublishOptions): Promise<PublishAck | undefined>;
  publish(topicArgument: unknown, data: unknown, options: PublishOptions = {}): Promise<PublishAck | void> {
    const topic = topicArgument as string;
    return new Promise<PublishAck | undefined>((resolve, reject) => {
      const fail = (code: ErrorCode, message: string, cause?: unknown): void =>
        reject(new SwitchboardError(code, message, { topic, ...(cause === undefined ? {} : { cause }) }));
      if (this.currentState === 'closed') return reject(this.closedError());
      const parsed = parseTopic(topic);
      if (!parsed.ok) return fail(parsed.error.code, parsed.error.message);
      const priority = options.priority ?? DEFAULT_PRIORITY;
      if (!(PRIORITIES as readonly string[]).includes(priority)) return fail('bad_request', `priority must be one of ${PRIORITIES.join(', ')}`);
      if (options.signal?.aborted) return fail(ClientErrorCode.aborted, 'the publish was aborted before it was sent', options.signal.reason);
      // Bytes as the subscribers will see them (a Uint8Array), so a schema checks the same value both ways.
      const value = toBytes(data) ?? data;
      const schemaProblem = this.validate(parsed.value.segments, value);
      if (schemaProblem !== undefined) return fail(ClientErrorCode.invalidPayload, `${topic}: ${schemaProblem}`);
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
      if (this.lastLimits !== undefined && size > this.lastLimits.maxMessageBytes) {
        return fail('message_too_big', `${size} bytes exceed the broker's maxMessageBytes ${this.lastLimits.maxMessageBytes}`);
      }
      if (this.queuedMessages + 1 > this.settings.maxQueuedMessages || this.queuedBytes + size > this.settings.maxQueuedBytes) {
        return fail(
          ClientErrorCode.sendQueueFull,
          `the send queue holds ${this.queuedMessages} publishes (${this.queuedBytes} bytes); limits ${this.settings.maxQueuedMessages} and ${this.settings.maxQueuedBytes}`,
        );
      }
      const pending: PendingPublish = {
        kind: 'publish',
        seq: this.nextSeq++,
        topic,
        priority,
        key: options.key,
        ack: options.ack ?? true,
        payload,
        size,
        phase: 'queued',
        counted: false,
        requestId: undefined,
        transfer: undefined,
        retries: 0,
        lastError: undefined,
        queueTimer: undefined,
        ackTimer: undefined,
        retryTimer: undefined,
        detachSignal: undefined,
        resolve,
        reject,
      };
      this.count(pending);
      this.armQueueTimer(pending);
      const signal = options.signal;
      if (signal !== undefined) {
        const onAbort = (): void => this.abortPublish(pending, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        pending.detachSignal = () => signal.removeEventListener('abort', onAbort);
      }
      this.enqueue(pending);
    });
  }

  /** Round trip to the broker in ms (an application-level `ping`). Rejects if the connection ends first. */
  ping(): Promise<number> {
    const connection = this.connection;
    if (connection?.welcome === undefined) {
      return Promise.reject(new SwitchboardError(ClientErrorCode.connectionLost, 'not connected'));
    }
    return new Promise((resolve, reject) => {
      const id = this.allocateRequestId();
      this.pings.set(id, { sentAt: this.clock.now(), resolve, reject });
      this.sendControl(connection, { op: 'ping', id });
    });
  }

  /**
   * Closes the client for good: the connection ends (1000), pending publishes reject with `client_closed`,
   * subscriptions end. Resolves when the connection has closed.
   */
  close(): Promise<void> {
    if (this.currentState === 'closed') return this.connection?.closed ?? Promise.resolve();
    const connection = this.connection;
    this.stop(new SwitchboardError(ClientErrorCode.clientClosed, 'the client was closed'), { closeCode: CLIENT_CLOSE_CODE, reason: 'client closed' });
    if (connection === undefined) return Promise.resolve();
    connection.transport.close(CLIENT_CLOSE_CODE, 'client closed');
    return connection.closed;
  }

  // ---- connection lifecycle ----

  private startAttempt(): void {
    this.attemptRunning = true;
    this.setState(this.everConnected ? 'reconnecting' : 'connecting', { attempt: this.reconnector.attempts });
    void this.openTransport();
  }

  private async openTransport(): Promise<void> {
    let token = this.settings.token;
    if (this.settings.getToken !== undefined) {
      try {
        // A token source that never answers must not stall reconnecting: it counts against the attempt.
        token = await withTimeout(this.clock, this.settings.getToken(), this.settings.connectTimeoutMs, 'getToken did not settle');
      } catch (cause) {
        if (this.currentState === 'closed') return;
        this.attemptFailed({ code: ABNORMAL_CLOSE, reason: 'getToken failed', wasClean: false }, new SwitchboardError(ClientErrorCode.tokenUnavailable, `getToken failed: ${describe(cause)}`, { cause }));
        return;
      }
    }
    if (this.currentState === 'closed') return;
    let markClosed = (): void => {};
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const connection: Connection = {
      transport: undefined as unknown as Transport,
      closed,
      markClosed,
      welcome: undefined,
      sendQueue: new SendQueue<Tag>(),
      inbound: undefined,
      nextTransfer: 1,
      transfers: new Map(),
      flushScheduled: false,
      drainTimer: undefined,
      welcomeTimer: undefined,
      pingTimer: undefined,
      pongTimer: undefined,
      chunkTimer: undefined,
      refreshTimer: undefined,
      refreshId: undefined,
    };
    let transport: Transport;
    try {
      transport = this.settings.transport(
        { url: this.settings.url, protocol: SUBPROTOCOL, token, headers: this.settings.headers },
        {
          open: () => {},
          message: (data) => {
            if (this.connection === connection) this.receive(connection, data);
          },
          drain: () => {
            if (this.connection === connection) this.flush(connection);
          },
          close: (event) => {
            connection.markClosed();
            if (this.connection === connection) this.connectionEnded(connection, event);
          },
        },
      );
    } catch (cause) {
      this.attemptFailed(
        { code: ABNORMAL_CLOSE, reason: 'could not open the WebSocket', wasClean: false },
        new SwitchboardError(ClientErrorCode.connectFailed, `could not open a WebSocket to ${this.settings.url}: ${describe(cause)}`, { cause }),
      );
      return;
    }
    (connection as { transport: Transport }).transport = transport;
    this.connection = connection;
    connection.welcomeTimer = this.clock.setTimeout(() => {
      this.dropConnection(connection, new SwitchboardError(ClientErrorCode.connectFailed, `no welcome within ${this.settings.connectTimeoutMs} ms`));
    }, this.settings.connectTimeoutMs);
  }

  private receiveWelcome(connection: Connection, welcome: WelcomeMessage): void {
    if (connection.welcome !== undefined) return;
    this.clock.clearTimeout(connection.welcomeTimer);
    connection.welcome = welcome;
    const { limits } = welcome;
    this.lastLimits = limits;
    connection.sendQueue.setLimits(limits);
    connection.inbound = new InboundChunks(limits, () => this.clock.now());
    this.attemptRunning = false;
    this.everConnected = true;
    this.reconnector.connected(this.clock.now());
    // Resubscribe and queue what waited before anyone hears of the connection: a publish made by a
    // `connected` listener must not overtake the ones made while offline.
    this.applyEffects(this.registry.open());
    const waiting = this.outbox.splice(0);
    for (const pending of waiting) this.schedule(connection, pending);
    this.scheduleTokenRefresh(connection, welcome.tokenExpiresAt);
    this.startPinging(connection);
    this.setState('connected', {});
    this.events.emit('connected', { connectionId: welcome.connectionId, node: welcome.node, limits, tokenExpiresAt: welcome.tokenExpiresAt });
  }

  /** The client ends a connection itself (dead, or no welcome) and handles it as ended at once. */
  private dropConnection(connection: Connection, error: SwitchboardError): void {
    if (this.connection !== connection) return;
    this.connectionEnded(connection, { code: ABNORMAL_CLOSE, reason: error.message, wasClean: false }, error);
    connection.transport.close(CLIENT_CLOSE_CODE, error.message);
  }

  private connectionEnded(connection: Connection, event: TransportClose, cause?: SwitchboardError): void {
    this.connection = undefined;
    this.teardown(connection);
    if (this.currentState === 'closed') return;
    this.attemptFailed(event, cause);
  }

  /**
   * Everything bound to one connection ends with it; publishes not confirmed go back to the outbox. With
   * `final` (the client stops), what waited for an answer rejects with that error instead.
   */
  private teardown(connection: Connection, final?: SwitchboardError): void {
    for (const timer of [connection.drainTimer, connection.welcomeTimer, connection.pingTimer, connection.pongTimer, connection.chunkTimer, connection.refreshTimer]) {
      this.clock.clearTimeout(timer);
    }
    connection.inbound?.clear();
    this.registry.close();
    const lost = final ?? new SwitchboardError(ClientErrorCode.connectionLost, 'the connection ended before the answer arrived');
    for (const [id, ping] of this.pings) {
      this.pings.delete(id);
      ping.reject(lost);
    }
    // Not fully written: an incomplete transfer is never published (protocol.md §7.4), so send it again.
    for (const tag of connection.sendQueue.clear()) {
      if (tag.kind === 'publish') this.requeue(tag);
    }
    for (const pending of Array.from(this.inflight.values())) {
      if (pending.phase !== 'written') continue;
      if (final !== undefined) this.settle(pending, final);
      else if (pending.key !== undefined) {
        // protocol.md §8.4: "a retry after a reconnect is safe".
        this.count(pending);
        this.requeue(pending);
      } else {
        this.settle(pending, new SwitchboardError(ClientErrorCode.connectionLost, `the connection ended before the broker acknowledged the publish to ${pending.topic}; it may or may not have been published (give it a key to have it resent safely)`, { topic: pending.topic }));
      }
    }
    this.outbox.sort((a, b) => a.seq - b.seq);
  }

  private attemptFailed(event: TransportClose, cause?: SwitchboardError): void {
    this.attemptRunning = false;
    const { advice, error } = closeAdvice(event, cause, this.settings.getToken !== undefined);
    const decision = this.reconnector.next(event.code, this.clock.now(), advice);
    const details = { closeCode: event.code, reason: event.reason, error };
    if (decision.action === 'stop') {
      const why = decision.reason === 'never' ? error : new SwitchboardError(error.code, `${error.message}; not reconnecting (${decision.reason})`, { closeCode: event.code, cause: error });
      this.stop(why, details);
      return;
    }
    this.setState('disconnected', { ...details, retryInMs: decision.delayMs, attempt: decision.attempt });
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.currentState === 'disconnected') this.startAttempt();
    }, decision.delayMs);
  }

  /** Closes the client for good: everything pending is rejected with `error`, subscriptions end. */
  private stop(error: SwitchboardError, details: { closeCode?: number; reason?: string; error?: SwitchboardError }): void {
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const timer of this.subscribeRetryTimers) this.clock.clearTimeout(timer);
    this.subscribeRetryTimers.clear();
    this.attemptRunning = false;
    this.stopWatchingNetwork();
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) this.teardown(connection, error);
    this.setState('closed', { ...details, error });
    for (const pending of [...this.outbox, ...this.inflight.values(), ...this.retrying]) this.settle(pending, error);
    this.outbox.length = 0;
    for (const local of Array.from(this.locals.values())) {
      this.locals.delete(local.subscription);
      local.subscription.end(error);
      if (error.code !== ClientErrorCode.clientClosed) this.callSafely(() => local.options.onError?.(error));
    }
  }

  private onNetworkBack(): void {
    // The browser is online again: waiting out the backoff would only delay the reconnect.
    if (this.currentState === 'disconnected' && this.retryTimer !== undefined) this.connect();
  }

  private setState(state: ConnectionState, details: Omit<StateChange, 'state' | 'previous'>): void {
    const previous = this.currentState;
    this.currentState = state;
    this.events.emit('state', { state, previous, ...details });
  }

  // ---- sending ----

  private enqueue(pending: PendingPublish): void {
    const connection = this.connection;
    if (connection?.welcome !== undefined) this.schedule(connection, pending);
    else {
      pending.phase = 'queued';
      this.outbox.push(pending);
    }
  }

  private requeue(pending: PendingPublish): void {
    if (pending.requestId !== undefined) this.inflight.delete(pending.requestId);
    pending.requestId = undefined;
    pending.transfer = undefined;
    pending.phase = 'queued';
    this.clock.clearTimeout(pending.ackTimer);
    this.armQueueTimer(pending);
    this.outbox.push(pending);
  }

  /** A publish waiting for its first byte to be written may wait `sendQueue.timeoutMs` (again, after a requeue). */
  private armQueueTimer(pending: PendingPublish): void {
    if (pending.queueTimer !== undefined || this.settings.queueTimeoutMs <= 0) return;
    pending.queueTimer = this.clock.setTimeout(() => this.queueTimedOut(pending), this.settings.queueTimeoutMs);
  }

  /** Encodes a publish for this connection (request id, chunking by its `chunkBytes`) and queues it. */
  private schedule(connection: Connection, pending: PendingPublish): void {
    const limits = connection.welcome!.limits;
    if (pending.size > limits.maxMessageBytes) {
      this.settle(pending, new SwitchboardError('message_too_big', `${pending.size} bytes exceed the broker's maxMessageBytes ${limits.maxMessageBytes}`, { topic: pending.topic }));
      return;
    }
    if (pending.ack) {
      pending.requestId = this.allocateRequestId();
      this.inflight.set(pending.requestId, pending);
    }
    const header: PublishHeader = {
      op: 'publish',
      ...(pending.requestId === undefined ? {} : { id: pending.requestId }),
      topic: pending.topic,
      priority: pending.priority,
      ...(pending.key === undefined ? {} : { key: pending.key }),
    };
    pending.phase = 'scheduled';
    connection.sendQueue.push(this.outgoing(connection, pending, header, limits.chunkBytes));
    this.requestFlush(connection);
  }

  private outgoing(connection: Connection, pending: PendingPublish, header: PublishHeader, chunkBytes: number): Outgoing<Tag> {
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

  private sendControl(connection: Connection, message: TextMessage): void {
    const tag: ControlTag = { kind: 'control' };
    connection.sendQueue.push({ priority: 'control', frames: 1, frame: () => encodeText(message), tag });
    this.requestFlush(connection);
  }

  /** Writes on the next microtask, so a burst of publishes is ordered by priority before any is written. */
  private requestFlush(connection: Connection): void {
    if (connection.flushScheduled) return;
    connection.flushScheduled = true;
    queueMicrotask(() => {
      connection.flushScheduled = false;
      if (this.connection === connection) this.flush(connection);
    });
  }

  private flush(connection: Connection): void {
    const result = connection.sendQueue.write(connection.transport, this.settings.highWaterMark);
    for (const frame of result.written) {
      if (frame.tag.kind === 'publish') this.frameWritten(connection, frame.tag, frame.first, frame.last);
    }
    if (result.blocked && connection.drainTimer === undefined) {
      // Transports report `drain` when they can; polling covers the rest (and browsers have no `drain`).
      connection.drainTimer = this.clock.setTimeout(() => {
        connection.drainTimer = undefined;
        if (this.connection === connection) this.flush(connection);
      }, DRAIN_POLL_MS);
    }
  }

  private frameWritten(connection: Connection, pending: PendingPublish, first: boolean, last: boolean): void {
    if (first) {
      this.clock.clearTimeout(pending.queueTimer);
      pending.queueTimer = undefined;
      pending.phase = 'writing';
    }
    if (!last) return;
    if (pending.transfer !== undefined) connection.transfers.delete(pending.transfer);
    this.uncount(pending);
    if (!pending.ack) {
      this.settle(pending, undefined);
      return;
    }
    pending.phase = 'written';
    if (this.settings.ackTimeoutMs > 0) {
      pending.ackTimer = this.clock.setTimeout(() => {
        this.settle(pending, new SwitchboardError(ClientErrorCode.ackTimeout, `no ack for the publish to ${pending.topic} within ${this.settings.ackTimeoutMs} ms`, { topic: pending.topic }));
      }, this.settings.ackTimeoutMs);
    }
  }

  private queueTimedOut(pending: PendingPublish): void {
    pending.queueTimer = undefined;
    if (pending.phase !== 'queued' && pending.phase !== 'scheduled' && pending.phase !== 'retrying') return;
    const waited = `waited ${this.settings.queueTimeoutMs} ms without being sent`;
    this.settle(
      pending,
      new SwitchboardError(ClientErrorCode.sendTimeout, `the publish to ${pending.topic} ${waited}${this.currentState === 'connected' ? '' : ` (${this.currentState})`}`, {
        topic: pending.topic,
        ...(pending.lastError === undefined ? {} : { cause: pending.lastError }),
      }),
    );
  }

  private abortPublish(pending: PendingPublish, reason: unknown): void {
    if (pending.phase === 'settled') return;
    const error = new SwitchboardError(ClientErrorCode.aborted, `the publish to ${pending.topic} was aborted`, { topic: pending.topic, cause: reason });
    this.settle(pending, error, { cancelTransfer: true });
  }

  /**
   * Ends a publish: takes it out of wherever it waits (cancelling a half-sent transfer, protocol.md §7.4)
   * and settles its promise.
   */
  private settle(pending: PendingPublish, outcome: PublishAck | SwitchboardError | undefined, options: { cancelTransfer?: boolean } = {}): void {
    if (pending.phase === 'settled') return;
    const connection = this.connection;
    if (pending.phase === 'queued') {
      const index = this.outbox.indexOf(pending);
      if (index >= 0) this.outbox.splice(index, 1);
    } else if ((pending.phase === 'scheduled' || pending.phase === 'writing') && connection !== undefined) {
      const removal = connection.sendQueue.remove(pending);
      if (removal?.started === true && options.cancelTransfer === true) {
        // protocol.md §7.4: the sender cancels a transfer whose first chunk it wrote, and drops the rest.
        // (When the broker abandoned the transfer itself, it needs no cancel.)
        this.sendControl(connection, { op: 'cancel', transfer: removal.transfer });
      }
    }
    if (pending.transfer !== undefined) connection?.transfers.delete(pending.transfer);
    if (pending.requestId !== undefined) this.inflight.delete(pending.requestId);
    this.retrying.delete(pending);
    this.uncount(pending);
    pending.phase = 'settled';
    this.clock.clearTimeout(pending.queueTimer);
    this.clock.clearTimeout(pending.ackTimer);
    this.clock.clearTimeout(pending.retryTimer);
    pending.detachSignal?.();
    if (outcome instanceof SwitchboardError) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  /** A retryable refusal: try again after `retryAfterMs` (or a backoff) unless the retries are used up. */
  private retryOrSettle(pending: PendingPublish, error: SwitchboardError): void {
    if (!error.retryable || pending.retries >= this.settings.publishRetries || (error.code === 'internal' && pending.key === undefined)) {
      this.settle(pending, error);
      return;
    }
    const connection = this.connection;
    if (connection !== undefined && (pending.phase === 'scheduled' || pending.phase === 'writing')) connection.sendQueue.remove(pending);
    if (pending.transfer !== undefined) connection?.transfers.delete(pending.transfer);
    if (pending.requestId !== undefined) this.inflight.delete(pending.requestId);
    this.clock.clearTimeout(pending.ackTimer);
    pending.requestId = undefined;
    pending.transfer = undefined;
    pending.lastError = error;
    pending.retries += 1;
    this.count(pending);
    pending.phase = 'retrying';
    this.retrying.add(pending);
    const delay = error.retryAfterMs ?? reconnectDelay(pending.retries, 'backoff', this.settings.reconnect, this.settings.random);
    pending.retryTimer = this.clock.setTimeout(() => {
      pending.retryTimer = undefined;
      this.retrying.delete(pending);
      if (pending.phase === 'retrying') this.enqueue(pending);
    }, delay);
  }

  private count(pending: PendingPublish): void {
    if (pending.counted) return;
    pending.counted = true;
    this.queuedMessages += 1;
    this.queuedBytes += pending.size;
  }

  private uncount(pending: PendingPublish): void {
    if (!pending.counted) return;
    pending.counted = false;
    this.queuedMessages -= 1;
    this.queuedBytes -= pending.size;
  }

  // ---- receiving ----

  private receive(connection: Connection, data: string | Uint8Array): void {
    const decoded = decodeServerMessage(data);
    if (!decoded.ok) {
      // protocol.md §1: a client ignores an `op` it does not know (v1 may add ops).
      if (decoded.error.code === 'unknown_op') return;
      if (decoded.transfer !== undefined) connection.inbound?.abandon(decoded.transfer);
      this.report(new SwitchboardError(ClientErrorCode.badServerMessage, `could not decode a server message: ${decoded.error.code}: ${decoded.error.message}`));
      return;
    }
    const message: ServerMessage = decoded.message;
    if (connection.welcome === undefined && message.op !== 'welcome') {
      // protocol.md §2.3: "The first message the server sends on every connection is `welcome`".
      this.report(new SwitchboardError(ClientErrorCode.badServerMessage, `the broker sent ${message.op} before welcome`));
      return;
    }
    switch (message.op) {
      case 'welcome':
        this.receiveWelcome(connection, message);
        return;
      case 'subscribed':
        this.applyEffects(this.registry.receiveSubscribed(message));
        return;
      case 'unsubscribed':
        this.applyEffects(this.registry.receiveUnsubscribed(message));
        return;
      case 'published': {
        const pending = this.inflight.get(message.id);
        if (pending === undefined) return;
        const ack: PublishAck = {
          topic: pending.topic,
          duplicate: message.duplicate ?? false,
          ...(message.offset === undefined ? {} : { offset: message.offset }),
          ...(message.epoch === undefined ? {} : { epoch: message.epoch }),
        };
        this.settle(pending, ack);
        return;
      }
      case 'refreshed':
        if (message.id === connection.refreshId) {
          connection.refreshId = undefined;
          this.scheduleTokenRefresh(connection, message.tokenExpiresAt);
        }
        return;
      case 'pong': {
        this.clock.clearTimeout(connection.pongTimer);
        connection.pongTimer = undefined;
        const ping = this.pings.get(message.id);
        if (ping !== undefined) {
          this.pings.delete(message.id);
          ping.resolve(this.clock.now() - ping.sentAt);
        }
        return;
      }
      case 'message':
        this.deliver(message);
        return;
      case 'chunk': {
        const inbound = connection.inbound!;
        const outcome = inbound.receive(message);
        this.armChunkTimer(connection);
        if (outcome.kind === 'delivery') this.deliver(outcome.message);
        else if (outcome.kind === 'missed') this.missed(outcome.header, outcome.error.message);
        else if (outcome.kind === 'invalid') this.report(new SwitchboardError(ClientErrorCode.badServerMessage, `chunk: ${outcome.error.code}: ${outcome.error.message}`));
        return;
      }
      case 'gap':
        this.receiveGap(message);
        return;
      case 'cancel':
        connection.inbound?.cancel(message.transfer);
        this.armChunkTimer(connection);
        return;
      case 'error':
        this.receiveError(connection, message);
        return;
    }
  }

  private receiveError(connection: Connection, message: ErrorMessage): void {
    const details = {
      ...(message.retryAfterMs === undefined ? {} : { retryAfterMs: message.retryAfterMs }),
      ...(message.topic === undefined ? {} : { topic: message.topic }),
    };
    if (message.id !== undefined) {
      const pending = this.inflight.get(message.id);
      if (pending !== undefined) {
        this.retryOrSettle(pending, new SwitchboardError(message.code as ProtocolErrorCode, message.message, { ...details, topic: pending.topic }));
        return;
      }
      const effects = this.registry.receiveError({ ...message, id: message.id });
      if (effects !== undefined) {
        this.applyEffects(effects);
        return;
      }
      if (message.id === connection.refreshId) {
        connection.refreshId = undefined;
        this.report(new SwitchboardError(message.code as ProtocolErrorCode, `token refresh failed: ${message.message}`, details));
        return;
      }
      const ping = this.pings.get(message.id);
      if (ping !== undefined) {
        this.pings.delete(message.id);
        ping.reject(new SwitchboardError(message.code as ProtocolErrorCode, message.message, details));
        return;
      }
    }
    if (message.transfer !== undefined) {
      // The broker abandoned one of our transfers (protocol.md §7.4): stop sending it.
      const pending = connection.transfers.get(message.transfer);
      if (pending !== undefined) {
        connection.transfers.delete(message.transfer);
        if (pending.phase !== 'settled') {
          this.retryOrSettle(pending, new SwitchboardError(message.code as ProtocolErrorCode, message.message, { ...details, topic: pending.topic }));
          return;
        }
      }
    }
    if (message.code === 'token_expired' && message.id === undefined) {
      // protocol.md §9: the broker keeps serving for tokenGraceMs; a refresh in that time keeps the connection.
      void this.refreshToken(connection);
    }
    this.report(new SwitchboardError(message.code as ProtocolErrorCode, message.message, details));
  }

  private deliver(message: DeliveryMessage): void {
    const locals = this.registry.match(message.topic);
    // protocol.md §6.3: "the client drops messages no active subscription matches".
    if (locals.length === 0) return;
    const verdict = this.positions.deliver(message.topic, message.epoch, message.offset);
    if (verdict.status === 'duplicate') return;
    if (verdict.status === 'epoch_changed') {
      const failure: RecoveryFailure = { topic: message.topic, reason: 'epoch_mismatch', epoch: message.epoch, offset: message.offset - 1 };
      for (const local of locals) this.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    let data: unknown = message.data;
    const parsedTopic = parseTopic(message.topic);
    if (this.schemas.length > 0 && parsedTopic.ok) {
      const result = this.validated(parsedTopic.value.segments, data);
      if (!result.ok) {
        const error = new SwitchboardError(ClientErrorCode.invalidPayload, `${message.topic} offset ${message.offset}: ${result.problem}`, { topic: message.topic });
        for (const local of locals) this.callSafely(() => (local.options.onError === undefined ? this.report(error) : local.options.onError(error)));
        return;
      }
      data = result.value;
    }
    const delivered: Message<unknown> = { topic: message.topic, data, priority: message.priority, offset: message.offset, epoch: message.epoch };
    for (const local of locals) {
      if (local.subscription.state === 'ended') continue;
      this.callSafely(() => local.handler(delivered));
    }
  }

  private receiveGap(message: GapMessage): void {
    this.positions.cover(message.topic, message.epoch, message.from, message.to);
    const gap: Gap = { topic: message.topic, epoch: message.epoch, from: message.from, to: message.to, reason: message.reason };
    for (const local of this.registry.match(message.topic)) this.callSafely(() => local.options.onGap?.(gap));
  }

  /** A chunked delivery this client abandoned: a gap of one message, left out of the position (§7.4). */
  private missed(header: DeliveryHeader, why: string): void {
    const gap: Gap = { topic: header.topic, epoch: header.epoch, from: header.offset, to: header.offset, reason: 'abandoned' };
    const locals = this.registry.match(header.topic);
    for (const local of locals) this.callSafely(() => local.options.onGap?.(gap));
    this.report(new SwitchboardError(ClientErrorCode.badServerMessage, `abandoned the chunked delivery of ${header.topic} offset ${header.offset}: ${why}`, { topic: header.topic }));
  }

  private armChunkTimer(connection: Connection): void {
    this.clock.clearTimeout(connection.chunkTimer);
    connection.chunkTimer = undefined;
    const at = connection.inbound?.nextExpiryAt();
    if (at === undefined) return;
    connection.chunkTimer = this.clock.setTimeout(() => {
      connection.chunkTimer = undefined;
      if (this.connection !== connection || connection.inbound === undefined) return;
      for (const outcome of connection.inbound.expire()) {
        if (outcome.kind === 'missed') this.missed(outcome.header, outcome.error.message);
      }
      this.armChunkTimer(connection);
    }, Math.max(0, at - this.clock.now()));
  }

  // ---- subscriptions ----

  private applyEffects(effects: readonly RegistryEffect<LocalSubscription>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const connection = this.connection;
          if (connection?.welcome !== undefined) this.sendControl(connection, effect.message satisfies SubscribeMessage | UnsubscribeMessage);
          break;
        }
        case 'subscribed':
          this.subscribed(effect.pattern, effect.locals, effect.recovery);
          break;
        case 'failed': {
          const error = new SwitchboardError(effect.error.code as ProtocolErrorCode, `subscribe ${effect.pattern}: ${effect.error.message}`, {
            topic: effect.pattern,
            ...(effect.error.retryAfterMs === undefined ? {} : { retryAfterMs: effect.error.retryAfterMs }),
          });
          if (effect.retryable) {
            const delay = effect.error.retryAfterMs ?? reconnectDelay(1, 'backoff', this.settings.reconnect, this.settings.random);
            const timer = this.clock.setTimeout(() => {
              this.subscribeRetryTimers.delete(timer);
              this.applyEffects(this.registry.retry(effect.pattern));
            }, delay);
            this.subscribeRetryTimers.add(timer);
            this.report(error);
          } else {
            for (const local of effect.locals) this.endLocal(local, error);
          }
          break;
        }
        case 'ended': {
          const error = new SwitchboardError((effect.code ?? ClientErrorCode.closed) as ErrorCode, `the broker ended the subscription to ${effect.pattern}${effect.code === undefined ? '' : ` (${effect.code})`}`, { topic: effect.pattern });
          for (const local of effect.locals) this.endLocal(local, error);
          break;
        }
      }
    }
  }

  private subscribed(pattern: string, locals: readonly LocalSubscription[], recovery: Readonly<Record<string, RecoveryResult>> | undefined): void {
    const ack: SubscribeAck = { pattern, ...(recovery === undefined ? {} : { recovery }) };
    for (const [topic, result] of Object.entries(recovery ?? {})) {
      if (result.status !== 'failed') continue;
      // Nothing is replayed; live messages after `offset` follow (protocol.md §8.2).
      this.positions.seed(topic, { offset: result.offset, epoch: result.epoch });
      const failure: RecoveryFailure = { topic, reason: result.reason, epoch: result.epoch, offset: result.offset };
      for (const local of this.registry.match(topic)) this.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    for (const local of locals) local.subscription.confirm(ack);
  }

  private endLocal(local: LocalSubscription, error: SwitchboardError): void {
    this.locals.delete(local.subscription);
    local.subscription.end(error);
    this.callSafely(() => (local.options.onError === undefined ? this.report(error) : local.options.onError(error)));
    this.forgetUnmatchedPositions();
  }

  private release(subscription: Subscription<unknown>): void {
    const local = this.locals.get(subscription);
    if (local === undefined) return;
    this.locals.delete(subscription);
    this.applyEffects(this.registry.remove(local));
    this.forgetUnmatchedPositions();
  }

  private forgetUnmatchedPositions(): void {
    for (const topic of this.positions.positions().keys()) {
      if (!this.registry.matchesAny(topic)) this.positions.forget(topic);
    }
  }

  // ---- tokens and liveness ----

  private scheduleTokenRefresh(connection: Connection, expiresAt: number | undefined): void {
    this.clock.clearTimeout(connection.refreshTimer);
    connection.refreshTimer = undefined;
    if (expiresAt === undefined || this.settings.getToken === undefined) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, (expiresAt - this.clock.now()) * TOKEN_REFRESH_FRACTION));
    connection.refreshTimer = this.clock.setTimeout(() => {
      connection.refreshTimer = undefined;
      void this.refreshToken(connection);
    }, delay);
  }

  private async refreshToken(connection: Connection): Promise<void> {
    if (this.settings.getToken === undefined || connection.refreshId !== undefined) return;
    let token: string | undefined;
    try {
      token = await this.settings.getToken();
    } catch (cause) {
      this.report(new SwitchboardError(ClientErrorCode.tokenUnavailable, 'getToken failed during a token refresh', { cause }));
      return;
    }
    if (this.connection !== connection || token === undefined || token === '') return;
    connection.refreshId = this.allocateRequestId();
    this.sendControl(connection, { op: 'refresh', id: connection.refreshId, token });
  }

  private startPinging(connection: Connection): void {
    if (this.settings.pingIntervalMs <= 0) return;
    // The clock has one-shot timers only: each tick arms the next, which keeps the period of setInterval.
    const tick = (): void => {
      connection.pingTimer = this.clock.setTimeout(tick, this.settings.pingIntervalMs);
      if (this.connection !== connection || connection.pongTimer !== undefined) return;
      const id = this.allocateRequestId();
      this.sendControl(connection, { op: 'ping', id });
      connection.pongTimer = this.clock.setTimeout(() => {
        connection.pongTimer = undefined;
        this.dropConnection(connection, new SwitchboardError(ClientErrorCode.pingTimeout, `no pong within ${this.settings.pingTimeoutMs} ms`));
      }, this.settings.pingTimeoutMs);
    };
    connection.pingTimer = this.clock.setTimeout(tick, this.settings.pingIntervalMs);
  }

  // ---- helpers ----

  private allocateRequestId(): number {
    return this.nextRequestId++;
  }

  private validate(segments: readonly string[], data: unknown): string | undefined {
    if (this.schemas.length === 0) return undefined;
    const result = this.validated(segments, data);
    return result.ok ? undefined : result.problem;
  }

  /** Runs every schema whose pattern matches the topic, in declaration order; each gets the previous output. */
  private validated(segments: readonly string[], data: unknown): { ok: true; value: unknown } | { ok: false; problem: string } {
    let value = data;
    for (const entry of this.schemas) {
      if (!segmentsMatch(entry.segments, segments)) continue;
      const result = entry.schema['~standard'].validate(value);
      if (result instanceof Promise) return { ok: false, problem: 'asynchronous schemas are not supported' };
      if (result.issues !== undefined) {
        const issue = result.issues[0];
        const path = issue?.path?.map((part) => (typeof part === 'object' ? String(part.key) : String(part))).join('.');
        return { ok: false, problem: `payload does not match its schema${path === undefined || path === '' ? '' : ` at ${path}`}: ${issue?.message ?? 'invalid'}` };
      }
      value = result.value;
    }
    return { ok: true, value };
  }

  private report(error: SwitchboardError): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
    // Nobody listens: a loss must still not be silent.
    else console.warn(`[switchboard] ${error.code}: ${error.message}`);
  }

  private reportHandlerError(cause: unknown, event: keyof ClientEvents): void {
    // An `error` listener that throws is not reported through `error` again (that could loop).
    if (event === 'error') console.error('[switchboard] an error listener threw', cause);
    else this.report(new SwitchboardError(ClientErrorCode.handlerFailed, `a ${event} listener threw: ${describe(cause)}`, { cause }));
  }

  private callSafely(callback: () => void): void {
    try {
      callback();
    } catch (cause) {
      this.report(new SwitchboardError(ClientErrorCode.handlerFailed, `a handler threw: ${describe(cause)}`, { cause }));
    }
  }

  private closedError(): SwitchboardError {
    return new SwitchboardError(ClientErrorCode.clientClosed, 'the client is closed');
  }
}

/**
 * Creates a client and (unless `autoConnect: false`) starts connecting. Declare the topics with a type
 * argument, or let them be inferred from `schemas`:
 *
 * ```ts
 * const typed = createClient<Topics>({ url, getToken });
 * const validated = createClient({ url, schemas: { 'chat.*': z.object({ text: z.string() }) } });
 * ```
 */
export function createClient<Schemas extends Record<string, PayloadSchema>>(
  options: Omit<ClientOptions, 'schemas'> & { readonly schemas: Schemas },
): Client<TopicsOf<Schemas>>;
export function createClient<Topics extends TopicMap = UntypedTopics>(options: ClientOptions<Topics>): Client<Topics>;
export function createClient(options: ClientOptions<TopicMap>): unknown {
  return new Client(options);
}

function compileSchemas(schemas: Record<string, PayloadSchema | undefined> | undefined): Array<{ segments: readonly string[]; schema: PayloadSchema }> {
  const compiled: Array<{ segments: readonly string[]; schema: PayloadSchema }> = [];
  for (const [pattern, schema] of Object.entries(schemas ?? {})) {
    if (schema === undefined) continue;
    const parsed = parsePattern(pattern);
    if (!parsed.ok) throw new SwitchboardError(parsed.error.code, `schemas: ${parsed.error.message}`, { topic: pattern });
    compiled.push({ segments: parsed.value.segments, schema });
  }
  return compiled;
}

/** Bytes in any of the forms an application may hold them (`Buffer` is a `Uint8Array`), as a `Uint8Array` view. */
function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Settles like `value`, or rejects with `message` after `ms`. */
function withTimeout<T>(clock: Clock, value: T | Promise<T>, ms: number, message: string): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([value, timeout]).finally(() => clock.clearTimeout(timer));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
