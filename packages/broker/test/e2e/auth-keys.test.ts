import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorMessage } from '@switchboard/protocol';
import t from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { startJwksServer, testKey } from '../helpers/jwt-keys.js';
import { startBroker } from '../helpers/start-broker.js';

/**
 * Public-key tokens end to end (protocol.md §2.2, §9, §10; operations.md Authentication): a broker verifying
 * against a JWKS server on a loopback port, or a PEM key, with keys the test makes; real WebSocket upgrades,
 * `refresh`, POST /publish, and the close codes of refused tokens after the upgrade.
 */

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const upgrade = (port: number, token: string) => rawUpgrade(port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', ...bearer(token) });

/** The broker's clock, moved forward by the test so the JWKS intervals pass without waiting. */
/** A clock that moves only when told: on a loaded machine a real one can pass a whole refresh interval between two requests. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let now = Date.now();
  return { now: () => now, advance: (ms) => (now += ms) };
}

t.test('JWKS: tokens over a real WebSocket; key rotation without a restart; an unknown-kid flood; the JWKS server going away', async (t) => {
  const first = await testKey('RS256');
  const rotated = await testKey('ES256');
  const server = await startJwksServer([first.jwk]);
  t.teardown(() => server.close());
  const clock = manualClock();
  const intervalMs = 1000;
  const broker = await startBroker(t, { jwksUrl: server.url, jwksRefreshIntervalMs: intervalMs, jwksMaxAgeMs: 60_000 }, { now: clock.now });

  const exp = inAnHour();
  const alice = await Peer.open(broker.url, { headers: bearer(await first.sign({ sub: 'alice', exp, publish: ['chat.>'], subscribe: ['chat.>'] })) });
  t.teardown(() => alice.close());
  t.equal(alice.welcome.tokenExpiresAt, exp * 1000, 'welcome carries the RS256 token\'s expiry');
  t.match(await alice.publish('chat.room', 'hi'), { op: 'published' });
  t.match(await alice.publish('news', 'no'), { op: 'error', code: 'forbidden' }, 'grants from the token');
  t.equal(server.requests, 1);

  server.serve([first.jwk, rotated.jwk]);
  const rotatedToken = await rotated.sign({ sub: 'bob', exp: inAnHour(), subscribe: ['chat.>'] });
  t.match(await upgrade(broker.port, rotatedToken), { status: 401, body: { code: 'invalid_token' } }, 'within the interval of the last fetch: unknown kid, no fetch');
  t.equal(server.requests, 1);
  clock.advance(intervalMs);
  const bob = await Peer.open(broker.url, { headers: bearer(rotatedToken) });
  t.teardown(() => bob.close());
  t.match(await bob.subscribe('chat.room'), { op: 'subscribed' }, 'the rotated key is accepted, no restart');
  t.equal(server.requests, 2, 'after exactly one refresh');
  const refreshed = await rotated.sign({ sub: 'alice', exp: exp + 60, publish: ['chat.>'] });
  t.same(await alice.request({ op: 'refresh', id: 7, token: refreshed }), { op: 'refreshed', id: 7, tokenExpiresAt: (exp + 60) * 1000 }, 'refresh with a token of the new key');

  const forged = () => testKey('ES256', `forged-${randomBytes(6).toString('hex')}`).then((key) => key.sign({ sub: 'mallory', subscribe: ['>'] }));
  const flood = async () => {
    const answers = await Promise.all(Array.from({ length: 15 }, async () => upgrade(broker.port, await forged())));
    return answers.every((answer) => answer.status === 401 && (answer.body as { code: string }).code === 'invalid_token');
  };
  t.ok(await flood(), '15 forged kids: 401 invalid_token each');
  t.equal(server.requests, 2, 'within the interval: no fetch at all');
  clock.advance(intervalMs);
  t.ok(await flood(), 'the next interval: refused again');
  t.equal(server.requests, 3, 'with one fetch for all 15');

  await server.close();
  clock.advance(60_000);
  const carol = await Peer.open(broker.url, { headers: bearer(await first.sign({ sub: 'carol', subscribe: ['chat.>'] })) });
  t.teardown(() => carol.close());
  t.match(await carol.subscribe('chat.room'), { op: 'subscribed' }, 'the JWKS server is gone and the set past its age: the last good set still verifies');
  t.match(await alice.publish('chat.room', 'still here'), { op: 'published' }, 'open connections are untouched');
  const unknown = await upgrade(broker.port, await forged());
  t.match(unknown, { status: 503, headers: { 'retry-after': '1' }, body: { code: 'unavailable' } }, 'an unknown kid while the server is down: 503, try later');
});

t.test('JWKS server down before the first fetch: 503 unavailable with Retry-After, on the upgrade and POST /publish; then served', async (t) => {
  const key = await testKey('EdDSA');
  const server = await startJwksServer([key.jwk]);
  t.teardown(() => server.close());
  server.fail(503);
  const clock = manualClock();
  const broker = await startBroker(t, { jwksUrl: server.url, jwksRefreshIntervalMs: 1000 }, { now: clock.now });
  const token = await key.sign({ sub: 'backend', publish: ['orders.>'], subscribe: ['orders.>'] });
  t.match(await upgrade(broker.port, token), { status: 503, headers: { 'retry-after': '1' }, body: { code: 'unavailable', message: /JWKS/ } });
  const publish = await broker.app.inject({ method: 'POST', url: '/publish', headers: bearer(token), payload: { topic: 'orders.eu', data: 1 } });
  t.equal(publish.statusCode, 503);
  t.equal(publish.headers['retry-after'], '1');
  t.match(publish.json(), { code: 'unavailable' });
  t.equal(server.requests, 1, 'the second request did not fetch again within the interval');
  server.fail(undefined);
  clock.advance(1000);
  const accepted = await upgrade(broker.port, token);
  t.equal(accepted.status, 101, 'the server is back: fetched, verified');
  accepted.socket?.destroy();
  const again = await broker.app.inject({ method: 'POST', url: '/publish', headers: bearer(token), payload: { topic: 'orders.eu', data: 1 } });
  t.equal(again.statusCode, 200);
});

t.test('refused after the upgrade (AUTH_FAILURE_AFTER_UPGRADE): each token failure closes with its own code', async (t) => {
  const key = await testKey('ES384');
  const stranger = await testKey('ES384');
  const broker = await startBroker(t, {
    jwtPublicKey: key.publicPem,
    jwtIssuer: 'https://id.example',
    jwtAudience: 'switchboard',
    authFailureAfterUpgrade: true,
  });
  const issued = { iss: 'https://id.example', aud: 'switchboard', subscribe: ['>'] };
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string, number][] = [
    ['signed by another key', await stranger.sign(issued), 4401],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(issued)).toString('base64url')}.`, 4401],
    ['expired', await key.sign({ ...issued, exp: now - 3600 }), 4102],
    ['not valid yet', await key.sign({ ...issued, nbf: now + 3600 }), 4005],
    ['another issuer', await key.sign({ ...issued, iss: 'https://evil.example' }), 4410],
    ['another audience', await key.sign({ ...issued, aud: 'other' }), 4411],
  ];
  for (const [name, token, code] of cases) {
    const peer = await Peer.open(broker.url, { skipWelcome: true, headers: bearer(token) });
    t.match(await peer.waitClosed(), { code }, `${name}: ${code}`);
    t.notOk(peer.messages.some((message) => message.op === 'welcome'), `${name}: no welcome`);
  }
  const rejections = broker.broker.stats.handshakeRejections;
  t.same(
    ['invalid_token', 'token_expired', 'token_not_yet_valid', 'invalid_issuer', 'invalid_audience'].map((code) => rejections.get(code)),
    [2, 1, 1, 1, 1],
    'counted under their codes',
  );
  const good = await Peer.open(broker.url, { headers: bearer(await key.sign(issued)) });
  t.teardown(() => good.close());
  t.match(await good.subscribe('x'), { op: 'subscribed' }, 'a correctly issued ES384 token is served');
  const wrongAudience = await broker.app.inject({ method: 'POST', url: '/publish', headers: bearer(await key.sign({ ...issued, aud: 'other', publish: ['>'] })), payload: { topic: 'x', data: 1 } });
  t.equal(wrongAudience.statusCode, 401);
  t.equal(wrongAudience.headers['www-authenticate'], 'Bearer');
  t.match(wrongAudience.json(), { code: 'invalid_audience' }, 'POST /publish answers the token\'s own code');
});

t.test('expiry of a public-key token on a live connection: token_expired, then 4102 unless a refresh arrives', async (t) => {
  const key = await testKey('EdDSA');
  const broker = await startBroker(t, { jwtPublicKey: key.publicPem, jwtClockToleranceMs: 0, tokenGraceMs: 300 });
  const soon = () => Math.floor(Date.now() / 1000) + 1;
  const lapsing = await Peer.open(broker.url, { headers: bearer(await key.sign({ exp: soon(), subscribe: ['>'] })) });
  t.teardown(() => lapsing.close());
  const notice = await lapsing.waitFor<ErrorMessage>((message) => message.op === 'error' && message.code === 'token_expired');
  t.notOk('id' in notice, 'a notice, not an answer');
  t.match(await lapsing.waitClosed(), { code: 4102 }, 'no refresh within the grace period: 4102');

  const refreshing = await Peer.open(broker.url, { headers: bearer(await key.sign({ exp: soon(), subscribe: ['>'] })) });
  t.teardown(() => refreshing.close());
  await refreshing.waitFor((message) => message.op === 'error' && message.code === 'token_expired');
  const exp = inAnHour();
  t.same(await refreshing.request({ op: 'refresh', id: 3, token: await key.sign({ exp, subscribe: ['>'] }) }), { op: 'refreshed', id: 3, tokenExpiresAt: exp * 1000 });
  await sleep(500);
  t.equal(refreshing.ws.readyState, 1, 'a refresh within the grace period keeps the connection');
  t.match(await refreshing.subscribe('after.refresh'), { op: 'subscribed' });
});
