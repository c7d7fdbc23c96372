import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { eventually, eventuallyAsync, startBroker } from '../helpers/start-broker.js';
import { startBrokerProcess, waitListening } from '../helpers/topology-processes.js';
import { WebhookBackend } from '../helpers/webhook-backend.js';
import { killedMidBatch, userMovesBetweenNodes, webhookSecret } from '../helpers/webhook-scenarios.js';

/**
 * Webhooks with the Redis engine (docs/operations.md "Webhooks across a cluster"): the queue is a Redis stream
 * per endpoint, so a node killed with -9 loses none of its events: another node sends them, with the same ids.
 */

t.setTimeout(300_000);

async function redisFor(t: Test): Promise<RedisServer> {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  return redis;
}

t.test('events queued by a node killed with -9 are delivered by another node, with the same ids', async (t) => {
  const redis = await redisFor(t);
  const client = new Redis(redis.url);
  t.teardown(() => client.disconnect());
  const { backend, events, survivor } = await killedMidBatch(t, { config: { redisUrl: redis.url }, env: { REDIS_URL: redis.url }, client });
  for (const request of backend.requests) t.ok(request.verified, 'signed');
  await eventuallyAsync(async () => (await client.xlen(events)) === 0, 'the stream emptied once acknowledged');
  t.ok(survivor.broker.webhooks !== undefined);
});

t.test('two nodes on one Redis send one stream: every event once, each node\'s in its order', async (t) => {
  const redis = await redisFor(t);
  const backend = await WebhookBackend.start(t, webhookSecret);
  const config = { redisUrl: redis.url, webhookUrl: backend.url, webhookSecret, webhookBatchDelayMs: 5, webhookOccupancyGraceMs: 100 };
  const a = await startBroker(t, { ...config, nodeName: 'node-a' });
  const b = await startBroker(t, { ...config, nodeName: 'node-b' });
  const opened = [];
  for (const node of [a, b, a, b]) {
    const peer = await Peer.open(node.url);
    t.teardown(() => peer.close());
    opened.push(peer);
    await peer.close();
  }
  await eventually(() => backend.acceptedOf('connection.closed').length >= 4, 30_000, 'four opens and closes');
  const accepted = backend.accepted;
  t.equal(accepted.length, new Set(accepted.map((event) => event.id)).size, 'no event twice');
  for (const peer of opened) {
    const mine = accepted.filter((event) => event.connectionId === peer.welcome.connectionId).map((event) => event.type);
    t.same(mine, ['connection.opened', 'connection.closed'], 'opened before closed');
  }
  t.same(new Set(accepted.map((event) => event.node)), new Set(['node-a', 'node-b']));
});

t.test('occupancy is counted across nodes: a user moving between them fires one occupied and one vacated', async (t) => {
  const redis = await redisFor(t);
  const client = new Redis(redis.url);
  t.teardown(() => client.disconnect());
  await userMovesBetweenNodes(t, { config: { redisUrl: redis.url }, client }, () => ['sb:webhooks:occ:room.1', 'sb:webhooks:vacating']);
});

t.test('the topics of a node killed with -9 are vacated by the others once it is found gone', async (t) => {
  const redis = await redisFor(t);
  const backend = await WebhookBackend.start(t, webhookSecret);
  const env = { WEBHOOK_URL: backend.url, WEBHOOK_SECRET: webhookSecret, WEBHOOK_TIMEOUT: '1000', WEBHOOK_BATCH_DELAY: '5', WEBHOOK_OCCUPANCY_GRACE: '200', PRESENCE_NODE_TTL: '1000' };
  const doomed = await startBrokerProcess(t, 'node-a', redis.url, undefined, env);
  await waitListening(doomed);
  const peer = await Peer.open(`ws://127.0.0.1:${doomed.port}/`);
  t.teardown(() => peer.close());
  t.match(await peer.subscribe('room.9'), { op: 'subscribed' });
  await eventually(() => backend.acceptedOf('topic.occupied').length === 1, 20_000, 'occupied');
  const client = new Redis(redis.url);
  t.teardown(() => client.disconnect());
  await eventuallyAsync(async () => (await client.exists('sb:webhooks:alive:node-a')) === 1, 'node-a announced itself alive');
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  await startBroker(t, { redisUrl: redis.url, nodeName: 'node-b', webhookUrl: backend.url, webhookSecret, webhookTimeoutMs: 1000, webhookBatchDelayMs: 5, webhookOccupancyGraceMs: 200, presenceNodeTtlMs: 1000 });
  await eventually(() => backend.acceptedOf('topic.vacated').length === 1, 30_000, 'vacated by node-b');
  t.match(backend.acceptedOf('topic.vacated'), [{ topic: 'room.9', node: 'node-b' }]);
  // node-a may die between the 2xx and deleting the batch: then node-b sends it again, with the same id.
  t.equal(new Set(backend.acceptedOf('topic.occupied').map((event) => event.id)).size, 1, 'occupied once (de-duplicated by id)');
});
