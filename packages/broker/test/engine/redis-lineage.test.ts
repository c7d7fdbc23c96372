import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import type { PublishResult } from '../../src/engine/engine.js';
import { RedisEngine } from '../../src/engine/engine-redis.js';
import { decideLineage } from '../../src/engine/redis-lineage.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

/**
 * Epochs across Redis restarts (issue 13): kept when Redis's persistence loses nothing acknowledged
 * (`appendonly yes`, `appendfsync always`), new otherwise, and new after a replica took over.
 */

t.test('the lineage decision', async (t) => {
  const facts = { replicationId: 'r2', promoted: false, durable: true, stored: 'r1' };
  t.same(decideLineage(facts), { gen: 'r1', store: false }, 'durable, restarted (new replid): the stored lineage goes on');
  t.same(decideLineage({ ...facts, durable: false }), { gen: 'r2', store: false }, 'not durable: the replid, new at every restart');
  t.same(decideLineage({ ...facts, stored: undefined }), { gen: 'r2', store: true }, 'no lineage key: the data before is gone too');
  t.same(decideLineage({ ...facts, promoted: true }), { gen: 'r2', store: true }, 'a replica took over: it may lack the last writes');
  t.same(decideLineage({ ...facts, promoted: true, stored: 'r2' }), { gen: 'r2', store: false }, 'once per takeover: every node agrees');
});

const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];

async function server(t: Test, args: readonly string[]): Promise<RedisServer> {
  const redis = await startRedisServer({ args });
  t.teardown(() => redis.destroy());
  return redis;
}

async function engineOn(t: Test, redis: RedisServer): Promise<RedisEngine> {
  const engine = new RedisEngine({ redis: redis.url });
  t.teardown(() => engine.close());
  await engine.start({ onPublication: () => {} });
  return engine;
}

/** Publishes once the engine is back (it reconnects by itself after a restart), within 20 s. */
async function publishWhenUp(engine: RedisEngine, topic: string, data: unknown): Promise<PublishResult> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await engine.publish(topic, { encoding: 'json', text: JSON.stringify(data) }, { priority: 'normal', history: { size: 100, ttlMs: 60_000 } });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

t.test('appendfsync always: Redis killed with -9 and restarted from its AOF, a topic keeps its epoch and its offsets go on', async (t) => {
  const redis = await server(t, durable);
  const engine = await engineOn(t, redis);
  await publishWhenUp(engine, 'lineage.a', 1);
  const before = await publishWhenUp(engine, 'lineage.a', 2);
  await redis.kill();
  await redis.restart();
  const after = await publishWhenUp(engine, 'lineage.a', 3);
  t.same([after.epoch, after.offset], [before.epoch, 3], 'same epoch, next offset');
  const history = await engine.history('lineage.a', { since: { epoch: before.epoch, offset: 1 }, limit: 10 });
  t.match(history, { recovered: true, publications: [{ offset: 2 }, { offset: 3 }] }, 'recovery across the restart');
});

t.test('appendfsync everysec: a restart may have lost a second of writes, so topics start new epochs', async (t) => {
  const redis = await server(t, ['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const engine = await engineOn(t, redis);
  const before = await publishWhenUp(engine, 'lineage.b', 1);
  await sleep(1100); // on disk by now, so the next epoch is the lineage's doing, not a lost write
  await redis.kill();
  await redis.restart();
  const after = await publishWhenUp(engine, 'lineage.b', 2);
  t.not(after.epoch, before.epoch);
  t.equal(after.offset, 1);
});

t.test('a replica that took over (REPLICAOF NO ONE) starts new epochs, once for every node', async (t) => {
  const master = await server(t, durable);
  const first = await engineOn(t, master);
  const before = await publishWhenUp(first, 'lineage.c', 1);
  const replica = await server(t, [...durable, '--replicaof', master.host, String(master.port)]);
  const deadline = Date.now() + 20_000;
  while (!(await replica.cli('INFO', 'replication')).includes('master_link_status:up') || (await replica.cli('EXISTS', 'sb:m:lineage.c')) !== '1') {
    if (Date.now() > deadline) throw new Error('the replica did not sync');
    await sleep(50);
  }
  await replica.cli('REPLICAOF', 'NO', 'ONE');
  const promoted = await engineOn(t, replica);
  const after = await publishWhenUp(promoted, 'lineage.c', 2);
  t.not(after.epoch, before.epoch, 'new epoch on the promoted replica');
  const other = await engineOn(t, replica);
  t.equal((await publishWhenUp(other, 'lineage.c', 3)).epoch, after.epoch, 'a second node keeps the new epoch');
});
