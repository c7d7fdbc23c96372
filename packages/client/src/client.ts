/** The client's public face: it builds the parts of one client, wires them, and hands calls to them. */
import { type ServerLimits, userTopic } from '@switchboard/protocol';
import { ClientContext, closedError } from './client-context.js';
import { type ClientEvents, type ClientOptions, type ConnectionState, type PublishAck, type PublishOptions, resolveSettings } from './client-options.js';
import { ConnectionLifecycle } from './connection-lifecycle.js';
import { InboundDispatch } from './inbound-dispatch.js';
import { MessageDelivery } from './message-delivery.js';
import { compileSchemas } from './payload-schemas.js';
import { Pings } from './pings.js';
import { SwitchboardError } from './errors.js';
import { type Position, PositionTracker } from './positions.js';
import { PresenceRequests } from './presence-requests.js';
import { type RpcData, type RpcMap, type RpcOptions, RpcRequests, type RpcResult, type UntypedRpc } from './rpc-requests.js';
import { PublishPipeline } from './publish-pipeline.js';
import { ServerSubscriptions } from './server-subscriptions.js';
import type { Message, SubscribeOptions, Subscription } from './subscription.js';
import { SubscriptionEffects } from './subscription-effects.js';
import type { CheckPattern, CheckTopic, Checked, PayloadSchema, PublishData, SubscribeData, TopicMap, TopicsOf, UntypedTopics } from './topic-map.js';

/**
 * The Switchboard client: one WebSocket connection to a broker, kept alive across failures, with typed
 * publish and subscribe. Create it with {@link createClient}.
 *
 * @typeParam Topics - The topic map: each topic's payload type, checked on publish and subscribe.
 * @typeParam Info - What a member's presence `info` holds (the token's `info` claim), as join events and
 * member lists give it; the broker checks its size, not its shape, so the type is the application's promise.
 */
export class Client<Topics extends TopicMap = UntypedTopics, Info = unknown, Methods extends RpcMap = UntypedRpc> {
  readonly #context: ClientContext;
  readonly #rpc: RpcRequests;
  readonly #positions = new PositionTracker();
  readonly #subscriptions: SubscriptionEffects;
  readonly #serverSubscriptions: ServerSubscriptions;
  readonly #publishes: PublishPipeline;
  readonly #pings: Pings;
  readonly #lifecycle: ConnectionLifecycle;

  /** @internal Use {@link createClient}. */
  constructor(options: ClientOptions<Topics>) {
    const context = new ClientContext(resolveSettings(options as ClientOptions<TopicMap>));
    const schemas = compileSchemas(options.schemas as Record<string, PayloadSchema | undefined> | undefined);
    const presenceRequests = new PresenceRequests(context);
    const rpcRequests = new RpcRequests(context);
    const subscriptions = new SubscriptionEffects(context, this.#positions, presenceRequests);
    const serverSubscriptions = new ServerSubscriptions(context, subscriptions);
    const publishes = new PublishPipeline(context, schemas);
    const pings = new Pings(context, (connection, error) => lifecycle.drop(connection, error));
    const deliveries = new MessageDelivery(context, this.#positions, subscriptions, schemas, (outcome) => {
      if (outcome.kind === 'presence') {
        subscriptions.members.receiveSnapshot(outcome.message);
        presenceRequests.receive(outcome.message);
      } else {
        presenceRequests.refused(outcome.header.id, outcome.error);
      }
    });
    const lifecycle = new ConnectionLifecycle(context, {
      subscriptions,
      serverSubscriptions,
      presenceRequests,
      rpcRequests,
      publishes,
      pings,
      receive: (connection, data) => dispatch.receive(connection, data),
    });
    const dispatch = new InboundDispatch(context, {
      lifecycle,
      subscriptions,
      serverSubscriptions,
      presenceRequests,
      rpcRequests,
      publishes,
      deliveries,
      pings,
    });
    this.#context = context;
    this.#rpc = rpcRequests;
    this.#subscriptions = subscriptions;
    this.#serverSubscriptions = serverSubscriptions;
    this.#publishes = publishes;
    this.#pings = pings;
    this.#lifecycle = lifecycle;
    if (options.autoConnect ?? true) lifecycle.start();
  }

  /**
   * Calls `method` of the application's backend over the connection (protocol.md §15) and resolves with its
   * answer; typed by the `Methods` map (`{ 'cart.add': { data: { sku: string }; result: { items: number } } }`).
   * Never resent: rejects with the backend's code (`forbidden`, ...), `unavailable` (the backend did not
   * answer; retryable), `timeout` (no answer within `timeoutMs`), `connection_lost`, or `unsupported` (the
   * broker has no `rpc` capability).
   */
  rpc<M extends keyof Methods & string>(method: M, data: RpcData<Methods[M]>, options?: RpcOptions): Promise<RpcResult<Methods[M]>> {
    return this.#rpc.call(method, data, options) as Promise<RpcResult<Methods[M]>>;
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.#context.state;
  }

  /** The broker's id for the current connection; quote it in bug reports. */
  get connectionId(): string | undefined {
    return this.#context.connection?.welcome?.connectionId;
  }

  /** The current (or last) broker's limits (protocol.md §12). */
  get limits(): ServerLimits | undefined {
    return this.#context.limits;
  }

  /** The connection's user (protocol.md §14.1), from the current (or last) `welcome`; absent: anonymous. */
  get user(): string | undefined {
    return this.#context.welcome?.user;
  }

  /**
   * The server-side subscriptions the broker offers this connection (protocol.md §14.3); claim one with
   * {@link listen}. Changes are `serverSubscription` events.
   */
  get serverSubscriptions(): ReadonlySet<string> {
    return this.#serverSubscriptions.offered;
  }

  /**
   * The topic of user `id` (protocol.md §14.2), as the broker names it.
   * @throws SwitchboardError `unsupported` before the first connection or when the broker has no user
   *   topics; `invalid_topic` for an id too long for any user topic.
   */
  userTopic(id: string): string {
    const unsupported = this.#context.unsupported('user_topics', `the topic of user ${JSON.stringify(id)}`);
    const prefix = this.#context.welcome?.userTopicPrefix;
    if (unsupported !== undefined) throw unsupported;
    if (prefix === undefined || prefix === '') throw new SwitchboardError('unsupported', 'the broker announced user_topics without a prefix');
    const topic = userTopic(prefix, id);
    if (topic === undefined) throw new SwitchboardError('invalid_topic', `user ${JSON.stringify(id.slice(0, 40))}... has no user topic: the id is too long`);
    return topic;
  }

  /**
   * Publishes to every connection of user `id`, on every node: an ordinary publish to its user topic, with
   * the same acks, priorities, chunking and history. Needs a publish grant under the prefix (`user.>`).
   * Before the first connection it waits for one (the prefix comes with `welcome`).
   */
  async publishToUser(id: string, data: unknown, options: PublishOptions = {}): Promise<PublishAck | undefined> {
    if (this.#context.welcome === undefined) await this.whenConnected();
    return this.#publishes.publish(this.userTopic(id), data, options);
  }

  /**
   * Listens to a server-side subscription (protocol.md §14.3): once the broker offers `pattern` (in
   * `welcome` or later), the client claims it with a subscribe (recovering with `since` on every reconnect)
   * and the handler receives its messages. It ends when the backend ends the subscription
   * (`server_unsubscribed`), or with `unsupported` on a broker without server-side subscriptions.
   * @throws SwitchboardError `invalid_topic` for a pattern that breaks the topic rules.
   */
  listen<P extends string>(
    pattern: Checked<P, CheckPattern<Topics, P>>,
    handler: (message: Message<SubscribeData<Topics, P>>) => void,
    options: SubscribeOptions<Info> = {},
  ): Subscription<SubscribeData<Topics, P>, Info> {
    return this.#subscriptions.subscribe(pattern as string, handler as (message: Message<unknown>) => void, options as SubscribeOptions, true) as Subscription<SubscribeData<Topics, P>, Info>;
  }

  /** Publishes accepted and not yet written, and their payload bytes (bounded by `sendQueue`). */
  get queued(): {
    /** How many publishes wait. */
    readonly messages: number;
    /** The sum of their payload sizes. */
    readonly bytes: number;
  } {
    return this.#publishes.queued;
  }

  /** The contiguous position of a topic (protocol.md §6), what a reconnect recovers from. */
  position(topic: string): Position | undefined {
    return this.#positions.position(topic);
  }

  /** Adds an event listener; returns a function that removes it. */
  on<Name extends keyof ClientEvents>(name: Name, listener: (value: ClientEvents[Name]) => void): () => void {
    return this.#context.events.on(name, listener);
  }

  /** Removes a listener added with `on`; the function `on` returned does the same. */
  off<Name extends keyof ClientEvents>(name: Name, listener: (value: ClientEvents[Name]) => void): void {
    this.#context.events.off(name, listener);
  }

  /** Resolves when connected (at once if already), rejects if the client closes first. */
  whenConnected(): Promise<void> {
    const { state, events } = this.#context;
    if (state === 'connected') return Promise.resolve();
    if (state === 'closed') return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const off = events.on('state', (change) => {
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
    this.#lifecycle.connect();
  }

  /**
   * Subscribes to a pattern (protocol.md §4: `*` one segment, `>` the rest). The handler receives every
   * message whose topic matches, typed by the topic map. Re-subscribed after every reconnect, recovering
   * what was missed where the broker keeps history.
   *
   * With `presence` (an exact topic), the subscription also follows the topic's members: `onJoin`,
   * `onLeave`, `onMembers`, and the live `subscription.members` (protocol.md §13).
   *
   * @throws SwitchboardError `invalid_topic` for a pattern that breaks the topic rules, or a `since` topic the
   *   pattern does not match.
   */
  subscribe<P extends string>(
    pattern: Checked<P, CheckPattern<Topics, P>>,
    handler: (message: Message<SubscribeData<Topics, P>>) => void,
    options: SubscribeOptions<Info> = {},
  ): Subscription<SubscribeData<Topics, P>, Info> {
    // The type check guarantees a string; the error type only exists at compile time.
    return this.#subscriptions.subscribe(pattern as string, handler as (message: Message<unknown>) => void, options as SubscribeOptions) as Subscription<SubscribeData<Topics, P>, Info>;
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
  publish(topic: unknown, data: unknown, options: PublishOptions = {}): Promise<PublishAck | void> {
    return this.#publishes.publish(topic as string, data, options);
  }

  /** Round trip to the broker in ms (an application-level `ping`). Rejects if the connection ends first. */
  ping(): Promise<number> {
    return this.#pings.ping();
  }

  /**
   * Closes the client for good: the connection ends (1000), pending publishes reject with `client_closed`,
   * subscriptions end. Resolves when the connection has closed.
   */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }
}

/**
 * Creates a client and (unless `autoConnect: false`) starts connecting. Declare the topics with a type
 * argument, or let them be inferred from `schemas`:
 *
 * ```ts
 * const typed = createClient<Topics>({ url, getToken });
 * const withInfo = createClient<Topics, { name: string }>({ url, getToken });   // presence info typed
 * const validated = createClient({ url, schemas: { 'chat.*': z.object({ text: z.string() }) } });
 * ```
 */
export function createClient<Schemas extends Record<string, PayloadSchema>>(
  options: Omit<ClientOptions, 'schemas'> & { readonly schemas: Schemas },
): Client<TopicsOf<Schemas>>;
export function createClient<Topics extends TopicMap = UntypedTopics, Info = unknown, Methods extends RpcMap = UntypedRpc>(
  options: ClientOptions<Topics>,
): Client<Topics, Info, Methods>;
export function createClient(options: ClientOptions<TopicMap>): unknown {
  return new Client(options);
}
