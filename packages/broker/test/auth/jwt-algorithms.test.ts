import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPKCS8 } from 'jose';
import t from 'tap';
import { type AuthHook, builtinAuthenticator } from '../../src/auth/authenticator.js';
import { signJwt, verifyJwt } from '../../src/auth/jwt.js';
import { readPublicKey } from '../../src/auth/jwt-public-key.js';
import { type ConfigInput, createConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { type PublicKeyAlgorithm, manualClock, startJwksServer, testKey } from '../helpers/jwt-keys.js';

/**
 * Every accepted algorithm with real keys the test makes, through the built-in authenticator as the broker
 * configures it: a shared secret, a PEM public key (inline or a file), a JWKS. What no configuration
 * accepts: `alg: none`, an algorithm other than the configured ones, and algorithm confusion (RFC 8725
 * §2.1: an HS256 token whose secret is the RSA public key the server holds).
 */

const clock = manualClock();
const seconds = clock.now() / 1000;
const publicKeyAlgorithms: PublicKeyAlgorithm[] = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const secret64 = randomBytes(48).toString('base64url');

function authenticator(config: ConfigInput): AuthHook {
  return builtinAuthenticator(createConfig({ jwtClockToleranceMs: 5000, ...config }), clock.now);
}

async function present(hook: AuthHook, token: string) {
  return hook({ kind: 'connect', token, headers: {}, remoteAddress: undefined });
}

/** An unsigned token (RFC 7519 §6) with these claims. */
function unsecured(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

t.test('HS256, HS384, HS512 with a shared secret long enough for each', async (t) => {
  const hook = authenticator({ jwtSecret: secret64, jwtAlgorithms: ['HS256', 'HS384', 'HS512'] });
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    const token = await signJwt({ sub: alg, exp: seconds + 60, subscribe: ['a.>'] }, secret64, { alg });
    t.match(await present(hook, token), { ok: true, identity: { subject: alg, expiresAt: (seconds + 60) * 1000, grants: { subscribe: ['a.>'] } } }, alg);
  }
  const onlyDefault = authenticator({ jwtSecret: secret64 });
  t.match(await present(onlyDefault, await signJwt({}, secret64, { alg: 'HS512' })), { ok: false, code: 'invalid_token', message: /algorithm/ }, 'by default a secret accepts HS256 only');
  t.match(await present(onlyDefault, unsecured({ sub: 'root' })), { ok: false, code: 'invalid_token', message: /algorithm "none"/ });
});

t.test('RS256, PS256, ES256, ES384, EdDSA with JWT_PUBLIC_KEY as an inline PEM; the key type sets the algorithms', async (t) => {
  for (const alg of publicKeyAlgorithms) {
    const key = await testKey(alg);
    const hook = authenticator({ jwtPublicKey: key.publicPem });
    t.match(await present(hook, await key.sign({ sub: alg, publish: ['x'] })), { ok: true, identity: { subject: alg, grants: { publish: ['x'] } } }, `${alg} accepted`);
    t.match(await present(hook, unsecured({ sub: alg })), { ok: false, code: 'invalid_token', message: /algorithm "none"/ }, `${alg} key: alg none refused`);
    const other = await testKey(alg);
    t.match(await present(hook, await other.sign({})), { ok: false, code: 'invalid_token', message: /signature/ }, `${alg}: another key's token refused`);
  }
  // One RSA key pair (node:crypto, not bound to one algorithm as a WebCrypto key is) signs both ways.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const bothRsa = authenticator({ jwtPublicKey: rsaPem });
  t.match(await present(bothRsa, await signJwt({}, rsa.privateKey, { alg: 'RS256' })), { ok: true }, 'an RSA key verifies RS256');
  t.match(await present(bothRsa, await signJwt({}, rsa.privateKey, { alg: 'PS256' })), { ok: true }, 'and PS256, by default');
  const pssOnly = authenticator({ jwtPublicKey: rsaPem, jwtAlgorithms: ['PS256'] });
  t.match(await present(pssOnly, await signJwt({}, rsa.privateKey, { alg: 'RS256' })), { ok: false, code: 'invalid_token', message: /algorithm "RS256"/ }, 'JWT_ALGORITHMS narrows it');
  const p256 = await testKey('ES256');
  t.match(await present(authenticator({ jwtPublicKey: p256.publicPem }), await signJwt({}, rsa.privateKey, { alg: 'RS256' })), { ok: false, message: /algorithm "RS256"/ }, 'a P-256 key accepts ES256 only');
});

t.test('JWT_PUBLIC_KEY as the path of a PEM file', async (t) => {
  const key = await testKey('EdDSA');
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-jwt-'));
  const file = join(directory, 'issuer.pem');
  writeFileSync(file, key.publicPem);
  t.match(await present(authenticator({ jwtPublicKey: file }), await key.sign({ sub: 'file' })), { ok: true, identity: { subject: 'file' } });
});

t.test('every public-key algorithm through a JWKS, picked by kid', async (t) => {
  const keys = await Promise.all(publicKeyAlgorithms.map((alg) => testKey(alg)));
  const server = await startJwksServer(keys.map((key) => key.jwk));
  t.teardown(() => server.close());
  const hook = authenticator({ jwksUrl: server.url });
  for (const key of keys) {
    t.match(await present(hook, await key.sign({ sub: key.kid })), { ok: true, identity: { subject: key.kid } }, `${key.alg} (${key.kid})`);
  }
  t.match(await present(hook, unsecured({ sub: 'root' })), { ok: false, code: 'invalid_token', message: /algorithm "none"/ });
  t.equal(server.requests, 1, 'one fetch served them all');
});

t.test('algorithm confusion: an HS256 token keyed with the RSA public key the server holds is refused', async (t) => {
  const rsa = await testKey('RS256');
  const claims = { sub: 'mallory', publish: ['>'], subscribe: ['>'] };
  const confused = await signJwt(claims, rsa.publicPem, { alg: 'HS256' });
  t.match(await present(authenticator({ jwtPublicKey: rsa.publicPem }), confused), { ok: false, code: 'invalid_token', message: /algorithm "HS256"/ }, 'a public key accepts no HS algorithm');
  // With a secret configured too, HS256 is accepted, but only ever checked with the secret.
  const both = authenticator({ jwtSecret: secret64, jwtPublicKey: rsa.publicPem, jwtAlgorithms: ['HS256', 'RS256'] });
  t.match(await present(both, confused), { ok: false, code: 'invalid_token', message: /signature/ }, 'HS256 verified with JWT_SECRET, not the public key');
  t.match(await present(both, await rsa.sign(claims)), { ok: true }, 'the RSA token still verifies');
  t.match(await present(both, await signJwt(claims, secret64)), { ok: true }, 'and a real HS256 one');
  const server = await startJwksServer([rsa.jwk]);
  t.teardown(() => server.close());
  const viaJwks = await signJwt(claims, JSON.stringify(rsa.jwk), { alg: 'HS256', kid: rsa.kid });
  t.match(await present(authenticator({ jwksUrl: server.url }), viaJwks), { ok: false, code: 'invalid_token', message: /algorithm "HS256"/ }, 'a JWKS accepts no HS algorithm');
  const misuse = await verifyJwt(confused, { publicKey: readPublicKey(rsa.publicPem), algorithms: ['HS256'], clockToleranceMs: 0, now: clock.now });
  t.match(misuse, { ok: false, code: 'invalid_token', message: /algorithm/ }, 'verifyJwt told to accept HS256 with only a public key: no key for it, refused');
});

t.test('exp and nbf with the clock tolerance, iss and aud, with a public key', async (t) => {
  const key = await testKey('ES256');
  const hook = authenticator({ jwtPublicKey: key.publicPem, jwtIssuer: 'https://id.example', jwtAudience: 'switchboard' });
  const issued = { iss: 'https://id.example', aud: 'switchboard' };
  const cases: [string, object, object][] = [
    ['valid', issued, { ok: true }],
    ['expired within the tolerance', { ...issued, exp: seconds - 4 }, { ok: true }],
    ['expired beyond it', { ...issued, exp: seconds - 5 }, { ok: false, code: 'token_expired' }],
    ['not yet valid within the tolerance', { ...issued, nbf: seconds + 5 }, { ok: true }],
    ['not yet valid beyond it', { ...issued, nbf: seconds + 6 }, { ok: false, code: 'token_not_yet_valid', message: /nbf/ }],
    ['another issuer', { ...issued, iss: 'https://evil.example' }, { ok: false, code: 'invalid_issuer', message: /iss/ }],
    ['no issuer', { aud: 'switchboard' }, { ok: false, code: 'invalid_issuer' }],
    ['another audience', { ...issued, aud: ['other'] }, { ok: false, code: 'invalid_audience', message: /aud/ }],
    ['no audience', { iss: 'https://id.example' }, { ok: false, code: 'invalid_audience' }],
    ['expired and from another issuer: the issuer is the reason', { ...issued, iss: 'x', exp: seconds - 60 }, { ok: false, code: 'invalid_issuer' }],
    ['expired with malformed grants: invalid, not expired', { ...issued, exp: seconds - 60, publish: 'all' }, { ok: false, code: 'invalid_token' }],
    ['not yet valid with malformed grants: invalid', { ...issued, nbf: seconds + 60, subscribe: [''] }, { ok: false, code: 'invalid_token' }],
    ['exp not a number', { ...issued, exp: 'soon' }, { ok: false, code: 'invalid_token', message: /exp/ }],
  ];
  for (const [name, claims, outcome] of cases) t.match(await present(hook, await key.sign(claims as Record<string, unknown>)), outcome, name);
});

t.test('JWT_PUBLIC_KEY and JWT_ALGORITHMS that cannot work stop startup naming the option, never quoting a key', async (t) => {
  const refused = (config: ConfigInput, option: string, rule: RegExp, secretText?: string) => {
    try {
      authenticator(config);
      t.fail(`${option}: accepted`);
    } catch (error) {
      t.ok(error instanceof ConfigError, `${option}: ConfigError`);
      const { field, message } = error as ConfigError;
      t.equal(field, option);
      t.match(message, rule);
      if (secretText !== undefined) t.notOk(message.includes(secretText.slice(40, 80)), 'the key material is not in the message');
    }
  };
  const { privateKey } = await (async () => {
    const key = await testKey('RS256');
    return { privateKey: await exportPKCS8(key.privateKey) };
  })();
  refused({ jwtPublicKey: privateKey }, 'JWT_PUBLIC_KEY (--jwt-public-key)', /holds a private key/, privateKey);
  const body = privateKey.split('\n').slice(1, -2).join('');
  refused({ jwtPublicKey: body }, 'JWT_PUBLIC_KEY (--jwt-public-key)', /neither a PEM .* nor the path of a readable file \((ENOENT|ENAMETOOLONG)\)/, body);
  refused({ jwtPublicKey: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }, 'JWT_PUBLIC_KEY (--jwt-public-key)', /not a PEM public key/);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  refused({ jwtPublicKey: small }, 'JWT_PUBLIC_KEY (--jwt-public-key)', /1024-bit RSA key: at least 2048 bits/);
  const x25519 = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  refused({ jwtPublicKey: x25519 }, 'JWT_PUBLIC_KEY (--jwt-public-key)', /x25519 key, which no accepted algorithm uses/);
  const p256 = await testKey('ES256');
  refused({ jwtPublicKey: p256.publicPem, jwtAlgorithms: ['ES384'] }, 'JWT_ALGORITHMS (--jwt-algorithms)', /ES384 does not fit JWT_PUBLIC_KEY, a ec prime256v1 key \(it verifies ES256\)/);
});
