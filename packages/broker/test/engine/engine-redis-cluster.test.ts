import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import type { Payload, Publication, PublishOptions } from '../../src/engine/engine.js';
import { RedisEngine } from '../../src/engine/engine-redis.js';
import type { RedisClusterConfig } from '../../src/engine/redis-options.js';
import { keySlot } from '../../src/engine/redis-keyspace.js';
import { BrokerErrorCode, type BrokerError } from '../../src/errors.js';
import { startRedisCluster } from '../helpers/redis-server.js';
import { runEngineContract } from './engine-contract.js';

/**
 * The Redis engine on a three-master Redis Cluster (no replicas), built by the harness with
 * `redis-cli --cluster create`: the same contract as a single Redis, over sharded pub/sub.
 */
const cluster = await startRedisCluster(3);
t.teardown(() => cluster.destroy());

const presenceNodeTtlMs = 3000;

runEngineContract(t, 'redis cluster', () => new RedisEngine({ cluster: { nodes: cluster.nodes } }), {
  outage: { begin: () => cluster.kill(), end: () => cluster.restart() },
  presence: {
    // Real time: liveness keys expire on Redis's clock. 3 s, as the e2e design (§6): short, yet a loaded machine keeps heartbeating.
    makeEngine: () => new RedisEngine({ cluster: { nodes: cluster.nodes }, presenceNodeTtlMs }),
    nodeTtlMs: presenceNodeTtlMs,
    advance: (ms) => sleep(ms + 20), // past the Redis clock's millisecond, whatever the timer's rounding
    crash: async (engine) => (engine as RedisEngine).presence.liveness.halt(),
  },
  // A restarted cluster needs its nodes to agree again before the engine can resubscribe.
  timeoutMs: 15_000,
});

const json = (value: unknown): Payload => ({ encoding: 'json', text: JSON.stringify(value) });
const keep = (size: number): PublishOptions => ({ priority: 'normal', history: { size, ttlMs: 60_000 } });
const uniquePrefix = (): string => `t${randomBytes(4).toString('hex')}:`;

interface Node {
  readonly engine: RedisEngine;
  readonly delivered: Publication[];
  readonly interruptions: BrokerError[];
  resumed: number;
}

async function node(t: Test, config: Partial<RedisClusterConfig> = {}, keyPrefix?: string): Promise<Node> {
  const engine = new RedisEngine({ cluster: { nodes: cluster.nodes, ...config }, ...(keyPrefix === undefined ? {} : { keyPrefix }) });
  t.teardown(() => engine.close());
  const recorded: Node = { engine, delivered: [], interruptions: [], resumed: 0 };
  await engine.start({
    onPublication: (publication) => recorded.delivered.push(publication),
    onInterrupted: (error) => recorded.interruptions.push(error),
    onResumed: () => void recorded.resumed++,
  });
  return recorded;
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A plain connection to every master, for PUBSUB and key checks per shard. */
function masters(t: Test): Redis[] {
  return cluster.servers.map((server) => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    t.teardown(() => client.disconnect());
    return client;
  });
}

t.test('redis cluster specifics', async (t) => {
  t.test("the engine's hash slots are Redis's", async (t) => {
    const redis = masters(t)[0] as Redis;
    const engine = new RedisEngine({ cluster: { nodes: cluster.nodes } });
    const names = [
      'foo',
      '{user1000}.following',
      // Hash-tag edge cases (Redis Cluster spec, "Hash tags"), where slot libraries have disagreed with
      // Redis: cluster-key-slot 1.1.x hashes `{bar` for the first one, Redis the whole key.
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      'a}b{c}',
      '{}',
      'x{',
      engine.keyspace.metaKey('orders.eu.1'),
      engine.keyspace.streamKey('orders.eu.1'),
      engine.keyspace.topicChannel('orders.eu.1'),
      ...engine.keyspace.subscribeChannels('orders.*').slice(0, 5),
    ];
    for (const name of names) t.equal(keySlot(name), Number(await redis.cluster('KEYSLOT', name)), name);
  });

  t.test("a topic's meta, stream and channels live in one slot on one shard", async (t) => {
    const a = await node(t);
    const topic = `slot.${randomBytes(4).toString('hex')}`;
    await a.engine.publish(topic, json(1), keep(10));
    const { keyspace } = a.engine;
    t.equal(new Set([keyspace.metaKey(topic), keyspace.streamKey(topic), ...keyspace.publishChannels(topic)].map(keySlot)).size, 1);
    const holders = await Promise.all(
      masters(t).map((redis) => redis.exists(keyspace.metaKey(topic), keyspace.streamKey(topic)).catch(() => 'moved')),
    );
    t.same(holders.filter((reply) => reply !== 'moved'), [2], 'one master holds both keys; the others redirect');
  });

  t.test("every presence key of a topic has the topic's CLUSTER KEYSLOT, so each presence script runs on one shard", async (t) => {
    const a = await node(t);
    const topic = `presence.${randomBytes(4).toString('hex')}`;
    const options = { eventRate: 0, history: { size: 10, ttlMs: 60_000 } };
    await a.engine.publish(topic, json(1), keep(10));
    await a.engine.presence.join(topic, { connectionId: 'c1', user: 'alice', info: '{"n":1}' }, options);
    await a.engine.presence.join(topic, { connectionId: 'c2' }, options);
    const { keyspace, nodeId } = a.engine;
    const tag = keyspace.tagOf(topic);
    const keys = [
      keyspace.metaKey(topic),
      keyspace.streamKey(topic),
      keyspace.presenceStreamKey(topic),
      keyspace.presenceCountsKey(topic),
      keyspace.presenceUsersKey(topic),
      keyspace.presenceNodesKey(topic),
      keyspace.presenceMembersKey(topic, nodeId),
      keyspace.nodeTopicsKey(tag, nodeId),
      keyspace.liveKey(tag, nodeId),
    ];
    const redis = masters(t);
    const slots = await Promise.all([...keys, keyspace.topicChannel(topic)].map(async (key) => Number(await (redis[0] as Redis).cluster('KEYSLOT', key))));
    t.same(new Set(slots).size, 1, `one slot: ${slots[0]}`);
    t.equal(keySlot(keys[0] as string), slots[0], "the engine's slot is Redis's");
    const holders = await Promise.all(redis.map((master) => master.exists(...keys).catch(() => 'moved')));
    t.same(holders.filter((reply) => reply !== 'moved'), [keys.length], 'every key exists, on one master');
    const control = [keyspace.nodesKey(), keyspace.sweepLeaseKey(nodeId)];
    t.equal(new Set(await Promise.all(control.map(async (key) => Number(await (redis[0] as Redis).cluster('KEYSLOT', key))))).size, 1, 'the control keys share a slot');
    await a.engine.presence.leave(topic, 'c1', 'left', options);
    await a.engine.presence.leave(topic, 'c2', 'left', options);
    const left = await Promise.all(redis.map((master) => master.exists(...keys.slice(3, 8)).catch(() => 'moved')));
    t.same(left.filter((reply) => reply !== 'moved'), [0], 'the last leave removes the member keys: presence keys never linger');
  });

  t.test('sharded pub/sub only: SSUBSCRIBE per channel on its shard, no classic channels or patterns; cleaned up', async (t) => {
    const keyPrefix = uniquePrefix();
    const a = await node(t, { buckets: 8 }, keyPrefix);
    const b = await node(t, { buckets: 8 }, keyPrefix);
    const redis = masters(t);
    const shardChannels = async (): Promise<string[]> =>
      (await Promise.all(redis.map((r) => r.pubsub('SHARDCHANNELS', `${keyPrefix}*`) as Promise<string[]>)))
        .flat()
        .filter((c) => !c.includes(':c:') && !c.includes('{ctl}:'))
        .sort();
    const shardNumsub = async (channel: string): Promise<number> => {
      const replies = await Promise.all(redis.map((r) => r.pubsub('SHARDNUMSUB', channel) as Promise<(string | number)[]>));
      return replies.reduce((sum, reply) => sum + Number(reply[1]), 0);
    };
    t.same(await shardChannels(), [], 'only canaries before any subscription');
    const canaries = (await Promise.all(redis.map((r) => r.pubsub('SHARDCHANNELS', `${keyPrefix}*:c:${a.engine.nodeId}`) as Promise<string[]>))).map((c) => c.length);
    t.same(canaries, [1, 1, 1], 'one canary per shard, so readiness covers every shard');
    t.equal(await shardNumsub(`${keyPrefix}{ctl}:cmd`), 2, "admin commands: both nodes on the command channel's one shard, so SPUBLISH counts them");

    const topic = 'orders.eu.1';
    await a.engine.subscribe(topic);
    await a.engine.subscribe('orders.*');
    await b.engine.subscribe('orders.>');
    const expected = [a.engine.keyspace.topicChannel(topic), ...a.engine.keyspace.subscribeChannels('orders.*')].sort();
    t.equal(expected.length, 9, 'the topic channel and the prefix channel in each of 8 buckets');
    t.same(await shardChannels(), expected);
    t.equal(await shardNumsub(a.engine.keyspace.topicChannel(topic)), 1);
    t.equal(await shardNumsub(a.engine.keyspace.subscribeChannels('orders.*')[3] as string), 2, 'both nodes on the prefix channel');
    const classic = await Promise.all(redis.map((r) => r.pubsub('CHANNELS', `${keyPrefix}*`) as Promise<string[]>));
    t.same(classic.flat(), [], 'no classic channels: nothing is broadcast over the cluster bus');
    t.same((await Promise.all(redis.map((r) => r.pubsub('NUMPAT')))).map(Number), [0, 0, 0]);

    await a.engine.publish(topic, json(1), keep(10));
    // Node a listens on the topic channel and the prefix channel: a copy on each, for its hub to collapse.
    await eventually(() => a.delivered.length === 2 && b.delivered.length === 1, 'delivery on both nodes');

    await a.engine.unsubscribe(topic);
    await a.engine.unsubscribe('orders.*');
    await eventually(async () => (await shardNumsub(a.engine.keyspace.topicChannel(topic))) === 0, 'topic channel gone');
    t.equal(await shardNumsub(a.engine.keyspace.subscribeChannels('orders.*')[3] as string), 1, "node b's stays");
    await b.engine.close();
    await eventually(async () => (await shardChannels()).length === 0, 'all gone once the last node leaves');
    t.pass();
  });

  t.test('pub/sub clients killed on every shard: interrupted, resumed, delivering again', async (t) => {
    const a = await node(t);
    const b = await node(t);
    const topic = `kill.${randomBytes(4).toString('hex')}`;
    await a.engine.subscribe(topic);
    await b.engine.subscribe(`${topic.split('.')[0]}.*`);
    await Promise.all(masters(t).map((redis) => redis.client('KILL', 'TYPE', 'pubsub')));
    await eventually(() => a.resumed > 0 && b.resumed > 0, 'both nodes resumed');
    t.equal(a.interruptions[0]?.code, BrokerErrorCode.engineUnavailable);
    await a.engine.publish(topic, json(1), keep(10));
    await eventually(() => a.delivered.length === 1 && b.delivered.length === 1, 'delivery on both nodes');
    t.equal(await a.engine.ready(), true);
  });

  t.test('a slot moved to another master (resharding): unsubscribed by Redis, resubscribed on the new owner', async (t) => {
    const a = await node(t, { buckets: 8 });
    const topic = `moved.${randomBytes(4).toString('hex')}`;
    await a.engine.subscribe(topic);
    const first = await a.engine.publish(topic, json(1), keep(10));
    await eventually(() => a.delivered.length === 1, 'offset 1');
    const redis = masters(t);
    const ids = await Promise.all(redis.map((r) => r.cluster('MYID') as Promise<string>));
    const slot = keySlot(a.engine.keyspace.topicChannel(topic));
    const ranges = (await redis[0]?.cluster('SLOTS')) ?? [];
    const owner = ids.indexOf(ranges.find(([low, high]) => slot >= low && slot <= high)?.[2]?.[2] ?? '');
    const target = (owner + 1) % ids.length;
    const [from, to] = [redis[owner], redis[target]];
    if (from === undefined || to === undefined) throw new Error('no owner found');
    // What `redis-cli --cluster reshard` does for one slot.
    await to.cluster('SETSLOT', slot, 'IMPORTING', ids[owner] as string);
    await from.cluster('SETSLOT', slot, 'MIGRATING', ids[target] as string);
    const keys = (await from.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
    await from.migrate('127.0.0.1', cluster.servers[target]?.port ?? 0, '', 0, 5000, 'KEYS', ...keys);
    for (const r of redis) await r.cluster('SETSLOT', slot, 'NODE', ids[target] as string);
    await eventually(() => a.resumed > 0, 'interrupted and resumed');
    t.match(a.interruptions[0]?.message, /sunsubscribe/, 'Redis unsubscribed the node from the moved slot');
    const second = await a.engine.publish(topic, json(2), keep(10));
    t.same(second, { offset: 2, epoch: first.epoch, duplicate: false }, 'the history moved with the slot');
    await eventually(() => a.delivered.length === 2, 'delivery from the new owner');
    const shardChannels = await Promise.all(redis.map((r) => r.pubsub('SHARDCHANNELS', a.engine.keyspace.topicChannel(topic)) as Promise<string[]>));
    t.same(shardChannels.map((c) => c.length), redis.map((_, index) => (index === target ? 1 : 0)), 'subscribed on the new owner only');
  });

  t.test('one master down: not ready, publishes fail with unavailable; back: resubscribed by itself', async (t) => {
    const a = await node(t);
    const b = await node(t);
    const topic = `failover.${randomBytes(4).toString('hex')}`;
    await a.engine.subscribe(topic);
    const victim = cluster.servers[1];
    if (victim === undefined) throw new Error('no second node');
    await victim.kill();
    let restarted = false;
    t.teardown(async () => {
      if (!restarted) await cluster.restartNode(1);
    });
    await eventually(() => a.interruptions.length > 0 && b.interruptions.length > 0, 'both nodes interrupted');
    t.equal(await a.engine.ready(), false);
    await t.rejects(b.engine.publish(topic, json(0), keep(10)), { code: BrokerErrorCode.engineUnavailable });
    await cluster.restartNode(1);
    restarted = true;
    await eventually(async () => (await a.engine.ready()) && (await b.engine.ready()), 'readiness');
    t.ok(a.resumed > 0 && b.resumed > 0, 'onResumed');
    await b.engine.publish(topic, json(1), keep(10));
    await eventually(() => a.delivered.length === 1, 'delivery after the shard returned');
  });
});
