import { createHmac, timingSafeEqual } from 'node:crypto';
import { isValidPattern } from '@switchboard/protocol';
import type { Grants } from './permissions.js';

/**
 * HS256 JSON Web Tokens (RFC 7519, RFC 7515 compact serialization, RFC 7518 §3.2) verified with node:crypto.
 * Only `HS256` is accepted: the algorithm is fixed by configuration, never chosen by the token, so `none`
 * and algorithm-confusion attacks are impossible.
 *
 * Claims the broker reads:
 * - `exp`, `nbf` (NumericDate, seconds): validity window, with a configured clock tolerance;
 * - `iss`, `aud`: checked when configured;
 * - `sub`: the subject, for logs;
 * - `publish`, `subscribe`: arrays of topic patterns the token grants (absent: nothing).
 */

export interface JwtOptions {
  readonly secret: string | Uint8Array;
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
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Why a token was refused: `token_expired` is only used for a token that is valid in every other way. */
export type JwtFailure = { readonly code: 'invalid_token' | 'token_expired'; readonly message: string };

export type JwtResult = { readonly ok: true; readonly token: VerifiedToken } | ({ readonly ok: false } & JwtFailure);

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** A token is a header, not a document: bound the work a hostile one can cause. */
const MAX_TOKEN_LENGTH = 8192;

/** Verifies a compact HS256 JWT. Never throws. */
export function verifyJwt(token: string, options: JwtOptions): JwtResult {
  if (token.length > MAX_TOKEN_LENGTH) return invalid(`token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) return invalid('token must have three dot-separated parts');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  if (![headerPart, payloadPart, signaturePart].every((part) => BASE64URL.test(part))) return invalid('token is not base64url');

  const header = parseJsonObject(headerPart);
  if (header === undefined) return invalid('token header is not a JSON object');
  // RFC 8725 §3.1: accept exactly the configured algorithm.
  if (header['alg'] !== 'HS256') return invalid(`token algorithm ${JSON.stringify(header['alg'])} is not HS256`);
  if ('crit' in header) return invalid('token has critical header parameters this server does not understand');

  const expected = createHmac('sha256', options.secret).update(`${headerPart}.${payloadPart}`).digest();
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return invalid('token signature does not verify');

  const claims = parseJsonObject(payloadPart);
  if (claims === undefined) return invalid('token payload is not a JSON object');
  const now = options.now();
  const tolerance = options.clockToleranceMs;
  const exp = claims['exp'];
  const nbf = claims['nbf'];
  if (exp !== undefined && !isNumericDate(exp)) return invalid('exp must be a number of seconds');
  if (nbf !== undefined && !isNumericDate(nbf)) return invalid('nbf must be a number of seconds');
  if (nbf !== undefined && now + tolerance < nbf * 1000) return invalid('token is not valid yet (nbf)');
  if (options.issuer !== undefined && claims['iss'] !== options.issuer) return invalid('token issuer (iss) is not accepted');
  if (options.audience !== undefined && !audienceMatches(claims['aud'], options.audience)) return invalid('token audience (aud) is not accepted');
  const sub = claims['sub'];
  if (sub !== undefined && typeof sub !== 'string') return invalid('sub must be a string');
  const publish = patternList(claims['publish']);
  const subscribe = patternList(claims['subscribe']);
  if (publish === undefined) return invalid('publish must be an array of topic patterns');
  if (subscribe === undefined) return invalid('subscribe must be an array of topic patterns');
  if (exp !== undefined && now - tolerance >= exp * 1000) {
    return { ok: false, code: 'token_expired', message: 'token expired' };
  }
  return {
    ok: true,
    token: { subject: sub, grants: { publish, subscribe }, expiresAt: exp === undefined ? undefined : exp * 1000, claims },
  };
}

/** Signs claims as an HS256 JWT: for tests, examples and backends that mint tokens with the same secret. */
export function signJwt(claims: Record<string, unknown>, secret: string | Uint8Array): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function parseJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** RFC 7519 §4.1.3: `aud` is a string or an array of strings. */
function audienceMatches(aud: unknown, expected: string): boolean {
  return aud === expected || (Array.isArray(aud) && aud.includes(expected));
}

function patternList(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string' && isValidPattern(item))) return undefined;
  return value;
}

function invalid(message: string): JwtResult {
  return { ok: false, code: 'invalid_token', message };
}
