/** Connection attempts, the welcome that makes one a connection, its end, and what follows: a retry or a stop. */
import { SUBPROTOCOL, type WelcomeMessage } from '@switchboard/protocol';
import { InboundChunks } from './chunks.js';
import { type ClientContext, closedError, describe } from './client-context.js';
import type { ConnectionState, StateChange } from './client-options.js';
import { closeAdvice } from './close-advice.js';
import type { Clock, TimerHandle } from './clock.js';
import { ABNORMAL_CLOSE, CLIENT_CLOSE_CODE, Connection } from './connection.js';
import { ClientErrorCode, SwitchboardError } from './errors.js';
import type { Pings } from './pings.js';
import type { PresenceRequests } from './presence-requests.js';
import type { RpcRequests } from './rpc-requests.js';
import type { PublishPipeline } from './publish-pipeline.js';
import { Reconnector } from './reconnect.js';
import type { ServerSubscriptions } from './server-subscriptions.js';
import type { SubscriptionEffects } from './subscription-effects.js';
import { scheduleTokenRefresh } from './token-refresh.js';
import type { TransportClose } from './transport/transport.js';

/** The parts whose state is bound to a connection: told when one is welcomed, when it ends, and at the stop. */
export interface SessionParts {
  readonly subscriptions: SubscriptionEffects;
  readonly serverSubscriptions: ServerSubscriptions;
  readonly presenceRequests: PresenceRequests;
  readonly rpcRequests: RpcRequests;
  readonly publishes: PublishPipeline;
  readonly pings: Pings;
  /** Everything the current connection receives. */
  receive(connection: Connection, data: string | Uint8Array): void;
}

type StateDetails = Omit<StateChange, 'state' | 'previous'>;

/**
 * Keeps the client connected: one attempt at a time (token, transport, welcome within
 * `connectTimeoutMs`), a connection's end torn down everywhere, and the next attempt after the
 * {@link Reconnector}'s delay, or the stop it advises. The only writer of the context's `state`,
 * `connection` and `limits`.
 */
export class ConnectionLifecycle {
  readonly #context: ClientContext;
  readonly #parts: SessionParts;
  readonly #reconnector: Reconnector;
  readonly #stopWatchingNetwork: () => void;
  #everConnected = false;
  #attemptRunning = false;
  #retryTimer: TimerHandle | undefined;

  constructor(context: ClientContext, parts: SessionParts) {
    this.#context = context;
    this.#parts = parts;
    const { settings } = context;
    this.#reconnector = new Reconnector(settings.reconnect, settings.random);
    this.#stopWatchingNetwork = settings.network(() => this.#networkBack());
  }

  /**
   * Connects now, instead of waiting out the backoff; nothing while connected or connecting.
   * @throws SwitchboardError `client_closed` after `close()`.
   */
  connect(): void {
    const { state, clock } = this.#context;
    if (state === 'closed') throw closedError();
    if (state !== 'disconnected' || this.#attemptRunning) return;
    clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.start();
  }

  /** Stops for good with `client_closed` and closes the connection with 1000; resolves once it closed. */
  close(): Promise<void> {
    const { connection } = this.#context;
    if (this.#context.state === 'closed') return connection?.closed ?? Promise.resolve();
    this.#stop(new SwitchboardError(ClientErrorCode.clientClosed, 'the client was closed'), { closeCode: CLIENT_CLOSE_CODE, reason: 'client closed' });
    if (connection === undefined) return Promise.resolve();
    connection.transport.close(CLIENT_CLOSE_CODE, 'client closed');
    return connection.closed;
  }

  receiveWelcome(connection: Connection, welcome: WelcomeMessage): void {
    if (connection.welcome !== undefined) return;
    const context = this.#context;
    context.clock.clearTimeout(connection.welcomeTimer);
    connection.welcome = welcome;
    context.welcome = welcome;
    const { limits } = welcome;
    context.limits = limits;
    connection.sendQueue.setLimits(limits);
    connection.inbound = new InboundChunks(limits, () => context.clock.now());
    this.#attemptRunning = false;
    this.#everConnected = true;
    this.#reconnector.connected(context.clock.now());
    // Resubscribe and queue what waited before anyone hears of the connection: a publish made by a
    // `connected` listener must not overtake the ones made while offline.
    const parts = this.#parts;
    parts.serverSubscriptions.welcome(welcome);
    parts.subscriptions.connected();
    parts.publishes.connected(connection);
    scheduleTokenRefresh(context, connection, welcome.tokenExpiresAt);
    parts.pings.start(connection);
    this.#setState('connected', {});
    context.events.emit('connected', { connectionId: welcome.connectionId, node: welcome.node, limits, tokenExpiresAt: welcome.tokenExpiresAt });
  }

  /** The client ends a connection itself (dead, or no welcome) and handles it as ended at once. */
  drop(connection: Connection, error: SwitchboardError): void {
    if (this.#context.connection !== connection) return;
    this.#connectionEnded(connection, { code: ABNORMAL_CLOSE, reason: error.message, wasClean: false }, error);
    connection.transport.close(CLIENT_CLOSE_CODE, error.message);
  }

  /** Starts an attempt at once (`autoConnect`, `connect()`, the end of a backoff). */
  start(): void {
    this.#attemptRunning = true;
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting', { attempt: this.#reconnector.attempts });
    void this.#openTransport();
  }

  async #openTransport(): Promise<void> {
    const { settings, clock } = this.#context;
    let token = settings.token;
    if (settings.getToken !== undefined) {
      try {
        // A token source that never answers must not stall reconnecting: it counts against the attempt.
        token = await withTimeout(clock, settings.getToken(), settings.connectTimeoutMs, 'getToken did not settle');
      } catch (cause) {
        if (this.#context.state === 'closed') return;
        this.#attemptFailed({ code: ABNORMAL_CLOSE, reason: 'getToken failed', wasClean: false }, new SwitchboardError(ClientErrorCode.tokenUnavailable, `getToken failed: ${describe(cause)}`, { cause }));
        return;
      }
    }
    if (this.#context.state === 'closed') return;
    let connection: Connection;
    try {
      connection = new Connection(
        this.#context,
        this.#parts.publishes,
        (connection) =>
          settings.transport(
            { url: settings.url, protocol: SUBPROTOCOL, token, headers: settings.headers, ...(settings.tls === undefined ? {} : { tls: settings.tls }) },
            {
              open: () => {},
              message: (data) => {
                if (this.#context.connection === connection) this.#parts.receive(connection, data);
              },
              drain: () => {
                if (this.#context.connection === connection) connection.flush();
              },
              close: (event) => {
                connection.markClosed();
                if (this.#context.connection === connection) this.#connectionEnded(connection, event);
              },
            },
          ),
      );
    } catch (cause) {
      this.#attemptFailed(
        { code: ABNORMAL_CLOSE, reason: 'could not open the WebSocket', wasClean: false },
        new SwitchboardError(ClientErrorCode.connectFailed, `could not open a WebSocket to ${settings.url}: ${describe(cause)}`, { cause }),
      );
      return;
    }
    this.#context.connection = connection;
    connection.welcomeTimer = clock.setTimeout(() => {
      this.drop(connection, new SwitchboardError(ClientErrorCode.connectFailed, `no welcome within ${settings.connectTimeoutMs} ms`));
    }, settings.connectTimeoutMs);
  }

  #connectionEnded(connection: Connection, event: TransportClose, cause?: SwitchboardError): void {
    this.#context.connection = undefined;
    this.#teardown(connection);
    if (this.#context.state === 'closed') return;
    this.#attemptFailed(event, cause);
  }

  /**
   * Everything bound to one connection ends with it; publishes not confirmed go back to the outbox. With
   * `final` (the client stops), what waited for an answer rejects with that error instead.
   */
  #teardown(connection: Connection, final?: SwitchboardError): void {
    connection.dispose();
    const parts = this.#parts;
    parts.subscriptions.connectionLost();
    parts.presenceRequests.connectionLost(final);
    parts.rpcRequests.connectionLost(final);
    parts.pings.connectionLost(final);
    parts.publishes.connectionLost(connection, final);
  }

  #attemptFailed(event: TransportClose, cause?: SwitchboardError): void {
    const { settings, clock } = this.#context;
    this.#attemptRunning = false;
    const { advice, error } = closeAdvice(event, cause, settings.getToken !== undefined);
    const decision = this.#reconnector.next(event.code, clock.now(), advice);
    const details = { closeCode: event.code, reason: event.reason, error };
    if (decision.action === 'stop') {
      const why = decision.reason === 'never' ? error : new SwitchboardError(error.code, `${error.message}; not reconnecting (${decision.reason})`, { closeCode: event.code, cause: error });
      this.#stop(why, details);
      return;
    }
    this.#setState('disconnected', { ...details, retryInMs: decision.delayMs, attempt: decision.attempt });
    this.#retryTimer = clock.setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#context.state === 'disconnected') this.start();
    }, decision.delayMs);
  }

  /** Stops for good: everything pending is rejected with `error`, subscriptions end. */
  #stop(error: SwitchboardError, details: StateDetails): void {
    this.#context.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#attemptRunning = false;
    this.#stopWatchingNetwork();
    const connection = this.#context.connection;
    this.#context.connection = undefined;
    if (connection !== undefined) this.#teardown(connection, error);
    this.#setState('closed', { ...details, error });
    this.#parts.publishes.stop(error);
    this.#parts.subscriptions.stop(error);
  }

  #networkBack(): void {
    // The browser is online again: waiting out the backoff would only delay the reconnect.
    if (this.#context.state === 'disconnected' && this.#retryTimer !== undefined) this.connect();
  }

  #setState(state: ConnectionState, details: StateDetails): void {
    const previous = this.#context.state;
    this.#context.state = state;
    this.#context.events.emit('state', { state, previous, ...details });
  }
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
