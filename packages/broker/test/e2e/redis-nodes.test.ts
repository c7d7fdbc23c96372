import type { DeliveryMessage } from '@switchboard/protocol';
import t, { type Test } from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { rawUpgrade } from '../helpers/raw-upgrade.js';
import { startRedisCluster, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { type TestBroker, eventuallyAsync, startBroker, untilReadyz } from '../helpers/start-broker.js';

/**
 * Two broker nodes configured with `redisUrl` (what REDIS_URL sets) sharing one private redis-server: the
 * service wiring of the Redis engine, end to end over WebSocket (issue 4).
 */

async function redisServer(t: Test): Promise<RedisServer> {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  return redis;
}

async function twoNodes(t: Test, redis: RedisServer): Promise<[TestBroker, TestBroker]> {
  const a = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-a' });
  const b = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-b' });
  return [a, b];
}

async function open(t: Test, broker: TestBroker): Promise<Peer> {
  const peer = await Peer.open(broker.url);
  t.teardown(() => peer.close());
  return peer;
}

async function readyStatus(broker: TestBroker): Promise<number> {
  return (await broker.app.inject({ url: '/readyz' })).statusCode;
}

function dataOf(deliveries: readonly DeliveryMessage[]): unknown[] {
  return deliveries.map((delivery) => delivery.data);
}

t.test('REDIS_URL: a publish on node B reaches exact and wildcard subscribers on node A once each, in order', async (t) => {
  const redis = await redisServer(t);
  const [a, b] = await twoNodes(t, redis);
  t.equal(a.broker.engine.constructor.name, 'RedisEngine');
  const exact = await open(t, a);
  const wildcard = await open(t, a);
  const overlapping = await open(t, a);
  const local = await open(t, b);
  const publisher = await open(t, b);
  t.equal(exact.welcome.node, 'node-a');
  t.equal(publisher.welcome.node, 'node-b');
  t.match(await exact.subscribe('orders.eu'), { op: 'subscribed' });
  t.match(await wildcard.subscribe('orders.*'), { op: 'subscribed' });
  t.match(await local.subscribe('orders.>'), { op: 'subscribed' });
  // Node A listens on the topic channel and the prefix channel, so Redis sends it every publication twice:
  // its hub, the one de-duplication, delivers each once, also to a connection whose patterns all match.
  for (const pattern of ['orders.eu', 'orders.*', 'orders.>']) t.match(await overlapping.subscribe(pattern), { op: 'subscribed' });

  const count = 200;
  // Pipelined, not one at a time: order must hold without the publisher waiting for each ack.
  const acks = await Promise.all(Array.from({ length: count }, (_, n) => publisher.publish('orders.eu', n)));
  t.ok(acks.every((ack) => ack.op === 'published'), 'every publish acknowledged');
  await publisher.publish('orders.eu', 'end');
  const expected = [...Array.from({ length: count }, (_, n) => n), 'end'];
  for (const [name, peer] of [['exact on A', exact], ['wildcard on A', wildcard], ['overlapping patterns on A', overlapping], ['local on B', local]] as const) {
    await peer.waitFor((message) => message.op === 'message' && message.data === 'end');
    t.same(dataOf(peer.deliveries), expected, `${name}: every message once, in publish order`);
    const offsets = peer.deliveries.map((delivery) => delivery.offset ?? 0);
    t.same(offsets, [...offsets].sort((x, y) => x - y), `${name}: offsets ascend`);
  }
});

t.test('redis-server killed: /readyz 503 and publishes get unavailable; restarted: ready and delivering, no broker restart', async (t) => {
  const redis = await redisServer(t);
  const [a, b] = await twoNodes(t, redis);
  const subscriber = await open(t, a);
  const publisher = await open(t, b);
  await subscriber.subscribe('feed.*');
  t.match(await publisher.publish('feed.x', 'before'), { op: 'published' });
  await subscriber.waitFor((message) => message.op === 'message' && message.data === 'before');
  t.equal(await readyStatus(a), 200);
  t.equal(await readyStatus(b), 200);

  await redis.kill();
  await Promise.all([a, b].map((node) => untilReadyz(node, 503)));
  t.pass('both nodes report not ready');
  const failed = await publisher.publish('feed.x', 'during');
  t.match(failed, { op: 'error', code: 'unavailable' }, 'the publish during the outage gets an unavailable error ack');
  t.ok(failed.op === 'error' && (failed.retryAfterMs ?? 0) > 0, 'with retryAfterMs');

  await redis.restart();
  await Promise.all([a, b].map((node) => untilReadyz(node, 200)));
  t.pass('both nodes ready again, same processes');
  t.match(await publisher.publish('feed.x', 'after'), { op: 'published' });
  await subscriber.waitFor((message) => message.op === 'message' && message.data === 'after');
  t.notOk(subscriber.deliveries.some((delivery) => delivery.data === 'during'), 'the refused publish was never delivered');
  t.same(
    subscriber.deliveries.filter((delivery) => delivery.data === 'after').length,
    1,
    'the node re-subscribed by itself: delivered once',
  );
});

// docs/redis.md, Outages: offsets come from Redis, so nothing is delivered without it, not even locally.
t.test('Redis down: a publish answers unavailable and reaches no one, not even a subscriber on its own node; offsets go on without a hole', async (t) => {
  const redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  t.teardown(() => redis.destroy());
  const node = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-a' });
  const subscriber = await open(t, node);
  const publisher = await open(t, node);
  await subscriber.subscribe('local.x');
  const before = await publisher.publish('local.x', 'before');
  await subscriber.waitFor((message) => message.op === 'message' && message.data === 'before');

  await redis.kill();
  await untilReadyz(node, 503);
  t.match(await publisher.publish('local.x', 'during'), { op: 'error', code: 'unavailable' }, 'the publisher hears unavailable');
  await redis.restart();
  await untilReadyz(node, 200);
  const after = await publisher.publish('local.x', 'after');
  await subscriber.waitFor((message) => message.op === 'message' && message.data === 'after');
  t.same(dataOf(subscriber.deliveries), ['before', 'after'], 'the local subscriber never got the refused publication');
  t.ok(before.op === 'published' && after.op === 'published' && after.epoch === before.epoch && after.offset === (before.offset ?? 0) + 1, 'the next offset: the refused one took none');
  t.notOk(subscriber.messages.some((message) => message.op === 'gap'), 'no hole to announce');
});

t.test('REDIS_CLUSTER_NODES: two nodes on a three-master Redis Cluster deliver across nodes (sharded pub/sub)', async (t) => {
  const cluster = await startRedisCluster(3);
  t.teardown(() => cluster.destroy());
  const redisClusterNodes = cluster.nodes.map((node) => `${node.host}:${node.port}`);
  const a = await startBroker(t, { redisClusterNodes, nodeName: 'node-a' });
  const b = await startBroker(t, { redisClusterNodes, nodeName: 'node-b' });
  const exact = await open(t, a);
  const wildcard = await open(t, a);
  const both = await open(t, a);
  const publisher = await open(t, b);
  await exact.subscribe('orders.eu');
  await wildcard.subscribe('orders.>');
  await both.subscribe('orders.eu');
  await both.subscribe('orders.>');
  const topics = ['orders.eu', 'orders.us.east'] as const;
  for (let n = 0; n < 50; n++) t.match(await publisher.publish(topics[n % 2] as string, n), { op: 'published' });
  for (const topic of topics) await publisher.publish(topic, `end ${topic}`);
  await exact.waitFor((message) => message.op === 'message' && message.data === 'end orders.eu');
  await wildcard.waitForDeliveries(52);
  const all = Array.from({ length: 50 }, (_, n) => n);
  const even = [...all.filter((n) => n % 2 === 0), 'end orders.eu'];
  const odd = [...all.filter((n) => n % 2 === 1), 'end orders.us.east'];
  t.same(dataOf(exact.deliveries), even, 'exact: its topic, once each, in order');
  // Order is per topic: two topics may live on different shards, with a subscriber connection each.
  const ofTopic = (topic: string): unknown[] => dataOf(wildcard.deliveries.filter((delivery) => delivery.topic === topic));
  t.same(ofTopic('orders.eu'), even, 'wildcard: orders.eu once each, in order');
  t.same(ofTopic('orders.us.east'), odd, 'wildcard: orders.us.east once each, in order');
  t.equal(wildcard.deliveries.length, 52, 'nothing else, nothing twice');
  // orders.eu reaches node A on its topic channel and its prefix channel (one shard, one bucket's tag).
  await both.waitForDeliveries(52);
  t.same(dataOf(both.deliveries.filter((delivery) => delivery.topic === 'orders.eu')), even, 'both patterns on one connection: orders.eu once each');
  t.equal(both.deliveries.length, 52, 'both patterns on one connection: nothing twice');
  t.equal(await readyStatus(a), 200);
});

t.test('through the broker: one Redis subscription per node and channel, dropped with the last local subscriber', async (t) => {
  const redis = await redisServer(t);
  const a = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-a' });
  // docs/redis.md: `sb:t:<topic>` carries a topic, `sb:p:<prefix>` every topic under a prefix (wildcards).
  const channels = ['sb:t:chat.room', 'sb:p:chat'];
  const numsub = async (): Promise<number[]> => {
    const lines = (await redis.cli('PUBSUB', 'NUMSUB', ...channels)).split('\n');
    return lines.filter((_, index) => index % 2 === 1).map(Number);
  };
  const first = await open(t, a);
  const second = await open(t, a);
  await first.subscribe('chat.room');
  await second.subscribe('chat.room');
  await second.subscribe('chat.*');
  t.same(await numsub(), [1, 1], 'two local subscribers of chat.room, one Redis subscription; chat.* on the prefix channel');
  t.equal(await redis.cli('PUBSUB', 'NUMPAT'), '0', 'no PSUBSCRIBE: wildcards use prefix channels');

  await first.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(await numsub(), [1, 1], 'one local subscriber left: both stay');
  t.match(await second.request({ op: 'unsubscribe', id: second.id(), pattern: 'chat.*' }), { op: 'unsubscribed' });
  await eventuallyAsync(async () => (await numsub()).join() === '1,0', 'prefix channel dropped after unsubscribe');
  await second.close();
  await eventuallyAsync(async () => (await numsub()).join() === '0,0', 'topic channel dropped after the last subscriber closed');
  const left = (await redis.cli('PUBSUB', 'CHANNELS', 'sb:[tp]:*')).split('\n').filter((line) => line !== '');
  t.same(left, [], 'no topic or prefix channel left');
});

t.test('history lives in Redis: a client of a restarted node resumes with since and misses nothing', async (t) => {
  const redis = await redisServer(t);
  const b = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-b' });
  const before = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-a' });
  const publisher = await open(t, b);
  const subscriber = await open(t, before);
  await subscriber.subscribe('ledger.>');
  for (const [topic, data] of [['ledger.eu', 1], ['ledger.us', 'a'], ['ledger.eu', 2]] as const) {
    t.match(await publisher.publish(topic, data), { op: 'published' });
  }
  await subscriber.waitForDeliveries(3);
  const since: Record<string, { offset: number; epoch: string }> = {};
  for (const { topic, offset, epoch } of subscriber.deliveries) since[topic] = { offset: offset!, epoch: epoch! };

  await before.app.close();
  await subscriber.waitClosed();
  for (const [topic, data] of [['ledger.eu', 3], ['ledger.us', 'b'], ['ledger.eu', 4]] as const) {
    t.match(await publisher.publish(topic, data), { op: 'published' }, 'published while node A is down');
  }

  const after = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-a' });
  const resumed = await open(t, after);
  t.match(
    await resumed.subscribe('ledger.>', { since }),
    { op: 'subscribed', recovery: { 'ledger.eu': { status: 'recovered' }, 'ledger.us': { status: 'recovered' } } },
    'both topics recovered',
  );
  t.match(await publisher.publish('ledger.eu', 5), { op: 'published' });
  await resumed.waitForDeliveries(4);
  const ofTopic = (topic: string): unknown[] => dataOf(resumed.deliveries.filter((delivery) => delivery.topic === topic));
  t.same(ofTopic('ledger.eu'), [3, 4, 5], 'ledger.eu: the missed messages in order, then the new one');
  t.same(ofTopic('ledger.us'), ['b'], 'ledger.us: its missed message');
  t.equal(resumed.deliveries[0]?.epoch, since['ledger.eu']?.epoch, 'same epoch: the history outlived the node');
  t.notOk(resumed.messages.some((message) => message.op === 'gap'), 'no gap');
});

t.test('ENGINE_OUTAGE_SHED: a node without Redis that long sheds its clients with 4003 and refuses upgrades until Redis is back', async (t) => {
  const redis = await redisServer(t);
  const node = await startBroker(t, { redisUrl: redis.url, nodeName: 'node-a', engineOutageShedMs: 300, shutdownSpreadMs: 0 });
  const clients = [await open(t, node), await open(t, node)];
  // Taken before the kill: the broker may notice the outage (and start its ENGINE_OUTAGE_SHED timer) before
  // kill() resolves, which only waits for this process to see the exit. No shed can start before this.
  const started = Date.now();
  await redis.kill();
  for (const client of clients) {
    t.same(await client.waitClosed(20_000), { code: 4003, reason: 'engine unavailable' }, 'shed with 4003 (back off, then reconnect)');
  }
  t.ok(Date.now() - started >= 300, 'not before ENGINE_OUTAGE_SHED');
  t.match(await rawUpgrade(node.port, { 'Sec-WebSocket-Protocol': 'pubsub.v1' }), { status: 503, body: { code: 'unavailable' } }, 'new clients are sent elsewhere');

  await redis.restart();
  await untilReadyz(node, 200);
  const back = await open(t, node);
  t.equal(back.welcome.node, 'node-a', 'accepting connections again once Redis is back');
  t.match(await back.publish('after.outage', 1), { op: 'published' });
});
