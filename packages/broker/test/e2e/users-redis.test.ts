import type { ServerMessage } from '@switchboard/protocol';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { type TestBroker, startBroker } from '../helpers/start-broker.js';

/**
 * Users across two broker nodes sharing a private redis-server (protocol.md §14, design §3.5): a user publish
 * reaches the user's connections on both nodes, and admin commands act on every node.
 */

const secret = 'a-test-secret-of-at-least-32-bytes!';
const adminToken = 'an-admin-token-for-tests-of-32-bytes!';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

async function twoNodes(t: Test, adminCommandTimeoutMs = 2000): Promise<[TestBroker, TestBroker, RedisServer]> {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const options = { redisUrl: redis.url, jwtSecret: secret, adminToken, allowAnonymous: true, anonymousSubscribe: ['>'], adminCommandTimeoutMs };
  const a = await startBroker(t, { ...options, nodeName: 'node-a' });
  const b = await startBroker(t, { ...options, nodeName: 'node-b' });
  return [a, b, redis];
}

async function connect(t: Test, broker: TestBroker, sub?: string): Promise<Peer> {
  const headers = sub === undefined ? {} : { Authorization: `Bearer ${await signJwt({ sub, exp: inAnHour() }, secret)}` };
  const peer = await Peer.open(broker.url, { headers });
  t.teardown(() => peer.close());
  return peer;
}

async function admin(broker: TestBroker, url: string, body: object) {
  const response = await broker.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${adminToken}` }, payload: body });
  return { status: response.statusCode, body: response.json() as { connections: { connectionId: string; node: string }[]; nodes: object; complete: boolean } };
}

const isMessage = (data: unknown) => (message: ServerMessage) => message.op === 'message' && message.data === data;

t.test('POST /publish {"user"} on node B reaches alice x2 on A and x1 on B, same offset; a > subscriber gets none', async (t) => {
  const [a, b] = await twoNodes(t);
  const alice = [await connect(t, a, 'alice'), await connect(t, a, 'alice'), await connect(t, b, 'alice')];
  for (const peer of alice) t.match(await peer.subscribe('user.alice'), { op: 'subscribed', server: true });
  const monitors = [await connect(t, a), await connect(t, b)];
  for (const monitor of monitors) t.match(await monitor.subscribe('>'), { op: 'subscribed' });

  const backend = await signJwt({ sub: 'backend', exp: inAnHour(), publish: ['user.>', 'chat.>'] }, secret);
  const publish = async (body: object) => {
    const response = await b.app.inject({ method: 'POST', url: '/publish', headers: { authorization: `Bearer ${backend}` }, payload: body });
    t.equal(response.statusCode, 200);
    return response.json() as { offset: number };
  };
  const { offset } = await publish({ user: 'alice', data: 'hello alice' });
  for (const peer of alice) {
    await peer.waitFor(isMessage('hello alice'));
    t.match(peer.deliveries, [{ topic: 'user.alice', data: 'hello alice', offset }], 'delivered once, at the publish offset');
  }
  // A marker after it: once the monitors have it, the user publication would have arrived before it.
  await publish({ topic: 'chat.marker', data: 'marker' });
  for (const monitor of monitors) {
    await monitor.waitFor(isMessage('marker'));
    t.same(monitor.deliveries.map((delivery) => delivery.data), ['marker'], 'the > subscriber saw no user topic');
  }
});

t.test('disconnect by user across nodes: except keeps one, the others close 4404, complete:true; reconnect:true closes 4103', async (t) => {
  const [a, b] = await twoNodes(t);
  const onA = await connect(t, a, 'alice');
  const kept = await connect(t, a, 'alice');
  const onB = await connect(t, b, 'alice');
  const bob = await connect(t, b, 'bob');

  const answer = await admin(a, '/admin/users/alice/disconnect', { reconnect: false, except: [kept.welcome.connectionId] });
  t.equal(answer.status, 200);
  t.same(answer.body.nodes, { expected: 2, answered: 2 }, 'both nodes received and answered the command');
  t.equal(answer.body.complete, true);
  t.same(
    answer.body.connections.map((connection) => [connection.node, connection.connectionId]).sort(),
    [
      ['node-a', onA.welcome.connectionId],
      ['node-b', onB.welcome.connectionId],
    ].sort(),
  );
  t.match(await onA.waitClosed(), { code: 4404 });
  t.match(await onB.waitClosed(), { code: 4404 });
  t.match(await kept.subscribe('user.alice'), { op: 'subscribed' }, 'the excepted connection stays');
  t.match(await bob.subscribe('user.bob'), { op: 'subscribed' }, 'another user stays');

  const listed = await a.app.inject({ method: 'GET', url: '/admin/users/alice/connections', headers: { authorization: `Bearer ${adminToken}` } });
  t.match(listed.json(), { connections: [{ connectionId: kept.welcome.connectionId, node: 'node-a' }], complete: true });

  const again = await admin(b, '/admin/users/alice/disconnect', { reconnect: true });
  t.match(again.body, { complete: true, connections: [{ connectionId: kept.welcome.connectionId }] }, 'asked on node B, acted on node A');
  t.match(await kept.waitClosed(), { code: 4103 });
});

t.test('admin subscribe on node B offers a server-side subscription to a connection on node A; subscribers counts both nodes', async (t) => {
  const [a, b] = await twoNodes(t);
  const alice = await connect(t, a, 'alice');
  const watcher = await connect(t, b);
  t.match(await watcher.subscribe('support.*'), { op: 'subscribed' });
  const offered = await admin(b, '/admin/users/alice/subscribe', { pattern: 'support.42' });
  t.match(offered.body, { complete: true, connections: [{ connectionId: alice.welcome.connectionId, node: 'node-a' }] });
  await alice.waitFor((message) => message.op === 'server_subscribe' && message.pattern === 'support.42');
  t.match(await alice.subscribe('support.42'), { op: 'subscribed', server: true });
  const counted = await a.app.inject({ method: 'GET', url: '/admin/subscribers?topic=support.42', headers: { authorization: `Bearer ${adminToken}` } });
  t.match(counted.json(), { topic: 'support.42', connections: 2, nodes: { expected: 2, answered: 2 }, complete: true });
});

t.test('a node that receives a command but does not answer within ADMIN_COMMAND_TIMEOUT: complete:false, never a silently shorter list', async (t) => {
  const [a, , redis] = await twoNodes(t, 300);
  const alice = await connect(t, a, 'alice');
  // A third subscriber of the command channel that never answers: a node stuck, or one whose answer is lost.
  const silent = new Redis(redis.url);
  t.teardown(() => silent.disconnect());
  await silent.subscribe('sb:cmd');
  const listed = await a.app.inject({ method: 'GET', url: '/admin/users/alice/connections', headers: { authorization: `Bearer ${adminToken}` } });
  t.match(listed.json(), { connections: [{ connectionId: alice.welcome.connectionId }], nodes: { expected: 3, answered: 2 }, complete: false });
});
