import type { DeliveryMessage } from '@switchboard/protocol';
import t from 'tap';
import { writeConsole } from '../../scripts/bundle-console.js';
import { signJwt } from '../../src/auth/jwt.js';
import type { NodeReport } from '../../src/console/node-report.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type TestBroker, eventuallyAsync, startBroker } from '../helpers/start-broker.js';

/**
 * The console's admin API (`/admin/nodes`, `/admin/topics`, `/admin/connections`, tails, presence,
 * publish) and the page at `/console`, against a real broker with real connections.
 */

const adminToken = 'admin-token-for-tests-at-least-32-bytes';
const secret = 'a-test-secret-of-at-least-32-bytes!!';
const admin = { authorization: `Bearer ${adminToken}` };

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function consoleBroker(t: Teardown): Promise<TestBroker> {
  return startBroker(t, { adminToken, jwtSecret: secret, allowAnonymous: true, presence: ['chat.>'] });
}

async function open(t: Teardown, broker: TestBroker, user?: string): Promise<Peer> {
  const headers = user === undefined ? {} : { Authorization: `Bearer ${await signJwt({ sub: user, subscribe: ['>'], publish: ['>'] }, secret)}` };
  const peer = await Peer.open(broker.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

async function get<T>(broker: TestBroker, url: string): Promise<T> {
  const response = await broker.app.inject({ url, headers: admin });
  if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode} ${response.body}`);
  return response.json() as T;
}

t.test('without ADMIN_TOKEN the console and its API do not exist', async (t) => {
  const { app } = await startBroker(t);
  for (const url of ['/console', '/admin/nodes', '/admin/topics', '/admin/connections?q=x', '/admin/tails/t_1']) {
    t.equal((await app.inject({ url, headers: admin })).statusCode, 404, `${url}: 404`);
  }
  t.equal((await app.inject({ method: 'POST', url: '/admin/tails', payload: { pattern: '>' }, headers: admin })).statusCode, 404);
});

t.test('every admin route refuses a missing or wrong token with 401 invalid_token', async (t) => {
  const { app } = await consoleBroker(t);
  const routes: { method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: object }[] = [
    { method: 'GET', url: '/admin/nodes' },
    { method: 'GET', url: '/admin/topics' },
    { method: 'GET', url: '/admin/connections?q=alice' },
    { method: 'POST', url: '/admin/connections/c_x/disconnect', payload: {} },
    { method: 'GET', url: '/admin/presence?topic=chat.a' },
    { method: 'POST', url: '/admin/publish', payload: { topic: 'a', data: 1 } },
    { method: 'POST', url: '/admin/tails', payload: { pattern: '>' } },
    { method: 'GET', url: '/admin/tails/t_x' },
    { method: 'DELETE', url: '/admin/tails/t_x' },
  ];
  for (const route of routes) {
    for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${adminToken}x`]) {
      const response = await app.inject({ ...route, headers: authorization === undefined ? {} : { authorization } });
      t.equal(response.statusCode, 401, `${route.method} ${route.url} with ${authorization ?? 'no token'}: 401`);
      t.match(response.json(), { code: 'invalid_token' });
    }
  }
});

t.test('GET /console serves the built page with its policy, and no data', async (t) => {
  await writeConsole();
  const { app } = await consoleBroker(t);
  const response = await app.inject({ url: '/console' });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/html/);
  t.equal(response.headers['x-frame-options'], 'DENY');
  t.match(response.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.equal(response.headers['cache-control'], 'no-store');
  t.match(response.body, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
  t.notMatch(response.body, /https?:\/\//, 'nothing is loaded from elsewhere');
  t.notMatch(response.body, new RegExp(adminToken), 'the page holds no token');
});

t.test('GET /admin/nodes reports this node, and its figures move with traffic', async (t) => {
  const broker = await consoleBroker(t);
  const subscriber = await open(t, broker, 'alice');
  await subscriber.subscribe('prices.>');
  const publisher = await open(t, broker);
  const first = (await get<{ nodes: NodeReport[]; complete: boolean }>(broker, '/admin/nodes')).nodes[0];
  t.match(first, { node: 'test-node', version: '0.1.0', ready: true, state: 'running', engineUp: true, connections: 2, subscriptions: 1 });
  t.equal(typeof first?.uptimeSeconds, 'number');

  let latest: NodeReport | undefined;
  await eventuallyAsync(async () => {
    for (let index = 0; index < 5; index++) await publisher.publish('prices.eu', { index });
    latest = (await get<{ nodes: NodeReport[] }>(broker, '/admin/nodes')).nodes[0];
    return latest !== undefined && latest.messagesInPerSecond > 0 && latest.messagesOutPerSecond > 0;
  }, 'rates above 0 under traffic');
  t.ok(latest !== undefined && latest.messagesOut > (first?.messagesOut ?? 0), 'deliveries counted');
  t.ok(latest !== undefined && latest.bytesOut > (first?.bytesOut ?? 0), 'bytes counted');
});

t.test('GET /admin/topics ranks the busiest topics with their subscribers', async (t) => {
  const broker = await consoleBroker(t);
  const a = await open(t, broker);
  const b = await open(t, broker);
  await a.subscribe('busy.>');
  await b.subscribe('busy.one');
  const publisher = await open(t, broker);
  type Topics = { node: string; topics: { topic: string; publicationsPerSecond: number; subscribers: number }[] };
  let answer: Topics | undefined;
  await eventuallyAsync(async () => {
    for (let index = 0; index < 6; index++) await publisher.publish('busy.one', index);
    await publisher.publish('quiet.one', 0);
    answer = await get<Topics>(broker, '/admin/topics?limit=5');
    return answer.topics.length > 0;
  }, 'a closed window with topics');
  t.equal(answer?.node, 'test-node');
  t.match(answer?.topics[0], { topic: 'busy.one', subscribers: 2 });
  t.ok((answer?.topics[0]?.publicationsPerSecond ?? 0) > 0);
  t.notOk(answer?.topics.some((row) => row.topic === 'quiet.one'), 'a topic nobody subscribes to here is not fanned out here');
  t.equal((await broker.app.inject({ url: '/admin/topics?limit=0', headers: admin })).statusCode, 400);
});

t.test('GET /admin/connections finds a connection by id and a user by part of the name, with queue lanes', async (t) => {
  const broker = await consoleBroker(t);
  const alice = await open(t, broker, 'alice@example.com');
  await alice.subscribe('orders.>');
  await alice.subscribe('chat.room1');
  await open(t, broker, 'bob');
  type Found = { connections: { connectionId: string; user?: string; node: string; subscriptionCount: number; queue: Record<string, number> }[]; truncated: boolean };
  const byId = await get<Found>(broker, `/admin/connections?q=${alice.welcome.connectionId}`);
  t.match(byId.connections, [{ connectionId: alice.welcome.connectionId, user: 'alice@example.com', node: 'test-node', subscriptionCount: 2, queue: { control: 0, high: 0, normal: 0, low: 0 } }]);
  const byUser = await get<Found>(broker, '/admin/connections?q=ALICE');
  t.same(byUser.connections.map((c) => c.connectionId), [alice.welcome.connectionId]);
  t.same((await get<Found>(broker, '/admin/connections?q=nobody')).connections, []);
});

t.test('POST /admin/connections/:id/disconnect closes that connection with 4404 (or 4103 with reconnect)', async (t) => {
  const broker = await consoleBroker(t);
  const target = await open(t, broker, 'carol');
  const other = await open(t, broker, 'carol');
  const post = (id: string, payload: object) => broker.app.inject({ method: 'POST', url: `/admin/connections/${id}/disconnect`, payload, headers: admin });
  const response = await post(target.welcome.connectionId, {});
  t.equal(response.statusCode, 200);
  t.match(response.json(), { connectionId: target.welcome.connectionId, node: 'test-node', closeCode: 4404 });
  t.match(await target.waitClosed(), { code: 4404 });
  t.equal((await post(target.welcome.connectionId, {})).statusCode, 404, 'gone');
  t.equal((await post('c_unknown', {})).statusCode, 404);
  t.equal((await post(other.welcome.connectionId, { reconnect: 'yes' })).statusCode, 400);
  t.match(await other.publish('still.open', 1), { op: 'published' }, 'the other connection of the user stays');
  t.equal((await post(other.welcome.connectionId, { reconnect: true })).statusCode, 200);
  t.match(await other.waitClosed(), { code: 4103 });
});

t.test('a tail sees what is published on its pattern, newest last, and stops when deleted', async (t) => {
  const broker = await consoleBroker(t);
  const publisher = await open(t, broker);
  const opened = await broker.app.inject({ method: 'POST', url: '/admin/tails', payload: { pattern: 'orders.>' }, headers: admin });
  t.equal(opened.statusCode, 201);
  const { id, capacity } = opened.json() as { id: string; capacity: number };
  t.equal(capacity, 200);
  await publisher.publish('orders.eu.1', { item: 'book' });
  await publisher.publish('other.topic', 1);
  await publisher.publish('orders.us.2', 'x'.repeat(3000), { priority: 'high' });
  type Read = { entries: { seq: number; kind: string; topic: string; preview: string; truncated: boolean; bytes: number; priority: string }[]; missed: number; last: number };
  let read: Read | undefined;
  await eventuallyAsync(async () => {
    read = await get<Read>(broker, `/admin/tails/${id}?after=0`);
    return read.entries.length >= 2;
  }, 'two tail entries');
  t.match(read?.entries, [
    { seq: 1, kind: 'message', topic: 'orders.eu.1', preview: '{"item":"book"}', truncated: false },
    { seq: 2, kind: 'message', topic: 'orders.us.2', truncated: true, bytes: 3002, priority: 'high' },
  ]);
  t.equal(read?.entries[1]?.preview.length, 1024, 'a preview is cut at 1 KiB');
  t.same((await get<Read>(broker, `/admin/tails/${id}?after=2`)).entries, [], 'nothing after the last seen');
  t.equal(broker.broker.hub.subscriptionCount, 1, 'the tail subscribes through the hub');
  t.equal((await broker.app.inject({ method: 'DELETE', url: `/admin/tails/${id}`, headers: admin })).statusCode, 204);
  t.equal(broker.broker.hub.subscriptionCount, 0);
  t.equal((await broker.app.inject({ url: `/admin/tails/${id}`, headers: admin })).statusCode, 404);
  const bad = await broker.app.inject({ method: 'POST', url: '/admin/tails', payload: { pattern: 'orders..x' }, headers: admin });
  t.equal(bad.statusCode, 400);
});

t.test('at most 8 tails per node', async (t) => {
  const broker = await consoleBroker(t);
  const open = () => broker.app.inject({ method: 'POST', url: '/admin/tails', payload: { pattern: 'a.>' }, headers: admin });
  for (let index = 0; index < 8; index++) t.equal((await open()).statusCode, 201);
  const refused = await open();
  t.equal(refused.statusCode, 429);
  t.match(refused.json(), { code: 'rate_limited' });
});

t.test('POST /admin/publish delivers a test message; bad input is refused', async (t) => {
  const broker = await consoleBroker(t);
  const subscriber = await open(t, broker);
  await subscriber.subscribe('test.>');
  const response = await broker.app.inject({ method: 'POST', url: '/admin/publish', payload: { topic: 'test.one', data: { hello: 1 }, priority: 'high' }, headers: admin });
  t.equal(response.statusCode, 200);
  t.match(response.json(), { offset: 1, duplicate: false });
  const [delivery] = (await subscriber.waitForDeliveries(1)) as DeliveryMessage[];
  t.match(delivery, { topic: 'test.one', data: { hello: 1 }, priority: 'high' });
  for (const payload of [{ topic: 'test.one' }, { topic: 'bad..topic', data: 1 }, { topic: 'test.one', data: 1, priority: 'urgent' }]) {
    t.equal((await broker.app.inject({ method: 'POST', url: '/admin/publish', payload, headers: admin })).statusCode, 400, JSON.stringify(payload));
  }
});

t.test('GET /admin/presence lists a presence topic without a JWT; other topics are presence_disabled', async (t) => {
  const broker = await consoleBroker(t);
  const member = await open(t, broker, 'dave');
  await member.subscribe('chat.room9');
  const answer = await get<{ stats: { connections: number; users: number }; users: Record<string, Record<string, unknown>> }>(broker, '/admin/presence?topic=chat.room9');
  t.match(answer.stats, { connections: 1, users: 1 });
  t.same(Object.keys(answer.users), ['dave']);
  const disabled = await broker.app.inject({ url: '/admin/presence?topic=orders.x', headers: admin });
  t.equal(disabled.statusCode, 400);
  t.match(disabled.json(), { code: 'presence_disabled' });
});
