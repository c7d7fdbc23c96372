import { createHmac } from 'node:crypto';
import t from 'tap';
import { signJwt, verifyJwt } from '../../src/auth/jwt.js';

/** HS256 JWT verification (RFC 7519, RFC 7515, RFC 7518 §3.2) with an injected clock. */

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
  const token = signJwt({ sub: 'alice', exp: seconds + 60, publish: ['a.>'], subscribe: ['a.*', 'b'] }, secret);
  const result = verifyJwt(token, options);
  t.match(result, { ok: true, token: { subject: 'alice', expiresAt: (seconds + 60) * 1000, grants: { publish: ['a.>'], subscribe: ['a.*', 'b'] } } });
  t.match(verifyJwt(signJwt({}, secret), options), { ok: true, token: { subject: undefined, expiresAt: undefined, grants: { publish: [], subscribe: [] } } }, 'no claims: no grants, no expiry');
});

t.test('RFC 7519 §4.1.4/§4.1.5: exp and nbf with the clock tolerance; expired is token_expired', async (t) => {
  t.match(verifyJwt(signJwt({ exp: seconds - 1 }, secret), options), { ok: true }, 'within the tolerance');
  t.match(verifyJwt(signJwt({ exp: seconds - 5 }, secret), options), { ok: false, code: 'token_expired' });
  t.match(verifyJwt(signJwt({ exp: seconds - 3600 }, secret), options), { ok: false, code: 'token_expired' });
  t.match(verifyJwt(signJwt({ nbf: seconds + 4 }, secret), options), { ok: true });
  t.match(verifyJwt(signJwt({ nbf: seconds + 60 }, secret), options), { ok: false, code: 'invalid_token', message: /nbf/ });
  t.match(verifyJwt(signJwt({ exp: 'tomorrow' }, secret), options), { ok: false, code: 'invalid_token' });
  t.match(verifyJwt(signJwt({ exp: seconds - 3600, publish: 'nope' }, secret), options), { ok: false, code: 'invalid_token' }, 'a malformed expired token is invalid, not expired');
});

t.test('RFC 8725 §3.1: only HS256, whatever the token claims; signatures compared exactly', async (t) => {
  const token = signJwt({ sub: 'x' }, secret);
  const [, payload] = token.split('.') as [string, string];
  const header = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  t.match(verifyJwt(`${header({ alg: 'none' })}.${payload}.`, options), { ok: false, code: 'invalid_token', message: /algorithm/ });
  const hs512 = header({ alg: 'HS512' });
  const signed512 = createHmac('sha512', secret).update(`${hs512}.${payload}`).digest('base64url');
  t.match(verifyJwt(`${hs512}.${payload}.${signed512}`, options), { ok: false, message: /algorithm/ });
  t.match(verifyJwt(tamper(token, 2, 'AAAA'), options), { ok: false, message: /signature/ });
  t.match(verifyJwt(tamper(token, 1, Buffer.from('{"sub":"root"}').toString('base64url')), options), { ok: false, message: /signature/ });
  t.match(verifyJwt(signJwt({ sub: 'x' }, 'another-secret-of-at-least-32-bytes'), options), { ok: false, message: /signature/ });
  const crit = header({ alg: 'HS256', crit: ['exp'] });
  t.match(verifyJwt(`${crit}.${payload}.${createHmac('sha256', secret).update(`${crit}.${payload}`).digest('base64url')}`, options), { ok: false, message: /critical/ });
});

t.test('malformed tokens never throw', async (t) => {
  for (const token of ['', 'a', 'a.b', 'a.b.c.d', '!!.??.##', `${'x'.repeat(9000)}.a.b`, 'e30.e30.', 'W10.e30.sig']) {
    t.match(verifyJwt(token, options), { ok: false, code: 'invalid_token' }, JSON.stringify(token.slice(0, 20)));
  }
});

t.test('iss and aud when configured; sub must be a string; grants must be valid patterns', async (t) => {
  const strict = { ...options, issuer: 'https://id.example', audience: 'switchboard' };
  t.match(verifyJwt(signJwt({ iss: 'https://id.example', aud: 'switchboard' }, secret), strict), { ok: true });
  t.match(verifyJwt(signJwt({ iss: 'https://id.example', aud: ['other', 'switchboard'] }, secret), strict), { ok: true }, 'aud may be a list');
  t.match(verifyJwt(signJwt({ iss: 'https://id.example', aud: 'other' }, secret), strict), { ok: false, message: /aud/ });
  t.match(verifyJwt(signJwt({ aud: 'switchboard' }, secret), strict), { ok: false, message: /iss/ });
  t.match(verifyJwt(signJwt({ sub: 42 }, secret), options), { ok: false, message: /sub/ });
  t.match(verifyJwt(signJwt({ subscribe: ['a.>.b'] }, secret), options), { ok: false, message: /subscribe/ });
  t.match(verifyJwt(signJwt({ publish: [1] }, secret), options), { ok: false, message: /publish/ });
});
