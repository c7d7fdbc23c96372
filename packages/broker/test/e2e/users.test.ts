import type { ServerMessage } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import type { Identity } from '../../src/auth/authenticator.js';
import { signJwt } from '../../src/auth/jwt.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { type TestBroker, eventually, eventuallyAsync, startBroker } from '../helpers/start-broker.js';

/** Users on one node (protocol.md §14): identity in welcome, user topics, server-side subscriptions, admin routes. */

const secret = 'a-test-secret-of-at-least-32-bytes!';
const adminToken = 'an-admin-token-for-tests-of-32-bytes!';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

async function usersBroker(t: Test, overrides: Parameters<typeof startBroker>[1] = {}): Promise<TestBroker> {
  return startBroker(t, { jwtSecret: secret, adminToken, allowAnonymous: true, anonymousSubscribe: ['>'], ...overrides });
}

async function connect(t: Test, broker: TestBroker, claims?: Record<string, unknown>): Promise<Peer> {
  const headers = claims === undefined ? {} : { Authorization: `Bearer ${await signJwt({ exp: inAnHour(), ...claims }, secret)}` };
  const peer = await Peer.open(broker.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

async function http(broker: TestBroker, method: 'GET' | 'POST', url: string, body?: object, token = adminToken) {
  const response = await broker.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body }) });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const isMessage = (data: unknown) => (message: ServerMessage) => message.op === 'message' && message.data === data;

t.test('welcome names the user, the user topic prefix and the offered subscriptions, with both capabilities', async (t) => {
  const broker = await usersBroker(t);
  const alice = await connect(t, broker, { sub: 'alice', subs: ['chat.lobby'] });
  t.match(alice.welcome, { user: 'alice', userTopicPrefix: 'user', subscriptions: ['user.alice', 'chat.lobby'] });
  t.same(alice.welcome.capabilities, ['user_topics', 'server_subscriptions']);
  const anonymous = await Peer.open(broker.url);
  t.teardown(() => anonymous.close());
  t.notOk('user' in anonymous.welcome, 'anonymous: no user');
  t.notOk('subscriptions' in anonymous.welcome, 'nothing offered');
  const encoded = await connect(t, broker, { sub: 'zoë@example.com' });
  t.same(encoded.welcome.subscriptions, [`user.b64:${Buffer.from('zoë@example.com').toString('base64url')}`], 'an id that is not a segment is encoded');
});

t.test('offered subscriptions are claimed with subscribe (server: true, no grant needed); others still need one', async (t) => {
  const broker = await usersBroker(t);
  const alice = await connect(t, broker, { sub: 'alice', subs: ['chat.lobby'], subscribe: [] });
  t.same(await alice.request({ op: 'subscribe', id: 1, pattern: 'user.alice' }), { op: 'subscribed', id: 1, pattern: 'user.alice', server: true });
  t.same(await alice.request({ op: 'subscribe', id: 2, pattern: 'chat.lobby' }), { op: 'subscribed', id: 2, pattern: 'chat.lobby', server: true });
  t.match(await alice.request({ op: 'subscribe', id: 3, pattern: 'user.bob' }), { op: 'error', code: 'forbidden' }, "another user's topic needs a grant");
  t.match(await alice.request({ op: 'unsubscribe', id: 4, pattern: 'chat.lobby' }), { op: 'unsubscribed' });
  t.match(await alice.request({ op: 'subscribe', id: 5, pattern: 'chat.lobby' }), { op: 'subscribed', server: true }, 'a client unsubscribe leaves the offer');
});

t.test('a token with more subs than MAX_SUBSCRIPTIONS, or subs that are not patterns, is refused 401 invalid_token', async (t) => {
  const broker = await usersBroker(t, { maxSubscriptions: 2 });
  for (const subs of [['a', 'b', 'c'], ['a..b']]) {
    const token = await signJwt({ sub: 'alice', exp: inAnHour(), subs }, secret);
    const answer = await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1', Authorization: `Bearer ${token}` });
    t.match(answer, { status: 401, body: { code: 'invalid_token' } }, JSON.stringify(subs));
  }
});

t.test('an auth hook gives subscriptions through identity.subscriptions; a malformed list refuses the handshake with 403', async (t) => {
  let identity: Identity = { subject: 'hooked', grants: { publish: [], subscribe: [] }, subscriptions: ['feed.x'] };
  const broker = await startBroker(t, {}, { authenticate: () => ({ ok: true, identity }) });
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  t.same(peer.welcome.subscriptions, ['user.hooked', 'feed.x']);
  t.match(await peer.subscribe('feed.x'), { op: 'subscribed', server: true });
  identity = { subject: 'hooked', grants: { publish: [], subscribe: [] }, subscriptions: ['not..a pattern'] };
  t.match(await rawUpgrade(broker.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1' }), { status: 403, body: { code: 'forbidden' } });
});

t.test('POST /publish {"user"} reaches the user topic: every claiming connection of the user, never a > subscriber', async (t) => {
  const broker = await usersBroker(t);
  const phone = await connect(t, broker, { sub: 'alice' });
  const laptop = await connect(t, broker, { sub: 'alice' });
  const bob = await connect(t, broker, { sub: 'bob' });
  const everything = await Peer.open(broker.url);
  t.teardown(() => everything.close());
  for (const peer of [phone, laptop, bob]) t.match(await peer.subscribe(peer.welcome.subscriptions?.[0] ?? ''), { op: 'subscribed', server: true });
  t.match(await everything.subscribe('>'), { op: 'subscribed' });
  t.match(await everything.subscribe('*.alice'), { op: 'subscribed' });

  const backend = await signJwt({ sub: 'backend', exp: inAnHour(), publish: ['user.>', 'chat.>'] }, secret);
  const published = await http(broker, 'POST', '/publish', { user: 'alice', data: 'for alice' }, backend);
  t.match(published, { status: 200, body: { duplicate: false } });
  await phone.waitFor(isMessage('for alice'));
  await laptop.waitFor(isMessage('for alice'));
  t.match(phone.deliveries[0], { topic: 'user.alice', data: 'for alice', offset: published.body['offset'] }, 'an ordinary publication of user.alice');
  await http(broker, 'POST', '/publish', { topic: 'chat.x', data: 'marker' }, backend);
  await everything.waitFor(isMessage('marker'));
  t.same(everything.deliveries.map((delivery) => delivery.data), ['marker'], '> and *.alice never see a user topic');
  t.same(bob.deliveries, [], 'another user gets nothing');

  const wildcard = await signJwt({ sub: 'backend', exp: inAnHour(), publish: ['>'] }, secret);
  t.match(await http(broker, 'POST', '/publish', { user: 'alice', data: 'x' }, wildcard), { status: 403, body: { code: 'forbidden' } }, 'a > grant cannot message users');
  t.match(await http(broker, 'POST', '/publish', { user: 'alice', topic: 'a', data: 'x' }, backend), { status: 400, body: { code: 'bad_request' } });
  t.match(await phone.publish('user.bob', 'spoof'), { op: 'error', code: 'forbidden' }, 'a client without a grant cannot either');
});

t.test('USER_TOPIC_PREFIX empty: no user topics, no user_topics capability, POST /publish {"user"} is 400', async (t) => {
  const broker = await usersBroker(t, { userTopicPrefix: '' });
  const alice = await connect(t, broker, { sub: 'alice', publish: ['>'] });
  t.same(alice.welcome.capabilities, ['server_subscriptions']);
  t.notOk('userTopicPrefix' in alice.welcome);
  t.notOk('subscriptions' in alice.welcome);
  const backend = await signJwt({ exp: inAnHour(), publish: ['>'] }, secret);
  t.match(await http(broker, 'POST', '/publish', { user: 'alice', data: 1 }, backend), { status: 400, body: { code: 'bad_request' } });
  t.match(await alice.publish('user.bob', 'no longer reserved'), { op: 'published' });
});

t.test('admin: list a user, offer and withdraw a server-side subscription, count subscribers', async (t) => {
  const broker = await usersBroker(t);
  const phone = await connect(t, broker, { sub: 'alice', info: { device: 'phone', name: 'Alice' } });
  const laptop = await connect(t, broker, { sub: 'alice' });
  await connect(t, broker, { sub: 'bob' });
  t.match(await http(broker, 'GET', '/admin/users/alice/connections', undefined, 'wrong'), { status: 401, body: { code: 'invalid_token' } });

  const listed = await http(broker, 'GET', '/admin/users/alice/connections');
  t.match(listed, { status: 200, body: { user: 'alice', nodes: { expected: 1, answered: 1 }, complete: true } });
  const connections = listed.body['connections'] as { connectionId: string; node: string; info: unknown }[];
  t.same(connections.map((c) => c.connectionId).sort(), [phone.welcome.connectionId, laptop.welcome.connectionId].sort());
  const infoOf = (peer: Peer) => connections.find((c) => c.connectionId === peer.welcome.connectionId)?.info;
  t.same(infoOf(phone), { device: 'phone', name: 'Alice' }, 'each connection with its presence info');
  t.equal(infoOf(laptop), null, 'null for a connection without info');

  const offered = await http(broker, 'POST', '/admin/users/alice/subscribe', { pattern: 'support.42' });
  t.match(offered, { status: 200, body: { user: 'alice', pattern: 'support.42', complete: true } });
  for (const peer of [phone, laptop]) await peer.waitFor((m) => m.op === 'server_subscribe' && m.pattern === 'support.42');
  t.match(await phone.subscribe('support.42'), { op: 'subscribed', server: true }, 'claimed without a grant');
  t.match(await http(broker, 'GET', '/admin/subscribers?topic=support.42'), { status: 200, body: { topic: 'support.42', connections: 1, complete: true } });
  t.match(await http(broker, 'GET', '/admin/subscribers?topic=a.*'), { status: 400, body: { code: 'invalid_topic' } });

  t.match(await http(broker, 'POST', '/admin/users/alice/unsubscribe', { pattern: 'support.42' }), { status: 200 });
  for (const peer of [phone, laptop]) {
    t.match(await peer.waitFor((m) => m.op === 'unsubscribed' && m.pattern === 'support.42'), { code: 'server_unsubscribed' });
  }
  t.match(await http(broker, 'GET', '/admin/subscribers?topic=support.42'), { body: { connections: 0 } }, 'delivery ended');
  t.match(await phone.subscribe('support.42'), { op: 'error', code: 'forbidden' }, 'the offer is gone');
  t.match(await http(broker, 'POST', '/admin/users/alice/subscribe', { pattern: 'a..b' }), { status: 400, body: { code: 'invalid_topic' } });
});

t.test('admin disconnect: 4404 for good, except the listed connections; reconnect:true closes with 4103', async (t) => {
  const broker = await usersBroker(t);
  const [one, two, kept] = [await connect(t, broker, { sub: 'alice' }), await connect(t, broker, { sub: 'alice' }), await connect(t, broker, { sub: 'alice' })];
  const bob = await connect(t, broker, { sub: 'bob' });
  const answer = await http(broker, 'POST', '/admin/users/alice/disconnect', { reconnect: false, except: [kept.welcome.connectionId] });
  t.match(answer, { status: 200, body: { complete: true, nodes: { expected: 1, answered: 1 } } });
  t.equal((answer.body['connections'] as unknown[]).length, 2);
  t.match(await one.waitClosed(), { code: 4404 });
  t.match(await two.waitClosed(), { code: 4404 });
  t.match(await kept.subscribe('user.alice'), { op: 'subscribed' }, 'the excepted connection stays');
  t.match(await bob.subscribe('user.bob'), { op: 'subscribed' }, 'other users stay');
  await http(broker, 'POST', '/admin/users/alice/disconnect', { reconnect: true });
  t.match(await kept.waitClosed(), { code: 4103 });
  await eventually(() => broker.broker.connectionCount === 1, 5000, 'closed connections released');
  t.match(await http(broker, 'GET', '/admin/users/alice/connections'), { body: { connections: [] } });
});

t.test('admin unsubscribe of a claimed presence topic ends its membership too (leave reason server)', async (t) => {
  const broker = await usersBroker(t, { presence: ['support.>'] });
  const alice = await connect(t, broker, { sub: 'alice' });
  const agent = await connect(t, broker, { sub: 'agent', subscribe: ['support.>'] });
  await http(broker, 'POST', '/admin/users/alice/subscribe', { pattern: 'support.42' });
  await alice.waitFor((m) => m.op === 'server_subscribe');
  t.match(await alice.subscribe('support.42'), { op: 'subscribed', server: true });
  t.match(await agent.request({ op: 'presence_stats', id: 1, topic: 'support.42' }), { op: 'presence_stats', connections: 1, users: 1 });
  await http(broker, 'POST', '/admin/users/alice/unsubscribe', { pattern: 'support.42' });
  await alice.waitFor((m) => m.op === 'unsubscribed' && m.pattern === 'support.42');
  const agentToken = await signJwt({ sub: 'agent', exp: inAnHour(), subscribe: ['support.>'] }, secret);
  const members = async () => (await http(broker, 'GET', '/presence/stats?topic=support.42', undefined, agentToken)).body['connections'];
  await eventuallyAsync(async () => (await members()) === 0, 'alice no longer a member', 5000);
  t.equal(await members(), 0, 'alice is no longer a member');
});

t.test('server-side presence memberships (design §1.7): written at the offer, kept by a client unsubscribe, ended by close', async (t) => {
  const broker = await usersBroker(t, { presence: ['room.>'] });
  const readerToken = await signJwt({ sub: 'reader', exp: inAnHour(), subscribe: ['room.>'] }, secret);
  const members = async (topic: string) => (await http(broker, 'GET', `/presence/stats?topic=${topic}`, undefined, readerToken)).body['connections'];
  const alice = await connect(t, broker, { sub: 'alice', subs: ['room.lobby'] });
  await eventuallyAsync(async () => (await members('room.lobby')) === 1, 'the offered membership written after welcome', 5000);
  t.equal(await members('room.lobby'), 1, 'a member before claiming anything');
  t.match(await alice.subscribe('room.lobby'), { op: 'subscribed', server: true });
  t.match(await alice.request({ op: 'unsubscribe', id: 99, pattern: 'room.lobby' }), { op: 'unsubscribed' });
  t.equal(await members('room.lobby'), 1, 'a client unsubscribe stops delivery only: the membership is the server');

  await http(broker, 'POST', '/admin/users/alice/subscribe', { pattern: 'room.desk' });
  await alice.waitFor((m) => m.op === 'server_subscribe' && m.pattern === 'room.desk');
  await eventuallyAsync(async () => (await members('room.desk')) === 1, 'the admin offer made a member', 5000);
  t.equal(await members('room.desk'), 1, 'an admin offer makes a member at once');

  await alice.close();
  await eventuallyAsync(async () => (await members('room.lobby')) === 0 && (await members('room.desk')) === 0, 'memberships gone with the connection', 5000);
  t.pass('closing the connection ends both memberships');
});

t.test('admin commands while the engine is unavailable: 503 unavailable with Retry-After, and served again after', async (t) => {
  const cluster = new MemoryCluster();
  const broker = await startBroker(t, { jwtSecret: secret, adminToken }, { engine: new MemoryEngine({ cluster, reservedRoots: ['user'] }) });
  await connect(t, broker, { sub: 'alice' });
  cluster.interrupt();
  const refused = await broker.app.inject({ method: 'GET', url: '/admin/users/alice/connections', headers: { authorization: `Bearer ${adminToken}` } });
  t.equal(refused.statusCode, 503);
  t.match(refused.json(), { code: 'unavailable' });
  t.ok(refused.headers['retry-after']);
  cluster.resume();
  t.match(await http(broker, 'GET', '/admin/users/alice/connections'), { status: 200, body: { complete: true, connections: [{ user: 'alice' }] } });
});
