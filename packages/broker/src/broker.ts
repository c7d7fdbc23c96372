import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpStatus, ProtocolCloseCode, ProtocolErrorCode, SUBPROTOCOL, type ServerLimits, closeCodeOf, httpStatusOf } from '@switchboard/protocol';
import { type UpgradeOptions, checkUpgrade, completeUpgrade } from '@switchboard/core';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type AuthHook, type CheckedAuthOutcome, builtinAuthenticator, runAuthHook, tokenFromHeaders } from './auth/authenticator.js';
import { infoText } from './auth/identity-info.js';
import type { Config } from './config/config.js';
import { logRedaction } from './config/log-redaction.js';
import { NamespaceResolver } from './config/namespace-resolver.js';
import { reservedRootsOf } from './config/options-users.js';
import { newConnectionId } from './connection/connection-id.js';
import { ExpirySchedule } from './connection/expiry-schedule.js';
import { takePeerAddress } from './connection/peer-address.js';
import { Session, type SessionContext } from './connection/session.js';
import { identityProblem } from './connection/session-server-subscriptions.js';
import { UserIndex } from './connection/user-index.js';
import { ConsoleFigures } from './console/console-figures.js';
import { createEngine } from './create-engine.js';
import { createWebhooksRedis } from './create-webhooks-redis.js';
import type { CommandResult, Engine, NodeCommand } from './engine/engine.js';
import { checkSubprotocol, refuseUpgrade, upgradeOptionsOf } from './http/handshake.js';
import type { BrokerState, HttpBroker } from './http/http-broker.js';
import { createMetricsRegistry } from './http/metrics.js';
import { Hub } from './hub/hub.js';
import { policyMatcher } from './hub/policy-matcher.js';
import { runNodeCommand } from './node-commands.js';
import { BackendProxy } from './proxy/backend-proxy.js';
import { registerProxyMetrics } from './proxy/proxy-metrics.js';
import { BrokerStats } from './stats.js';
import { registerWebhookMetrics } from './webhooks/webhook-metrics.js';
import { Webhooks } from './webhooks/webhooks.js';

export interface BrokerDeps {
  /**
   * The cross-node engine.
   * @default from the config: the in-memory engine when `REDIS_URL` is unset.
   */
  readonly engine?: Engine;
  /**
   * Custom authentication, replacing the built-in JWT / anonymous check (which it may call itself: see
   * `builtinAuthenticator`).
   */
  readonly authenticate?: AuthHook;
  /** @default a pino logger at `config.logLevel` writing to stdout, secrets redacted (config/log-redaction.ts) */
  readonly logger?: Logger;
  /**
   * Wall clock, ms since the Unix epoch: token expiry, chunk timeouts.
   * @default Date.now
   */
  readonly now?: () => number;
}

export interface ShutdownOptions {
  /** How long queues may flush before clients are closed. @default config.shutdownDrainMs */
  readonly drainMs?: number;
  /** Window over which the 4100 closes are spread. @default config.shutdownSpreadMs */
  readonly spreadMs?: number;
}

/** The limits announced in `welcome` (protocol.md §12). */
export function serverLimits(config: Config): ServerLimits {
  return {
    maxMessageBytes: config.maxMessageBytes,
    chunkBytes: config.chunkBytes,
    maxFrameBytes: config.maxFrameBytes,
    maxSubscriptions: config.maxSubscriptions,
    maxConcurrentTransfers: config.maxConcurrentTransfers,
    maxIncompleteBytes: config.maxIncompleteBytes,
    chunkTimeoutMs: config.chunkTimeoutMs,
    idempotencyWindowMs: config.idempotencyWindowMs,
    tokenGraceMs: config.tokenGraceMs,
    ...(config.publishRatePerSecond > 0 ? { publishRate: { perSecond: config.publishRatePerSecond, burst: config.publishRateBurst } } : {}),
  };
}

/**
 * One broker node without its HTTP listener: the hub and engine, the open sessions, the upgrade handling,
 * metrics, and graceful shutdown. `buildApp` wires it into fastify.
 */
export class Broker implements HttpBroker {
  readonly config: Config;
  readonly hub: Hub;
  readonly engine: Engine;
  readonly stats = new BrokerStats();
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly limits: ServerLimits;
  readonly authenticate: AuthHook;
  readonly namespaces: NamespaceResolver;
  readonly consoleFigures: ConsoleFigures;
  /** Events for the application's backend (docs/operations.md "Webhooks"); undefined without an endpoint. */
  readonly webhooks: Webhooks | undefined;
  /** The backend deciding connects, subscribes, publishes, refreshes and rpc (docs/operations.md "Backend proxy"). */
  readonly proxy: BackendProxy | undefined;
  private readonly now: () => number;
  private readonly sessionsById = new Map<string, Session>();
  /** Open sessions by user, for admin commands (connection/user-index.ts). */
  private readonly users = new UserIndex<Session>();
  /** Core's handshake and connection options, the same for every upgrade (one object, not one per connection). */
  private readonly upgradeOptions: UpgradeOptions;
  private readonly closeWaiters = new Set<() => void>();
  private readonly sessionContext: SessionContext;
  private pendingHandshakes = 0;
  /** Runs while the engine is unavailable and ENGINE_OUTAGE_SHED is set: when it fires, clients are shed. */
  private outageShedTimer: NodeJS.Timeout | undefined;
  /** Connections were shed for the current outage: upgrades are refused until the engine is back. */
  private shedForOutage = false;
  private currentState: BrokerState = 'running';
  private shutdownPromise: Promise<void> | undefined;

  constructor(config: Config, deps: BrokerDeps = {}) {
    this.config = config;
    this.logger = deps.logger ?? pino({ level: config.logLevel, base: { node: config.nodeName }, redact: logRedaction });
    this.now = deps.now ?? Date.now;
    // Before the engine: reading the token keys may refuse the configuration, and nothing is open yet then.
    this.proxy = BackendProxy.fromConfig(config);
    const builtin = deps.authenticate ?? builtinAuthenticator(config, this.now, this.logger);
    this.authenticate = this.proxy?.authenticator(builtin) ?? builtin;
    this.engine = deps.engine ?? createEngine(config);
    this.limits = serverLimits(config);
    this.upgradeOptions = upgradeOptionsOf(config);
    this.namespaces = new NamespaceResolver(config);
    this.webhooks = Webhooks.fromConfig(config, this.logger, this.now, () => createWebhooksRedis(config));
    const { webhooks } = this;
    this.hub = new Hub({
      engine: this.engine,
      stats: this.stats,
      logger: this.logger,
      chunkBytes: config.chunkBytes,
      policyFor: policyMatcher(config, this.namespaces),
      historyFor: (topic) => this.namespaces.namespaceFor(topic).history,
      deflate: { threshold: config.deflateThresholdBytes, maxInflatedSize: config.maxFrameBytes },
      maxRecoveryMessages: config.maxRecoveryMessages,
      onEngineAvailability: (interrupted) => this.engineAvailabilityChanged(interrupted),
      ...(webhooks === undefined ? {} : { onSubscribersChanged: webhooks.subscribersChanged.bind(webhooks), swept: webhooks }),
      presence: {
        patterns: config.presence,
        write: { eventRate: config.presenceEventRate, history: { size: config.presenceHistorySize, ttlMs: config.historyTtlMs } },
        maxMembers: config.presenceMaxMembers,
        ...(webhooks === undefined ? {} : { onChange: webhooks.presenceChanged.bind(webhooks) }),
      },
      reservedRoots: reservedRootsOf(config),
      onCommand: (command) =>
        command.op === 'node-report'
          ? [{ connectionId: '', node: config.nodeName, report: this.consoleFigures.answer(command, this.sessionsById) }]
          : runNodeCommand(command, {
              nodeName: config.nodeName,
              users: this.users,
              hub: this.hub,
              session: (id) => this.sessionsById.get(id),
              connectionCount: this.sessionsById.size,
              running: this.currentState === 'running',
              rebalance: (fraction, spreadMs) => this.rebalance(fraction, spreadMs),
            }),
    });
    this.consoleFigures = new ConsoleFigures({
      nodeName: config.nodeName,
      stats: this.stats,
      hub: this.hub,
      state: () => this.currentState,
      connectionCount: () => this.sessionsById.size,
    });
    this.metrics = createMetricsRegistry(
      {
        stats: this.stats,
        connections: () => this.sessionsById.size,
        subscriptions: () => this.hub.subscriptionCount,
        patterns: () => this.hub.patternCount,
        presenceMembers: () => this.hub.presence?.memberCount ?? 0,
        queues: () => this.queueFigures(),
        engineAvailable: () => !this.hub.engineInterrupted,
      },
      { node: config.nodeName },
    );
    if (webhooks !== undefined) registerWebhookMetrics(this.metrics, webhooks);
    webhooks?.recordConnections(this.engine.nodeId, this.sessionsById);
    if (this.proxy !== undefined) registerProxyMetrics(this.metrics, this.proxy.client);
    // One for every session of the node: a context object and two closures per connection were ~250 bytes each.
    this.sessionContext = {
      config,
      hub: this.hub,
      stats: this.stats,
      logger: this.logger,
      authenticate: this.authenticate,
      namespaces: this.namespaces,
      limits: this.limits,
      now: this.now,
      startedAt: this.now(),
      expiries: new ExpirySchedule(this.now),
      monotonicNow: () => performance.now(),
      keepsHeaders: deps.authenticate !== undefined || this.proxy !== undefined,
      onClosed: (closed, code) => this.forget(closed, code),
      ...(webhooks === undefined ? {} : { events: webhooks }),
      ...(this.proxy === undefined ? {} : { proxy: this.proxy }),
    };
  }

  get state(): BrokerState {
    return this.currentState;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.sessionsById.size;
  }

  sessions(): IterableIterator<Session> {
    return this.sessionsById.values();
  }

  session(connectionId: string): Session | undefined {
    return this.sessionsById.get(connectionId);
  }

  /** Starts the engine. */
  async start(): Promise<void> {
    await this.hub.start();
    this.logger.info({ engine: this.engine.constructor.name }, 'engine started');
  }

  /** Ready to take traffic: running, and the engine proves it can publish and deliver. */
  async ready(): Promise<{ ready: boolean; reason?: string }> {
    if (this.currentState !== 'running') return { ready: false, reason: 'shutting down' };
    if (!(await this.engine.ready())) return { ready: false, reason: 'engine not ready' };
    return { ready: true };
  }

  /** Whether fan-out queues are so full that backends must slow down (POST /publish answers 429). */
  get saturated(): boolean {
    return this.stats.queuedBytes >= this.config.httpPublishSaturationBytes;
  }

  /** The `upgrade` listener for the HTTP server. Never throws; every refusal is an HTTP answer. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A peer resetting during the handshake is routine; the socket's close tells the rest.
    socket.on('error', ignore);
    this.upgrade(request, socket, head).catch((error: unknown) => {
      this.logger.error({ err: error }, 'upgrade failed');
      if (!socket.destroyed) refuseUpgrade(socket, httpStatusOf(ProtocolErrorCode.internal), ProtocolErrorCode.internal, 'internal error');
    });
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { config, stats } = this;
    const retryAfter = { 'Retry-After': String(config.httpRetryAfterSeconds) };
    const refuse = (code: ProtocolErrorCode, message: string, headers?: Record<string, string>, status: number = httpStatusOf(code)): void => {
      stats.increment(stats.handshakeRejections, code);
      this.logger.debug({ status, code, message }, 'upgrade refused');
      refuseUpgrade(socket, status, code, message, headers);
    };
    if (pathOf(request.url) !== config.wsPath) return refuse(ProtocolErrorCode.badRequest, `the WebSocket endpoint is ${config.wsPath}`, undefined, HttpStatus.notFound);
    if (this.currentState !== 'running') return refuse(ProtocolErrorCode.unavailable, 'the node is shutting down', retryAfter);
    if (this.shedForOutage) return refuse(ProtocolErrorCode.unavailable, 'the engine is unavailable: connect to another node', retryAfter);
    if (this.sessionsById.size + this.pendingHandshakes >= config.maxConnections) {
      return refuse(ProtocolErrorCode.unavailable, `connection limit ${config.maxConnections} reached`, retryAfter);
    }
    // Core's RFC 6455 checks (the Origin allowlist among them) and its subprotocol selection run before
    // authentication, so a request core would refuse costs no auth hook call.
    const { upgradeOptions } = this;
    const handshake = checkUpgrade(request, upgradeOptions);
    if (!handshake.accepted) {
      // Core refuses with 403 only for the Origin; the broker words that one (protocol.md §2.1).
      if (handshake.status === HttpStatus.forbidden) return refuse(ProtocolErrorCode.forbidden, 'origin not allowed');
      stats.increment(stats.handshakeRejections, ProtocolErrorCode.badRequest);
      completeUpgrade(request, socket, head, handshake, upgradeOptions);
      return;
    }
    const { headers } = request;
    const remoteAddress = takePeerAddress(request.socket);
    if (checkSubprotocol(handshake.protocol, headers['sec-websocket-protocol'] !== undefined, config.allowMissingSubprotocol) === 'refused') {
      return refuse(ProtocolErrorCode.unsupportedProtocol, `offer Sec-WebSocket-Protocol: ${SUBPROTOCOL}`);
    }

    this.pendingHandshakes++;
    let outcome: CheckedAuthOutcome | 'timeout';
    try {
      const authentication = runAuthHook(this.authenticate, {
        kind: 'connect',
        token: tokenFromHeaders(headers, true),
        headers,
        remoteAddress,
      });
      outcome = authentication instanceof Promise ? await withTimeout(authentication, config.handshakeTimeoutMs) : authentication;
    } finally {
      this.pendingHandshakes--;
    }
    if (socket.destroyed) return;
    if (outcome === 'timeout') return refuse(ProtocolErrorCode.unavailable, 'the handshake timed out (authentication)', retryAfter);
    if (this.currentState !== 'running') return refuse(ProtocolErrorCode.unavailable, 'the node is shutting down', retryAfter);
    let closeWith: { code: ProtocolErrorCode; close: number; reason: string } | undefined;
    const identity = outcome.ok ? outcome.identity : undefined;
    const problem = identity === undefined ? undefined : identityProblem(identity, config);
    if (problem !== undefined) {
      this.logger.error({ problem }, 'auth hook returned an identity that cannot be served');
      return refuse(ProtocolErrorCode.forbidden, 'authentication failed');
    }
    if (!outcome.ok) {
      const { code, message } = outcome;
      if (outcome.hookError !== undefined) this.logger.error({ err: outcome.hookError }, 'auth hook failed');
      if (code === ProtocolErrorCode.forbidden) return refuse(code, message);
      // The token may be fine: its key could not be fetched (protocol.md §2.1: 503, retry later).
      if (code === ProtocolErrorCode.unavailable) return refuse(code, message, retryAfter);
      if (!config.authFailureAfterUpgrade) return refuse(code, message, { 'WWW-Authenticate': 'Bearer' });
      // protocol.md §2.2: browsers cannot read a 401, so report it after the upgrade, by the code's close code.
      closeWith = { code, close: closeCodeOf(code) ?? ProtocolCloseCode.unauthorized, reason: message.slice(0, 120) };
    }

    // A hook's info is checked here (the built-in authenticator refuses an oversized JWT `info` with 401 itself).
    const info = identity === undefined ? undefined : infoText(identity.info, config.presenceMaxInfoBytes);
    if (info?.ok === false) {
      this.logger.error({ subject: identity?.subject, reason: info.message }, 'auth hook returned unusable info: connection refused');
      return refuse(ProtocolErrorCode.forbidden, info.message);
    }

    const websocket = completeUpgrade(request, socket, head, handshake, upgradeOptions);
    if (websocket === undefined) return;
    // Core's own listener now keeps an error from crashing the process; a second one is an array per socket.
    socket.off('error', ignore);
    if (closeWith !== undefined || identity === undefined) {
      stats.increment(stats.handshakeRejections, closeWith?.code ?? ProtocolErrorCode.invalidToken);
      websocket.on('error', ignore);
      websocket.close(closeWith?.close ?? ProtocolCloseCode.unauthorized, closeWith?.reason ?? 'unauthorized');
      return;
    }
    const connectionId = newConnectionId();
    const session = new Session(
      {
        websocket,
        connectionId,
        identity,
        headers,
        remoteAddress,
        variant: this.hub.variantFor(websocket.deflate),
      },
      this.sessionContext,
    );
    this.sessionsById.set(connectionId, session);
    this.users.add(session);
    stats.connectionsOpened++;
    this.logger.debug({ connectionId, subject: identity.subject, remoteAddress }, 'connection opened');
    session.start();
    this.webhooks?.connectionOpened(session.presenceMember);
  }

  private forget(session: Session, code: number): void {
    this.sessionsById.delete(session.connectionId);
    this.users.delete(session);
    this.webhooks?.connectionClosed(session.presenceMember, code);
    if (this.sessionsById.size === 0) {
      for (const resolve of this.closeWaiters) resolve();
      this.closeWaiters.clear();
    }
  }

  /**
   * Graceful shutdown: refuse new connections (503) and report not ready, let every queue flush for up to
   * `drainMs`, then close each connection with 4100 (`shutdown`, "reconnect now"), spread evenly over
   * `spreadMs` so the clients do not all land on the next node in the same instant. Resolves when every
   * connection has ended (a peer that does not finish the closing handshake is cut after `closeTimeoutMs`).
   * Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shutdownPromise ??= this.runShutdown(options.drainMs ?? this.config.shutdownDrainMs, options.spreadMs ?? this.config.shutdownSpreadMs);
    return this.shutdownPromise;
  }

  private async runShutdown(drainMs: number, spreadMs: number): Promise<void> {
    this.currentState = 'draining';
    this.logger.info({ connections: this.sessionsById.size, drainMs, spreadMs }, 'shutting down: draining queues');
    const deadline = performance.now() + drainMs;
    while (performance.now() < deadline && [...this.sessionsById.values()].some((session) => !session.flushed)) {
      await sleep(Math.min(20, Math.max(1, deadline - performance.now())));
    }
    const sessions = [...this.sessionsById.values()];
    const allClosed = this.sessionsById.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.closeWaiters.add(resolve));
    await closeSpread(sessions, ProtocolCloseCode.shutdown, 'server shutting down', spreadMs);
    // Every close ends within closeTimeoutMs (core destroys the socket); wait a little longer at most.
    const bound = new AbortController();
    await Promise.race([allClosed, sleep(this.config.closeTimeoutMs + 1000, undefined, { signal: bound.signal }).catch(() => undefined)]);
    bound.abort();
    this.logger.info('shutdown: connections closed');
    // SIGTERM removes this node's members at once: the sessions' leaves, then the engine's unregister.
    await this.hub.presence?.shutdown(drainMs);
  }

  /**
   * Sheds `fraction` of this node's connections with 4101 (`rebalance`, "reconnect now"), so the load
   * balancer places them again, e.g. on nodes added since: connections are long-lived and otherwise stay
   * where they first landed. The chosen connections are spread evenly over arrival order and their closes
   * over `spreadMs`; each client reconnects and recovers what it missed from history. Returns how many are
   * being closed; the closes go on in the background. A node that is not running sheds nothing.
   */
  rebalance(fraction: number, spreadMs = this.config.shutdownSpreadMs): number {
    if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`fraction must be in (0, 1], got ${fraction}`);
    if (this.currentState !== 'running') return 0;
    const sessions = [...this.sessionsById.values()];
    const count = Math.round(sessions.length * fraction);
    const chosen = Array.from({ length: count }, (_, index) => sessions[Math.floor((index * sessions.length) / count)] as Session);
    this.logger.info({ connections: sessions.length, closing: count, spreadMs }, 'rebalancing: shedding connections');
    void closeSpread(chosen, ProtocolCloseCode.rebalance, 'rebalancing to other nodes', spreadMs);
    return count;
  }

  command(command: NodeCommand): Promise<CommandResult> {
    return this.hub.command(command, this.config.adminCommandTimeoutMs);
  }

  /**
   * ENGINE_OUTAGE_SHED: a node that has lost its engine for that long can no longer deliver what other nodes
   * publish, so it closes every connection with 4003 (`unavailable`, back off), spread like a shutdown, and
   * refuses upgrades (503) until the engine is back; the load balancer's next try lands on a healthy node.
   */
  private engineAvailabilityChanged(interrupted: boolean): void {
    clearTimeout(this.outageShedTimer);
    this.outageShedTimer = undefined;
    if (!interrupted) {
      if (this.shedForOutage) this.logger.info('engine available again: accepting connections');
      this.shedForOutage = false;
      return;
    }
    const afterMs = this.config.engineOutageShedMs;
    if (afterMs === 0) return;
    this.outageShedTimer = setTimeout(() => {
      this.outageShedTimer = undefined;
      if (this.currentState !== 'running' || !this.hub.engineInterrupted) return;
      this.shedForOutage = true;
      const sessions = [...this.sessionsById.values()];
      this.logger.warn({ connections: sessions.length, afterMs }, 'engine unavailable: shedding connections with 4003');
      void closeSpread(sessions, ProtocolCloseCode.unavailable, 'engine unavailable', this.config.shutdownSpreadMs);
    }, afterMs);
    this.outageShedTimer.unref();
  }

  /** Stops the engine and releases shared resources. Call after `shutdown`. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    await this.shutdown({ drainMs: 0, spreadMs: 0 });
    this.currentState = 'closed';
    clearTimeout(this.outageShedTimer);
    await this.webhooks?.close(this.config.shutdownDrainMs);
    this.proxy?.close();
    await this.engine.close();
    this.hub.close();
  }

  private queueFigures(): { depth: number; maxBytes: number; overHalf: number; pendingGaps: number } {
    let depth = 0;
    let maxBytes = 0;
    let overHalf = 0;
    let pendingGaps = 0;
    const half = this.config.maxQueuedBytes / 2;
    for (const session of this.sessionsById.values()) {
      const queue = session.queueIfAny;
      if (queue === undefined) continue;
      depth += queue.depth;
      pendingGaps += queue.pendingGaps;
      maxBytes = Math.max(maxBytes, queue.queuedBytes);
      if (queue.queuedBytes > half) overHalf++;
    }
    return { depth, maxBytes, overHalf, pendingGaps };
  }
}

/** The error listener of a socket whose close tells the rest: one function for every connection, not one each. */
function ignore(): void {}

function pathOf(url: string | undefined): string {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes `sessions` with `code`, evenly spaced over `spreadMs` so their clients do not all reconnect in the
 * same instant; in order of arrival, skipping sessions that ended meanwhile.
 */
async function closeSpread(sessions: readonly Session[], code: number, reason: string, spreadMs: number): Promise<void> {
  const step = sessions.length > 1 ? spreadMs / (sessions.length - 1) : 0;
  for (const [index, session] of sessions.entries()) {
    if (index > 0 && step > 0) await sleep(step);
    session.close(code, reason);
  }
}

