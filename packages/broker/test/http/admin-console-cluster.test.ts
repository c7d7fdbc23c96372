import t, { type Test } from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import type { ConnectionDetail } from '../../src/console/console-connection.js';
import type { NodeReport } from '../../src/console/node-report.js';
import type { TopicRow } from '../../src/console/topic-ranking.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type TestBroker, eventually, eventuallyAsync, startBroker } from '../helpers/start-broker.js';

/**
 * The console's view of the whole cluster: every node answers the engine's `node-report` command, on two
 * in-memory nodes sharing a cluster and on two nodes sharing a private redis-server.
 */

const adminToken = 'admin-token-for-tests-at-least-32-bytes';
const secret = 'a-test-secret-of-at-least-32-bytes!!';
const admin = { authorization: `Bearer ${adminToken}` };

interface Overview {
  node: string;
  nodes: NodeReport[];
  topics: TopicRow[];
  complete: boolean;
  nodesExpected: number;
  nodesAnswered: number;
}

async function get<T>(broker: TestBroker, url: string): Promise<T> {
  const response = await broker.app.inject({ url, headers: admin });
  if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode} ${response.body}`);
  return response.json() as T;
}

async function open(t: Test, broker: TestBroker, user?: string): Promise<Peer> {
  const headers = user === undefined ? {} : { Authorization: `Bearer ${await signJwt({ sub: user, subscribe: ['>'], publish: ['>'] }, secret)}` };
  const peer = await Peer.open(broker.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

async function memoryNodes(t: Test): Promise<[TestBroker, TestBroker]> {
  const cluster = new MemoryCluster();
  const options = { adminToken, jwtSecret: secret, allowAnonymous: true };
  const a = await startBroker(t, { ...options, nodeName: 'node-a' }, { engine: new MemoryEngine({ cluster }) });
  const b = await startBroker(t, { ...options, nodeName: 'node-b' }, { engine: new MemoryEngine({ cluster }) });
  return [a, b];
}

async function redisNodes(t: Test): Promise<[TestBroker, TestBroker]> {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const options = { adminToken, jwtSecret: secret, allowAnonymous: true, redisUrl: redis.url, adminCommandTimeoutMs: 5000 };
  return [await startBroker(t, { ...options, nodeName: 'node-a' }), await startBroker(t, { ...options, nodeName: 'node-b' })];
}

for (const [engine, start] of [['memory', memoryNodes], ['redis', redisNodes]] as const) {
  t.test(`${engine}: GET /admin/nodes on one node reports every node, and the busiest topics over all of them`, async (t) => {
    const [a, b] = await start(t);
    const onA = await open(t, a);
    const onB = [await open(t, b), await open(t, b)];
    await onA.subscribe('shared.>');
    for (const peer of onB) await peer.subscribe('shared.topic');
    const publisher = await open(t, b);
    let overview: Overview | undefined;
    await eventuallyAsync(async () => {
      for (let index = 0; index < 4; index++) await publisher.publish('shared.topic', index);
      overview = await get<Overview>(a, '/admin/nodes?topics=5');
      return overview.topics.some((row) => row.topic === 'shared.topic' && row.subscribers === 3);
    }, 'the shared topic with its subscribers on both nodes');
    t.match(overview, { node: 'node-a', complete: true, nodesExpected: 2, nodesAnswered: 2 });
    t.same(overview?.nodes.map((node) => [node.node, node.connections]), [['node-a', 1], ['node-b', 3]]);
    t.ok(overview?.nodes.every((node) => node.ready && node.version === '0.1.0'));
    const shared = overview?.topics.find((row) => row.topic === 'shared.topic');
    t.ok(shared !== undefined && shared.publicationsPerSecond > 0 && shared.deliveriesPerSecond >= shared.publicationsPerSecond);
  });

  t.test(`${engine}: a search on one node finds connections on every node, and disconnects one on another node by id`, async (t) => {
    const [a, b] = await start(t);
    const onA = await open(t, a, 'zoe');
    const onB = await open(t, b, 'zoe');
    const told = await open(t, b, 'zed');
    await onB.subscribe('orders.>');
    const found = await get<{ connections: ConnectionDetail[]; complete: boolean }>(a, '/admin/connections?q=zoe');
    t.equal(found.complete, true);
    t.same(found.connections.map((c) => [c.node, c.connectionId]).sort(), [['node-a', onA.welcome.connectionId], ['node-b', onB.welcome.connectionId]]);
    t.match(found.connections.find((c) => c.node === 'node-b'), { user: 'zoe', subscriptionCount: 1, subscriptions: ['orders.>'], queue: { normal: 0 } });
    const byId = await get<{ connections: ConnectionDetail[] }>(a, `/admin/connections?q=${onB.welcome.connectionId}`);
    t.same(byId.connections.map((c) => c.connectionId), [onB.welcome.connectionId], 'by id, on the other node');

    const disconnect = (id: string, payload: object, headers = admin) => a.app.inject({ method: 'POST', url: `/admin/connections/${id}/disconnect`, payload, headers });
    t.equal((await disconnect(onB.welcome.connectionId, {}, { authorization: 'Bearer wrong' })).statusCode, 401, 'the admin token is still needed');
    const closed = await disconnect(onB.welcome.connectionId, {});
    t.equal(closed.statusCode, 200);
    t.same(closed.json(), { connectionId: onB.welcome.connectionId, node: 'node-b', closeCode: 4404, nodes: { expected: 2, answered: 2 }, complete: true });
    t.match(await onB.waitClosed(), { code: 4404 }, 'closed by node B, asked through node A');
    t.match(await disconnect(told.welcome.connectionId, { reconnect: true }), { statusCode: 200 });
    t.match(await told.waitClosed(), { code: 4103 }, 'reconnect advice');
    const gone = await disconnect(onB.welcome.connectionId, {});
    t.equal(gone.statusCode, 404);
    t.match(gone.json(), { message: /no open connection .* on any of the 2 nodes/ });
    t.match(await onA.publish('still.here', 1), { op: 'published' }, 'the same user on node A stays');
  });

  t.test(`${engine}: POST /admin/rebalance on node A with "node": "node-b" sheds node B's clients with 4101`, async (t) => {
    const [a, b] = await start(t);
    const onA = await open(t, a);
    const onB = [await open(t, b), await open(t, b)];
    const rebalance = (payload: object) => a.app.inject({ method: 'POST', url: '/admin/rebalance', payload, headers: admin });
    const answer = await rebalance({ node: 'node-b', fraction: 1, spreadMs: 0 });
    t.equal(answer.statusCode, 202);
    t.same(answer.json(), { closing: 2, connections: 2, node: 'node-b', nodes: { expected: 2, answered: 2 }, complete: true });
    for (const peer of onB) t.match(await peer.waitClosed(), { code: 4101 });
    t.match(await onA.publish('still.here', 1), { op: 'published' }, 'node A sheds nothing');
    t.match(await rebalance({ node: 'node-c', fraction: 0.5 }), { statusCode: 404 });
    t.match(await rebalance({ node: 'node-b', fraction: 2 }), { statusCode: 400 });
  });
}

t.test('while the engine cannot carry commands, this node still disconnects its own connections and rebalances itself; others answer 503', async (t) => {
  const cluster = new MemoryCluster();
  const options = { adminToken, jwtSecret: secret, allowAnonymous: true };
  const a = await startBroker(t, { ...options, nodeName: 'node-a' }, { engine: new MemoryEngine({ cluster }) });
  const b = await startBroker(t, { ...options, nodeName: 'node-b' }, { engine: new MemoryEngine({ cluster }) });
  const [local, shed, onB] = [await open(t, a), await open(t, a), await open(t, b)];
  cluster.interrupt();
  t.teardown(() => cluster.resume());
  const post = (url: string, payload: object) => a.app.inject({ method: 'POST', url, payload, headers: admin });

  const remote = await post(`/admin/connections/${onB.welcome.connectionId}/disconnect`, {});
  t.equal(remote.statusCode, 503);
  t.match(remote.json(), { code: 'unavailable' });
  t.match(await post('/admin/rebalance', { node: 'node-b', fraction: 1 }), { statusCode: 503 });
  t.equal(b.broker.connectionCount, 1, 'node B untouched');

  const here = await post(`/admin/connections/${local.welcome.connectionId}/disconnect`, {});
  t.same(here.json(), { connectionId: local.welcome.connectionId, node: 'node-a', closeCode: 4404, nodes: { expected: 0, answered: 0 }, complete: false });
  t.match(await local.waitClosed(), { code: 4404 });
  await eventually(() => a.broker.connectionCount === 1, 20_000, 'node A to drop the closed connection');
  const itself = await post('/admin/rebalance', { node: 'node-a', fraction: 1, spreadMs: 0 });
  t.equal(itself.statusCode, 202);
  t.match(itself.json(), { closing: 1, node: 'node-a', complete: false });
  t.match(await shed.waitClosed(), { code: 4101 });
});
