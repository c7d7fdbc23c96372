import type { IncomingHttpHeaders } from 'node:http';
import { BEARER_PROTOCOL_PREFIX, ProtocolErrorCode } from '@switchboard/protocol';
import type { Config } from '../config/config.js';
import type { NamespaceResolver } from '../config/namespace-resolver.js';
import type { AuthLogger } from './jwks-cache.js';
import { infoText } from './identity-info.js';
import { type JwtFailureCode, verifyJwt } from './jwt.js';
import { type JwtVerifier, jwtVerifierFromConfig } from './jwt-keys.js';
import { type Grants, Permissions } from './permissions.js';

/** What is being authenticated. */
export interface AuthRequest {
  /** `connect`: a WebSocket upgrade; `refresh`: a `refresh` message on an open connection; `http`: POST /publish. */
  readonly kind: 'connect' | 'refresh' | 'http';
  /** The presented token (protocol.md §2.2), or undefined when none was presented. */
  readonly token: string | undefined;
  /** The request headers (for `refresh`: those of the connection's upgrade). */
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
}

/** Who is connected and what they may do. */
export interface Identity {
  /** The user (protocol.md §14.1), e.g. the JWT `sub`: `welcome.user`, the user topic, admin commands by user. */
  readonly subject?: string | undefined;
  readonly grants: Grants;
  /** When the credentials expire, in ms since the Unix epoch (protocol.md §9); undefined: never. */
  readonly expiresAt?: number | undefined;
  /**
   * No credentials were presented: `grants` are the anonymous ones, which namespaces with their own access
   * rules replace (auth/permissions.ts). Unset: an authenticated identity, whose grants apply everywhere.
   */
  readonly anonymous?: boolean | undefined;
  /**
   * Presence info of the connection (protocol.md §14.1): any JSON value, at most `PRESENCE_MAX_INFO_BYTES` as
   * JSON; larger (or not JSON) refuses the handshake with 403 `forbidden` and an error log. The built-in
   * authenticator takes it from the JWT claim `info` (401 `invalid_token` when too large).
   */
  readonly info?: unknown;
  /**
   * Server-side subscriptions (protocol.md §14.3): patterns offered to the connection with no grant needed
   * (the JWT claim `subs`). At most MAX_SUBSCRIPTIONS; read at connect only (`refresh` keeps the first ones).
   */
  readonly subscriptions?: readonly string[] | undefined;
}

/** A token's own failures (jwt.ts), and `forbidden`: the hook denies the request outright. */
export type AuthFailureCode = JwtFailureCode | typeof ProtocolErrorCode.forbidden;

const authFailureCodes: ReadonlySet<string> = new Set<AuthFailureCode>([
  ProtocolErrorCode.invalidToken,
  ProtocolErrorCode.tokenExpired,
  ProtocolErrorCode.tokenNotYetValid,
  ProtocolErrorCode.invalidIssuer,
  ProtocolErrorCode.invalidAudience,
  ProtocolErrorCode.unavailable,
  ProtocolErrorCode.forbidden,
]);

export type AuthOutcome =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly code: AuthFailureCode; readonly message: string };

/**
 * The authentication hook: decides who a request is and what it may do. Called for every upgrade, every
 * `refresh` and every POST /publish. May be async (e.g. a session lookup); its time counts against the
 * handshake timeout. Must not throw: a throw or rejection is treated as `forbidden` and logged.
 *
 * Outcomes at the handshake: the token codes answer 401 with that code (or, when configured, the upgrade is
 * accepted and closed with the code's close code: 4401, 4102, ...), `forbidden` answers 403 and `unavailable`
 * 503 with `Retry-After`. On `refresh` they are the `error` code. Any other code is read as `invalid_token`.
 */
export type AuthHook = (request: AuthRequest) => AuthOutcome | Promise<AuthOutcome>;

/**
 * The built-in authentication: JWTs when a key is configured (JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL: claims
 * `publish` / `subscribe` grant patterns, `exp` sets the expiry), and anonymous access with the configured
 * grants when allowed and no token is presented. Reads JWT_PUBLIC_KEY now; fetches a JWKS on the first token.
 * @throws ConfigError naming JWT_PUBLIC_KEY or JWT_ALGORITHMS when the key cannot serve them.
 */
export function builtinAuthenticator(
  config: Pick<
    Config,
    | 'jwtSecret'
    | 'jwtPublicKey'
    | 'jwksUrl'
    | 'jwtAlgorithms'
    | 'jwksRefreshIntervalMs'
    | 'jwksMaxAgeMs'
    | 'jwksTimeoutMs'
    | 'jwtIssuer'
    | 'jwtAudience'
    | 'jwtClockToleranceMs'
    | 'allowAnonymous'
    | 'anonymousPublish'
    | 'anonymousSubscribe'
    | 'presenceMaxInfoBytes'
    | 'maxSubscriptions'
  >,
  now: () => number = Date.now,
  logger?: AuthLogger,
): AuthHook {
  const anonymous: Identity = { grants: { publish: config.anonymousPublish, subscribe: config.anonymousSubscribe }, anonymous: true };
  const verifier = jwtVerifierFromConfig(config, now, logger);
  // Synchronous where no token is checked, so that anonymous upgrades wait for nothing (runAuthHook).
  return (request) => {
    if (request.token === undefined) {
      return config.allowAnonymous
        ? { ok: true, identity: anonymous }
        : { ok: false, code: ProtocolErrorCode.invalidToken, message: 'a token is required' };
    }
    if (verifier === undefined) {
      return { ok: false, code: ProtocolErrorCode.invalidToken, message: 'this server does not accept tokens (no JWT key configured)' };
    }
    return verifyToken(request.token, verifier);
  };

  async function verifyToken(token: string, verifier: JwtVerifier): Promise<AuthOutcome> {
    const result = await verifyJwt(token, {
      ...verifier.keys,
      algorithms: verifier.algorithms,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      clockToleranceMs: config.jwtClockToleranceMs,
      now,
    });
    if (!result.ok) return { ok: false, code: result.code, message: result.message };
    const { subject, grants, expiresAt, claims, subscriptions } = result.token;
    const info = claims['info'];
    const checked = infoText(info, config.presenceMaxInfoBytes);
    if (!checked.ok) return { ok: false, code: ProtocolErrorCode.invalidToken, message: checked.message };
    if (subscriptions.length > config.maxSubscriptions) {
      return { ok: false, code: ProtocolErrorCode.invalidToken, message: `subs names ${subscriptions.length} patterns; the limit is ${config.maxSubscriptions}` };
    }
    const extra = { ...(info === undefined ? {} : { info }), ...(subscriptions.length === 0 ? {} : { subscriptions }) };
    return { ok: true, identity: { subject, grants, expiresAt, ...extra } };
  };
}

/**
 * What `identity` may do under the broker's namespaces (a connection's, or an HTTP request's); grants
 * starting with a wildcard do not reach `reservedRoots` (the user topic prefix).
 */
export function permissionsOf(identity: Identity, namespaces: NamespaceResolver, reservedRoots: readonly string[] = []): Permissions {
  const anonymous = identity.anonymous === true;
  const { grants } = identity;
  // Permissions are immutable, and most connections hold one of a few grant sets (the anonymous grants, a
  // role's): those share one compiled copy instead of ~240 bytes of arrays each (docs/benchmarks.md).
  // Anonymous connections all hold the very same grants object: known without building the key.
  if (grants === lastShared.grants && anonymous === lastShared.anonymous && namespaces === lastShared.namespaces && reservedRoots === lastShared.reservedRoots) {
    return lastShared.permissions;
  }
  let compiled = compiledPermissions.get(namespaces);
  if (compiled === undefined) compiledPermissions.set(namespaces, (compiled = new Map()));
  const key = JSON.stringify([anonymous, reservedRoots, grants.publish, grants.subscribe]);
  let permissions = compiled.get(key);
  if (permissions === undefined) {
    // Bounded: grants unique to each connection (per-user patterns) would otherwise grow it without end.
    if (compiled.size >= maxCompiledPermissions) compiled.clear();
    permissions = new Permissions(grants, { anonymous, namespaces, reservedRoots });
    compiled.set(key, permissions);
  }
  lastShared = { grants, anonymous, namespaces, reservedRoots, permissions };
  return permissions;
}

let lastShared: {
  readonly grants: Identity['grants'] | undefined;
  readonly anonymous: boolean;
  readonly namespaces: NamespaceResolver | undefined;
  readonly reservedRoots: readonly string[] | undefined;
  readonly permissions: Permissions;
} = { grants: undefined, anonymous: false, namespaces: undefined, reservedRoots: undefined, permissions: new Permissions({ publish: [], subscribe: [] }) };

const compiledPermissions = new WeakMap<NamespaceResolver, Map<string, Permissions>>();
const maxCompiledPermissions = 1024;

/** What `runAuthHook` answers: the hook's outcome, with the error it threw when it failed. */
export type CheckedAuthOutcome = AuthOutcome & { readonly hookError?: unknown };

/**
 * Runs a hook defensively: a throw or a malformed outcome becomes `forbidden`, never a crash. A hook that
 * answers synchronously (anonymous access, say) is answered synchronously, so that an upgrade it admits
 * completes in the tick it arrived in, without a timer and a promise per connection.
 */
export function runAuthHook(hook: AuthHook, request: AuthRequest): CheckedAuthOutcome | Promise<CheckedAuthOutcome> {
  let answer: AuthOutcome | PromiseLike<AuthOutcome>;
  try {
    answer = hook(request);
  } catch (error) {
    return hookFailed(error);
  }
  return isPromiseLike(answer) ? Promise.resolve(answer).then(checkedOutcome, hookFailed) : checkedOutcome(answer);
}

function checkedOutcome(outcome: AuthOutcome): CheckedAuthOutcome {
  if (typeof outcome !== 'object' || outcome === null || typeof outcome.ok !== 'boolean') {
    return hookFailed(new TypeError('auth hook returned no outcome'));
  }
  // A hook written in JavaScript may return any code; the answers are derived from the code, so keep to ours.
  if (!outcome.ok && !authFailureCodes.has(outcome.code)) return { ...outcome, code: ProtocolErrorCode.invalidToken };
  return outcome;
}

function hookFailed(error: unknown): CheckedAuthOutcome {
  return { ok: false, code: ProtocolErrorCode.forbidden, message: 'authentication failed', hookError: error };
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * The token a request presents (protocol.md §2.2): `Authorization: Bearer <token>` first, then a
 * `bearer.<token>` entry of `Sec-WebSocket-Protocol` (WebSocket upgrades only).
 */
export function tokenFromHeaders(headers: IncomingHttpHeaders, allowProtocolEntry: boolean): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    // A malformed Authorization header is a bad credential, not a missing one.
    return match === null ? '' : match[1];
  }
  if (!allowProtocolEntry) return undefined;
  for (const entry of offeredProtocols(headers)) {
    if (entry.startsWith(BEARER_PROTOCOL_PREFIX)) return entry.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

/** The entries of `Sec-WebSocket-Protocol` (repeated headers joined), trimmed, empty ones skipped. */
export function offeredProtocols(headers: IncomingHttpHeaders): string[] {
  const value = headers['sec-websocket-protocol'];
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
