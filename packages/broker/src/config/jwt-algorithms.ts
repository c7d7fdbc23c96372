/**
 * The JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) the broker accepts for tokens, and the key each one needs.
 * The configuration checks JWT_ALGORITHMS against the key sources with it, and the verifier picks a key by
 * it, so an algorithm is always tied to one kind of key: an HMAC token is only ever checked with
 * JWT_SECRET, never with a public key's bytes (RFC 8725 §2.1, algorithm confusion). Pure.
 */

/** The kind of key an algorithm verifies with: `secret` is JWT_SECRET; the others are public keys. */
export type JwtKeyKind = 'secret' | 'rsa' | 'ec' | 'ed25519';

export interface JwtAlgorithmSpec {
  readonly key: JwtKeyKind;
  /** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
  readonly minSecretBytes?: number;
  /** The EC curve (RFC 7518 §3.4), as Node's `asymmetricKeyDetails.namedCurve` names it. */
  readonly curve?: string;
}

export const JWT_ALGORITHMS = {
  HS256: { key: 'secret', minSecretBytes: 32 },
  HS384: { key: 'secret', minSecretBytes: 48 },
  HS512: { key: 'secret', minSecretBytes: 64 },
  RS256: { key: 'rsa' },
  PS256: { key: 'rsa' },
  ES256: { key: 'ec', curve: 'prime256v1' },
  ES384: { key: 'ec', curve: 'secp384r1' },
  EdDSA: { key: 'ed25519' },
} as const satisfies Record<string, JwtAlgorithmSpec>;

export type JwtAlgorithm = keyof typeof JWT_ALGORITHMS;

/** Every accepted algorithm, in table order. */
export const JWT_ALGORITHM_NAMES = Object.keys(JWT_ALGORITHMS) as readonly JwtAlgorithm[];

/** The algorithms a kind of key verifies. */
export function algorithmsOfKind(kind: JwtKeyKind): JwtAlgorithm[] {
  return JWT_ALGORITHM_NAMES.filter((name) => JWT_ALGORITHMS[name].key === kind);
}

/** The algorithms that verify with a public key (from JWT_PUBLIC_KEY or a JWKS). */
export const PUBLIC_KEY_ALGORITHMS = JWT_ALGORITHM_NAMES.filter((name) => JWT_ALGORITHMS[name].key !== 'secret');

/**
 * The algorithms accepted when JWT_ALGORITHMS is unset, from the key sources configured: HS256 with a shared
 * secret (HS384 and HS512 need a longer secret, so they are asked for by name), and every public-key
 * algorithm with a JWKS (each key there names its type, and jose matches the token's `alg` to it). A PEM
 * public key's algorithms depend on its type, known once it is read: see the verifier (auth/jwt-keys.ts).
 */
export function defaultAlgorithms(sources: { readonly secret: boolean; readonly keySet: boolean }): JwtAlgorithm[] {
  return [...(sources.secret ? (['HS256'] as const) : []), ...(sources.keySet ? PUBLIC_KEY_ALGORITHMS : [])];
}
