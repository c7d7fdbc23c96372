import { ProtocolCloseCode, ProtocolErrorCode, type RefreshMessage } from '@switchboard/protocol';
import { type Identity, permissionsOf, runAuthHook } from '../auth/authenticator.js';
import type { Permissions } from '../auth/permissions.js';
import { reservedRootsOf } from '../config/options-users.js';
import type { Expiring } from './expiry-schedule.js';
import type { SessionScope } from './session-context.js';
import { backendExtendsSession } from './session-proxy.js';

/** The permissions an identity has on this broker. */
export function permissionsFor(identity: Identity, session: Pick<SessionScope, 'context' | 'config'>): Permissions {
  return permissionsOf(identity, session.context.namespaces, reservedRootsOf(session.config));
}

/**
 * Until when a connection is who it is: the token's expiry (protocol.md §9: at expiry `token_expired`, then
 * `tokenGraceMs` to refresh, then 4102) and `refresh`, which replaces the identity and so the permissions (the
 * session keeps those). A session makes one only for a token that expires, or on a `refresh`: credentials
 * that never change need none.
 */
export class SessionCredentials implements Expiring {
  expiryIndex = -1;
  private readonly session: SessionScope;
  /** When the current credentials expire (ms since the Unix epoch); undefined: never. */
  private currentExpiresAt: number | undefined;
  /** Once the token expired, the grace's timer (4102 at its end); the expiry itself is the node's schedule's. */
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(session: SessionScope, expiresAt: number | undefined) {
    this.session = session;
    this.currentExpiresAt = expiresAt;
  }

  get expiresAt(): number | undefined {
    return this.currentExpiresAt;
  }

  /** For the schedule, which holds only credentials that expire. */
  get expiryTime(): number {
    return this.currentExpiresAt ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Answers `refresh`. Resolves with the new permissions when the new credentials apply (`refreshed` was
   * sent); undefined when they were refused (an `error` was sent, and a revoked connection is closing).
   */
  async refresh(message: RefreshMessage): Promise<Permissions | undefined> {
    const { session } = this;
    const outcome = await runAuthHook(session.context.authenticate, {
      kind: 'refresh',
      token: message.token,
      headers: session.headers,
      remoteAddress: session.remoteAddress,
    });
    if (!session.isOpen) return undefined;
    if (!outcome.ok) {
      if (outcome.hookError !== undefined) session.logger.error({ err: outcome.hookError }, 'auth hook failed on refresh');
      session.outbound.sendError({ id: message.id, code: outcome.code, message: outcome.message });
      // protocol.md §9: the hook denying a refresh revokes the connection (4403, do not reconnect). A hook
      // that threw is a fault on our side, not a verdict: the connection keeps its grants until expiry.
      if (outcome.code === ProtocolErrorCode.forbidden && outcome.hookError === undefined) {
        session.close(ProtocolCloseCode.forbidden, 'access revoked');
      }
      return undefined;
    }
    const { expiresAt } = outcome.identity;
    this.currentExpiresAt = expiresAt;
    this.scheduleExpiry();
    session.outbound.sendControl({ op: 'refreshed', id: message.id, ...(expiresAt === undefined ? {} : { tokenExpiresAt: Math.floor(expiresAt) }) });
    return permissionsFor(outcome.identity, session);
  }

  /** (Re)arms the expiry of the current token. */
  scheduleExpiry(): void {
    const { context } = this.session;
    context.expiries.remove(this);
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const expiresAt = this.currentExpiresAt;
    if (expiresAt === undefined) return;
    // Expired already: at once, not on a later turn of the schedule's timer.
    if (expiresAt - context.now() > 0) context.expiries.add(this);
    else this.expired();
  }

  /** The token's time has come (the schedule's call): the backend extends the session, or the grace begins. */
  expired(): void {
    const { session } = this;
    if (session.context.proxy?.refreshes === true) {
      void this.extendByBackend();
      return;
    }
    const grace = session.config.tokenGraceMs;
    session.outbound.sendError({ code: ProtocolErrorCode.tokenExpired, message: `token expired; refresh within ${grace} ms` });
    this.graceTimer = setTimeout(() => session.close(ProtocolCloseCode.tokenExpired, 'token expired'), grace);
    this.graceTimer.unref();
  }

  /**
   * The refresh proxy (protocol.md "Backend proxy"): at expiry the backend extends the session (silently:
   * `refreshed` answers a client's own `refresh`) or ends it (4102, closed by `backendExtendsSession`).
   */
  private async extendByBackend(): Promise<void> {
    const { session } = this;
    const expiresAt = await backendExtendsSession(session, session.config.httpRetryAfterSeconds * 1000);
    if (expiresAt === undefined || !session.isOpen) return;
    this.currentExpiresAt = expiresAt;
    this.scheduleExpiry();
  }

  /** Leaves the schedule and stops the grace (the connection is closing). */
  stop(): void {
    this.session.context.expiries.remove(this);
    clearTimeout(this.graceTimer);
  }
}
