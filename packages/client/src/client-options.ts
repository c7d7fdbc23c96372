/** The client's options, its connection states and events, and how the options are resolved. */
import { createTransport as platformTransport, watchNetwork as platformNetwork } from '#transport';
import type { Priority, ServerLimits } from '@switchboard/protocol';
import { type Clock, systemClock } from './clock.js';
import type { SwitchboardError } from './errors.js';
import type { ServerSubscriptionChange } from './server-subscriptions.js';
import { type ReconnectOptions, type ResolvedReconnectOptions, resolveReconnectOptions } from './reconnect.js';
import type { SchemaMap, TopicMap, UntypedTopics } from './topic-map.js';
import type { NetworkWatcher, TlsOptions, TransportFactory } from './transport/transport.js';

/**
 * Where the client stands:
 * - `connecting`: the first attempt (since `createClient` or `connect()`) is under way;
 * - `connected`: the broker's `welcome` arrived; publishes and subscribes flow;
 * - `disconnected`: no connection and no attempt under way: the next attempt is scheduled (`retryInMs`),
 *   or waits for `connect()` (`autoConnect: false`);
 * - `reconnecting`: a later attempt is under way;
 * - `closed`: for good: `close()` was called, the broker said not to reconnect (protocol.md §11), or the
 *   attempts ran out. Pending publishes were rejected.
 */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/** The `state` event: a transition and what caused it. */
export interface StateChange {
  /** The state the client is now in. */
  readonly state: ConnectionState;
  /** The state it left. */
  readonly previous: ConnectionState;
  /** `disconnected` / `closed`: the close code of the connection or attempt that ended (1006: no close frame). */
  readonly closeCode?: number;
  /** `disconnected` / `closed`: the close reason the broker sent with `closeCode`, when it sent one. */
  readonly reason?: string;
  /** `disconnected` / `closed`: why, as an error with a stable code. */
  readonly error?: SwitchboardError;
  /** `disconnected`: when the next attempt starts. */
  readonly retryInMs?: number;
  /** `connecting` / `reconnecting` / `disconnected`: consecutive failed attempts so far. */
  readonly attempt?: number;
}

/** The `connected` event: what the broker's `welcome` said (protocol.md §2.3). */
export interface ConnectedInfo {
  /** The broker's id for this connection, unique in its cluster: quote it in bug reports and logs. */
  readonly connectionId: string;
  /** The name of the broker node that serves the connection, for diagnostics; undefined if not told. */
  readonly node: string | undefined;
  /** The broker's limits for this connection (protocol.md §12); the client sizes its chunks by them. */
  readonly limits: ServerLimits;
  /** When the token expires, in milliseconds since the Unix epoch; undefined when it does not. */
  readonly tokenExpiresAt: number | undefined;
}

/** The client's events and what their listeners receive (`client.on(name, listener)`). */
export interface ClientEvents {
  /** Every change of `ConnectionState`, with its cause. */
  state: StateChange;
  /** Each time a connection is established, after the broker's `welcome`, reconnections included. */
  connected: ConnectedInfo;
  /**
   * Something went wrong that no promise reports: a fire-and-forget publish the broker refused, a token
   * refresh that failed, a message the SDK could not decode, a handler that threw.
   */
  error: SwitchboardError;
  /** The broker offered a server-side subscription (`added`), or ended one (protocol.md §14.3). */
  serverSubscription: ServerSubscriptionChange;
}

/** How one `publish` is sent and settled. */
export interface PublishOptions {
  /**
   * `high` overtakes `normal` and `low` traffic, including between the chunks of a large publish
   * (protocol.md §6).
   * @default 'normal'
   */
  readonly priority?: Priority;
  /**
   * Wait for the broker's `published` (or `error`). `false`: the promise settles once the message is
   * written to the socket; a failure then arrives as an `error` event (a loss is still never silent).
   * @default true
   */
  readonly ack?: boolean;
  /**
   * Idempotency key (protocol.md §8.4): the broker publishes at most once per topic and key within its
   * window, so the SDK resends a keyed publish whose ack was lost with the connection.
   */
  readonly key?: string;
  /** Aborts the publish: unsent, it is dropped; half-sent (chunks), the transfer is cancelled. */
  readonly signal?: AbortSignal;
}

/** The broker's `published`. */
export interface PublishAck {
  /** The topic published to. */
  readonly topic: string;
  /** Present when the topic keeps history. */
  readonly offset?: number;
  /** The epoch of the topic's history that `offset` counts in; present with `offset`. */
  readonly epoch?: string;
  /** An earlier publish with the same key was published; this one was not delivered again. */
  readonly duplicate: boolean;
}

/** Limits on publishes that are not yet written to the socket. */
export interface SendQueueOptions {
  /**
   * Frames are written only while the socket's `bufferedAmount` is below this, so priorities are decided
   * here and not lost in the socket's FIFO buffer.
   * @default 65536 (one chunk of the default 64 KiB `chunkBytes` in flight keeps a fast link busy)
   */
  readonly highWaterMark?: number;
  /**
   * Publishes waiting to be written (offline, or behind backpressure). Over it, `publish` rejects with
   * `send_queue_full`.
   * @default 1000 (a chat burst or minutes of 1/s figures; beyond that the app is publishing into a void)
   */
  readonly maxMessages?: number;
  /**
   * Payload bytes waiting to be written. Over it, `publish` rejects with `send_queue_full`.
   * @default 16777216 (16 MiB: a message as large as the spec example's maxMessageBytes still fits)
   */
  readonly maxBytes?: number;
  /**
   * How long a publish may wait before its first byte is written; then it rejects with `send_timeout`.
   * 0 disables.
   * @default 30000 (a blip is bridged; a user staring at a spinner for longer deserves an error)
   */
  readonly timeoutMs?: number;
}

/**
 * Everything `createClient` takes: the broker's URL, how to authenticate, and the client's policies for
 * reconnecting, queueing, acks and keepalive. Only `url` is required.
 */
export interface ClientOptions<Topics extends TopicMap = UntypedTopics> {
  /** The broker's WebSocket URL, e.g. `wss://broker.example/`. */
  readonly url: string | URL;
  /** A fixed bearer token. Prefer `getToken` for tokens that expire. */
  readonly token?: string;
  /**
   * Called before every connection attempt and when the broker says the token expired (protocol.md §9);
   * the client also refreshes at about 90% of the token's lifetime.
   */
  readonly getToken?: () => string | undefined | Promise<string | undefined>;
  /** Run-time validation of payloads per declared pattern (Standard Schema: zod, valibot ...). */
  readonly schemas?: SchemaMap<Topics>;
  /** Reconnect policy; `false` never reconnects. */
  readonly reconnect?: ReconnectOptions | false;
  /** Limits on publishes waiting to be written, so an offline client cannot grow without bound. */
  readonly sendQueue?: SendQueueOptions;
  /**
   * How long a written publish waits for its ack before rejecting with `ack_timeout`. 0 disables.
   * @default 30000 (the broker acks within milliseconds; 30 s means it or the path to it is stuck)
   */
  readonly ackTimeoutMs?: number;
  /**
   * How many times a publish the broker refused with a retryable code (`rate_limited`, `unavailable` ...)
   * is sent again, after `retryAfterMs` or a backoff. Only with a `key` after `unavailable` or `internal`
   * (the broker may have applied it: a resend without a key could publish it twice), and only while no later
   * publish of its topic may have been applied (protocol.md §8.5: a resend must not land behind it); later
   * publishes of the topic wait behind the retry.
   * @default 2 (rides out a burst over the rate limit without hiding a client that is always over it)
   */
  readonly publishRetries?: number;
  /**
   * Sends an application-level `ping` this often (browsers cannot see WebSocket pings, protocol.md §5.1).
   * 0 disables.
   * @default 20000 (under the 60 s idle timeout common in proxies and load balancers)
   */
  readonly pingIntervalMs?: number;
  /**
   * A `ping` unanswered for this long means the connection is dead: it is dropped and replaced.
   * @default 10000 (a dead connection is replaced within 30 s, a slow network is not mistaken for one)
   */
  readonly pingTimeoutMs?: number;
  /**
   * How long an attempt may take from opening the socket to the broker's `welcome`.
   * @default 15000 (a TLS handshake on a poor mobile link fits; a black-holed SYN does not hold the client)
   */
  readonly connectTimeoutMs?: number;
  /**
   * Connect from `createClient`; `false`: wait for `connect()`.
   * @default true
   */
  readonly autoConnect?: boolean;
  /** Extra handshake headers (e.g. `Origin`); only transports that can set headers (Node) send them. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * For `wss:` URLs in Node: the CA to trust (a private CA or a self-signed broker), a client certificate
   * for a broker that requires one, the expected server name. Browsers ignore it (the system decides).
   * @default Node's defaults: the bundled CA list, no client certificate
   */
  readonly tls?: TlsOptions;
  /** The WebSocket implementation; by default the platform's, chosen by the package's export conditions. */
  readonly transport?: TransportFactory;
  /** Watches for the network coming back; by default the platform's (the browser's `online` event). */
  readonly network?: NetworkWatcher;
  /** Randomness for reconnect jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /**
   * @internal The time source and timers of every delay and timeout above; tests pass a fake one to
   * assert timing. @default the platform's `Date.now` and `setTimeout`
   */
  readonly clock?: Clock;
}

/** The options with their defaults applied and checked. */
export interface Settings {
  readonly url: string;
  readonly token: string | undefined;
  readonly getToken: (() => string | undefined | Promise<string | undefined>) | undefined;
  readonly reconnect: ResolvedReconnectOptions;
  readonly highWaterMark: number;
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly queueTimeoutMs: number;
  readonly ackTimeoutMs: number;
  readonly publishRetries: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: TlsOptions | undefined;
  readonly transport: TransportFactory;
  readonly network: NetworkWatcher;
  readonly random: () => number;
  readonly clock: Clock;
}

/** The defaults; each option's TSDoc gives the reason for its value. */
const DEFAULTS = {
  highWaterMark: 64 * 1024,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
  queueTimeoutMs: 30_000,
  ackTimeoutMs: 30_000,
  publishRetries: 2,
  pingIntervalMs: 20_000,
  pingTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
} as const;

/** Applies the defaults and checks the values. */
export function resolveSettings(options: ClientOptions<TopicMap>): Settings {
  const url = String(options.url);
  if (options.token !== undefined && options.getToken !== undefined) throw new TypeError('pass token or getToken, not both');
  const queue = options.sendQueue ?? {};
  const nonNegative = (name: string, value: number): number => {
    if (!(value >= 0)) throw new RangeError(`${name} must be >= 0, got ${value}`);
    return value;
  };
  return {
    url,
    token: options.token,
    getToken: options.getToken,
    reconnect: resolveReconnectOptions(options.reconnect === false ? { enabled: false } : options.reconnect),
    highWaterMark: nonNegative('sendQueue.highWaterMark', queue.highWaterMark ?? DEFAULTS.highWaterMark),
    maxQueuedMessages: nonNegative('sendQueue.maxMessages', queue.maxMessages ?? DEFAULTS.maxQueuedMessages),
    maxQueuedBytes: nonNegative('sendQueue.maxBytes', queue.maxBytes ?? DEFAULTS.maxQueuedBytes),
    queueTimeoutMs: nonNegative('sendQueue.timeoutMs', queue.timeoutMs ?? DEFAULTS.queueTimeoutMs),
    ackTimeoutMs: nonNegative('ackTimeoutMs', options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs),
    publishRetries: nonNegative('publishRetries', options.publishRetries ?? DEFAULTS.publishRetries),
    pingIntervalMs: nonNegative('pingIntervalMs', options.pingIntervalMs ?? DEFAULTS.pingIntervalMs),
    pingTimeoutMs: nonNegative('pingTimeoutMs', options.pingTimeoutMs ?? DEFAULTS.pingTimeoutMs),
    connectTimeoutMs: nonNegative('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs),
    headers: options.headers ?? {},
    tls: options.tls,
    transport: options.transport ?? platformTransport,
    network: options.network ?? platformNetwork,
    random: options.random ?? Math.random,
    clock: options.clock ?? systemClock,
  };
}
