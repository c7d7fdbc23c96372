import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import t, { type Test } from 'tap';
import type { RedisEngine } from '../../src/engine/engine-redis.js';
import { OccupancyKeys } from '../../src/webhooks/redis-topic-occupancy.js';
import { webhookQueueKeys } from '../../src/webhooks/redis-webhook-endpoint.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisCluster, startRedisServer } from '../helpers/redis-server.js';
import { eventually, eventuallyAsync, startBroker } from '../helpers/start-broker.js';
import { startBrokerProcess, waitListening } from '../helpers/topology-processes.js';
import { WebhookBackend } from '../helpers/webhook-backend.js';
import { killedMidBatch, userMovesBetweenNodes, webhookSecret, type WebhookRedis } from '../helpers/webhook-scenarios.js';

/**
 * Webhooks on the other Redis topologies (docs/operations.md "Webhooks across a cluster"): with
 * REDIS_CLUSTER_NODES and with REDIS_SENTINELS the queue and the occupancy are in Redis as with REDIS_URL
 * (webhooks-redis.test.ts), so a node killed with -9 loses no event and a user moving between nodes fires
 * nothing; in a Redis Cluster every script's keys share one slot, a topic's its own slot.
 */

t.setTimeout(300_000);

/** A running Redis topology. */
type Topology = WebhookRedis;

/** Three masters, no replicas (redis-server.ts `startRedisCluster`). */
async function clusterFor(t: Test): Promise<Topology & { readonly masters: Redis[] }> {
  const cluster = await startRedisCluster(3);
  t.teardown(() => cluster.destroy());
  const nodes = cluster.nodes.map((node) => `${node.host}:${node.port}`);
  const client = new Cluster([...cluster.nodes]);
  const masters = cluster.nodes.map((node) => new Redis(node.port, node.host));
  t.teardown(() => {
    client.disconnect();
    for (const master of masters) master.disconnect();
  });
  return { config: { redisClusterNodes: nodes }, env: { REDIS_CLUSTER_NODES: nodes.join(',') }, client, masters };
}

/** A master and a Sentinel watching it: the brokers find the master through the Sentinel. */
async function sentinelFor(t: Test): Promise<Topology> {
  const master = await startRedisServer();
  t.teardown(() => master.destroy());
  const sentinel = await startRedisServer({ sentinel: { name: 'sb-hooks', masterPort: master.port, downAfterMs: 5000, failoverTimeoutMs: 10_000 } });
  t.teardown(() => sentinel.destroy());
  const sentinels = `127.0.0.1:${sentinel.port}`;
  const client = new Redis(master.url);
  t.teardown(() => client.disconnect());
  return {
    config: { redisSentinels: [sentinels], redisSentinelMaster: 'sb-hooks' },
    env: { REDIS_SENTINELS: sentinels, REDIS_SENTINEL_MASTER: 'sb-hooks' },
    client,
  };
}

/**
 * Events queued by a node killed with -9 while its batch is in flight reach the backend through another
 * node, which then reports the dead node's connections closed.
 */
async function deliveredAcrossAKill(t: Test, topology: Topology): Promise<void> {
  // Presence's node TTL is short so that node-b finds node-a gone soon.
  const { backend, doomed, ids, events, redelivered } = await killedMidBatch(t, {
    config: { ...topology.config, presenceNodeTtlMs: 1000 },
    env: { ...topology.env, PRESENCE_NODE_TTL: '1000' },
    client: topology.client,
  });
  t.notMatch(doomed.output(), /per node/, 'no fallback to per-node queues');
  t.equal(new Set(redelivered).size, 3, 'three distinct ids: the backend de-duplicates on them');
  // node-b, sweeping the dead node-a, reports its connections closed abnormally (1006).
  const closedIds = () => new Set(backend.acceptedOf('connection.closed').filter((event) => event.code === 1006).map((event) => event.connectionId));
  await eventually(() => closedIds().size === 3, 30_000, "node-a's connections reported closed");
  t.same(closedIds(), new Set(ids), 'each connection of node-a reported closed with 1006');
  for (const request of backend.requests) t.ok(request.verified, 'signed');
  await eventuallyAsync(async () => (await topology.client.xlen(events)) === 0, 'the stream emptied once acknowledged');
}

t.test('REDIS_CLUSTER_NODES: events queued by a node killed with -9 are delivered by another node, with the same ids, and its connections closed', async (t) => {
  await deliveredAcrossAKill(t, await clusterFor(t));
});

t.test('REDIS_SENTINELS: events queued by a node killed with -9 are delivered by another node, with the same ids, and its connections closed', async (t) => {
  await deliveredAcrossAKill(t, await sentinelFor(t));
});

t.test('REDIS_CLUSTER_NODES: a user moving between two nodes fires one occupied and one vacated', async (t) => {
  const topology = await clusterFor(t);
  const backend = await userMovesBetweenNodes(t, topology, (a) => {
    const [occupancy, vacating] = new OccupancyKeys((a.broker.engine as RedisEngine).keyspace).ofTopic('room.1', 'node-a');
    return [occupancy, vacating];
  });
  for (const request of backend.requests) t.ok(request.verified, 'signed');
});

t.test("REDIS_CLUSTER_NODES: every key the webhooks use has its script's CLUSTER KEYSLOT; a topic's is the topic's own", async (t) => {
  const topology = await clusterFor(t);
  const backend = await WebhookBackend.start(t, webhookSecret);
  const node = 'node-k';
  const a = await startBroker(t, { ...topology.config, nodeName: node, webhookUrl: backend.url, webhookSecret, webhookBatchDelayMs: 5, webhookOccupancyGraceMs: 60_000 });
  const { keyspace } = a.broker.engine as RedisEngine;
  const keys = new OccupancyKeys(keyspace);
  const topics = Array.from({ length: 4 }, () => `room.${randomBytes(4).toString('hex')}`);
  const [leaving, ...held] = topics as [string, string, ...string[]];
  const peer = await Peer.open(a.url);
  t.teardown(() => peer.close());
  for (const topic of held) t.match(await peer.subscribe(topic), { op: 'subscribed' });
  const leaver = await Peer.open(a.url);
  t.match(await leaver.subscribe(leaving), { op: 'subscribed' });
  await eventually(() => backend.acceptedOf('topic.occupied').length === topics.length, 20_000, 'every topic occupied');
  await leaver.close();
  await eventually(() => backend.acceptedOf('connection.closed').length === 1, 20_000, 'the leaver gone: its topic waits out the grace period');
  const master = topology.masters[0] as Redis;
  const slotOf = async (key: string): Promise<number> => Number(await master.cluster('KEYSLOT', key));
  const oneSlot = async (group: readonly string[]): Promise<number | undefined> => {
    const slots = new Set(await Promise.all(group.map(slotOf)));
    return slots.size === 1 ? [...slots][0] : undefined;
  };

  const queue = webhookQueueKeys(backend.url);
  t.not(await oneSlot([queue.events, queue.lease]), undefined, "an endpoint's stream and lease: one slot");
  for (const topic of topics) {
    const group = [...keys.ofTopic(topic, node), keys.occupancyPrefix(keyspace.tagOf(topic)) + topic];
    t.equal(await oneSlot(group), await slotOf(keyspace.presenceCountsKey(topic)), `${topic}: gain and lose on the slot of its presence keys`);
  }
  // Forgetting a node and sweeping run per bucket: its node topics, vacating set and occupancy hashes.
  const unsplit = [];
  for (const tag of keyspace.bucketTags()) {
    if ((await oneSlot([keys.nodeTopics(tag, node), keys.vacating(tag), `${keys.occupancyPrefix(tag)}any.topic`])) === undefined) unsplit.push(tag);
  }
  t.same(unsplit, [], `every one of the ${keyspace.bucketTags().length} buckets: one slot`);

  // Nothing else: every key the webhooks wrote is one of those above, or a single-key one.
  const written = new Set<string>();
  for (const redis of topology.masters) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', '*webhooks*', 'COUNT', 1000);
      for (const key of found) written.add(key);
      cursor = next;
    } while (cursor !== '0');
  }
  // The connection record (redis-connection-record.ts) is one hash per node, read and written alone.
  const record = `sb:webhooks:conns:${a.broker.engine.nodeId}`;
  const known = new Set([queue.events, queue.lease, keys.alive(node), keys.nodes(), record, ...topics.flatMap((topic) => keys.ofTopic(topic, node))]);
  t.same([...written].filter((key) => !known.has(key)), [], 'no key outside the layout');
  t.ok(written.has(keys.occupancy(held[0])) && written.has(keys.vacating(keyspace.tagOf(leaving))), 'the occupancy keys were written where the layout says');
});

t.test('REDIS_CLUSTER_NODES: a topic whose node was killed with -9 during its grace period is vacated by another node', async (t) => {
  const topology = await clusterFor(t);
  const backend = await WebhookBackend.start(t, webhookSecret);
  const grace = { WEBHOOK_OCCUPANCY_GRACE: '3000', PRESENCE_NODE_TTL: '1000' };
  const env = { ...topology.env, ...grace, WEBHOOK_URL: backend.url, WEBHOOK_SECRET: webhookSecret, WEBHOOK_TIMEOUT: '1000', WEBHOOK_BATCH_DELAY: '5' };
  const doomed = await startBrokerProcess(t, 'node-a', undefined, undefined, env);
  await waitListening(doomed);
  // node-b empties nothing itself: only its pass over every bucket can find the topic node-a left waiting.
  const b = await startBroker(t, { ...topology.config, nodeName: 'node-b', webhookUrl: backend.url, webhookSecret, webhookTimeoutMs: 1000, webhookBatchDelayMs: 5, webhookOccupancyGraceMs: 3000, presenceNodeTtlMs: 1000 });
  const peer = await Peer.open(`ws://127.0.0.1:${doomed.port}/`);
  t.teardown(() => peer.close());
  t.match(await peer.subscribe('room.9'), { op: 'subscribed' });
  await eventually(() => backend.acceptedOf('topic.occupied').length === 1, 20_000, 'occupied');
  const keys = new OccupancyKeys((b.broker.engine as RedisEngine).keyspace);
  const [, vacating] = keys.ofTopic('room.9', 'node-a');
  await peer.close();
  await eventuallyAsync(async () => (await topology.client.zscore(vacating, 'room.9')) !== null, 'room.9 waiting out its grace period');
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  await eventually(() => backend.acceptedOf('topic.vacated').length === 1, 30_000, 'vacated by node-b');
  t.match(backend.acceptedOf('topic.vacated'), [{ topic: 'room.9', node: 'node-b' }]);
  t.equal(new Set(backend.acceptedOf('topic.occupied').map((event) => event.id)).size, 1, 'occupied once (de-duplicated by id)');
  for (const request of backend.requests) t.ok(request.verified, 'signed');
});
