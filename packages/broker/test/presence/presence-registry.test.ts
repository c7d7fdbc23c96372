import pino from 'pino';
import t from 'tap';
import type { PresenceEntry } from '../../src/engine/engine.js';
import { MemoryCluster } from '../../src/engine/engine-memory-cluster.js';
import { MemoryEngine } from '../../src/engine/engine-memory.js';
import { type PresenceChange, PresenceRegistry } from '../../src/presence/presence-registry.js';
import { eventually } from '../helpers/start-broker.js';

/** The registry over a real memory engine: what it writes, in which order, and when it flushes. */

async function setup(t: { teardown(fn: () => unknown): void }, eventRate = 0) {
  // An hour between the cluster's own sweeps: only the registry's timer flushes within a test.
  const engine = new MemoryEngine({ cluster: new MemoryCluster({ presenceNodeTtlMs: 3_600_000 }) });
  const entries: PresenceEntry[] = [];
  const changes: PresenceChange[] = [];
  await engine.start({ onPublication: () => undefined, onPresence: (entry) => entries.push(entry) });
  await engine.subscribe('chat.room1'); // exactly: engines hand entries to exact subscriptions only
  const presence = engine.presence;
  if (presence === undefined) throw new Error('the memory engine has presence');
  const registry = new PresenceRegistry({
    engine: presence,
    patterns: ['chat.>'],
    write: { eventRate, history: { size: 100, ttlMs: 60_000 } },
    maxMembers: 10,
    logger: pino({ level: 'silent' }),
    onChange: (change) => changes.push(change),
  });
  t.teardown(async () => {
    registry.close();
    await engine.close();
  });
  return { registry, entries, presence, changes };
}

t.test('serves exact topics that PRESENCE matches, never patterns', async (t) => {
  const { registry } = await setup(t);
  t.ok(registry.serves('chat.room1'));
  t.ok(registry.serves('chat.a.b'));
  t.notOk(registry.serves('chat.*'), 'a wildcard is never a member');
  t.notOk(registry.serves('chat.>'));
  t.notOk(registry.serves('news.today'));
});

t.test('a leave issued while its join is in flight is written after it: no member is left behind', async (t) => {
  const { registry, entries } = await setup(t);
  const joined = registry.join('chat.room1', { connectionId: 'c1', user: 'alice', info: '{"name":"Alice"}' });
  const left = registry.leave('chat.room1', 'c1', 'disconnected');
  await Promise.all([joined, left]);
  t.same(
    entries.map((entry) => entry.kind),
    ['join', 'leave'],
  );
  t.match(await registry.stats('chat.room1'), { connections: 0, users: 0 });
  t.equal(registry.memberCount, 0);
});

t.test('list groups members by user with their info spliced in', async (t) => {
  const { registry } = await setup(t);
  await registry.join('chat.room1', { connectionId: 'c1', user: 'alice', info: '{"name":"Alice"}' });
  await registry.join('chat.room1', { connectionId: 'c2', user: 'alice' });
  await registry.join('chat.room1', { connectionId: 'c3' });
  const listing = await registry.list('chat.room1');
  t.match(listing, { counts: { connections: 3, users: 1, anonymous: 1 }, truncated: false });
  t.same(JSON.parse(listing.dataJson ?? 'null'), { users: { alice: { c1: { name: 'Alice' }, c2: null } }, anonymous: { c3: null } });
  t.equal(registry.memberCount, 3);
});

t.test('a change coalesced past the event rate is flushed by the timer at flushAt', async (t) => {
  const { registry, entries } = await setup(t, 1);
  await registry.join('chat.room1', { connectionId: 'c1' });
  await registry.join('chat.room1', { connectionId: 'c2' });
  await registry.join('chat.room1', { connectionId: 'c3' });
  t.same(entries.map((entry) => entry.kind), ['join'], 'one entry, two changes coalesced');
  // Nothing else calls the engine: only the registry's timer can write the stats entry.
  await eventually(() => entries.length === 2, 5000, 'the coalesced stats entry');
  t.match(entries[1], { kind: 'stats', coalesced: 2, counts: { connections: 3 } });
});

t.test('reconcile re-joins what the engine lost and leaves what the node no longer has, each with its entry', async (t) => {
  const { registry, entries, presence: engine, changes } = await setup(t);
  const write = { eventRate: 0, history: { size: 100, ttlMs: 60_000 } };
  await registry.join('chat.room1', { connectionId: 'c1', user: 'alice', info: '{"name":"Alice"}' });
  await registry.join('chat.room1', { connectionId: 'c2', user: 'bob' });
  // As a sweep of this node would: c1 gone from the engine; and a stray c9 the node never had (a late join).
  await engine.leave('chat.room1', 'c1', 'expired', write);
  await engine.join('chat.room1', { connectionId: 'c9', user: 'eve' }, write);
  entries.length = 0;
  changes.length = 0;
  await registry.reconcileAll();
  t.same(
    changes.map((change) => `${change.kind} ${change.connectionId}${change.kind === 'removed' ? ` ${change.reason}` : ''}`).sort(),
    ['added c1', 'removed c9 disconnected'],
    'each reconcile write is a change too (webhooks hear of it)',
  );
  t.same(
    entries.map((entry) => (entry.kind === 'stats' ? 'stats' : `${entry.kind} ${entry.member.connectionId}${entry.kind === 'leave' ? ` ${entry.reason}` : ''}`)).sort(),
    ['join c1', 'leave c9 disconnected'],
  );
  const rejoined = entries.find((entry) => entry.kind === 'join');
  t.match(rejoined, { member: { user: 'alice', info: '{"name":"Alice"}' } }, 'the re-join carries the member as first written');
  t.same([...(await engine.ownMembers('chat.room1'))].sort(), ['c1', 'c2']);
  t.match(await registry.stats('chat.room1'), { connections: 2, users: 2 });
  entries.length = 0;
  await registry.reconcileAll();
  t.same(entries, [], 'a second reconcile finds nothing to do');
});

t.test('settled waits for the leaves queued so far (a shutdown\'s), so they are written when it resolves', async (t) => {
  const { registry } = await setup(t);
  await registry.join('chat.room1', { connectionId: 'c1', user: 'alice' });
  await registry.join('chat.room1', { connectionId: 'c2', user: 'bob' });
  void registry.leave('chat.room1', 'c1', 'disconnected');
  void registry.leave('chat.room1', 'c2', 'disconnected');
  t.equal(await registry.settled(5_000), true);
  t.match(await registry.stats('chat.room1'), { connections: 0, users: 0 });
});

t.test('shutdown writes the queued leaves, then unregisters: members left over leave disconnected', async (t) => {
  const { registry, entries } = await setup(t);
  await registry.join('chat.room1', { connectionId: 'c1', user: 'alice' });
  await registry.join('chat.room1', { connectionId: 'c2', user: 'bob' });
  void registry.leave('chat.room1', 'c1', 'left');
  await registry.shutdown(5_000);
  const leaves = entries.flatMap((entry) => (entry.kind === 'leave' ? [`${entry.member.connectionId} ${entry.reason}`] : []));
  t.same(leaves.sort(), ['c1 left', 'c2 disconnected'], 'the queued leave keeps its reason; the unregister removes the rest');
  t.match(await registry.stats('chat.room1'), { connections: 0, users: 0 });
});
