import type { KeyObject } from 'node:crypto';
import { ProtocolErrorCode, isValidPattern } from '@switchboard/protocol';
import { type JWTPayload, SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JwtAlgorithm } from '../config/jwt-algorithms.js';
import { KeySetUnavailable } from './jwks-cache.js';
import { type JwtKeys, NoKeyForAlgorithm, algorithmsForKeys, keyResolver } from './jwt-keys.js';
import type { Grants } from './permissions.js';

/**
 * JSON Web Tokens (RFC 7519) verified by jose: the signature (RFC 7515, the algorithms of RFC 7518 and
 * RFC 8037), `exp` and `nbf` with a clock tolerance, `iss` and `aud` when configured. The accepted
 * algorithms come from the configuration (or the keys), never from the token, so `alg: none` and algorithm
 * confusion are refused (RFC 8725 §3.1); this server understands no critical header extension.
 *
 * Claims the broker reads besides: `sub` (the subject: the connection's user), `info` (presence info,
 * auth/identity-info.ts), `publish`, `subscribe` (arrays of topic patterns the token grants; absent: nothing)
 * and `subs` (patterns the connection is subscribed to by the server, protocol.md §14.3; absent: none).
 */

export interface JwtOptions extends JwtKeys {
  /** The accepted `alg` values; default: the keys' (`algorithmsForKeys`). */
  readonly algorithms?: readonly JwtAlgorithm[] | undefined;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** Leeway for `exp` and `nbf`, in ms. */
  readonly clockToleranceMs: number;
  /** Current time in ms since the Unix epoch. */
  readonly now: () => number;
}

export interface VerifiedToken {
  readonly subject: string | undefined;
  readonly grants: Grants;
  /** `exp` in ms since the Unix epoch; undefined: the token does not expire. */
  readonly expiresAt: number | undefined;
  /** The `subs` claim: server-side subscriptions (protocol.md §14.3). */
  readonly subscriptions: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Why a token is refused (protocol.md §10), each with its own code. */
export type JwtFailureCode =
  | typeof ProtocolErrorCode.invalidToken
  | typeof ProtocolErrorCode.tokenExpired
  | typeof ProtocolErrorCode.tokenNotYetValid
  | typeof ProtocolErrorCode.invalidIssuer
  | typeof ProtocolErrorCode.invalidAudience
  | typeof ProtocolErrorCode.unavailable;

/**
 * Why a token was refused. `token_expired` and `token_not_yet_valid` are only used for a token that is valid
 * in every other way; `unavailable`: its key could not be fetched (a JWKS server down), try again later.
 */
export type JwtFailure = { readonly code: JwtFailureCode; readonly message: string };

export type JwtResult = { readonly ok: true; readonly token: VerifiedToken } | ({ readonly ok: false } & JwtFailure);

/** A token is a header, not a document: bound the work a hostile one can cause. */
const MAX_TOKEN_LENGTH = 8192;

/** Verifies a compact JWT. Never throws. */
export async function verifyJwt(token: string, options: JwtOptions): Promise<JwtResult> {
  if (token.length > MAX_TOKEN_LENGTH) return invalid(`token is longer than ${MAX_TOKEN_LENGTH} characters`);
  let alg: unknown;
  try {
    const header = decodeProtectedHeader(token);
    // RFC 7515 §4.1.11: jose refuses an unknown `crit` too; this says why in the broker's words.
    if ('crit' in header) return invalid('token has critical header parameters this server does not understand');
    alg = header.alg;
  } catch {
    return invalid('token is not a JWS compact serialization (three base64url parts, a JSON header)');
  }
  const algorithms = options.algorithms ?? algorithmsForKeys(options);
  if (!(algorithms as readonly unknown[]).includes(alg)) return invalid(`token algorithm ${JSON.stringify(alg)} is not accepted`);
  try {
    const { payload } = await jwtVerify(token, keyResolver(options), {
      algorithms: [...algorithms],
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      clockTolerance: options.clockToleranceMs / 1000,
      currentDate: new Date(options.now()),
    });
    return verified(payload);
  } catch (error) {
    return refused(error);
  }
}

export interface SignJwtOptions {
  /** Default: HS256 for a secret; required for a private key. */
  readonly alg?: JwtAlgorithm;
  /** The `kid` header: which key of a JWKS verifies the token. */
  readonly kid?: string;
}

/**
 * Signs claims as a compact JWT with jose: for tests, examples and backends that mint tokens. `key` is the
 * shared secret (HS256 unless `alg` says otherwise) or a private key (`alg` required).
 */
export async function signJwt(claims: Record<string, unknown>, key: string | Uint8Array | KeyObject | CryptoKey, options: SignJwtOptions = {}): Promise<string> {
  const secret = typeof key === 'string' || key instanceof Uint8Array;
  const alg = options.alg ?? (secret ? 'HS256' : undefined);
  if (alg === undefined) throw new TypeError('signJwt: name the algorithm (alg) for a private key');
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT', ...(options.kid === undefined ? {} : { kid: options.kid }) })
    .sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/** A verified payload as the broker reads it, or why its own claims are malformed. */
function verified(payload: JWTPayload): JwtResult {
  const { sub, exp } = payload;
  if (sub !== undefined && typeof sub !== 'string') return invalid('sub must be a string');
  const publish = patternList(payload['publish']);
  const subscribe = patternList(payload['subscribe']);
  if (publish === undefined) return invalid('publish must be an array of topic patterns');
  if (subscribe === undefined) return invalid('subscribe must be an array of topic patterns');
  const subscriptions = patternList(payload['subs']);
  if (subscriptions === undefined) return invalid('subs must be an array of topic patterns');
  const expiresAt = exp === undefined ? undefined : exp * 1000;
  return { ok: true, token: { subject: sub, grants: { publish, subscribe }, expiresAt, subscriptions, claims: payload } };
}

/** jose's verdict as a failure with its protocol code. */
function refused(error: unknown): JwtResult {
  if (error instanceof errors.JWTExpired) return unlessMalformed(error.payload, ProtocolErrorCode.tokenExpired, 'token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = error;
    if (claim === 'nbf' && reason === 'check_failed') return unlessMalformed(error.payload, ProtocolErrorCode.tokenNotYetValid, 'token is not valid yet (nbf)');
    if (claim === 'iss') return fail(ProtocolErrorCode.invalidIssuer, 'token issuer (iss) is not accepted');
    if (claim === 'aud') return fail(ProtocolErrorCode.invalidAudience, 'token audience (aud) is not accepted');
    return invalid(`token claim ${claim} is invalid: ${error.message}`);
  }
  if (error instanceof KeySetUnavailable) return fail(ProtocolErrorCode.unavailable, error.message);
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('token signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('no key of the key set matches the token (kid, alg)');
  if (error instanceof errors.JWKSMultipleMatchingKeys) return invalid('several keys of the key set match the token: it must name its kid');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof NoKeyForAlgorithm) return invalid('token algorithm is not accepted');
  if (error instanceof errors.JOSEError) return invalid(`token is invalid: ${error.message}`);
  // jose throws TypeError for a key that does not fit the algorithm; the keys are chosen by it, so this is rare.
  return invalid('token could not be verified with the configured keys');
}

/** An expired or not-yet-valid token whose grants are malformed is invalid: it would not be accepted later either. */
function unlessMalformed(payload: JWTPayload, code: JwtFailureCode, message: string): JwtResult {
  const claims = verified(payload);
  return claims.ok ? fail(code, message) : claims;
}

function patternList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string' && isValidPattern(item))) return undefined;
  return value;
}

function fail(code: JwtFailureCode, message: string): JwtResult {
  return { ok: false, code, message };
}

function invalid(message: string): JwtResult {
  return fail(ProtocolErrorCode.invalidToken, message);
}
