import { type KeyObject, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeOption } from '../config/config.js';
import { ConfigError } from '../config/config-error.js';
import { JWT_ALGORITHMS, JWT_ALGORITHM_NAMES, type JwtAlgorithm, type JwtAlgorithmSpec } from '../config/jwt-algorithms.js';

/**
 * JWT_PUBLIC_KEY, read once at startup: a PEM given inline (it starts with `-----BEGIN`), or else the path of
 * a PEM file (a mounted secret, or a file too long for an environment variable). Node parses it; jose
 * verifies with it. The key's type decides which algorithms it can verify.
 */

const field = (): string => describeOption('jwtPublicKey');

/** RFC 7518 §3.3 (and jose, which refuses smaller keys at every verification). */
const minRsaBits = 2048;

/**
 * The public key in `value` (inline PEM or a file path).
 * @throws ConfigError naming JWT_PUBLIC_KEY: unreadable file, not a public key PEM, a private key (refused:
 * it does not belong in this option), or a key no accepted algorithm uses. The key text is never quoted.
 */
export function readPublicKey(value: string): KeyObject {
  let pem = value;
  if (!value.trimStart().startsWith('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      // Not quoted: a value that is neither may be key material pasted without its PEM lines.
      throw new ConfigError(field(), `is neither a PEM (-----BEGIN PUBLIC KEY-----) nor the path of a readable file (${code})`);
    }
  }
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError(field(), 'holds a private key: give the public key only (openssl pkey -pubout)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ConfigError(field(), 'is not a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  const modulusLength = key.asymmetricKeyDetails?.modulusLength;
  if (modulusLength !== undefined && modulusLength < minRsaBits) {
    throw new ConfigError(field(), `is a ${modulusLength}-bit RSA key: at least ${minRsaBits} bits (RFC 7518 §3.3)`);
  }
  if (algorithmsForPublicKey(key).length === 0) {
    throw new ConfigError(field(), `is a ${describeKey(key)} key, which no accepted algorithm uses (RSA, P-256, P-384 or Ed25519)`);
  }
  return key;
}

/** The algorithms `key` verifies: RS256 and PS256 for RSA (PS256 only for an RSA-PSS key), one per curve. */
export function algorithmsForPublicKey(key: KeyObject): JwtAlgorithm[] {
  return JWT_ALGORITHM_NAMES.filter((algorithm) => fits(JWT_ALGORITHMS[algorithm], algorithm, key));
}

/** `rsa`, `ec P-256`, ...: for messages. */
export function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `${key.asymmetricKeyType ?? 'unknown'}${curve === undefined ? '' : ` ${curve}`}`;
}

function fits(spec: JwtAlgorithmSpec, algorithm: JwtAlgorithm, key: KeyObject): boolean {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return spec.key === 'rsa';
    case 'rsa-pss':
      return algorithm === 'PS256';
    case 'ec':
      return spec.key === 'ec' && spec.curve === key.asymmetricKeyDetails?.namedCurve;
    case 'ed25519':
      return spec.key === 'ed25519';
    default:
      return false;
  }
}
