import t from 'tap';
import type { EnginePresence, Payload, PresenceEntry, PresenceOptions, PublishOptions } from '../../src/engine/engine.js';
import { BrokerErrorCode } from '../../src/errors.js';
import { MemoryCluster, memoryClusterDefaults } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { runEngineContract } from './engine-contract.js';

const cluster = new MemoryCluster();
const presenceClock = manualClock();
const presenceNodeTtlMs = 3000;
const presenceCluster = new MemoryCluster({ now: presenceClock.now, presenceNodeTtlMs });
runEngineContract(t, 'memory', () => new MemoryEngine({ cluster }), {
  outage: { begin: async () => cluster.interrupt(), end: async () => cluster.resume() },
  presence: {
    makeEngine: () => new MemoryEngine({ cluster: presenceCluster }),
    nodeTtlMs: presenceNodeTtlMs,
    advance: async (ms) => {
      presenceClock.advance(ms);
      presenceCluster.sweepPresence(); // what the cluster's timer does
    },
    crash: async (engine) => presenceCluster.crash((engine as MemoryEngine).nodeId),
  },
});

const json = (value: unknown): Payload => ({ encoding: 'json', text: JSON.stringify(value) });
const keep = (size: number, ttlMs = 60_000): PublishOptions => ({ priority: 'normal', history: { size, ttlMs } });

function manualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

async function startedEngine(cluster: MemoryCluster): Promise<MemoryEngine> {
  const engine = new MemoryEngine({ cluster });
  await engine.start({ onPublication: () => undefined });
  return engine;
}

t.test('memory engine specifics', async (t) => {
  t.test('a new process (a new cluster) issues new epochs: recovery from before the restart fails', async (t) => {
    const before = await startedEngine(new MemoryCluster());
    const position = await before.publish('a.b', json(1), keep(10));
    await before.close();
    const after = await startedEngine(new MemoryCluster());
    await after.publish('a.b', json(1), keep(10));
    const result = await after.history('a.b', { since: position, limit: 10 });
    t.not(result.position.epoch, position.epoch);
    t.equal(result.recovered, false);
  });

  t.test('the epoch prefix can be injected; epochs differ per stream generation', async (t) => {
    const engine = await startedEngine(new MemoryCluster({ epochPrefix: 'node1' }));
    const a = await engine.publish('a', json(1), keep(1));
    const b = await engine.publish('b', json(1), keep(1));
    t.equal(a.epoch, 'node1-1');
    t.equal(b.epoch, 'node1-2');
    const one = await (await startedEngine(new MemoryCluster())).publish('a', json(1), keep(1));
    const two = await (await startedEngine(new MemoryCluster())).publish('a', json(1), keep(1));
    t.not(one.epoch, two.epoch, 'the default prefix is random per cluster');
  });

  t.test('history drops publications past their TTL on the injected clock, breaking recovery', async (t) => {
    const clock = manualClock();
    const engine = await startedEngine(new MemoryCluster({ now: clock.now }));
    const first = await engine.publish('t', json(1), keep(10, 1_000));
    clock.advance(600);
    await engine.publish('t', json(2), keep(10, 1_000));
    t.same((await engine.history('t', { limit: 10 })).publications.map((p) => p.offset), [1, 2]);
    clock.advance(400);
    t.same((await engine.history('t', { limit: 10 })).publications.map((p) => p.offset), [2], 'offset 1 expired');
    t.equal((await engine.history('t', { since: { offset: 0, epoch: first.epoch }, limit: 10 })).recovered, false);
    t.equal((await engine.history('t', { since: first, limit: 10 })).recovered, true, 'still continuable after 1');
    clock.advance(600);
    const empty = await engine.history('t', { limit: 10 });
    t.same(empty.publications, []);
    t.same(empty.position, { offset: 2, epoch: first.epoch }, 'offsets survive their history');
  });

  t.test('publication time comes from the injected clock', async (t) => {
    const clock = manualClock(42_000);
    const engine = await startedEngine(new MemoryCluster({ now: clock.now }));
    await engine.publish('t', json(1), keep(1));
    t.equal((await engine.history('t', { limit: 1 })).publications[0]?.time, 42_000);
  });

  t.test('an idempotency key is forgotten after the window', async (t) => {
    const clock = manualClock();
    const engine = await startedEngine(new MemoryCluster({ now: clock.now, idempotencyWindowMs: 1_000 }));
    const first = await engine.publish('t', json(1), { priority: 'normal', idempotencyKey: 'k' });
    clock.advance(999);
    t.equal((await engine.publish('t', json(1), { priority: 'normal', idempotencyKey: 'k' })).duplicate, true);
    clock.advance(1);
    const late = await engine.publish('t', json(1), { priority: 'normal', idempotencyKey: 'k' });
    t.equal(late.duplicate, false, 'outside the window it is a new publication');
    t.equal(late.offset, first.offset + 1);
  });

  t.test('idle streams are forgotten, so memory stays bounded; the topic then starts a new epoch', async (t) => {
    const clock = manualClock();
    const cluster = new MemoryCluster({ now: clock.now, streamIdleTtlMs: 10_000 });
    const engine = await startedEngine(cluster);
    for (let i = 0; i < 100; i++) await engine.publish(`user.${i}`, json(i), { priority: 'normal' });
    const old = await engine.publish('kept', json(1), keep(10, 60_000));
    t.equal(cluster.streamCount, 101);
    clock.advance(10_000);
    await engine.publish('trigger', json(1), { priority: 'normal' });
    t.ok(cluster.streamCount <= 101 - 64 + 1, 'swept in bounded steps');
    await engine.publish('trigger', json(2), { priority: 'normal' });
    t.equal(cluster.streamCount, 2, 'only the stream with live history and the fresh one remain');
    t.equal((await engine.history('kept', { since: { offset: 0, epoch: old.epoch }, limit: 10 })).recovered, true);
    clock.advance(60_000);
    const renewed = await engine.publish('kept', json(2), keep(10));
    t.equal(renewed.offset, 1, 'a forgotten topic starts again at 1');
    t.not(renewed.epoch, old.epoch, 'in a new epoch, so old positions cannot be mistaken for new ones');
    t.equal(memoryClusterDefaults.streamIdleTtlMs, 86_400_000);
  });

  t.test('invalid history arguments are rejected', async (t) => {
    const engine = await startedEngine(new MemoryCluster());
    await t.rejects(engine.history('t', { limit: -1 }), RangeError);
    await t.rejects(engine.history('t', { limit: 1.5 }), RangeError);
    await t.rejects(engine.publish('t', json(1), keep(-1)), RangeError);
    await t.rejects(engine.publish('t', json(1), keep(1, 0)), RangeError);
  });

  t.test('patternCount reflects node-level subscriptions', async (t) => {
    const engine = await startedEngine(new MemoryCluster());
    await engine.subscribe('a.*');
    await engine.subscribe('a.*');
    await engine.subscribe('b.>');
    t.equal(engine.patternCount, 2);
    await engine.unsubscribe('a.*');
    t.equal(engine.patternCount, 1);
  });

  t.test('a handler that publishes from inside onPublication sees offsets in order', async (t) => {
    const engine = new MemoryEngine();
    const seen: number[] = [];
    await engine.start({
      onPublication: (publication) => {
        seen.push(publication.offset);
        if (publication.offset < 3) void engine.publish('echo', json(publication.offset + 1), { priority: 'normal' });
      },
    });
    await engine.subscribe('echo');
    await engine.publish('echo', json(1), { priority: 'normal' });
    t.same(seen, [1, 2, 3]);
  });
});

t.test('memory engine presence specifics', async (t) => {
  const options = (eventRate = 0): PresenceOptions => ({ eventRate, history: { size: 100, ttlMs: 60_000 } });
  async function presenceNode(cluster: MemoryCluster, entries: PresenceEntry[] = []): Promise<{ engine: MemoryEngine; presence: EnginePresence }> {
    const engine = new MemoryEngine({ cluster });
    await engine.start({ onPublication: () => undefined, onPresence: (entry) => entries.push(entry) });
    await engine.subscribe('room'); // exactly: entries go to exact subscriptions only
    t.teardown(() => engine.close());
    return { engine, presence: engine.presence };
  }

  t.test('an outage rejects presence calls and sweeps nothing', async (t) => {
    const clock = manualClock();
    const cluster = new MemoryCluster({ now: clock.now, presenceNodeTtlMs: 1000 });
    const a = await presenceNode(cluster);
    const b = await presenceNode(cluster);
    await b.presence.join('room', { connectionId: 'b1' }, options());
    cluster.crash(b.engine.nodeId);
    cluster.interrupt();
    const code = BrokerErrorCode.engineUnavailable;
    await t.rejects(a.presence.join('room', { connectionId: 'a1' }, options()), { code });
    await t.rejects(a.presence.stats('room'), { code });
    clock.advance(5000);
    cluster.sweepPresence();
    cluster.resume();
    const entries: PresenceEntry[] = [];
    await presenceNode(cluster, entries);
    t.match(await a.presence.stats('room'), { connections: 0 }, 'swept once the backend is back');
    t.match(entries, [{ kind: 'leave', reason: 'expired', member: { connectionId: 'b1' } }]);
  });

  t.test('a stats entry owed by a node that died is written by the sweep', async (t) => {
    const clock = manualClock();
    const cluster = new MemoryCluster({ now: clock.now });
    const entries: PresenceEntry[] = [];
    const a = await presenceNode(cluster, entries);
    const b = await presenceNode(cluster);
    await b.presence.join('room', { connectionId: 'b1' }, options(1));
    t.equal((await b.presence.join('room', { connectionId: 'b2' }, options(1))).outcome, 'coalesced');
    cluster.crash(b.engine.nodeId);
    clock.advance(1000);
    cluster.sweepPresence();
    t.match(entries.at(-1), { kind: 'stats', coalesced: 1, counts: { connections: 2 } });
    t.match(await a.presence.stats('room'), { seq: 2 });
  });

  t.test('a topic with members keeps its epoch past the idle TTL; without them it is forgotten', async (t) => {
    const clock = manualClock();
    const cluster = new MemoryCluster({ now: clock.now, streamIdleTtlMs: 1000, presenceNodeTtlMs: 60_000 });
    const a = await presenceNode(cluster);
    const join = await a.presence.join('room', { connectionId: 'a1' }, options());
    clock.advance(5000);
    t.match(await a.presence.stats('room'), { epoch: join.position.epoch, seq: 1, connections: 1 }, 'kept');
    await a.presence.leave('room', 'a1', 'left', { eventRate: 0, history: { size: 100, ttlMs: 10 } });
    clock.advance(5000);
    await a.engine.publish('other', json(1), { priority: 'normal' });
    const after = await a.presence.stats('room');
    t.not(after.epoch, join.position.epoch, 'a new epoch');
    t.equal(after.seq, 0, 'seq restarts with it');
  });

  t.test('node ids can be injected; the node TTL must be positive', async (t) => {
    t.equal(new MemoryEngine({ nodeId: 'broker-1' }).nodeId, 'broker-1');
    t.throws(() => new MemoryCluster({ presenceNodeTtlMs: 0 }), RangeError);
  });
});
