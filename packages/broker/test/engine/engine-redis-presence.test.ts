import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import type { PresenceEntry, PresenceOptions } from '../../src/engine/engine.js';
import { RedisEngine } from '../../src/engine/engine-redis.js';
import type { RedisEngineOptions } from '../../src/engine/redis-options.js';
import { BrokerErrorCode, type BrokerError } from '../../src/errors.js';
import { startRedisServer } from '../helpers/redis-server.js';

/**
 * Redis presence beyond the shared contract (engine-contract-presence.ts): what only Redis can get wrong —
 * liveness keys that lapse or vanish, two sweepers, batched sweeps, epochs that change under members, `seq`
 * gaps on pub/sub, and keys that must never linger. Its own server, so FLUSHALL and key checks see only it.
 */
const server = await startRedisServer();
t.teardown(() => server.destroy());

const nodeTtlMs = 3000;
const uncapped: PresenceOptions = { eventRate: 0, history: { size: 100, ttlMs: 60_000 } };
const uniquePrefix = (): string => `t${randomBytes(4).toString('hex')}:`;

interface Node {
  readonly engine: RedisEngine;
  readonly entries: PresenceEntry[];
  readonly interruptions: BrokerError[];
  membershipLost: number;
}

async function node(t: Test, options: Partial<RedisEngineOptions> = {}): Promise<Node> {
  const engine = new RedisEngine({ redis: server.url, presenceNodeTtlMs: nodeTtlMs, ...options });
  t.teardown(() => engine.close());
  const recorded: Node = { engine, entries: [], interruptions: [], membershipLost: 0 };
  await engine.start({
    onPublication: () => undefined,
    onPresence: (entry) => recorded.entries.push(entry),
    onInterrupted: (error) => recorded.interruptions.push(error),
    onMembershipLost: () => void recorded.membershipLost++,
  });
  return recorded;
}

async function admin(t: Test): Promise<Redis> {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  t.teardown(() => client.disconnect());
  return client;
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const describe = (e: PresenceEntry): string =>
  e.kind === 'stats' ? `stats ${e.coalesced} ${e.counts.connections}` : `${e.kind} ${e.member.connectionId} ${e.kind === 'join' ? e.first : e.reason}`;

t.test('members and info round-trip: any user id, unicode, anonymous, no info', async (t) => {
  const a = await node(t, { keyPrefix: uniquePrefix() });
  const topic = 'room.round-trip';
  await a.engine.subscribe(topic);
  const members = [
    { connectionId: 'c1', user: 'line\nbreak:7:', info: '{"name":"Zoë ✓"}' },
    { connectionId: 'c2', user: '' },
    { connectionId: 'c3', info: '{"a":[1,2]}' },
    { connectionId: 'c:4>x' },
  ];
  for (const member of members) await a.engine.presence.join(topic, member, uncapped);
  const list = await a.engine.presence.list(topic, { maxMembers: 10 });
  const byId = (x: { connectionId: string }, y: { connectionId: string }): number => (x.connectionId < y.connectionId ? -1 : 1);
  t.same([...(list.members ?? [])].sort(byId), [...members].sort(byId));
  t.match(list.counts, { connections: 4, users: 2, anonymous: 2 }, 'the empty string is a user, absent is anonymous');
  await eventually(() => a.entries.length === 4, 'four joins');
  t.same(a.entries.map((e) => (e.kind === 'join' ? e.member : undefined)), members, 'entries carry the same members');
});

t.test('presence keys have no TTL and go with the last member; the entry stream expires with the topic', async (t) => {
  const keyPrefix = uniquePrefix();
  const redis = await admin(t);
  const a = await node(t, { keyPrefix });
  const topic = 'room.keys';
  await a.engine.presence.join(topic, { connectionId: 'c1', user: 'u' }, uncapped);
  const { keyspace, nodeId } = a.engine;
  const memberKeys = [
    keyspace.presenceCountsKey(topic),
    keyspace.presenceUsersKey(topic),
    keyspace.presenceNodesKey(topic),
    keyspace.presenceMembersKey(topic, nodeId),
    keyspace.nodeTopicsKey('', nodeId),
  ];
  t.same(await Promise.all(memberKeys.map((key) => redis.pttl(key))), memberKeys.map(() => -1), 'no TTL: volatile-* eviction never takes them');
  t.ok((await redis.pttl(keyspace.presenceStreamKey(topic))) > 0, 'the entry stream expires');
  t.ok((await redis.pttl(keyspace.liveKey('', nodeId))) > 0, 'liveness expires unless renewed');
  t.not(await redis.zscore(keyspace.nodesKey(), nodeId), null, 'registered in the nodes zset');
  await a.engine.presence.leave(topic, 'c1', 'left', uncapped);
  t.equal(await redis.exists(...memberKeys), 0, 'the last leave deletes them');
  await a.engine.close();
  t.equal(await redis.exists(keyspace.liveKey('', nodeId)), 0, 'close unregisters: no liveness key');
  t.equal(await redis.zscore(keyspace.nodesKey(), nodeId), null, 'and no zset entry');
});

t.test('two live nodes see one dead node: it is swept once, every member leaving exactly once', async (t) => {
  const keyPrefix = uniquePrefix();
  const a = await node(t, { keyPrefix });
  const b = await node(t, { keyPrefix });
  const c = await node(t, { keyPrefix });
  const topics = ['room.s1', 'room.s2'];
  for (const topic of topics) {
    await a.engine.subscribe(topic);
    for (let index = 0; index < 3; index++) await c.engine.presence.join(topic, { connectionId: `${topic}-c${index}` }, uncapped);
  }
  c.engine.presence.liveness.halt();
  await eventually(() => a.entries.filter((e) => e.kind === 'leave').length === 6, 'six expired leaves', 15_000);
  await sleep(nodeTtlMs); // every node heartbeats again meanwhile: a second sweep would write more
  for (const topic of topics) {
    const entries = a.entries.filter((e) => e.topic === topic);
    t.same(entries.map((e) => e.seq), [1, 2, 3, 4, 5, 6], `${topic}: dense seq, no entry twice`);
    t.same(entries.slice(3).map((e) => (e.kind === 'leave' ? e.reason : e.kind)), ['expired', 'expired', 'expired']);
    t.match(await b.engine.presence.stats(topic), { connections: 0 });
  }
  const redis = await admin(t);
  t.equal(await redis.zscore(a.engine.keyspace.nodesKey(), c.engine.nodeId), null, 'the swept node is forgotten');
});

t.test('a sweep stops at a node that is alive; once its liveness is gone, its members leave and it cannot join', async (t) => {
  const redis = await admin(t);
  const keyPrefix = uniquePrefix();
  const a = await node(t, { keyPrefix });
  const c = await node(t, { keyPrefix });
  const topic = 'room.race';
  await a.engine.subscribe(topic);
  await c.engine.presence.join(topic, { connectionId: 'c1' }, uncapped);
  await c.engine.presence.join(topic, { connectionId: 'c2' }, uncapped);
  t.equal(await a.engine.presence.sweepTopic(topic, c.engine.nodeId, false), 'alive', 'a live node is not swept');
  t.match(await a.engine.presence.stats(topic), { connections: 2 });
  c.engine.presence.liveness.halt();
  await redis.del(c.engine.keyspace.liveKey('', c.engine.nodeId)); // its liveness lapses
  t.equal(await a.engine.presence.sweepTopic(topic, c.engine.nodeId, false), 0, 'swept: no member left');
  t.equal(await a.engine.presence.sweepTopic(topic, c.engine.nodeId, false), 0, 'a second sweep finds nothing');
  await t.rejects(c.engine.presence.join(topic, { connectionId: 'c3' }, uncapped), { code: BrokerErrorCode.engineUnavailable }, 'the swept node cannot write');
  await eventually(() => a.entries.length === 4, 'two joins, two leaves');
  t.same(a.entries.map(describe), ['join c1 true', 'join c2 true', 'leave c1 expired', 'leave c2 expired']);
  t.equal(await redis.sismember(c.engine.keyspace.nodeTopicsKey('', c.engine.nodeId), topic), 0, 'gone from its sweep index');
});

t.test('unregister removes members in batches, disconnected, and the node then stays unregistered', async (t) => {
  const keyPrefix = uniquePrefix();
  // A longer TTL: 2500 joins queued ahead of a heartbeat on a loaded machine may outlast the short one.
  const a = await node(t, { keyPrefix, presenceNodeTtlMs: 15_000 });
  const b = await node(t, { keyPrefix, presenceNodeTtlMs: 15_000 });
  const topic = 'room.big';
  await a.engine.subscribe(topic);
  const count = 2500; // more than one sweep batch (1000)
  // In waves of 250: 2500 scripts queued at once can outlast the command timeout on a loaded machine.
  for (let wave = 0; wave < count; wave += 250) {
    const joins = [];
    for (let index = wave; index < wave + 250; index++) joins.push(b.engine.presence.join(topic, { connectionId: `m${index}`, user: `u${index % 100}` }, uncapped));
    await Promise.all(joins);
  }
  t.match(await a.engine.presence.stats(topic), { connections: count, users: 100 });
  t.match(await a.engine.presence.list(topic, { maxMembers: 1000 }), { truncated: true, counts: { connections: count } });
  await b.engine.presence.unregister();
  t.match(await a.engine.presence.stats(topic), { connections: 0, users: 0, seq: 2 * count });
  await eventually(() => a.entries.length === 2 * count, 'every leave');
  const leaves = a.entries.filter((e) => e.kind === 'leave');
  t.equal(leaves.length, count);
  t.ok(leaves.every((e) => e.kind === 'leave' && e.reason === 'disconnected'), 'disconnected');
  t.equal(leaves.filter((e) => e.kind === 'leave' && e.last).length, 100, 'each user leaves last once');
  await t.rejects(b.engine.presence.join(topic, { connectionId: 'late' }, uncapped), { code: BrokerErrorCode.engineUnavailable }, 'no joins after unregister');
});

t.test('a liveness key that vanishes (FLUSHALL, an outage past the TTL) is set again and reported', async (t) => {
  const redis = await admin(t);
  const a = await node(t, { keyPrefix: uniquePrefix() });
  const topic = 'room.heal';
  await a.engine.presence.join(topic, { connectionId: 'c1' }, uncapped);
  await redis.flushall();
  // Dead until the node registers again, which a heartbeat landing between the two commands may already have
  // done (the contract checks the dead answer itself): either way, not silently written to a swept node.
  const outcome = await a.engine.presence.join(topic, { connectionId: 'c2' }, uncapped).then(
    (write) => write.outcome,
    (error: BrokerError) => error.code,
  );
  t.ok(outcome === BrokerErrorCode.engineUnavailable || (outcome === 'written' && a.membershipLost <= 1), `join after the flush: ${outcome}`);
  await eventually(() => a.membershipLost > 0, 'onMembershipLost');
  t.equal(a.membershipLost, 1, 'reported once');
  t.equal(await redis.exists(a.engine.keyspace.liveKey('', a.engine.nodeId)), 1, 'registered again');
  t.notOk((await a.engine.presence.ownMembers(topic)).includes('c1'), 'c1 is gone from Redis: the broker re-asserts it');
  t.equal((await a.engine.presence.join(topic, { connectionId: 'c1' }, uncapped)).outcome, 'written', 'joins work again');
  await redis.del(a.engine.keyspace.liveKey('', a.engine.nodeId));
  await eventually(() => a.membershipLost === 2, 'a heartbeat that finds its key gone reports it too');
});

t.test('a new epoch under members: seq restarts, the old entry stream is gone, recovery across it fails', async (t) => {
  const redis = await admin(t);
  const a = await node(t, { keyPrefix: uniquePrefix() });
  const topic = 'room.epoch';
  const first = await a.engine.presence.join(topic, { connectionId: 'c1' }, uncapped);
  await a.engine.presence.join(topic, { connectionId: 'c2' }, uncapped);
  await redis.del(a.engine.keyspace.metaKey(topic)); // evicted, or expired after the idle TTL
  const next = await a.engine.presence.leave(topic, 'c1', 'left', uncapped);
  t.not(next.position.epoch, first.position.epoch, 'a new epoch');
  t.equal(next.position.seq, 1, 'seq restarts');
  t.equal(await redis.xlen(a.engine.keyspace.presenceStreamKey(topic)), 1, 'only the new epoch in the entry stream');
  t.match(await a.engine.presence.stats(topic), { connections: 1 }, 'members outlive epochs');
  const since = { epoch: first.position.epoch, offset: 0 };
  t.match(await a.engine.presence.history(topic, { since, presenceSince: 1, limit: 10 }), { presence: { recovered: false, recoveryFailure: 'epoch_mismatch' } });
  const current = await a.engine.presence.history(topic, { since: { epoch: next.position.epoch, offset: 0 }, presenceSince: 0, limit: 10 });
  t.same(current.presence.entries.map(describe), ['leave c1 left']);
});

t.test('a coalesced change owed by a node is written before the next window’s first entry', async (t) => {
  const a = await node(t, { keyPrefix: uniquePrefix() });
  const b = await node(t, { keyPrefix: a.engine.keyspace.prefix });
  const topic = 'room.storm';
  await a.engine.subscribe(topic);
  const capped: PresenceOptions = { eventRate: 1, history: { size: 100, ttlMs: 60_000 } };
  await b.engine.presence.join(topic, { connectionId: 'b1' }, capped);
  t.equal((await b.engine.presence.join(topic, { connectionId: 'b2' }, capped)).outcome, 'coalesced');
  b.engine.presence.liveness.halt(); // the node owing the flush stops, and never calls flush
  await sleep(1100);
  await a.engine.presence.join(topic, { connectionId: 'a1' }, capped);
  await eventually(() => a.entries.length === 3, 'three entries');
  t.same(a.entries.map(describe), ['join b1 true', 'stats 1 2', 'join a1 true'], 'the stats entry has the counters before the new join');
  t.same(a.entries.map((e) => e.seq), [1, 2, 3]);
});

t.test('a presence seq that skips ahead on pub/sub is reported like a skipped offset', async (t) => {
  const redis = await admin(t);
  const a = await node(t, { keyPrefix: uniquePrefix() });
  const topic = 'room.gap';
  await a.engine.subscribe(topic);
  const join = await a.engine.presence.join(topic, { connectionId: 'c1' }, uncapped);
  await eventually(() => a.entries.length === 1, 'the join');
  const { epoch, offset } = join.position;
  const body = JSON.stringify({ t: topic, k: 'l', c: 'c1', l: true, r: 'left' });
  await redis.publish(a.engine.keyspace.topicChannel(topic), `${offset}-4 ${epoch} ${Date.now()} ${body}`);
  await eventually(() => a.entries.length === 2, 'the later entry, still delivered');
  t.equal(a.interruptions.length, 1, 'one interruption reported');
  t.match(a.interruptions[0]?.message, /presence seqs 2-3 of room\.gap/);
});
