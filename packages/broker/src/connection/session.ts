import type { IncomingHttpHeaders } from 'node:http';
import { type ClientMessage, type ProtocolError, ProtocolCloseCode, ProtocolErrorCode, type RefreshMessage, SUBPROTOCOL } from '@switchboard/protocol';
import { ErrorCode, type MessageData, ReadyState, type WebSocket, type WebSocketError } from '@switchboard/core';
import type { Logger } from 'pino';
import { infoText } from '../auth/identity-info.js';
import type { Permissions } from '../auth/permissions.js';
import { type CompactSet, hasMember, membersOf, withMember, withoutMember } from '../collections/compact-set.js';
import type { Config } from '../config/config.js';
import type { ConnectionReport, PresenceMember } from '../engine/engine.js';
import type { CompressionVariant, Delivery, Frames } from '../hub/delivery.js';
import type { HubSubscriber, OutageGap, PresenceOutageGap } from '../hub/hub-subscriber.js';
import type { PresenceDelivery } from '../hub/presence-delivery.js';
import type { SendQueue } from './send-queue.js';
import type { SessionContext, SessionInit, SessionScope, SessionState } from './session-context.js';
import { SessionCredentials, permissionsFor } from './session-credentials.js';
import { type InvalidInputFields, type RequestAddress, isInvalidInput, rejection, requestFailure } from './session-errors.js';
import { type DecodeFailure, InboundQueue } from './session-inbound.js';
import { SessionOutbound } from './session-outbound.js';
import { SessionPresence } from './session-presence.js';
import { answerRpc } from './session-proxy.js';
import { SessionPublisher } from './session-publisher.js';
import { offersAtHandshake, userOf, userTopicOf, welcomeUserFields } from './session-server-subscriptions.js';
import { SessionSubscriptions } from './session-subscriptions.js';

export type { SessionContext, SessionInit, SessionState } from './session-context.js';

/** Where the WebSocket's listeners, shared by every session, find the session that owns it. */
const owner = Symbol('session');

type OwnedWebSocket = WebSocket & { [owner]: Session };

/**
 * One pubsub.v1 connection, from `welcome` to close: it wires the socket to its parts and ends them
 * together. Inbound messages go through `InboundQueue` (decoded, handled in order) to the part that
 * answers them: `SessionSubscriptions`, `SessionPublisher` or `SessionCredentials`; everything sent goes
 * through `SessionOutbound`. Closing, from either side, releases the connection's subscriptions, buffers
 * and timers at once.
 */
export class Session implements HubSubscriber, SessionScope {
  readonly connectionId: string;
  readonly variant: CompressionVariant;
  readonly remoteAddress: string | undefined;
  readonly context: SessionContext;
  readonly outbound: SessionOutbound;
  /** When the connection opened, ms since `context.startedAt` (see there why). */
  private readonly connectedSince: number;
  readonly websocket: WebSocket;
  /**
   * The user of this connection, if it has one: the handshake's (a refresh changes the credentials, never the
   * user). The identity itself is not kept: a token's grants were arrays of every connection of a JWT user.
   */
  readonly user: string | undefined;
  /** Made on first use (a presence join, a webhook, a publish, a report): most connections never need it. */
  private presenceMemberIfAny: PresenceMember | undefined;
  /** The subscriptions the server offers the connection (protocol.md §14.3; `offersAtHandshake`). */
  private offers: CompactSet;
  /**
   * The upgrade headers as one flat string: Node's headers object (a dictionary) and its strings were about
   * 500 bytes of every idle connection, for an auth hook's `refresh` and the backend proxy, which are rare.
   * Not kept when neither is there to read them (`SessionContext.keepsHeaders`).
   */
  private readonly headerText: string | undefined;
  /** The inbound queue while a message is being handled (`InboundQueue` sets and clears it). */
  inbound: InboundQueue | undefined;
  /** What the current credentials allow: the handshake identity's, until a refresh replaces them. */
  private currentPermissions: Permissions;
  /** Made for a token that expires, or on a refresh: most connections' credentials never change. */
  private credentialsIfAny: SessionCredentials | undefined;
  private readonly subscriptions: SessionSubscriptions;
  /** Created on the first publish: most connections only subscribe. */
  private publisherIfAny: SessionPublisher | undefined;
  /** Created on the first presence request. */
  private presenceIfAny: SessionPresence | undefined;
  private sessionLogger: Logger | undefined;
  private currentState: SessionState = 'open';
  private invalidMessages = 0;
  private closeCode: number | undefined;

  constructor(init: SessionInit, context: SessionContext) {
    this.websocket = init.websocket;
    this.connectionId = init.connectionId;
    this.variant = init.variant;
    // JSON.stringify returns a rope of its parts; read back from bytes, the text is one flat string.
    this.headerText = context.keepsHeaders ? Buffer.from(JSON.stringify(init.headers), 'utf8').toString('utf8') : undefined;
    this.remoteAddress = init.remoteAddress;
    this.context = context;
    const { identity } = init;
    this.user = userOf(identity);
    this.outbound = new SessionOutbound(this);
    this.currentPermissions = permissionsFor(identity, this);
    if (identity.expiresAt !== undefined) this.credentialsIfAny = new SessionCredentials(this, identity.expiresAt);
    this.subscriptions = new SessionSubscriptions(this);
    // With info, the member is made now: the identity is not kept, and the info's JSON text is the handshake's.
    if (identity.info !== undefined) this.presenceMemberIfAny = presenceMemberOf(init.connectionId, this.user, identity.info, this.config);
    this.offers = offersAtHandshake(identity, context.config);
    // Exact for an integer clock (Date.now): both sides are integers far under 2^53.
    this.connectedSince = context.now() - context.startedAt;
  }

  /** When the connection opened, ms since the Unix epoch. */
  get connectedAt(): number {
    return this.context.startedAt + this.connectedSince;
  }

  get config(): Config {
    return this.context.config;
  }

  /** The connection as a presence member: its id, user and info, fixed at the handshake (protocol.md §14.1). */
  get presenceMember(): PresenceMember {
    // One with info was made at the handshake.
    return (this.presenceMemberIfAny ??= presenceMemberOf(this.connectionId, this.user, undefined, this.config));
  }

  /** The upgrade request's headers, as Node parsed them, a new object each time; none when nothing reads them. */
  get headers(): IncomingHttpHeaders {
    return this.headerText === undefined ? {} : (JSON.parse(this.headerText) as IncomingHttpHeaders);
  }

  // Created on first use: most connections never log, and at 10,000s of connections a pino child each is
  // kilobytes per connection (pnpm bench memory).
  get logger(): Logger {
    return (this.sessionLogger ??= this.context.logger.child({ connectionId: this.connectionId }));
  }

  /** A debug line, with the session's child logger made only when debug lines are written at all. */
  private debug(fields: object, message: string): void {
    if (this.context.logger.isLevelEnabled('debug')) this.logger.debug(fields, message);
  }

  private get credentials(): SessionCredentials {
    return (this.credentialsIfAny ??= new SessionCredentials(this, undefined));
  }

  private get publisher(): SessionPublisher {
    return (this.publisherIfAny ??= new SessionPublisher(this));
  }

  /** The send queue, created if there is none yet (tests and diagnostics). */
  get queue(): SendQueue<Frames> {
    return this.outbound.queue;
  }

  /** The send queue if this connection has one now; metrics read only those. */
  get queueIfAny(): SendQueue<Frames> | undefined {
    return this.outbound.queueIfAny;
  }

  get state(): SessionState {
    return this.currentState;
  }

  get isOpen(): boolean {
    return this.currentState === 'open';
  }

  get permissions(): Permissions {
    return this.currentPermissions;
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Nothing left to write, in the queue or in the socket: a graceful shutdown may close now. */
  get flushed(): boolean {
    return this.outbound.flushed;
  }

  /** Sends `welcome` and starts serving. Call once, right after the upgrade. */
  start(): void {
    const { websocket } = this;
    // Listeners shared by every session, which find theirs on the WebSocket (as core finds the WebSocket on
    // its socket): four closures per connection were ~250 bytes of each idle connection (docs/benchmarks.md).
    (websocket as OwnedWebSocket)[owner] = this;
    websocket.on('message', Session.websocketMessage);
    websocket.on('drain', Session.websocketDrain);
    websocket.on('error', Session.websocketError);
    websocket.on('close', Session.websocketClose);
    const expiresAt = this.credentialsIfAny?.expiresAt;
    const offers = [...membersOf(this.offers)];
    const { user } = this;
    const users = welcomeUserFields(user, offers, this.config);
    this.outbound.sendControl({
      op: 'welcome',
      protocol: SUBPROTOCOL,
      connectionId: this.connectionId,
      node: this.config.nodeName,
      limits: this.context.limits,
      ...(expiresAt === undefined ? {} : { tokenExpiresAt: Math.floor(expiresAt) }),
      ...users,
      // Each capability is announced by the step that serves it (docs/design/presence.md §6).
      capabilities: [
        ...(this.context.hub.presence === undefined ? [] : (['presence'] as const)),
        ...(users.capabilities ?? []),
        ...(this.context.proxy?.servesRpc === true ? (['rpc'] as const) : []),
      ],
    });
    this.credentialsIfAny?.scheduleExpiry();
    this.subscriptions.joinOffered(offers);
    if (user !== undefined && userTopicOf(user, this.config) === undefined && this.config.userTopicPrefix !== '') {
      this.logger.warn({ user: user.slice(0, 64) }, 'user id too long for a user topic: the connection has none');
    }
  }

  private static websocketMessage(this: WebSocket, data: MessageData, isBinary: boolean): void {
    InboundQueue.receive((this as OwnedWebSocket)[owner], data, isBinary);
  }

  private static websocketDrain(this: WebSocket): void {
    (this as OwnedWebSocket)[owner].outbound.pump();
  }

  private static websocketError(this: WebSocket, error: WebSocketError): void {
    (this as OwnedWebSocket)[owner].socketError(error);
  }

  private static websocketClose(this: WebSocket, code: number, reason: string): void {
    (this as OwnedWebSocket)[owner].finish(code, reason);
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

  closeSlowConsumer(reason: string): void {
    if (this.currentState !== 'open') return;
    this.context.stats.slowConsumerCloses++;
    this.close(ProtocolCloseCode.slowConsumer, reason);
  }

  /** Queues a publication for this connection (called by the hub's fan-out). */
  deliver(delivery: Delivery): void {
    this.queueDelivery(delivery);
  }

  /** Queues a join, leave or coalesced stats entry its subscription's level gets (the hub's presence fan-out). */
  deliverPresence(delivery: PresenceDelivery): void {
    this.queueDelivery(delivery);
  }

  private queueDelivery(delivery: Delivery | PresenceDelivery): void {
    if (this.currentState !== 'open') return;
    const admission = this.subscriptions.admit(delivery);
    if (admission === 'pass') {
      this.outbound.enqueue(delivery.itemFor(this.variant));
    } else if (admission === 'overflow') {
      // A history read that takes long under heavy traffic must not buffer without bound. Nothing may be
      // dropped here (the replay has not been queued yet), so the connection goes as a slow consumer and
      // recovers after reconnecting.
      this.closeSlowConsumer('deliveries waiting for a recovery over the send queue cap');
    }
  }

  isServerSubscription(pattern: string): boolean {
    return hasMember(this.offers, pattern);
  }

  /** Admin subscribe (protocol.md §14.3): offers `pattern`, announced with `server_subscribe` if new. */
  offerServerSubscription(pattern: string): void {
    if (this.currentState !== 'open' || hasMember(this.offers, pattern)) return;
    this.offers = withMember(this.offers, pattern);
    this.subscriptions.joinOffered([pattern]);
    this.outbound.sendControl({ op: 'server_subscribe', pattern });
  }

  /** Admin unsubscribe: withdraws `pattern` and ends its delivery, announced with `server_unsubscribed`. */
  withdrawServerSubscription(pattern: string): void {
    if (this.currentState !== 'open' || !hasMember(this.offers, pattern)) return;
    this.offers = withoutMember(this.offers, pattern);
    this.subscriptions.end(pattern);
    this.outbound.sendControl({ op: 'unsubscribed', pattern, code: ProtocolErrorCode.serverUnsubscribed });
  }

  /** This connection as admin commands report it. */
  report(): ConnectionReport {
    const { user } = this;
    // A member with info is made at the handshake: one without needs not be made for a report.
    const info = this.presenceMemberIfAny?.info;
    return {
      connectionId: this.connectionId,
      node: this.config.nodeName,
      ...(user === undefined ? {} : { user }),
      subscriptions: this.subscriptions.list,
      connectedAt: this.connectedAt,
      ...(info === undefined ? {} : { info }),
    };
  }

  /** Announces offsets the engine lost for good (protocol.md §8.3 `engine_outage`); control, never dropped. */
  notifyGap(gap: OutageGap): void {
    if (this.currentState !== 'open') return;
    const { stats } = this.context;
    stats.increment(stats.gapNotices, 'engine_outage');
    this.outbound.sendControl({ op: 'gap', topic: gap.topic, epoch: gap.epoch, from: gap.from, to: gap.to, reason: 'engine_outage' });
  }

  /** Announces presence entries the engine lost (protocol.md §13.3 `presence_gap` `engine_outage`); control. */
  notifyPresenceGap(gap: PresenceOutageGap): void {
    if (this.currentState !== 'open') return;
    const { stats } = this.context;
    stats.increment(stats.gapNotices, 'presence_engine_outage');
    this.outbound.sendControl({ op: 'presence_gap', topic: gap.topic, epoch: gap.epoch, seq: gap.seq, reason: 'engine_outage' });
  }

  /** Answers one inbound message (called by the inbound queue, in order). */
  handle(message: ClientMessage): Promise<void> | undefined {
    switch (message.op) {
      case 'subscribe':
        return this.subscriptions.subscribe(message);
      case 'unsubscribe':
        return this.subscriptions.unsubscribe(message);
      case 'publish':
        return this.publisher.publish(message);
      case 'chunk':
        return this.publisher.receiveChunk(message);
      case 'cancel':
        this.publisher.cancel(message.transfer);
        return undefined;
      case 'refresh':
        return this.refresh(message);
      case 'ping':
        this.outbound.sendControl({ op: 'pong', id: message.id });
        return undefined;
      case 'presence':
      case 'presence_stats':
        return (this.presenceIfAny ??= new SessionPresence(this)).request(message);
      case 'rpc':
        return answerRpc(this, message);
    }
  }

  /** Answers a message that did not decode; a chunk's transfer is abandoned (protocol.md §7.3). */
  refuse(failure: DecodeFailure): void {
    if (failure.transfer !== undefined) this.publisher.abandon(failure.transfer);
    this.reject(failure.error, { id: failure.id, transfer: failure.transfer });
  }

  reject(error: ProtocolError, fields: InvalidInputFields): void {
    this.outbound.sendError(rejection(error, fields));
    if (!isInvalidInput(error.code)) return;
    this.invalidMessages++;
    if (this.invalidMessages > this.config.maxInvalidMessages) {
      this.close(ProtocolCloseCode.protocolViolation, 'too many invalid messages');
    }
  }

  failRequest(error: unknown, address: RequestAddress, what: string): void {
    const failure = requestFailure(error, what, this.config.httpRetryAfterSeconds * 1000);
    if (failure.unexpected) this.logger.error({ err: error }, `${what} failed`);
    this.outbound.sendError({ ...address, ...failure.fields });
  }

  internalError(error: unknown): void {
    this.logger.error({ err: error }, 'session failed');
    this.close(ProtocolCloseCode.internalError, 'internal error');
  }

  private async refresh(message: RefreshMessage): Promise<void> {
    const permissions = await this.credentials.refresh(message);
    if (permissions === undefined) return;
    this.currentPermissions = permissions;
    this.subscriptions.endForbidden();
  }

  private socketError(error: WebSocketError): void {
    this.debug({ err: error }, 'websocket error');
    // Core's keepalive (`pingInterval`) heard nothing for a whole interval. Core closes with 4004 right after
    // this error (`keepaliveClose`); closing here first moves the session out of `open` at once.
    if (error.code === ErrorCode.keepaliveTimeout) this.close(ProtocolCloseCode.pingTimeout, 'no answer to ping');
  }

  /** Drops subscriptions, buffers and timers: nothing of this connection stays referenced by the node. */
  private release(): void {
    this.credentialsIfAny?.stop();
    this.publisherIfAny?.release();
    this.subscriptions.release();
    this.inbound?.clear();
    this.outbound.stop();
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
    this.debug({ code: closeCode, reason, initiatedByUs }, 'connection closed');
    this.context.onClosed(this, closeCode);
  }
}

/** A connection as a presence member (protocol.md §14.1); the broker refused the handshake of unusable info. */
function presenceMemberOf(connectionId: string, user: string | undefined, info: unknown, config: Config): PresenceMember {
  const checked = infoText(info, config.presenceMaxInfoBytes);
  return {
    connectionId,
    ...(user === undefined ? {} : { user }),
    ...(checked.ok && checked.json !== undefined ? { info: checked.json } : {}),
  };
}
