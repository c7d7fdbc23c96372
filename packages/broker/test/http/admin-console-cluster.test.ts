import t, { type Test } from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import type { ConnectionDetail } from '../../src/console/console-connection.js';
import type { NodeReport } from '../../src/console/node-report.js';
import type { TopicRow } from '../../src/console/topic-ranking.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type TestBroker, eventuallyAsync, startBroker } from '../helpers/start-broker.js';

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

  t.test(`${engine}: a search on one node finds connections on every node; only the serving node disconnects by id`, async (t) => {
    const [a, b] = await start(t);
    const onA = await open(t, a, 'zoe');
    const onB = await open(t, b, 'zoe');
    await onB.subscribe('orders.>');
    const found = await get<{ connections: ConnectionDetail[]; complete: boolean }>(a, '/admin/connections?q=zoe');
    t.equal(found.complete, true);
    t.same(found.connections.map((c) => [c.node, c.connectionId]).sort(), [['node-a', onA.welcome.connectionId], ['node-b', onB.welcome.connectionId]]);
    t.match(found.connections.find((c) => c.node === 'node-b'), { user: 'zoe', subscriptionCount: 1, subscriptions: ['orders.>'], queue: { normal: 0 } });
    const byId = await get<{ connections: ConnectionDetail[] }>(a, `/admin/connections?q=${onB.welcome.connectionId}`);
    t.same(byId.connections.map((c) => c.connectionId), [onB.welcome.connectionId], 'by id, on the other node');
    const elsewhere = await a.app.inject({ method: 'POST', url: `/admin/connections/${onB.welcome.connectionId}/disconnect`, payload: {}, headers: admin });
    t.equal(elsewhere.statusCode, 404);
    const there = await b.app.inject({ method: 'POST', url: `/admin/connections/${onB.welcome.connectionId}/disconnect`, payload: {}, headers: admin });
    t.equal(there.statusCode, 200);
    t.match(await onB.waitClosed(), { code: 4404 });
  });
}
