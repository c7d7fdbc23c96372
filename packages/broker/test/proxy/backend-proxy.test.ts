import { ProtocolCloseCode } from '@switchboard/protocol';
import t from 'tap';
import type { ConfigInput } from '../../src/config/config.js';
import { ProxyBackend } from '../helpers/proxy-backend.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { type TestBroker, eventually, startBroker } from '../helpers/start-broker.js';

/**
 * The backend proxy against a real backend on a loopback port (issue 17, protocol.md "Backend proxy"): a
 * cookie session connects without a JWT; the backend refuses subscribes and publishes with its codes,
 * replaces a payload, extends a session; a dead backend gives `unavailable` and opens its circuit, which
 * closes again once the backend is back.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

const sessions: Record<string, { user: string; name: string }> = { s3cr3t: { user: 'alice', name: 'Alice' }, b0b: { user: 'bob', name: 'Bob' } };

/** A backend whose /connect knows the cookie `session`. */
async function cookieBackend(t: Teardown): Promise<ProxyBackend> {
  const backend = await ProxyBackend.start(t);
  backend.on('/connect', (body) => {
    const cookies = body['cookies'] as Record<string, string>;
    const session = sessions[cookies['session'] ?? ''];
    if (session === undefined) return { json: { refuse: { code: 'invalid_token', reason: 'sign in first' } } };
    return { json: { user: session.user, info: { name: session.name }, grants: { subscribe: ['chat.>', 'news.>'], publish: ['chat.>', 'news.>'] } } };
  });
  return backend;
}

function proxyBroker(t: Teardown, backend: ProxyBackend, overrides: ConfigInput = {}): Promise<TestBroker> {
  return startBroker(t, { proxyConnectUrl: backend.endpoint('/connect'), proxyTimeoutMs: 2000, ...overrides });
}

async function open(t: Teardown, broker: TestBroker, session: string, extra: Record<string, string> = {}): Promise<Peer> {
  const peer = await Peer.open(broker.url, { headers: { Cookie: `theme=dark; session=${session}`, ...extra } });
  t.teardown(() => peer.close());
  return peer;
}

/** The value of the series `name{labels,...}` (the registry adds `node` last). */
async function metric(broker: TestBroker, name: string, labels: string): Promise<number | undefined> {
  const text = (await broker.app.inject({ url: '/metrics' })).body;
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels},`));
  return found === undefined ? undefined : Number(found.slice(found.lastIndexOf(' ') + 1));
}

t.test('connect: a cookie session signs in without a JWT; the backend sees the allowed headers only', async (t) => {
  const backend = await cookieBackend(t);
  const broker = await proxyBroker(t, backend);
  const alice = await open(t, broker, 's3cr3t', { 'X-Internal-Secret': 'not for the backend' });
  t.equal(alice.welcome.user, 'alice', 'the backend named the user');
  const [request] = backend.requestsTo('/connect');
  t.match(request?.body, { cookies: { session: 's3cr3t', theme: 'dark' }, headers: { cookie: 'theme=dark; session=s3cr3t' } });
  t.equal((request?.body['headers'] as Record<string, string>)['x-internal-secret'], undefined, 'a header outside PROXY_HEADERS is not sent');
  t.equal(request?.body['remoteAddress'], '127.0.0.1', 'the peer address, as the broker read it at the upgrade');
  t.match(await alice.subscribe('chat.room'), { op: 'subscribed' }, 'the grants the backend gave apply');
  t.match(await alice.subscribe('private.room'), { op: 'error', code: 'forbidden' }, 'and only those');
});

t.test('connect: a refusal answers its status; a dead backend answers 503 with Retry-After, never an accept', async (t) => {
  const backend = await cookieBackend(t);
  const broker = await proxyBroker(t, backend, { proxyTimeoutMs: 300, proxyBreakerFailures: 100 });
  const upgrade = (cookie: string) => rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', Cookie: cookie });
  t.match(await upgrade('session=nobody'), { status: 401, body: { code: 'invalid_token', message: 'sign in first' } });
  backend.on('/connect', () => ({ json: { refuse: { code: 'forbidden', reason: 'banned' } } }));
  t.match(await upgrade('session=s3cr3t'), { status: 403, body: { code: 'forbidden', message: 'banned' } });
  backend.on('/connect', () => ({ json: { refuse: { code: 'i_made_this_up' } } }));
  t.match(await upgrade('session=s3cr3t'), { status: 403, body: { code: 'forbidden' } }, 'a code outside the set is read as forbidden');
  backend.on('/connect', () => 'hang');
  const hung = await upgrade('session=s3cr3t');
  t.match(hung, { status: 503, body: { code: 'unavailable' } }, 'a backend that does not answer in PROXY_TIMEOUT');
  t.ok(Number(hung.headers['retry-after']) > 0, 'with Retry-After');
  backend.on('/connect', () => ({ status: 500 }));
  t.match(await upgrade('session=s3cr3t'), { status: 503, body: { code: 'unavailable' } }, 'a backend answering 500');
  backend.on('/connect', () => ({ json: { user: 42 } }));
  t.match(await upgrade('session=s3cr3t'), { status: 503, body: { code: 'unavailable' } }, 'an answer that fits no shape');
  t.equal(await metric(broker, 'switchboard_proxy_calls_total', 'kind="connect",outcome="timeout"'), 1);
});

t.test('subscribe: the backend allows, or refuses with its code, per namespace', async (t) => {
  const backend = await cookieBackend(t);
  backend.on('/subscribe', (body) => {
    if (body['pattern'] === 'rooms.open') return { json: { allow: true } };
    if (body['pattern'] === 'rooms.busy') return { json: { refuse: { code: 'rate_limited', reason: 'slow down' } } };
    return { json: { refuse: { code: 'forbidden', reason: `${String(body['user'])} may not join ${String(body['pattern'])}` } } };
  });
  const broker = await proxyBroker(t, backend, { namespaces: { 'rooms.': { proxy: { subscribe: backend.endpoint('/subscribe') } } } });
  const alice = await open(t, broker, 's3cr3t');
  t.match(await alice.subscribe('rooms.open'), { op: 'subscribed' }, 'allowed by the backend with no grant for rooms.>');
  t.match(await alice.subscribe('rooms.secret'), { op: 'error', code: 'forbidden', message: 'alice may not join rooms.secret' });
  t.match(await alice.subscribe('rooms.busy'), { op: 'error', code: 'rate_limited', message: 'slow down' });
  t.match(await alice.subscribe('chat.room'), { op: 'subscribed' }, 'outside the namespace, the grants decide');
  t.same(
    backend.requestsTo('/subscribe').map((request) => request.body['pattern']),
    ['rooms.open', 'rooms.secret', 'rooms.busy'],
  );
  t.match(backend.requestsTo('/subscribe')[0]?.body, { connectionId: alice.welcome.connectionId, user: 'alice', cookies: { session: 's3cr3t' }, remoteAddress: '127.0.0.1' });
});

t.test('publish: refused with its code, or stored with the payload the backend chose; acked only once stored', async (t) => {
  const backend = await cookieBackend(t);
  backend.on('/publish', (body) => {
    const data = body['data'] as { text?: string } | undefined;
    if (data?.text === 'spam') return { json: { refuse: { code: 'forbidden', reason: 'no spam' } } };
    if (data?.text === 'huge') return { json: { refuse: { code: 'message_too_big' } } };
    if (typeof data?.text === 'string') return { json: { allow: true, data: { text: data.text.toUpperCase(), by: body['user'] } } };
    return { json: { allow: true } };
  });
  const broker = await proxyBroker(t, backend, { historySize: 10, proxyPublishUrl: backend.endpoint('/publish') });
  const alice = await open(t, broker, 's3cr3t');
  const bob = await open(t, broker, 'b0b');
  t.match(await bob.subscribe('chat.room'), { op: 'subscribed' });
  t.match(await alice.publish('chat.room', { text: 'spam' }), { op: 'error', code: 'forbidden', message: 'no spam' });
  t.match(await alice.publish('chat.room', { text: 'huge' }), { op: 'error', code: 'message_too_big' });
  t.match(await alice.publish('chat.room', { text: 'hello' }), { op: 'published', offset: 1 });
  t.match(await alice.publish('chat.room', new Uint8Array([1, 2, 3])), { op: 'published', offset: 2 }, 'binary sent as dataBase64, allowed as is');
  const deliveries = await bob.waitForDeliveries(2);
  t.same(deliveries[0]?.data, { text: 'HELLO', by: 'alice' }, 'the replaced payload is what subscribers get');
  t.same([...(deliveries[1]?.data as Uint8Array)], [1, 2, 3]);
  t.match(backend.requestsTo('/publish')[3]?.body, { topic: 'chat.room', dataBase64: 'AQID' });

  backend.on('/publish', () => ({ status: 503 }));
  t.match(await alice.publish('chat.room', { text: 'lost?' }), { op: 'error', code: 'unavailable' }, 'a backend that cannot decide: unavailable');
  const history = await broker.app.inject({ url: '/history?topic=chat.room' });
  t.equal((history.json() as { publications: unknown[] }).publications.length, 2, 'and nothing was stored');
});

t.test('the circuit opens after consecutive failures, fails fast, and closes after a successful probe', async (t) => {
  const backend = await cookieBackend(t);
  let healthy = false;
  backend.on('/subscribe', () => (healthy ? { json: { allow: true } } : { status: 500 }));
  const broker = await proxyBroker(t, backend, { proxySubscribeUrl: backend.endpoint('/subscribe'), proxyBreakerFailures: 3, proxyBreakerCooldownMs: 300 });
  const alice = await open(t, broker, 's3cr3t');
  const endpoint = `endpoint="${backend.endpoint('/subscribe')}"`;
  const state = (): Promise<number | undefined> => metric(broker, 'switchboard_proxy_breaker_state', endpoint);
  for (let attempt = 0; attempt < 3; attempt++) t.match(await alice.subscribe(`chat.a${attempt}`), { op: 'error', code: 'unavailable' });
  t.equal(backend.requestsTo('/subscribe').length, 3);
  t.equal(await state(), 2, 'open');
  t.match(await alice.subscribe('chat.b'), { op: 'error', code: 'unavailable', message: /circuit open/ });
  t.equal(backend.requestsTo('/subscribe').length, 3, 'an open circuit sends nothing to the backend');
  healthy = true;
  await eventually(() => broker.broker.proxy?.client.breakerFor(backend.endpoint('/subscribe')).state === 'half-open', 10_000, 'half-open after the cool-down');
  t.match(await alice.subscribe('chat.c'), { op: 'subscribed' }, 'the probe passes');
  t.equal(await state(), 0, 'closed again');
  t.match(await alice.subscribe('chat.d'), { op: 'subscribed' });
  t.equal(await metric(broker, 'switchboard_proxy_breaker_opened_total', endpoint), 1);
  t.equal(await metric(broker, 'switchboard_proxy_calls_total', 'kind="subscribe",outcome="open"'), 1);
});

t.test('refresh: the backend extends a session at its expiry, then ends it with 4102', async (t) => {
  const backend = await ProxyBackend.start(t);
  backend.on('/connect', () => ({ json: { user: 'alice', grants: { subscribe: ['>'] }, expiresAt: Date.now() + 300 } }));
  let extensions = 0;
  backend.on('/refresh', () => {
    extensions++;
    return extensions === 1 ? { json: { expiresAt: Date.now() + 300 } } : { json: { refuse: { reason: 'signed out' } } };
  });
  const broker = await proxyBroker(t, backend, { proxyRefreshUrl: backend.endpoint('/refresh') });
  const alice = await Peer.open(broker.url);
  t.teardown(() => alice.close());
  t.type(alice.welcome.tokenExpiresAt, 'number');
  const closed = await alice.closed;
  t.equal(closed.code, ProtocolCloseCode.tokenExpired, 'closed as expired once the backend refused');
  t.equal(closed.reason, 'signed out');
  t.equal(extensions, 2, 'extended once, then refused');
  t.match(backend.requestsTo('/refresh')[0]?.body, { connectionId: alice.welcome.connectionId, user: 'alice' });
  t.notOk(alice.messages.some((message) => message.op === 'error'), 'no token_expired notice: the backend, not a token, decides');
});
