import { ProtocolCloseCode, ProtocolErrorCode, type RefreshMessage } from '@switchboard/protocol';
import { type Identity, permissionsOf, runAuthHook } from '../auth/authenticator.js';
import type { Permissions } from '../auth/permissions.js';
import { reservedRootsOf } from '../config/options-users.js';
import type { SessionScope } from './session-context.js';
import { backendExtendsSession } from './session-proxy.js';

/** Longest delay `setTimeout` takes (2^31-1 ms); longer waits are re-armed. */
const maxTimerDelay = 2_147_483_647;

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
export class SessionCredentials {
  private readonly session: SessionScope;
  /** When the current credentials expire (ms since the Unix epoch); undefined: never. */
  private currentExpiresAt: number | undefined;
  /** Until the token expires, the expiry's timer; from then, the grace's (4102 at its end): never both. */
  private timer: NodeJS.Timeout | undefined;

  constructor(session: SessionScope, expiresAt: number | undefined) {
    this.session = session;
    this.currentExpiresAt = expiresAt;
  }

  get expiresAt(): number | undefined {
    return this.currentExpiresAt;
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
    clearTimeout(this.timer);
    this.timer = undefined;
    const expiresAt = this.currentExpiresAt;
    if (expiresAt === undefined) return;
    const { session } = this;
    const fire = (): void => {
      const remaining = expiresAt - session.context.now();
      if (remaining > 0) {
        this.timer = setTimeout(fire, Math.min(remaining, maxTimerDelay));
        this.timer.unref();
        return;
      }
      if (session.context.proxy?.refreshes === true) {
        void this.extendByBackend();
        return;
      }
      const grace = session.config.tokenGraceMs;
      session.outbound.sendError({ code: ProtocolErrorCode.tokenExpired, message: `token expired; refresh within ${grace} ms` });
      this.timer = setTimeout(() => session.close(ProtocolCloseCode.tokenExpired, 'token expired'), grace);
      this.timer.unref();
    };
    fire();
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

  /** Stops the timer (the connection is closing). */
  stop(): void {
    clearTimeout(this.timer);
  }
}
