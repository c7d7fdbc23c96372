import { CompactSign } from 'jose';
import t from 'tap';
import { signJwt, verifyJwt } from '../../src/auth/jwt.js';

/**
 * JWT verification with a shared secret (RFC 7519, RFC 7515, RFC 7518 §3.2) with an injected clock. The
 * other algorithms, key sources and the JWKS are in jwt-algorithms.test.ts and jwks-cache.test.ts.
 */

const secret = 'unit-test-secret-of-at-least-32-bytes';
const now = 1_700_000_000_000;
const options = { secret, clockToleranceMs: 5000, now: () => now };
const seconds = now / 1000;

function tamper(token: string, part: 0 | 1 | 2, replacement: string): string {
  const parts = token.split('.');
  parts[part] = replacement;
  return parts.join('.');
}

t.test('a valid token yields its subject, grants and expiry', async (t) => {
  const token = await signJwt({ sub: 'alice', exp: seconds + 60, publish: ['a.>'], subscribe: ['a.*', 'b'] }, secret);
  const result = await verifyJwt(token, options);
  t.match(result, { ok: true, token: { subject: 'alice', expiresAt: (seconds + 60) * 1000, grants: { publish: ['a.>'], subscribe: ['a.*', 'b'] } } });
  t.match(await verifyJwt(await signJwt({}, secret), options), { ok: true, token: { subject: undefined, expiresAt: undefined, grants: { publish: [], subscribe: [] } } }, 'no claims: no grants, no expiry');
});

t.test('RFC 7519 §4.1.4/§4.1.5: exp and nbf with the clock tolerance; expired is token_expired', async (t) => {
  t.match(await verifyJwt(await signJwt({ exp: seconds - 1 }, secret), options), { ok: true }, 'within the tolerance');
  t.match(await verifyJwt(await signJwt({ exp: seconds - 5 }, secret), options), { ok: false, code: 'token_expired' });
  t.match(await verifyJwt(await signJwt({ exp: seconds - 3600 }, secret), options), { ok: false, code: 'token_expired' });
  t.match(await verifyJwt(await signJwt({ nbf: seconds + 4 }, secret), options), { ok: true });
  t.match(await verifyJwt(await signJwt({ nbf: seconds + 60 }, secret), options), { ok: false, code: 'token_not_yet_valid', message: /nbf/ });
  t.match(await verifyJwt(await signJwt({ exp: 'tomorrow' }, secret), options), { ok: false, code: 'invalid_token' });
  t.match(await verifyJwt(await signJwt({ exp: seconds - 3600, publish: 'nope' }, secret), options), { ok: false, code: 'invalid_token' }, 'a malformed expired token is invalid, not expired');
});

t.test('RFC 8725 §3.1: only HS256, whatever the token claims; signatures compared exactly', async (t) => {
  const token = await signJwt({ sub: 'x' }, secret);
  const [, payload] = token.split('.') as [string, string];
  const header = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  t.match(await verifyJwt(`${header({ alg: 'none' })}.${payload}.`, options), { ok: false, code: 'invalid_token', message: /algorithm/ });
  const secret64 = secret.repeat(2);
  const signed512 = await signJwt({ sub: 'x' }, secret64, { alg: 'HS512' });
  t.match(await verifyJwt(signed512, { ...options, secret: secret64 }), { ok: false, message: /algorithm/ });
  t.match(await verifyJwt(tamper(token, 2, 'AAAA'), options), { ok: false, message: /signature/ });
  t.match(await verifyJwt(tamper(token, 1, Buffer.from('{"sub":"root"}').toString('base64url')), options), { ok: false, message: /signature/ });
  t.match(await verifyJwt(await signJwt({ sub: 'x' }, 'another-secret-of-at-least-32-bytes'), options), { ok: false, message: /signature/ });
  const crit = await new CompactSign(Buffer.from(payload, 'base64url'))
    .setProtectedHeader({ alg: 'HS256', crit: ['exp'], exp: seconds + 60 })
    .sign(new TextEncoder().encode(secret), { crit: { exp: true } });
  t.match(await verifyJwt(crit, options), { ok: false, message: /critical/ });
});

t.test('malformed tokens never throw', async (t) => {
  for (const token of ['', 'a', 'a.b', 'a.b.c.d', '!!.??.##', `${'x'.repeat(9000)}.a.b`, 'e30.e30.', 'W10.e30.sig']) {
    t.match(await verifyJwt(token, options), { ok: false, code: 'invalid_token' }, JSON.stringify(token.slice(0, 20)));
  }
});

t.test('iss and aud when configured; sub must be a string; grants must be valid patterns', async (t) => {
  const strict = { ...options, issuer: 'https://id.example', audience: 'switchboard' };
  t.match(await verifyJwt(await signJwt({ iss: 'https://id.example', aud: 'switchboard' }, secret), strict), { ok: true });
  t.match(await verifyJwt(await signJwt({ iss: 'https://id.example', aud: ['other', 'switchboard'] }, secret), strict), { ok: true }, 'aud may be a list');
  t.match(await verifyJwt(await signJwt({ iss: 'https://id.example', aud: 'other' }, secret), strict), { ok: false, message: /aud/ });
  t.match(await verifyJwt(await signJwt({ aud: 'switchboard' }, secret), strict), { ok: false, message: /iss/ });
  t.match(await verifyJwt(await signJwt({ sub: 42 }, secret), options), { ok: false, message: /sub/ });
  t.match(await verifyJwt(await signJwt({ subscribe: ['a.>.b'] }, secret), options), { ok: false, message: /subscribe/ });
  t.match(await verifyJwt(await signJwt({ publish: [1] }, secret), options), { ok: false, message: /publish/ });
});
