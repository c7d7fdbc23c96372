import type { KeyObject } from 'node:crypto';
import type { FlattenedJWSInput, JWSHeaderParameters } from 'jose';
import type { Config } from '../config/config.js';
import { describeOption } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { JWT_ALGORITHMS, type JwtAlgorithm, defaultAlgorithms } from '../config/jwt-algorithms.js';
import { type AuthLogger, JwksCache, type JwtKeySet } from './jwks-cache.js';
import { algorithmsForPublicKey, describeKey, readPublicKey } from './jwt-public-key.js';

/**
 * Where token keys come from, and which algorithms they accept: a shared secret (HS*), and one public key
 * (from a PEM) or one key set (a JWKS). Each algorithm verifies with one kind of key only (config/
 * jwt-algorithms.ts), so the key for a token is chosen by its `alg` among the configured algorithms, and a
 * token cannot make the verifier use a key as something it is not: an HS256 token is checked with the secret
 * alone, never with the bytes of a public key (RFC 8725 §2.1, §3.1).
 */

export interface JwtKeys {
  /** Shared secret for HS256, HS384, HS512. */
  readonly secret?: string | Uint8Array | undefined;
  /** A public key for RS256, PS256, ES256, ES384 or EdDSA (as its type allows): see `readPublicKey`. */
  readonly publicKey?: KeyObject | undefined;
  /** A key set, searched by the token's `kid`: a {@link JwksCache}. */
  readonly keySet?: JwtKeySet | undefined;
}

/** A token's algorithm has no key here (the accepted algorithms name one the keys do not serve). */
export class NoKeyForAlgorithm extends Error {
  override readonly name = 'NoKeyForAlgorithm';
}

/** The algorithms `keys` accept when none are configured: HS256 for a secret, the public key's type's, or every public-key one for a key set. */
export function algorithmsForKeys(keys: JwtKeys): JwtAlgorithm[] {
  const algorithms = defaultAlgorithms({ secret: keys.secret !== undefined, keySet: keys.keySet !== undefined });
  return keys.publicKey === undefined ? algorithms : [...algorithms, ...algorithmsForPublicKey(keys.publicKey)];
}

/** The key a token verifies with, by its (already accepted) `alg`: jose's key resolver. */
export function keyResolver(keys: JwtKeys): (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey | KeyObject | Uint8Array> {
  const secret = typeof keys.secret === 'string' ? new TextEncoder().encode(keys.secret) : keys.secret;
  return async (header, token) => {
    const algorithm = header.alg as JwtAlgorithm;
    const kind = Object.hasOwn(JWT_ALGORITHMS, algorithm) ? JWT_ALGORITHMS[algorithm].key : undefined;
    if (kind === 'secret' && secret !== undefined) return secret;
    if (kind !== undefined && kind !== 'secret') {
      if (keys.publicKey !== undefined) return keys.publicKey;
      if (keys.keySet !== undefined) return keys.keySet.keyFor(header, token);
    }
    throw new NoKeyForAlgorithm(`no key for ${String(header.alg)} tokens`);
  };
}

/** What the built-in authenticator verifies tokens with. */
export interface JwtVerifier {
  readonly keys: JwtKeys;
  readonly algorithms: readonly JwtAlgorithm[];
}

/**
 * The keys and algorithms the configuration names, read once (the PEM file, if any); undefined when no key
 * source is set (no tokens).
 * @throws ConfigError naming JWT_PUBLIC_KEY (unreadable, not a public key) or JWT_ALGORITHMS (an algorithm
 * the public key cannot verify). The rules that need no key are config/config-checks-auth.ts.
 */
export function jwtVerifierFromConfig(
  config: Pick<Config, 'jwtSecret' | 'jwtPublicKey' | 'jwksUrl' | 'jwtAlgorithms' | 'jwksRefreshIntervalMs' | 'jwksMaxAgeMs' | 'jwksTimeoutMs'>,
  now: () => number,
  logger?: AuthLogger,
): JwtVerifier | undefined {
  const publicKey = config.jwtPublicKey === undefined ? undefined : readPublicKey(config.jwtPublicKey);
  const keySet =
    config.jwksUrl === undefined
      ? undefined
      : new JwksCache({
          url: new URL(config.jwksUrl),
          refreshIntervalMs: config.jwksRefreshIntervalMs,
          maxAgeMs: config.jwksMaxAgeMs,
          timeoutMs: config.jwksTimeoutMs,
          now,
          logger,
        });
  const keys: JwtKeys = { secret: config.jwtSecret, publicKey, keySet };
  if (config.jwtSecret === undefined && publicKey === undefined && keySet === undefined) return undefined;
  const configured = config.jwtAlgorithms;
  if (configured !== undefined && publicKey !== undefined) {
    const fitting = algorithmsForPublicKey(publicKey);
    const misfit = configured.find((algorithm) => JWT_ALGORITHMS[algorithm].key !== 'secret' && !fitting.includes(algorithm));
    if (misfit !== undefined) {
      throw new ConfigError(describeOption('jwtAlgorithms'), `${misfit} does not fit JWT_PUBLIC_KEY, a ${describeKey(publicKey)} key (it verifies ${fitting.join(', ')})`);
    }
  }
  return { keys, algorithms: configured ?? algorithmsForKeys(keys) };
}
