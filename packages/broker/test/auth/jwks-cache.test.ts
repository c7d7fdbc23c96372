import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { JwksCache } from '../../src/auth/jwks-cache.js';
import { type JwtOptions, verifyJwt } from '../../src/auth/jwt.js';
import { type JwksServer, manualClock, startJwksServer, testKey } from '../helpers/jwt-keys.js';

/**
 * The JWKS cache against a real JWKS server on a loopback port, with keys the test makes and a clock it
 * moves: fetched once and cached, a rotated key accepted after one refresh, at most one fetch per interval
 * whatever the tokens say, and the last good set kept while the server is down.
 */

const refreshIntervalMs = 30_000;
const maxAgeMs = 600_000;

interface Setup {
  readonly server: JwksServer;
  readonly cache: JwksCache;
  readonly clock: ReturnType<typeof manualClock>;
  readonly warnings: string[];
  verify(token: string): ReturnType<typeof verifyJwt>;
}

async function setup(t: Test, keys: Parameters<typeof startJwksServer>[0]): Promise<Setup> {
  const server = await startJwksServer(keys);
  t.teardown(() => server.close());
  const clock = manualClock();
  const warnings: string[] = [];
  const cache = new JwksCache({
    url: new URL(server.url),
    refreshIntervalMs,
    maxAgeMs,
    timeoutMs: 2000,
    now: clock.now,
    logger: { warn: (_details, message) => warnings.push(message) },
  });
  const options: JwtOptions = { keySet: cache, clockToleranceMs: 0, now: clock.now };
  return { server, cache, clock, warnings, verify: (token) => verifyJwt(token, options) };
}

t.test('fetched on the first token, then served from the cache', async (t) => {
  const key = await testKey('ES256');
  const { server, cache, verify } = await setup(t, [key.jwk]);
  t.equal(server.requests, 0, 'nothing fetched before a token needs it');
  t.match(await verify(await key.sign({ sub: 'a' })), { ok: true, token: { subject: 'a' } });
  t.match(await verify(await key.sign({ sub: 'b' })), { ok: true, token: { subject: 'b' } });
  t.equal(server.requests, 1, 'one fetch for both');
  t.equal(cache.fetches, 1);
});

t.test('key rotation without a restart: a token signed by a newly served key is accepted after one refresh', async (t) => {
  const old = await testKey('RS256');
  const rotated = await testKey('RS256');
  const { server, clock, verify } = await setup(t, [old.jwk]);
  t.match(await verify(await old.sign({})), { ok: true });
  server.serve([rotated.jwk]);
  const early = await verify(await rotated.sign({}));
  t.match(early, { ok: false, code: 'invalid_token', message: /no key/ }, 'within the interval of the last fetch: the kid is unknown, no fetch');
  t.equal(server.requests, 1);
  clock.advance(refreshIntervalMs);
  t.match(await verify(await rotated.sign({ sub: 'new' })), { ok: true, token: { subject: 'new' } }, 'the unknown kid fetched the set once more');
  t.equal(server.requests, 2, 'exactly one refresh');
  t.match(await verify(await old.sign({})), { ok: false, code: 'invalid_token' }, 'the key the issuer dropped is no longer accepted');
  t.equal(server.requests, 2, 'and did not fetch again within the interval');
});

t.test('a flood of unknown kids makes at most one JWKS fetch per interval', async (t) => {
  const key = await testKey('EdDSA');
  const { server, clock, verify } = await setup(t, [key.jwk]);
  t.match(await verify(await key.sign({})), { ok: true });
  clock.advance(refreshIntervalMs);
  const forged = async () => (await testKey('EdDSA', `forged-${randomBytes(6).toString('hex')}`)).sign({ sub: 'mallory' });
  const tokens = await Promise.all(Array.from({ length: 40 }, forged));
  const results = await Promise.all(tokens.map(verify));
  t.ok(
    results.every((result) => !result.ok && result.code === 'invalid_token'),
    'every forged kid refused as invalid_token',
  );
  t.equal(server.requests, 2, '40 concurrent unknown kids: one fetch, shared');
  for (const token of tokens.slice(0, 10)) t.match(await verify(token), { ok: false, code: 'invalid_token' });
  clock.advance(refreshIntervalMs - 1);
  for (const token of tokens.slice(10, 20)) t.match(await verify(token), { ok: false, code: 'invalid_token' });
  t.equal(server.requests, 2, 'more of them within the interval: no fetch');
  clock.advance(1);
  for (const token of tokens.slice(20, 30)) t.match(await verify(token), { ok: false, code: 'invalid_token' });
  t.equal(server.requests, 3, 'the next interval: one fetch more');
  t.match(await verify(await key.sign({})), { ok: true }, 'the real key still verifies');
});

t.test('the JWKS server going away: the last good key set keeps working', async (t) => {
  const key = await testKey('ES384');
  const { server, cache, clock, warnings, verify } = await setup(t, [key.jwk]);
  t.match(await verify(await key.sign({})), { ok: true });
  await server.close();
  clock.advance(maxAgeMs);
  t.match(await verify(await key.sign({ sub: 'stale' })), { ok: true, token: { subject: 'stale' } }, 'a set past its age serves while it is fetched again');
  await cache.refresh();
  t.equal(cache.fetches, 2, 'the background fetch was tried');
  t.match(warnings, [/JWKS fetch failed; the last good key set/], 'and its failure logged');
  t.match(await verify(await key.sign({ sub: 'still' })), { ok: true, token: { subject: 'still' } }, 'the failed fetch kept the set');
  const unknown = await testKey('ES384');
  t.match(await verify(await unknown.sign({})), { ok: false, code: 'unavailable' }, 'an unknown kid while the server is down: try later, not invalid');
  t.equal(cache.fetches, 2, 'and no fetch within the interval of the failed one');
  clock.advance(refreshIntervalMs);
  t.match(await verify(await key.sign({})), { ok: true }, 'the next interval: tried again in the background, still serving');
  await cache.refresh();
  t.equal(cache.fetches, 3);
});

t.test('an answer that is not a key set (500, a redirect, not JSON, no keys) keeps the last good one', async (t) => {
  const key = await testKey('PS256');
  const { server, cache, clock, warnings, verify } = await setup(t, [key.jwk]);
  t.match(await verify(await key.sign({})), { ok: true });
  const answers: [number, string, string][] = [
    [500, 'down', 'a 500'],
    [302, '', 'a redirect (not followed: the configured URL is the trust anchor)'],
    [200, '{"keys":', 'JSON cut short'],
    [200, '{"issuer":"https://id.example"}', 'JSON without keys'],
  ];
  for (const [status, body, what] of answers) {
    server.fail(status, body);
    clock.advance(maxAgeMs);
    t.match(await verify(await key.sign({})), { ok: true }, `${what}: still verified`);
    await cache.refresh();
  }
  t.equal(cache.fetches, 5);
  t.equal(warnings.length, 4, 'each failure logged');
  t.match(await verify(await key.sign({})), { ok: true }, 'after all of them, the last good set verifies');
});

t.test('a set past its age is replaced in the background: a key the issuer removed stops verifying', async (t) => {
  const removed = await testKey('ES256');
  const kept = await testKey('ES256');
  const { server, cache, clock, verify } = await setup(t, [removed.jwk, kept.jwk]);
  t.match(await verify(await removed.sign({})), { ok: true });
  server.serve([kept.jwk]);
  clock.advance(maxAgeMs - 1);
  t.match(await verify(await removed.sign({})), { ok: true }, 'younger than the maximum age: served from the cache');
  t.equal(server.requests, 1);
  clock.advance(1);
  t.match(await verify(await removed.sign({})), { ok: true }, 'as old as the maximum age: served while the new set is fetched');
  await cache.refresh();
  t.equal(server.requests, 2);
  t.match(await verify(await removed.sign({})), { ok: false, code: 'invalid_token' }, 'then gone');
  t.match(await verify(await kept.sign({})), { ok: true });
});

t.test('no key set fetched yet and the server down: unavailable, retried once per interval', async (t) => {
  const key = await testKey('RS256');
  const { server, cache, clock, verify } = await setup(t, [key.jwk]);
  server.fail(503);
  t.match(await verify(await key.sign({})), { ok: false, code: 'unavailable', message: /could not be fetched/ });
  t.match(await verify(await key.sign({})), { ok: false, code: 'unavailable' });
  t.equal(cache.fetches, 1, 'the second token did not fetch again');
  server.fail(undefined);
  clock.advance(refreshIntervalMs);
  t.match(await verify(await key.sign({})), { ok: true }, 'the next interval: fetched, verified');
  t.equal(server.requests, 2);
});
