import type { IncomingHttpHeaders } from 'node:http';
import type { ProtocolError, ServerLimits } from '@switchboard/protocol';
import type { WebSocket } from '@switchboard/core';
import type { Logger } from 'pino';
import type { AuthHook, Identity } from '../auth/authenticator.js';
import type { Config } from '../config/config.js';
import type { NamespaceResolver } from '../config/namespace-resolver.js';
import type { Payload, PresenceMember, StreamPosition } from '../engine/engine.js';
import type { CompressionVariant } from '../hub/delivery.js';
import type { Hub } from '../hub/hub.js';
import type { BackendProxy } from '../proxy/backend-proxy.js';
import type { BrokerStats } from '../stats.js';
import type { ExpirySchedule } from './expiry-schedule.js';
import type { InvalidInputFields, RequestAddress } from './session-errors.js';
import type { SessionOutbound } from './session-outbound.js';
import type { Session } from './session.js';

/** What every session of a broker shares. */
export interface SessionContext {
  readonly config: Config;
  readonly hub: Hub;
  readonly stats: BrokerStats;
  readonly logger: Logger;
  readonly authenticate: AuthHook;
  /** Per-topic settings: access, rate, size, recovery (config/namespace-resolver.ts). */
  readonly namespaces: NamespaceResolver;
  /** Sent in `welcome` (protocol.md §12); they bind both directions. */
  readonly limits: ServerLimits;
  /** Milliseconds since the Unix epoch (token expiry, chunk timeouts). */
  readonly now: () => number;
  /**
   * `now` when the broker started: a session keeps its connection time as ms since then, a small integer (a
   * Smi, in the field itself for the first 24 days) where ms since the Unix epoch is a 16-byte heap number.
   */
  readonly startedAt: number;
  /** The token expiries of the node's sessions, on `now`'s clock: one timer for them all. */
  readonly expiries: ExpirySchedule;
  /** Milliseconds on a monotonic clock (the publish rate limiter). */
  readonly monotonicNow: () => number;
  /**
   * Whether anything reads a session's upgrade headers after the upgrade: an application's auth hook (on
   * `refresh`) or the backend proxy. The built-in authentication reads only the token.
   */
  readonly keepsHeaders: boolean;
  /** Called once, when the connection has ended (with its close code) and the session has released everything. */
  readonly onClosed: (session: Session, code: number) => void;
  /** Told of what a connection did that the application's backend may hear of (webhooks); must not throw. */
  readonly events?: SessionEvents;
  /** The application's backend deciding subscribes, publishes, refreshes and rpc (proxy/backend-proxy.ts). */
  readonly proxy?: BackendProxy;
}

export interface SessionEvents {
  /** A publish the engine took (not a duplicate), with the publisher. */
  published(topic: string, payload: Payload, position: StreamPosition, publisher: PresenceMember): void;
}

/** One connection's own starting point, from the upgrade. */
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
 * What a session's parts (`session-*.ts`: its subscriptions, publisher, credentials, inbound queue) use of
 * the session. Each part sends only through `outbound`, and ends the connection only through the session,
 * so that closing releases everything once.
 */
export interface SessionScope {
  readonly connectionId: string;
  readonly context: SessionContext;
  readonly config: Config;
  readonly variant: CompressionVariant;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  /** False from the moment the connection starts closing: parts then stop answering. */
  readonly isOpen: boolean;
  readonly logger: Logger;
  readonly outbound: SessionOutbound;
  /** The connection as a presence member: its id, user and info, fixed at the handshake (protocol.md §14.1). */
  readonly presenceMember: PresenceMember;
  /** A server-side subscription is offered (protocol.md §14.3): subscribing to it needs no grant. */
  isServerSubscription(pattern: string): boolean;
  /** What the connection's current credentials allow. */
  readonly permissions: { canSubscribe(pattern: string): boolean; canPublish(topic: string): boolean };
  /** Answers invalid input; too much of it closes the connection with 4400 (protocol.md §10). */
  reject(error: ProtocolError, fields: InvalidInputFields): void;
  /** Answers a request the engine could not serve: `unavailable` (retryable) or `internal`. */
  failRequest(error: unknown, address: RequestAddress, what: string): void;
  /** Ends the connection with a pubsub.v1 close code (protocol.md §11). */
  close(code: number, reason: string): void;
  /** Ends the connection as a slow consumer (4001): something owed to it could not be kept. */
  closeSlowConsumer(reason: string): void;
}
