import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BrokerError, BrokerErrorCode } from '../errors.js';
import { assertValidPattern, assertValidTopic } from '../topics/topic-checks.js';
import type { CommandResult, Engine, EngineCommand, EngineHandler, HistoryQuery, HistoryResult, NodeCommand, Payload, PublishOptions, PublishResult } from './engine.js';
import { RedisCanary } from './redis-canary.js';
import { RedisCommands } from './redis-commands.js';
import { bodyTopic, type ChannelMessage, decodeBody, encodeBody, parseChannelMessage } from './redis-codec.js';
import { type CommandConnection, type ConnectionSettings, createCommandConnection, waitForReady, waitForReplicas } from './redis-connections.js';
import { GapDetector, type MissingOffsets } from './redis-delivery.js';
import { closedError, unavailable } from './redis-errors.js';
import type { RedisKeyspace } from './redis-keyspace.js';
import { readLineage } from './redis-lineage.js';
import { RedisLink } from './redis-link.js';
import { assertRetention, type RedisEngineOptions, type RedisEngineSettings, resolveRedisEngineOptions } from './redis-options.js';
import { OrderedScript } from './redis-ordered-script.js';
import { RedisPresence } from './redis-presence.js';
import { definePresenceScripts, type PresenceConnection } from './redis-presence-scripts.js';
import { decodePresenceEntry } from './redis-presence-codec.js';
import { historyResult, parseHistoryReply, parsePublishReply } from './redis-replies.js';
import { publishScript } from './redis-scripts.js';
import { RedisSubscriptions } from './redis-subscriptions.js';
import {
  buildTopology,
  disposeTopology,
  publishOn,
  subscribeShard,
  syncChannels,
  type Topology,
  type TopologyContext,
  unsubscribeShard,
} from './redis-topology.js';

type Lifecycle = 'created' | 'starting' | 'started' | 'closed';

/**
 * The Redis engine: broker nodes sharing one Redis (or one Redis Cluster). Topics map to channels as
 * `redis-keyspace.ts` describes; offsets, epochs, history and idempotency live in Redis and change only
 * inside the scripts of `redis-scripts.ts`, so a topic's order is Redis's order across all nodes and its
 * history survives broker restarts.
 *
 * Connections (`redis-connections.ts`, `redis-topology.ts`): one command connection (a `Cluster` client in
 * cluster mode) for scripts and canaries, and subscriber connections the engine owns (one, or one per
 * master) with no offline queue and no automatic resubscription: the engine decides when pub/sub is
 * working. Losing any of them, a canary (`redis-canary.ts`) that does not come back, or a slot moving away
 * is an **interruption** (`redis-link.ts`): `onInterrupted` (publishes, history and subscribes then reject
 * with `ERR_BROKER_ENGINE_UNAVAILABLE` at once, `ready()` is false), then the engine rebuilds its
 * subscribers with backoff, resubscribes every pattern, proves pub/sub with a canary and calls
 * `onResumed`, after which the hub recovers what it missed from history.
 *
 * Delivery (`redis-delivery.ts`): a publication reaches a node once per channel of its that carries it
 * (topic channel and prefix channels of overlapping patterns), the copies back to back; the engine hands
 * each to the hub, which delivers each (topic, epoch, offset) once. Each node remembers the last offset it
 * delivered per topic: an offset that skips ahead on a topic the node has been subscribed to without a
 * break means messages were lost without the connection dropping (nothing in Redis pub/sub should allow
 * it, but a loss must never be silent): the engine reports it as a momentary interruption
 * (`onInterrupted` then `onResumed`, before delivering the later message), so the hub recovers the missing
 * offsets from history or announces the gap.
 */
export class RedisEngine implements Engine {
  /** Presence (docs/design/presence.md §3): scripts in redis-presence.ts, liveness and sweeps in redis-liveness.ts. */
  readonly presence: RedisPresence;
  readonly keyspace: RedisKeyspace;
  /** Distinguishes this node's canary channel; not persisted. */
  readonly nodeId = randomBytes(6).toString('hex');
  private readonly settings: RedisEngineSettings;
  private readonly connections: ConnectionSettings;
  private readonly topologyContext: TopologyContext;
  /**
   * The history lineage of the Redis's data as read at the last (re)connect (redis-lineage.ts: its
   * `master_replid`, or with durable persistence one that survives restarts), passed to the scripts as
   * `gen`: a topic written under another one starts a new epoch (redis-scripts.ts). Empty, and so not
   * checked, in cluster mode and with `replicasToAck` (then acknowledged publications survive a failover).
   */
  private replicationHistory = '';
  private epochCounter = 0;
  /** Applies a publish in its turn or not at all, even when Redis loses its script cache (redis-ordered-script.ts). */
  private readonly publishScript = new OrderedScript(publishScript);

  private lifecycle: Lifecycle = 'created';
  private handler: EngineHandler | undefined;
  private commands: (CommandConnection & PresenceConnection) | undefined;
  private closing: Promise<void> | undefined;
  private topology: Topology | undefined;
  private readonly link: RedisLink;
  private readonly canary: RedisCanary;
  private readonly nodeCommands: RedisCommands;
  private healthTimer: NodeJS.Timeout | undefined;

  private readonly subscriptions: RedisSubscriptions;
  private readonly gaps: GapDetector;
  /** The same check on presence `seq`s, which are dense per topic and epoch as offsets are. */
  private readonly presenceGaps: GapDetector;
  /** Orders subscription activations and deliveries, to tell whether a topic was covered without a break. */
  private tick = 0;

  private gapCount = 0;
  private interruptionCount = 0;

  constructor(options: RedisEngineOptions) {
    const settings = resolveRedisEngineOptions(options);
    this.settings = settings;
    this.keyspace = settings.keyspace;
    this.connections = { target: settings.target, commandTimeoutMs: settings.commandTimeoutMs, backoff: settings.backoff, nodeId: this.nodeId };
    this.topologyContext = {
      connections: this.connections,
      keyspace: this.keyspace,
      nodeId: this.nodeId,
      current: () => this.topology,
      events: {
        message: (message) => this.receive(message),
        closed: (id) => this.link.interrupt(unavailable(`Redis subscriber connection to ${id} closed`, this.link.lastError)),
        error: (error) => void (this.link.lastError = error),
      },
    };
    this.link = new RedisLink(
      {
        rebuild: (generation) => this.rebuild(generation),
        interrupted: (error, wentDown) => this.interrupted(error, wentDown),
        up: (resumed) => this.linkUp(resumed),
      },
      settings.backoff,
    );
    this.canary = new RedisCanary({
      nodeId: this.nodeId,
      timeoutMs: settings.canaryTimeoutMs,
      publish: (channel, message) => this.publishCanary(channel, message),
    });
    const run = (command: NodeCommand) => this.handler?.onCommand?.(command) ?? [];
    this.nodeCommands = new RedisCommands({ nodeId: this.nodeId, keyspace: this.keyspace, publish: (channel, message) => this.publishCanary(channel, message), run });
    this.subscriptions = new RedisSubscriptions(this.keyspace);
    this.gaps = new GapDetector(settings.maxTrackedTopics);
    this.presenceGaps = new GapDetector(settings.maxTrackedTopics);
    this.presence = new RedisPresence({
      keyspace: this.keyspace,
      nodeId: this.nodeId,
      streamIdleTtlMs: settings.streamIdleTtlMs,
      nodeTtlMs: settings.presenceNodeTtlMs,
      publishCommand: settings.target.mode === 'cluster' ? 'SPUBLISH' : 'PUBLISH',
      assertStarted: () => this.assertStarted(),
      connection: () => (this.link.up ? this.commands : undefined),
      clock: () => this.clockArgument(),
      nextEpoch: () => this.nextEpoch(),
      lineage: () => this.replicationHistory,
      membershipLost: () => this.callHandler((handler) => handler.onMembershipLost?.()),
      membersSwept: (topic, members, reason) => this.callHandler((handler) => handler.onMembersSwept?.(topic, members, reason)),
      nodeSwept: (node) => this.handler?.onNodeSwept?.(node),
    });
  }

  /** Patterns this node is subscribed to (for metrics). */
  get patternCount(): number {
    return this.subscriptions.patternCount;
  }

  /** Redis channels this node needs (for metrics), not counting its canaries. */
  get channelCount(): number {
    return this.subscriptions.channelCount;
  }

  /** Offsets found missing on a topic the node was subscribed to without a break (reported, for metrics). */
  get gapsDetected(): number {
    return this.gapCount;
  }

  /** Interruptions reported through `onInterrupted`, gap reports included (for metrics). */
  get interruptions(): number {
    return this.interruptionCount;
  }

  async start(handler: EngineHandler): Promise<void> {
    if (this.lifecycle === 'closed') throw closedError();
    if (this.lifecycle !== 'created') {
      throw new BrokerError(BrokerErrorCode.engineAlreadyStarted, 'engine already started');
    }
    this.lifecycle = 'starting';
    this.handler = handler;
    const commands = definePresenceScripts(createCommandConnection(this.connections)) as CommandConnection & PresenceConnection;
    commands.on('error', (error: Error) => void (this.link.lastError = error));
    commands.on('close', () => this.link.interrupt(unavailable('Redis command connection closed', this.link.lastError)));
    commands.on('ready', () => this.link.wake());
    this.commands = commands;
    commands.connect().catch(() => undefined); // failures arrive as events; the link waits for 'ready'
    this.link.start();
    const { startTimeoutMs, healthCheckIntervalMs } = this.settings;
    const up = await this.link.waitUntilUp(startTimeoutMs);
    if (this.closed) throw closedError();
    if (!up) {
      const error = unavailable(`could not reach Redis within ${startTimeoutMs} ms`, this.link.lastError);
      await this.close();
      throw error;
    }
    this.lifecycle = 'started';
    await this.presence.liveness.start();
    if (healthCheckIntervalMs > 0) {
      this.healthTimer = setInterval(() => void this.ready(), healthCheckIntervalMs);
      this.healthTimer.unref();
    }
  }

  async subscribe(pattern: string): Promise<void> {
    this.assertStarted();
    assertValidPattern(pattern);
    const subscription = this.subscriptions.add(pattern);
    // Registered even during an outage: the rebuild subscribes every registered pattern.
    const topology = this.topology;
    if (!this.link.up || topology === undefined) throw this.unavailableNow();
    const pending: Promise<unknown>[] = [];
    for (const channel of subscription.channels) {
      const shard = topology.shardFor(channel);
      if (shard === undefined) {
        this.link.interrupt(unavailable(`no Redis node serves channel ${channel}`));
        throw this.unavailableNow();
      }
      shard.channels.add(channel);
      // Sent even when the channel is already subscribed: the reply proves Redis has processed it, so every
      // publication after this promise resolves is delivered.
      pending.push(subscribeShard(topology, shard, [channel]));
    }
    try {
      await Promise.all(pending);
    } catch (error) {
      // The connection is broken or the topology moved: rebuild, which resubscribes this pattern too.
      if (topology === this.topology) this.link.interrupt(unavailable('subscribing failed', error));
      throw unavailable('subscribing failed', error);
    }
    if (subscription.activeSince === undefined && this.subscriptions.get(pattern) === subscription && topology === this.topology) {
      subscription.activeSince = ++this.tick;
    }
  }

  async unsubscribe(pattern: string): Promise<void> {
    this.assertStarted();
    const topology = this.topology;
    for (const channel of this.subscriptions.remove(pattern)) {
      const shard = topology?.shardFor(channel);
      if (topology !== undefined && shard?.channels.delete(channel) === true) {
        // Best effort: if it fails the connection is gone, and with it the subscription.
        unsubscribeShard(topology, shard, [channel]).catch(() => undefined);
      }
    }
  }

  async publish(topic: string, payload: Payload, options: PublishOptions): Promise<PublishResult> {
    this.assertStarted();
    assertValidTopic(topic);
    if (options.history !== undefined) assertRetention(options.history.size, options.history.ttlMs);
    const commands = this.commandsIfUp();
    const { idempotencyKey, history } = options;
    const { streamIdleTtlMs, idempotencyWindowMs, replicasToAck, commandTimeoutMs } = this.settings;
    const keys = [this.keyspace.metaKey(topic), this.keyspace.streamKey(topic)];
    if (idempotencyKey !== undefined) keys.push(this.keyspace.idempotencyKey(topic, idempotencyKey));
    keys.push(...this.keyspace.publishChannels(topic));
    let reply: unknown;
    const started = performance.now();
    try {
      const command = this.publishScript.command(keys, [
        this.clockArgument(),
        this.nextEpoch(),
        String(streamIdleTtlMs),
        history === undefined ? '' : String(history.size),
        history === undefined ? '' : String(Math.ceil(history.ttlMs)),
        idempotencyKey === undefined ? '' : String(idempotencyWindowMs),
        encodeBody(topic, payload, options.priority, idempotencyKey),
        this.settings.target.mode === 'cluster' ? 'SPUBLISH' : 'PUBLISH',
        this.replicationHistory,
      ]);
      reply = await commands.sendCommand(command);
    } catch (error) {
      throw unavailable('publish not confirmed by Redis', error);
    } finally {
      this.timed('publish', started);
    }
    const result = parsePublishReply(reply);
    if (result === undefined) throw unavailable(`unexpected publish reply ${String(reply)}`);
    // A duplicate waits too: the first attempt may have failed exactly because its WAIT did.
    if (replicasToAck > 0) await waitForReplicas(commands as Redis, replicasToAck, Math.ceil(commandTimeoutMs / 2));
    return result;
  }

  async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.assertStarted();
    assertValidTopic(topic);
    if (!(Number.isSafeInteger(query.limit) && query.limit >= 0)) {
      throw new RangeError(`limit must be an integer >= 0, got ${query.limit}`);
    }
    const commands = this.commandsIfUp();
    const { since } = query;
    const sinceOffset = since !== undefined && Number.isSafeInteger(since.offset) && since.offset >= 0 ? String(since.offset) : '-1';
    let reply: unknown;
    const started = performance.now();
    try {
      const keys = [this.keyspace.metaKey(topic), this.keyspace.streamKey(topic)];
      const state = [this.clockArgument(), this.nextEpoch(), String(this.settings.streamIdleTtlMs)];
      const position = since === undefined ? ['latest', sinceOffset, ''] : ['since', sinceOffset, String(since.epoch)];
      reply = await commands.switchboardHistoryBuffer(keys.length, ...keys, ...state, ...position, String(query.limit), this.replicationHistory);
    } catch (error) {
      throw unavailable('history not read from Redis', error);
    } finally {
      this.timed('history', started);
    }
    const parsed = parseHistoryReply(reply);
    if (parsed === undefined) throw unavailable('unexpected history reply');
    return historyResult(parsed, since !== undefined);
  }

  async command(command: NodeCommand, timeoutMs: number): Promise<CommandResult> {
    this.assertStarted();
    if (!this.link.up) throw this.unavailableNow();
    return this.nodeCommands.run(command, timeoutMs);
  }

  async ready(): Promise<boolean> {
    if (this.lifecycle !== 'started' || !this.link.up) return false;
    const generation = this.link.generation;
    try {
      await this.runCanary();
      return this.link.up;
    } catch (error) {
      // Pub/sub is not working even though no connection dropped: treat it as the outage it is.
      if (this.link.generation === generation && this.link.up) this.link.interrupt(unavailable('canary did not come back', error));
      return false;
    }
  }

  /** Also a clean presence stop: this node's members leave at once (`disconnected`) if Redis is reachable. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    if (this.lifecycle === 'started' && this.link.up) await this.presence.liveness.unregister().catch(() => undefined);
    this.presence.liveness.stop();
    this.lifecycle = 'closed';
    const stopped = this.link.close();
    if (this.healthTimer !== undefined) clearInterval(this.healthTimer);
    this.canary.failAll(closedError());
    this.nodeCommands.settleAll();
    this.dropTopology();
    this.commands?.disconnect();
    this.commands = undefined;
    this.handler = undefined;
    await stopped;
  }

  // --- delivery ---------------------------------------------------------------------------------------

  private receive(message: Buffer): void {
    if (this.lifecycle === 'closed' || this.handler === undefined) return;
    if (this.canary.receive(message) || this.nodeCommands.receive(message)) return;
    const parsed = parseChannelMessage(message);
    if (parsed === undefined) return;
    if (parsed.seq !== undefined) return this.receivePresence(parsed, parsed.seq);
    const topic = bodyTopic(parsed.body);
    if (topic === undefined) return;
    // Matching at delivery time makes unsubscribe take effect at once, even for messages in flight.
    const matches = this.subscriptions.match(topic);
    if (matches.size === 0) return;
    const { offset, epoch } = parsed;
    // A copy from another channel goes to the hub too: it delivers each (topic, epoch, offset) once.
    const missing = this.gaps.observe(topic, epoch, offset, matches, ++this.tick, this.link.up);
    if (missing !== undefined) this.reportGap(topic, missing);
    const publication = decodeBody(parsed.body, offset, epoch, parsed.time);
    if (publication === undefined) return;
    this.callHandler((handler) => handler.onPublication(publication));
  }

  /** A presence entry: to exact subscriptions only (wildcards are never members, design §1.2), `seq` checked for gaps. */
  private receivePresence(parsed: ChannelMessage, seq: number): void {
    const entry = decodePresenceEntry(parsed.body, parsed.offset, seq, parsed.epoch, parsed.time);
    const exact = entry === undefined ? undefined : this.subscriptions.get(entry.topic);
    if (entry === undefined || exact === undefined) return;
    const missing = this.presenceGaps.observe(entry.topic, entry.epoch, seq, new Set([exact]), ++this.tick, this.link.up);
    if (missing !== undefined) this.reportGap(entry.topic, missing, 'presence seqs');
    this.callHandler((handler) => handler.onPresence?.(entry));
  }

  private reportGap(topic: string, missing: MissingOffsets, what = 'offsets'): void {
    this.gapCount++;
    const error = unavailable(`${what} ${missing.from}-${missing.to} of ${topic} in epoch ${missing.epoch} never arrived through pub/sub`);
    this.interruptionCount++;
    this.callHandler((handler) => handler.onInterrupted?.(error));
    this.callHandler((handler) => handler.onResumed?.());
  }

  private callHandler(call: (handler: EngineHandler) => void): void {
    const handler = this.handler;
    if (handler === undefined) return;
    try {
      call(handler);
    } catch (error) {
      // The handler broke its contract. Do not let it break the engine's I/O; surface it like a throwing
      // event listener would, as an uncaught exception.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  // --- the link's side: outage and recovery ------------------------------------------------------------

  private interrupted(error: BrokerError, wentDown: boolean): void {
    this.canary.failAll(error);
    if (!wentDown) return;
    // Positions seen before the break say nothing about continuity after it: the hub recovers instead.
    this.gaps.clear();
    this.presenceGaps.clear();
    this.subscriptions.deactivateAll();
    this.interruptionCount++;
    this.callHandler((handler) => handler.onInterrupted?.(error));
  }

  private linkUp(resumed: boolean): void {
    this.subscriptions.activateAll(++this.tick);
    if (resumed) this.callHandler((handler) => handler.onResumed?.());
    if (resumed) void this.presence.liveness.beat(); // at once: after a long outage its liveness has lapsed
  }

  /** New subscriber connections, every registered channel subscribed, canaries back. Throws on any failure. */
  private async rebuild(generation: number): Promise<void> {
    const commands = this.commands;
    if (commands === undefined) throw closedError();
    const { target, commandTimeoutMs, replicasToAck } = this.settings;
    await waitForReady(commands, commandTimeoutMs, this.link.closingSignal);
    this.link.assertGeneration(generation);
    if (target.mode === 'single' && replicasToAck === 0) {
      this.replicationHistory = await readLineage(commands as Redis, this.keyspace.lineageKey());
      this.link.assertGeneration(generation);
    }
    this.dropTopology();
    const topology = await buildTopology(this.topologyContext, commands, generation);
    this.link.assertGeneration(generation);
    this.topology = topology;
    await Promise.all(topology.shards.map((shard) => shard.connection.connect()));
    this.link.assertGeneration(generation);
    await Promise.all([...topology.shards.map((shard) => subscribeShard(topology, shard, [shard.canaryChannel])), this.nodeCommands.subscribe(topology)]);
    await syncChannels(topology, this.subscriptions.channels, () => this.link.assertGeneration(generation));
    await this.runCanary();
  }

  /** Forgets the topology in use before disconnecting it, so that its connections' last events are ignored. */
  private dropTopology(): void {
    const topology = this.topology;
    this.topology = undefined;
    disposeTopology(topology);
  }

  // --- helpers ----------------------------------------------------------------------------------------

  /** Read through a getter so that TypeScript does not narrow it across awaits, where close() may run. */
  private get closed(): boolean {
    return this.lifecycle === 'closed';
  }

  private assertStarted(): void {
    if (this.lifecycle === 'closed') throw closedError();
    if (this.lifecycle !== 'started') {
      throw new BrokerError(BrokerErrorCode.engineNotStarted, 'call start() before using the engine');
    }
  }

  private commandsIfUp(): CommandConnection {
    const commands = this.commands;
    if (!this.link.up || commands === undefined) throw this.unavailableNow();
    return commands;
  }

  private unavailableNow(): BrokerError {
    return unavailable('Redis is unreachable or pub/sub is being restored', this.link.lastError);
  }

  /** A canary round through the subscribers in use. */
  private runCanary(): Promise<void> {
    const topology = this.topology;
    if (topology === undefined) return Promise.reject(unavailable('not connected'));
    return this.canary.run(topology);
  }

  private publishCanary(channel: string, message: Buffer): Promise<unknown> {
    const commands = this.commands;
    if (commands === undefined) return Promise.reject(unavailable('not connected'));
    return publishOn(this.settings.target.mode, commands, channel, message);
  }

  /** Reports a command's duration to the hub (latency histograms); no closure, it runs once per publish. */
  private timed(command: EngineCommand, started: number): void {
    this.handler?.onCommandTimed?.(command, (performance.now() - started) / 1000);
  }

  private clockArgument(): string {
    const { now } = this.settings;
    return now === undefined ? '' : String(Math.floor(now()));
  }

  private nextEpoch(): string {
    return `${this.settings.epochPrefix}-${(++this.epochCounter).toString(36)}`;
  }
}
