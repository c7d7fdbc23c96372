import { InboundChunks } from './chunks.js';
import { ClientContext, closedError, describe } from './client-context.js';
import type { ClientEvents, ClientOptions, ConnectionState, PublishAck, PublishOptions, StateChange } from './client-options.js';
import { resolveSettings } from './client-options.js';
import { closeAdvice } from './close-advice.js';
import type { Clock, TimerHandle } from './clock.js';
import { ABNORMAL_CLOSE, CLIENT_CLOSE_CODE, Connection } from './connection.js';
import { ClientErrorCode, type ErrorCode, SwitchboardError } from './errors.js';
import { type PayloadSchemas, compileSchemas, validatePayload } from './payload-schemas.js';
import { type Position, PositionTracker } from './positions.js';
import {
  type DeliveryHeader,
  type DeliveryMessage,
  type ErrorMessage,
  type GapMessage,
  type ProtocolErrorCode,
  type RecoveryResult,
  type ServerLimits,
  type ServerMessage,
  type SubscribeMessage,
  type UnsubscribeMessage,
  type WelcomeMessage,
  SUBPROTOCOL,
  decodeServerMessage,
  parsePattern,
  parseTopic,
  segmentsMatch,
} from './protocol/index.js';
import { PublishPipeline } from './publish-pipeline.js';
import { Reconnector, reconnectDelay } from './reconnect.js';
import { type Gap, type Message, type RecoveryFailure, type SubscribeAck, type SubscribeOptions, Subscription } from './subscription.js';
import { type RegistryEffect, SubscriptionRegistry } from './subscriptions.js';
import type { CheckPattern, CheckTopic, Checked, PayloadSchema, PublishData, SubscribeData, TopicMap, TopicsOf, UntypedTopics } from './topic-map.js';
import type { TransportClose } from './transport/transport.js';

/** What the registry holds per `subscribe` call. */
interface LocalSubscription {
  readonly subscription: Subscription<unknown>;
  readonly handler: (message: Message<unknown>) => void;
  readonly options: SubscribeOptions;
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

/**
 * The Switchboard client: one WebSocket connection to a broker, kept alive across failures, with typed
 * publish and subscribe. Create it with {@link createClient}.
 */
export class Client<Topics extends TopicMap = UntypedTopics> {
  private readonly context: ClientContext;
  private readonly publishes: PublishPipeline;
  private readonly reconnector: Reconnector;
  private readonly positions = new PositionTracker();
  private readonly registry: SubscriptionRegistry<LocalSubscription>;
  private readonly locals = new Map<Subscription<unknown>, LocalSubscription>();
  private readonly schemas: PayloadSchemas;
  private readonly pings = new Map<number, PendingPing>();
  private readonly subscribeRetryTimers = new Set<TimerHandle>();
  private readonly stopWatchingNetwork: () => void;
  private everConnected = false;
  private attemptRunning = false;
  private retryTimer: TimerHandle | undefined;

  /** @internal Use {@link createClient}. */
  constructor(options: ClientOptions<Topics>) {
    this.context = new ClientContext(resolveSettings(options as ClientOptions<TopicMap>));
    this.reconnector = new Reconnector(this.context.settings.reconnect, this.context.settings.random);
    this.registry = new SubscriptionRegistry<LocalSubscription>(() => this.context.nextRequestId(), this.positions);
    this.schemas = compileSchemas(options.schemas as Record<string, PayloadSchema | undefined> | undefined);
    this.publishes = new PublishPipeline(this.context, this.schemas);
    this.stopWatchingNetwork = this.context.settings.network(() => this.onNetworkBack());
    if (options.autoConnect ?? true) this.startAttempt();
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.context.state;
  }

  /** The broker's id for the current connection; quote it in bug reports. */
  get connectionId(): string | undefined {
    return this.context.connection?.welcome?.connectionId;
  }

  /** The current (or last) broker's limits (protocol.md §12). */
  get limits(): ServerLimits | undefined {
    return this.context.limits;
  }

  /** Publishes accepted and not yet written, and their payload bytes (bounded by `sendQueue`). */
  get queued(): { readonly messages: number; readonly bytes: number } {
    return this.publishes.queued;
  }

  /** The contiguous position of a topic (protocol.md §6), what a reconnect recovers from. */
  position(topic: string): Position | undefined {
    return this.positions.position(topic);
  }

  /** Adds an event listener; returns a function that removes it. */
  on<Name extends keyof ClientEvents>(name: Name, listener: (value: ClientEvents[Name]) => void): () => void {
    return this.context.events.on(name, listener);
  }

  off<Name extends keyof ClientEvents>(name: Name, listener: (value: ClientEvents[Name]) => void): void {
    this.context.events.off(name, listener);
  }

  /** Resolves when connected (at once if already), rejects if the client closes first. */
  whenConnected(): Promise<void> {
    if (this.context.state === 'connected') return Promise.resolve();
    if (this.context.state === 'closed') return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const off = this.context.events.on('state', (change) => {
        if (change.state === 'connected') {
          off();
          resolve();
        } else if (change.state === 'closed') {
          off();
          reject(change.error ?? closedError());
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
    if (this.context.state === 'closed') throw closedError();
    if (this.context.state !== 'disconnected' || this.attemptRunning) return;
    this.context.clock.clearTimeout(this.retryTimer);
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
    if (this.context.state === 'closed') {
      subscription.end(closedError());
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
    return this.publishes.publish(topicArgument as string, data, options);
  }

  /** Round trip to the broker in ms (an application-level `ping`). Rejects if the connection ends first. */
  ping(): Promise<number> {
    const connection = this.context.connection;
    if (connection?.welcome === undefined) {
      return Promise.reject(new SwitchboardError(ClientErrorCode.connectionLost, 'not connected'));
    }
    return new Promise((resolve, reject) => {
      const id = this.context.nextRequestId();
      this.pings.set(id, { sentAt: this.context.clock.now(), resolve, reject });
      connection.send({ op: 'ping', id });
    });
  }

  /**
   * Closes the client for good: the connection ends (1000), pending publishes reject with `client_closed`,
   * subscriptions end. Resolves when the connection has closed.
   */
  close(): Promise<void> {
    if (this.context.state === 'closed') return this.context.connection?.closed ?? Promise.resolve();
    const connection = this.context.connection;
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
    let token = this.context.settings.token;
    if (this.context.settings.getToken !== undefined) {
      try {
        // A token source that never answers must not stall reconnecting: it counts against the attempt.
        token = await withTimeout(this.context.clock, this.context.settings.getToken(), this.context.settings.connectTimeoutMs, 'getToken did not settle');
      } catch (cause) {
        if (this.context.state === 'closed') return;
        this.attemptFailed({ code: ABNORMAL_CLOSE, reason: 'getToken failed', wasClean: false }, new SwitchboardError(ClientErrorCode.tokenUnavailable, `getToken failed: ${describe(cause)}`, { cause }));
        return;
      }
    }
    if (this.context.state === 'closed') return;
    let connection: Connection;
    try {
      connection = new Connection(
        this.context,
        (pending, first, last) => this.publishes.frameWritten(connection, pending, first, last),
        (connection) =>
          this.context.settings.transport(
            { url: this.context.settings.url, protocol: SUBPROTOCOL, token, headers: this.context.settings.headers },
            {
              open: () => {},
              message: (data) => {
                if (this.context.connection === connection) this.receive(connection, data);
              },
              drain: () => {
                if (this.context.connection === connection) connection.flush();
              },
              close: (event) => {
                connection.markClosed();
                if (this.context.connection === connection) this.connectionEnded(connection, event);
              },
            },
          ),
      );
    } catch (cause) {
      this.attemptFailed(
        { code: ABNORMAL_CLOSE, reason: 'could not open the WebSocket', wasClean: false },
        new SwitchboardError(ClientErrorCode.connectFailed, `could not open a WebSocket to ${this.context.settings.url}: ${describe(cause)}`, { cause }),
      );
      return;
    }
    this.context.connection = connection;
    connection.welcomeTimer = this.context.clock.setTimeout(() => {
      this.dropConnection(connection, new SwitchboardError(ClientErrorCode.connectFailed, `no welcome within ${this.context.settings.connectTimeoutMs} ms`));
    }, this.context.settings.connectTimeoutMs);
  }

  private receiveWelcome(connection: Connection, welcome: WelcomeMessage): void {
    if (connection.welcome !== undefined) return;
    this.context.clock.clearTimeout(connection.welcomeTimer);
    connection.welcome = welcome;
    const { limits } = welcome;
    this.context.limits = limits;
    connection.sendQueue.setLimits(limits);
    connection.inbound = new InboundChunks(limits, () => this.context.clock.now());
    this.attemptRunning = false;
    this.everConnected = true;
    this.reconnector.connected(this.context.clock.now());
    // Resubscribe and queue what waited before anyone hears of the connection: a publish made by a
    // `connected` listener must not overtake the ones made while offline.
    this.applyEffects(this.registry.open());
    this.publishes.connected(connection);
    this.scheduleTokenRefresh(connection, welcome.tokenExpiresAt);
    this.startPinging(connection);
    this.setState('connected', {});
    this.context.events.emit('connected', { connectionId: welcome.connectionId, node: welcome.node, limits, tokenExpiresAt: welcome.tokenExpiresAt });
  }

  /** The client ends a connection itself (dead, or no welcome) and handles it as ended at once. */
  private dropConnection(connection: Connection, error: SwitchboardError): void {
    if (this.context.connection !== connection) return;
    this.connectionEnded(connection, { code: ABNORMAL_CLOSE, reason: error.message, wasClean: false }, error);
    connection.transport.close(CLIENT_CLOSE_CODE, error.message);
  }

  private connectionEnded(connection: Connection, event: TransportClose, cause?: SwitchboardError): void {
    this.context.connection = undefined;
    this.teardown(connection);
    if (this.context.state === 'closed') return;
    this.attemptFailed(event, cause);
  }

  /**
   * Everything bound to one connection ends with it; publishes not confirmed go back to the outbox. With
   * `final` (the client stops), what waited for an answer rejects with that error instead.
   */
  private teardown(connection: Connection, final?: SwitchboardError): void {
    connection.dispose();
    this.registry.close();
    const lost = final ?? new SwitchboardError(ClientErrorCode.connectionLost, 'the connection ended before the answer arrived');
    for (const [id, ping] of this.pings) {
      this.pings.delete(id);
      ping.reject(lost);
    }
    this.publishes.connectionLost(connection, final);
  }

  private attemptFailed(event: TransportClose, cause?: SwitchboardError): void {
    this.attemptRunning = false;
    const { advice, error } = closeAdvice(event, cause, this.context.settings.getToken !== undefined);
    const decision = this.reconnector.next(event.code, this.context.clock.now(), advice);
    const details = { closeCode: event.code, reason: event.reason, error };
    if (decision.action === 'stop') {
      const why = decision.reason === 'never' ? error : new SwitchboardError(error.code, `${error.message}; not reconnecting (${decision.reason})`, { closeCode: event.code, cause: error });
      this.stop(why, details);
      return;
    }
    this.setState('disconnected', { ...details, retryInMs: decision.delayMs, attempt: decision.attempt });
    this.retryTimer = this.context.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.context.state === 'disconnected') this.startAttempt();
    }, decision.delayMs);
  }

  /** Closes the client for good: everything pending is rejected with `error`, subscriptions end. */
  private stop(error: SwitchboardError, details: { closeCode?: number; reason?: string; error?: SwitchboardError }): void {
    this.context.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const timer of this.subscribeRetryTimers) this.context.clock.clearTimeout(timer);
    this.subscribeRetryTimers.clear();
    this.attemptRunning = false;
    this.stopWatchingNetwork();
    const connection = this.context.connection;
    this.context.connection = undefined;
    if (connection !== undefined) this.teardown(connection, error);
    this.setState('closed', { ...details, error });
    this.publishes.stop(error);
    for (const local of Array.from(this.locals.values())) {
      this.locals.delete(local.subscription);
      local.subscription.end(error);
      if (error.code !== ClientErrorCode.clientClosed) this.context.callSafely(() => local.options.onError?.(error));
    }
  }

  private onNetworkBack(): void {
    // The browser is online again: waiting out the backoff would only delay the reconnect.
    if (this.context.state === 'disconnected' && this.retryTimer !== undefined) this.connect();
  }

  private setState(state: ConnectionState, details: Omit<StateChange, 'state' | 'previous'>): void {
    const previous = this.context.state;
    this.context.state = state;
    this.context.events.emit('state', { state, previous, ...details });
  }

  // ---- receiving ----

  private receive(connection: Connection, data: string | Uint8Array): void {
    const decoded = decodeServerMessage(data);
    if (!decoded.ok) {
      // protocol.md §1: a client ignores an `op` it does not know (v1 may add ops).
      if (decoded.error.code === 'unknown_op') return;
      if (decoded.transfer !== undefined) connection.inbound?.abandon(decoded.transfer);
      this.context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `could not decode a server message: ${decoded.error.code}: ${decoded.error.message}`));
      return;
    }
    const message: ServerMessage = decoded.message;
    if (connection.welcome === undefined && message.op !== 'welcome') {
      // protocol.md §2.3: "The first message the server sends on every connection is `welcome`".
      this.context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `the broker sent ${message.op} before welcome`));
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
      case 'published':
        this.publishes.receivePublished(message);
        return;
      case 'refreshed':
        if (message.id === connection.refreshId) {
          connection.refreshId = undefined;
          this.scheduleTokenRefresh(connection, message.tokenExpiresAt);
        }
        return;
      case 'pong': {
        this.context.clock.clearTimeout(connection.pongTimer);
        connection.pongTimer = undefined;
        const ping = this.pings.get(message.id);
        if (ping !== undefined) {
          this.pings.delete(message.id);
          ping.resolve(this.context.clock.now() - ping.sentAt);
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
        else if (outcome.kind === 'invalid') this.context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `chunk: ${outcome.error.code}: ${outcome.error.message}`));
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
      if (this.publishes.refused(message.id, message, details)) return;
      const effects = this.registry.receiveError({ ...message, id: message.id });
      if (effects !== undefined) {
        this.applyEffects(effects);
        return;
      }
      if (message.id === connection.refreshId) {
        connection.refreshId = undefined;
        this.context.report(new SwitchboardError(message.code as ProtocolErrorCode, `token refresh failed: ${message.message}`, details));
        return;
      }
      const ping = this.pings.get(message.id);
      if (ping !== undefined) {
        this.pings.delete(message.id);
        ping.reject(new SwitchboardError(message.code as ProtocolErrorCode, message.message, details));
        return;
      }
    }
    if (message.transfer !== undefined && this.publishes.transferRefused(connection, message.transfer, message, details)) return;
    if (message.code === 'token_expired' && message.id === undefined) {
      // protocol.md §9: the broker keeps serving for tokenGraceMs; a refresh in that time keeps the connection.
      void this.refreshToken(connection);
    }
    this.context.report(new SwitchboardError(message.code as ProtocolErrorCode, message.message, details));
  }

  private deliver(message: DeliveryMessage): void {
    const locals = this.registry.match(message.topic);
    // protocol.md §6.3: "the client drops messages no active subscription matches".
    if (locals.length === 0) return;
    const verdict = this.positions.deliver(message.topic, message.epoch, message.offset);
    if (verdict.status === 'duplicate') return;
    if (verdict.status === 'epoch_changed') {
      const failure: RecoveryFailure = { topic: message.topic, reason: 'epoch_mismatch', epoch: message.epoch, offset: message.offset - 1 };
      for (const local of locals) this.context.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    let data: unknown = message.data;
    const parsedTopic = parseTopic(message.topic);
    if (this.schemas.length > 0 && parsedTopic.ok) {
      const result = validatePayload(this.schemas, parsedTopic.value.segments, data);
      if (!result.ok) {
        const error = new SwitchboardError(ClientErrorCode.invalidPayload, `${message.topic} offset ${message.offset}: ${result.problem}`, { topic: message.topic });
        for (const local of locals) this.context.callSafely(() => (local.options.onError === undefined ? this.context.report(error) : local.options.onError(error)));
        return;
      }
      data = result.value;
    }
    const delivered: Message<unknown> = { topic: message.topic, data, priority: message.priority, offset: message.offset, epoch: message.epoch };
    for (const local of locals) {
      if (local.subscription.state === 'ended') continue;
      this.context.callSafely(() => local.handler(delivered));
    }
  }

  private receiveGap(message: GapMessage): void {
    this.positions.cover(message.topic, message.epoch, message.from, message.to);
    const gap: Gap = { topic: message.topic, epoch: message.epoch, from: message.from, to: message.to, reason: message.reason };
    for (const local of this.registry.match(message.topic)) this.context.callSafely(() => local.options.onGap?.(gap));
  }

  /** A chunked delivery this client abandoned: a gap of one message, left out of the position (§7.4). */
  private missed(header: DeliveryHeader, why: string): void {
    const gap: Gap = { topic: header.topic, epoch: header.epoch, from: header.offset, to: header.offset, reason: 'abandoned' };
    const locals = this.registry.match(header.topic);
    for (const local of locals) this.context.callSafely(() => local.options.onGap?.(gap));
    this.context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `abandoned the chunked delivery of ${header.topic} offset ${header.offset}: ${why}`, { topic: header.topic }));
  }

  private armChunkTimer(connection: Connection): void {
    this.context.clock.clearTimeout(connection.chunkTimer);
    connection.chunkTimer = undefined;
    const at = connection.inbound?.nextExpiryAt();
    if (at === undefined) return;
    connection.chunkTimer = this.context.clock.setTimeout(() => {
      connection.chunkTimer = undefined;
      if (this.context.connection !== connection || connection.inbound === undefined) return;
      for (const outcome of connection.inbound.expire()) {
        if (outcome.kind === 'missed') this.missed(outcome.header, outcome.error.message);
      }
      this.armChunkTimer(connection);
    }, Math.max(0, at - this.context.clock.now()));
  }

  // ---- subscriptions ----

  private applyEffects(effects: readonly RegistryEffect<LocalSubscription>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send': {
          const connection = this.context.connection;
          if (connection?.welcome !== undefined) connection.send(effect.message satisfies SubscribeMessage | UnsubscribeMessage);
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
            const delay = effect.error.retryAfterMs ?? reconnectDelay(1, 'backoff', this.context.settings.reconnect, this.context.settings.random);
            const timer = this.context.clock.setTimeout(() => {
              this.subscribeRetryTimers.delete(timer);
              this.applyEffects(this.registry.retry(effect.pattern));
            }, delay);
            this.subscribeRetryTimers.add(timer);
            this.context.report(error);
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
      for (const local of this.registry.match(topic)) this.context.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    for (const local of locals) local.subscription.confirm(ack);
  }

  private endLocal(local: LocalSubscription, error: SwitchboardError): void {
    this.locals.delete(local.subscription);
    local.subscription.end(error);
    this.context.callSafely(() => (local.options.onError === undefined ? this.context.report(error) : local.options.onError(error)));
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
    this.context.clock.clearTimeout(connection.refreshTimer);
    connection.refreshTimer = undefined;
    if (expiresAt === undefined || this.context.settings.getToken === undefined) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, (expiresAt - this.context.clock.now()) * TOKEN_REFRESH_FRACTION));
    connection.refreshTimer = this.context.clock.setTimeout(() => {
      connection.refreshTimer = undefined;
      void this.refreshToken(connection);
    }, delay);
  }

  private async refreshToken(connection: Connection): Promise<void> {
    if (this.context.settings.getToken === undefined || connection.refreshId !== undefined) return;
    let token: string | undefined;
    try {
      token = await this.context.settings.getToken();
    } catch (cause) {
      this.context.report(new SwitchboardError(ClientErrorCode.tokenUnavailable, 'getToken failed during a token refresh', { cause }));
      return;
    }
    if (this.context.connection !== connection || token === undefined || token === '') return;
    connection.refreshId = this.context.nextRequestId();
    connection.send({ op: 'refresh', id: connection.refreshId, token });
  }

  private startPinging(connection: Connection): void {
    if (this.context.settings.pingIntervalMs <= 0) return;
    // The clock has one-shot timers only: each tick arms the next, which keeps the period of setInterval.
    const tick = (): void => {
      connection.pingTimer = this.context.clock.setTimeout(tick, this.context.settings.pingIntervalMs);
      if (this.context.connection !== connection || connection.pongTimer !== undefined) return;
      const id = this.context.nextRequestId();
      connection.send({ op: 'ping', id });
      connection.pongTimer = this.context.clock.setTimeout(() => {
        connection.pongTimer = undefined;
        this.dropConnection(connection, new SwitchboardError(ClientErrorCode.pingTimeout, `no pong within ${this.context.settings.pingTimeoutMs} ms`));
      }, this.context.settings.pingTimeoutMs);
    };
    connection.pingTimer = this.context.clock.setTimeout(tick, this.context.settings.pingIntervalMs);
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

/** Settles like `value`, or rejects with `message` after `ms`. */
function withTimeout<T>(clock: Clock, value: T | Promise<T>, ms: number, message: string): Promise<T> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([value, timeout]).finally(() => clock.clearTimeout(timer));
}
