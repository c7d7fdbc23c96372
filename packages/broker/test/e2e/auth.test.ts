import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorMessage } from '@switchboard/protocol';
import t from 'tap';
import type { AuthRequest } from '../../src/auth/authenticator.js';
import { builtinAuthenticator } from '../../src/auth/authenticator.js';
import { signJwt } from '../../src/auth/jwt.js';
import { createConfig } from '../../src/config/config.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { eventually, startBroker } from '../helpers/start-broker.js';

/** Authentication and authorization end to end (protocol.md §2.2, §9). */

const secret = 'a-test-secret-of-at-least-32-bytes!';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

t.test('JWT: grants from the token decide what a connection may publish and subscribe', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret });
  const exp = inAnHour();
  const token = await signJwt({ sub: 'alice', exp, publish: ['chat.alice.>'], subscribe: ['chat.*.>'] }, secret);
  const alice = await Peer.open(broker.url, { headers: bearer(token) });
  t.teardown(() => alice.close());
  t.equal(alice.welcome.tokenExpiresAt, exp * 1000, 'welcome carries the expiry in ms');
  t.match(await alice.subscribe('chat.bob.room'), { op: 'subscribed' });
  t.match(await alice.subscribe('chat.>'), { op: 'error', code: 'forbidden' }, 'chat.*.> does not cover chat.>');
  t.match(await alice.publish('chat.alice.room', 'hi'), { op: 'published' });
  t.match(await alice.publish('chat.bob.room', 'spoof'), { op: 'error', code: 'forbidden' });
});

t.test('JWT: missing, malformed, badly signed, expired, alg none, wrong issuer or audience: 401 with its own code', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret, jwtIssuer: 'https://issuer.example', jwtAudience: 'switchboard' });
  const good = { iss: 'https://issuer.example', aud: 'switchboard', exp: inAnHour(), subscribe: ['>'] };
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
  const cases: [string, Record<string, string>, string][] = [
    ['no token', {}, 'invalid_token'],
    ['not a JWT', bearer('garbage'), 'invalid_token'],
    ['not Bearer', { Authorization: 'Basic dXNlcjpwYXNz' }, 'invalid_token'],
    ['wrong secret', bearer(await signJwt(good, 'another-secret-of-at-least-32-bytes')), 'invalid_token'],
    ['expired', bearer(await signJwt({ ...good, exp: Math.floor(Date.now() / 1000) - 3600 }, secret)), 'token_expired'],
    ['not yet valid', bearer(await signJwt({ ...good, nbf: Math.floor(Date.now() / 1000) + 3600 }, secret)), 'token_not_yet_valid'],
    ['alg none', bearer(none), 'invalid_token'],
    ['wrong issuer', bearer(await signJwt({ ...good, iss: 'https://evil.example' }, secret)), 'invalid_issuer'],
    ['wrong audience', bearer(await signJwt({ ...good, aud: 'other' }, secret)), 'invalid_audience'],
    ['grants not patterns', bearer(await signJwt({ ...good, subscribe: ['a..b'] }, secret)), 'invalid_token'],
  ];
  for (const [name, headers, code] of cases) {
    const answer = await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', ...headers });
    t.match(answer, { status: 401, headers: { 'www-authenticate': 'Bearer' }, body: { code } }, `${name}: ${code}`);
  }
  const ok = await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', ...bearer(await signJwt(good, secret)) });
  t.equal(ok.status, 101, 'the same token, correctly issued, is accepted');
  ok.socket?.destroy();
});

t.test('a browser token travels as a bearer.<token> subprotocol entry, which is never selected', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret });
  const token = await signJwt({ sub: 'browser', exp: inAnHour(), subscribe: ['>'] }, secret);
  const peer = await Peer.open(broker.url, { protocols: ['pubsub.v1', `bearer.${token}`] });
  t.teardown(() => peer.close());
  t.equal(peer.ws.protocol, 'pubsub.v1');
  t.match(await peer.subscribe('x'), { op: 'subscribed' });
  const onlyBearer = await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': `bearer.${token}` });
  t.match(onlyBearer, { status: 400, body: { code: 'unsupported_protocol' } }, 'a bearer entry alone does not name the protocol');
});

t.test('configured to report auth failures after the upgrade: accepted, then closed with 4401', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret, authFailureAfterUpgrade: true });
  const peer = await Peer.open(broker.url, { skipWelcome: true, headers: bearer('bad.token.here') });
  t.match(await peer.waitClosed(), { code: 4401 }, 'unauthorized: do not reconnect with this token');
  t.notOk(peer.messages.some((message) => message.op === 'welcome'), 'no welcome');
});

t.test('custom auth hook: sees the request, grants per connection, 403 when it denies, 403 when it throws', async (t) => {
  const seen: AuthRequest[] = [];
  const broker = await startBroker(
    t,
    {},
    {
      authenticate: (request) => {
        seen.push(request);
        if (request.headers['x-api-key'] === 'throw') throw new Error('hook bug');
        if (request.headers['x-api-key'] !== 'k1') return { ok: false, code: 'forbidden', message: 'unknown api key' };
        return { ok: true, identity: { subject: 'svc', grants: { publish: ['svc.>'], subscribe: ['svc.>'] } } };
      },
    },
  );
  const peer = await Peer.open(broker.url, { headers: { 'x-api-key': 'k1' } });
  t.teardown(() => peer.close());
  t.match(await peer.publish('svc.a', 1), { op: 'published' });
  t.match(await peer.publish('other', 1), { op: 'error', code: 'forbidden' });
  t.match(seen[0], { kind: 'connect', token: undefined, headers: { 'x-api-key': 'k1' } });
  t.match(await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', 'x-api-key': 'nope' }), {
    status: 403,
    body: { code: 'forbidden', message: 'unknown api key' },
  });
  t.match(await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', 'x-api-key': 'throw' }), {
    status: 403,
    body: { code: 'forbidden' },
  });
});

t.test('refresh: the new token\'s grants apply; subscriptions it no longer allows end with forbidden', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret });
  const first = await signJwt({ sub: 'u', exp: inAnHour(), subscribe: ['a.>', 'b.>'], publish: ['a.>'] }, secret);
  const peer = await Peer.open(broker.url, { headers: bearer(first) });
  t.teardown(() => peer.close());
  await peer.subscribe('a.x');
  await peer.subscribe('b.x');
  const exp = inAnHour() + 60;
  const second = await signJwt({ sub: 'u', exp, subscribe: ['a.>'], publish: ['a.>', 'c.>'] }, secret);
  const revoked = peer.waitForNew((message) => message.op === 'unsubscribed' && !('id' in message));
  t.same(await peer.request({ op: 'refresh', id: 50, token: second }), { op: 'refreshed', id: 50, tokenExpiresAt: exp * 1000 });
  t.same(await revoked, { op: 'unsubscribed', pattern: 'b.x', code: 'forbidden' });
  t.match(await peer.publish('c.y', 1), { op: 'published' }, 'newly granted');
  t.match(await peer.subscribe('b.y'), { op: 'error', code: 'forbidden' }, 'no longer granted');
  t.match(await peer.subscribe('b.x'), { op: 'error', code: 'forbidden' });
});

t.test('refresh denied by the auth hook: error forbidden, then 4403; a hook that throws only fails the refresh', async (t) => {
  const revoked = new Set<string>();
  const broker = await startBroker(
    t,
    {},
    {
      authenticate: (request) => {
        if (request.token === 'throw') throw new Error('hook bug');
        if (request.token !== undefined && revoked.has(request.token)) return { ok: false, code: 'forbidden', message: 'session revoked' };
        return { ok: true, identity: { subject: request.token, grants: { publish: ['>'], subscribe: ['>'] } } };
      },
    },
  );
  const banned = await Peer.open(broker.url, { headers: { authorization: 'Bearer alice' } });
  const faulty = await Peer.open(broker.url, { headers: { authorization: 'Bearer bob' } });
  t.teardown(() => Promise.all([banned.close(), faulty.close()]));

  t.match(await faulty.request({ op: 'refresh', id: 3, token: 'throw' }), { op: 'error', id: 3, code: 'forbidden' });
  t.match(await faulty.publish('still.here', 1), { op: 'published' }, 'a hook fault is no verdict: the connection stays');

  revoked.add('alice');
  t.match(await banned.request({ op: 'refresh', id: 9, token: 'alice' }), { op: 'error', id: 9, code: 'forbidden', message: 'session revoked' });
  t.same(await banned.waitClosed(), { code: 4403, reason: 'access revoked' }, 'revoked: 4403, do not reconnect');
  await eventually(() => broker.broker.stats.closes.get(4403) === 1, 5000, 'the close counted under 4403');
});

t.test('expiry: token_expired notice, then 4102 after tokenGraceMs unless a refresh arrives', async (t) => {
  let lifetimeMs = 300;
  const broker = await startBroker(
    t,
    { tokenGraceMs: 300 },
    {
      authenticate: () => ({ ok: true, identity: { grants: { publish: ['>'], subscribe: ['>'] }, expiresAt: Date.now() + lifetimeMs } }),
    },
  );
  const lapsing = await Peer.open(broker.url);
  t.teardown(() => lapsing.close());
  t.ok(lapsing.welcome.tokenExpiresAt !== undefined);
  const notice = await lapsing.waitFor<ErrorMessage>((message) => message.op === 'error' && message.code === 'token_expired');
  t.notOk('id' in notice, 'a notice, not an answer');
  t.match(notice.message, /refresh within 300 ms/);
  t.match(await lapsing.waitClosed(), { code: 4102 }, 'token_expired close: get a new token and reconnect at once');

  const refreshing = await Peer.open(broker.url);
  t.teardown(() => refreshing.close());
  await refreshing.waitFor((message) => message.op === 'error' && message.code === 'token_expired');
  lifetimeMs = 60_000;
  t.match(await refreshing.request({ op: 'refresh', id: 7, token: 'any' }), { op: 'refreshed', id: 7 });
  await sleep(500);
  t.equal(refreshing.ws.readyState, 1, 'a refresh within the grace period keeps the connection');
});

t.test('origin allowlist: exact and wildcard entries; a missing Origin as configured', async (t) => {
  const broker = await startBroker(t, { allowedOrigins: ['https://app.example', 'https://*.example.org'], allowMissingOrigin: false });
  const upgrade = (origin?: string) =>
    rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', ...(origin === undefined ? {} : { Origin: origin }) });
  const accepted = await upgrade('https://app.example');
  t.equal(accepted.status, 101);
  accepted.socket?.destroy();
  const sub = await upgrade('https://eu.example.org');
  t.equal(sub.status, 101, 'a subdomain of a wildcard entry');
  sub.socket?.destroy();
  t.match(await upgrade('https://example.org'), { status: 403, body: { code: 'forbidden' } }, 'the wildcard needs a subdomain');
  t.match(await upgrade('http://app.example'), { status: 403 }, 'the scheme is part of the origin');
  t.match(await upgrade('https://app.example.evil.com'), { status: 403 });
  t.match(await upgrade(), { status: 403 }, 'no Origin, not allowed by configuration');
});

t.test('without a JWT secret, anonymous connections get the configured grants; tokens are refused', async (t) => {
  const hook = builtinAuthenticator(createConfig({ anonymousPublish: ['pub.>'], anonymousSubscribe: [] }));
  const anonymous = await hook({ kind: 'connect', token: undefined, headers: {}, remoteAddress: undefined });
  t.same(anonymous, { ok: true, identity: { grants: { publish: ['pub.>'], subscribe: [] }, anonymous: true } });
  const withToken = await hook({ kind: 'connect', token: 'x', headers: {}, remoteAddress: undefined });
  t.match(withToken, { ok: false, code: 'invalid_token' });
  const strict = builtinAuthenticator(createConfig({ jwtSecret: secret }));
  t.match(await strict({ kind: 'connect', token: undefined, headers: {}, remoteAddress: undefined }), { ok: false, code: 'invalid_token' }, 'a secret makes tokens required');
});
