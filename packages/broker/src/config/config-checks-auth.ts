import type { Config, OptionKey } from './config.js';
import { JWT_ALGORITHMS, type JwtAlgorithmSpec, algorithmsOfKind } from './jwt-algorithms.js';

/**
 * The rules between the token options, each failure naming the option to change. What needs the key itself
 * (a PEM's type against JWT_ALGORITHMS) is checked when the key is read at startup (auth/jwt-keys.ts). Pure.
 */

type AuthConfig = Pick<Config, 'jwtSecret' | 'jwtPublicKey' | 'jwksUrl' | 'jwtAlgorithms' | 'jwtIssuer' | 'jwtAudience'>;

const anyKey = 'JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL';
const publicKey = 'JWT_PUBLIC_KEY or JWKS_URL';

/** The first token rule `config` breaks, or undefined. */
export function authInconsistency(config: AuthConfig): { readonly key: OptionKey; readonly message: string } | undefined {
  const hasSecret = config.jwtSecret !== undefined;
  const hasPublicKey = config.jwtPublicKey !== undefined || config.jwksUrl !== undefined;
  if (config.jwtPublicKey !== undefined && config.jwksUrl !== undefined) {
    return { key: 'jwksUrl', message: 'set one of JWT_PUBLIC_KEY and JWKS_URL' };
  }
  if (!hasSecret && !hasPublicKey) {
    for (const key of ['jwtIssuer', 'jwtAudience', 'jwtAlgorithms'] as const) {
      if (config[key] !== undefined) return { key, message: `needs ${anyKey}` };
    }
    return undefined;
  }
  const algorithms = config.jwtAlgorithms;
  if (algorithms === undefined) return undefined;
  for (const algorithm of algorithms) {
    const spec: JwtAlgorithmSpec = JWT_ALGORITHMS[algorithm];
    if (spec.key === 'secret' && config.jwtSecret === undefined) return { key: 'jwtAlgorithms', message: `${algorithm} needs JWT_SECRET` };
    if (spec.key !== 'secret' && !hasPublicKey) return { key: 'jwtAlgorithms', message: `${algorithm} needs ${publicKey}` };
    // RFC 7518 §3.2: an HMAC key as long as the hash output. Only the rule is stated: the value is a secret.
    const minBytes = spec.minSecretBytes ?? 0;
    if (config.jwtSecret !== undefined && Buffer.byteLength(config.jwtSecret) < minBytes) {
      return { key: 'jwtSecret', message: `must be at least ${minBytes} bytes for ${algorithm} (RFC 7518 §3.2)` };
    }
  }
  const hmac = algorithmsOfKind('secret');
  if (hasSecret && !algorithms.some((algorithm) => hmac.includes(algorithm))) {
    return { key: 'jwtAlgorithms', message: `names no algorithm for JWT_SECRET (${hmac.join(', ')}): unset it, or add one` };
  }
  if (hasPublicKey && algorithms.every((algorithm) => hmac.includes(algorithm))) {
    return { key: 'jwtAlgorithms', message: `names no algorithm for ${publicKey}: unset it, or add one` };
  }
  return undefined;
}
