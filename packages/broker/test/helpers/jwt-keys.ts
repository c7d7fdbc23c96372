import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWK, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { signJwt } from '../../src/auth/jwt.js';
import type { JwtAlgorithm } from '../../src/config/jwt-algorithms.js';

/**
 * Real keys made by the test (jose's generateKeyPair) and a JWKS server on a loopback port the OS picks:
 * what a token issuer is to the broker. Nothing here is a fixture file: every run has fresh keys.
 */

export type PublicKeyAlgorithm = Exclude<JwtAlgorithm, 'HS256' | 'HS384' | 'HS512'>;

export interface TestKey {
  readonly alg: PublicKeyAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public key as JWT_PUBLIC_KEY takes it. */
  readonly publicPem: string;
  /** The public key as a JWKS serves it, with `kid`, `alg` and `use`. */
  readonly jwk: JWK;
  /** Signs `claims` with this key, naming its `kid`. */
  sign(claims: Record<string, unknown>): Promise<string>;
}

/** A fresh key pair for `alg` (RSA 2048, P-256, P-384 or Ed25519). */
export async function testKey(alg: PublicKeyAlgorithm, kid = `${alg}-${randomBytes(4).toString('hex')}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    alg,
    kid,
    privateKey,
    publicPem: await exportSPKI(publicKey),
    jwk,
    sign: (claims) => signJwt(claims, privateKey, { alg, kid }),
  };
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks.json` */
  readonly url: string;
  /** GET requests answered so far (the broker's fetches). */
  readonly requests: number;
  /** From now on, serve these keys. */
  serve(keys: readonly JWK[]): void;
  /** From now on, answer every request with this status and body instead of the key set (undefined: serve keys again). */
  fail(status: number | undefined, body?: string): void;
  /** Stops listening and drops open connections: the server is gone. */
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  let served = keys;
  let failing: { readonly status: number; readonly body: string } | undefined;
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests++;
    if (failing !== undefined) {
      response.writeHead(failing.status, { 'content-type': 'application/json' }).end(failing.body);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get requests() {
      return requests;
    },
    serve(next) {
      served = next;
    },
    fail(status, body = 'down') {
      failing = status === undefined ? undefined : { status, body };
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** A clock a test moves by hand, from a fixed start. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
  };
}
