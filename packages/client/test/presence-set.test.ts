// PresenceSet (design §5, protocol.md §13.4): a snapshot plus the entries after it, entries buffered while a
// snapshot is awaited and dropped at or below its seq, in stream order, per level, and stale on a new epoch.
import t from 'tap';
import type { JoinMessage, LeaveMessage, PresenceStatsMessage } from '@switchboard/protocol';
import { PresenceSet, type PresenceSnapshotInput } from '../src/presence-set.js';

type Info = { name: string };
const topic = 'chat.room1';

function join(seq: number, connection: string, user: string | undefined, first: boolean, epoch = 'e1'): JoinMessage {
  return { op: 'join', topic, epoch, offset: 4, seq, connection, ...(user === undefined ? {} : { user }), info: { name: `${user ?? 'anon'}` }, first };
}

function leave(seq: number, connection: string, user: string | undefined, last: boolean, epoch = 'e1'): LeaveMessage {
  return { op: 'leave', topic, epoch, offset: 4, seq, connection, ...(user === undefined ? {} : { user }), last, reason: 'left' };
}

function stats(seq: number, connections: number, users: number, anonymous: number, coalesced = 0): PresenceStatsMessage {
  return { op: 'presence_stats', topic, epoch: 'e1', offset: 5, seq, connections, users, anonymous, coalesced };
}

const snapshot: PresenceSnapshotInput = {
  epoch: 'e1',
  offset: 4,
  seq: 10,
  stats: { connections: 3, users: 1, anonymous: 1 },
  truncated: false,
  data: { users: { alice: { c_a1: { name: 'Alice' }, c_a2: { name: 'Alice' } } }, anonymous: { c_x: null } },
};

/** The members as plain data, to compare. */
function members(set: PresenceSet<Info>) {
  return {
    users: Object.fromEntries([...set.users].map(([user, connections]) => [user, Object.fromEntries(connections)])),
    anonymous: Object.fromEntries(set.anonymous),
  };
}

t.test('a new set buffers entries until its snapshot, then applies those after its seq in seq order', async (t) => {
  const set = new PresenceSet<Info>('connection');
  t.ok(set.awaiting);
  t.equal(set.apply(join(12, 'c_b1', 'bob', true)), 'buffered');
  t.equal(set.apply(join(9, 'c_old', 'carol', true)), 'buffered', 'at or below the snapshot: dropped once it arrives');
  t.equal(set.apply(leave(10, 'c_x', undefined, true)), 'buffered', 'exactly at the snapshot seq: already in it');
  t.equal(set.apply(leave(11, 'c_a2', 'alice', false)), 'buffered', 'arrived after 12, applies before it');
  t.equal(set.applySnapshot(snapshot), true);
  t.notOk(set.awaiting);
  t.same(members(set), {
    users: { alice: { c_a1: { name: 'Alice' } }, bob: { c_b1: { name: 'bob' } } },
    anonymous: { c_x: null },
  });
  t.same(set.position, { epoch: 'e1', offset: 4, seq: 12 });
  t.same(set.counts, { connections: 3, users: 2, anonymous: 1 }, 'alice -1 connection, bob +1 user and connection');
});

t.test('live entries apply in order; duplicates and replays at or below seq are dropped', async (t) => {
  const set = new PresenceSet<Info>('connection');
  set.applySnapshot(snapshot);
  const users = set.users;
  t.equal(set.apply(join(11, 'c_b1', 'bob', true)), 'applied');
  t.equal(set.apply(join(11, 'c_b1', 'bob', true)), 'dropped', 'the same entry again (a replay overlapping live)');
  t.equal(set.apply(join(7, 'c_z', 'zed', true)), 'dropped');
  t.equal(set.apply(join(12, 'c_b2', 'bob', false)), 'applied');
  t.equal(set.apply(leave(13, 'c_b1', 'bob', false)), 'applied');
  t.same([...set.users.get('bob')!.keys()], ['c_b2'], 'bob keeps his other connection');
  t.equal(set.apply(leave(14, 'c_b2', 'bob', true)), 'applied');
  t.notOk(set.users.has('bob'), 'last out: the user is gone');
  t.equal(set.apply(join(15, 'c_y', undefined, true)), 'applied');
  t.same(members(set).anonymous, { c_x: null, c_y: { name: 'anon' } });
  t.equal(set.users, users, 'the same live map throughout');
  t.same(set.counts, { connections: 4, users: 1, anonymous: 2 });
});

t.test('level user: the last leave removes the user whichever connection it names', async (t) => {
  const set = new PresenceSet<Info>('user');
  set.applySnapshot(snapshot);
  t.equal(set.apply(leave(15, 'c_a2', 'alice', true)), 'applied');
  t.notOk(set.users.has('alice'));
  t.same(set.counts, { connections: 3, users: 0, anonymous: 1 }, 'connections follow snapshots and stats only at level user');
  t.equal(set.apply(stats(16, 1, 0, 1)), 'applied');
  t.same(set.counts, { connections: 1, users: 0, anonymous: 1 });
});

t.test('a stats entry sets the counts and moves the position; members stay', async (t) => {
  const set = new PresenceSet<Info>('connection');
  set.applySnapshot(snapshot);
  t.equal(set.apply(stats(30, 900, 800, 5, 57)), 'applied');
  t.same(set.counts, { connections: 900, users: 800, anonymous: 5 });
  t.same(set.position, { epoch: 'e1', offset: 5, seq: 30 });
  t.ok(set.users.has('alice'), 'the caller re-reads after coalesced > 0; the set does not guess');
});

t.test('another epoch is stale; a resync takes a fresh snapshot and buffers meanwhile', async (t) => {
  const set = new PresenceSet<Info>('connection');
  set.applySnapshot(snapshot);
  t.equal(set.apply(join(1, 'c_n', 'nina', true, 'e2')), 'stale');
  set.awaitSnapshot();
  t.ok(set.users.has('alice'), 'members stay visible until the snapshot arrives');
  t.equal(set.apply(join(3, 'c_m', 'max', true, 'e2')), 'buffered');
  t.equal(set.apply(join(1, 'c_old', 'old', true, 'e1')), 'buffered');
  t.equal(set.applySnapshot({ epoch: 'e2', offset: 0, seq: 2, stats: { connections: 1, users: 1, anonymous: 0 }, truncated: false, data: { users: { nina: { c_n: null } }, anonymous: {} } }), true);
  t.same(members(set), { users: { nina: { c_n: null }, max: { c_m: { name: 'max' } } }, anonymous: {} }, 'entries of the old epoch are dropped');
});

t.test('a snapshot older than what the set shows is ignored; a newer one replaces it', async (t) => {
  const set = new PresenceSet<Info>('connection');
  set.applySnapshot(snapshot);
  set.apply(join(11, 'c_b1', 'bob', true));
  t.equal(set.applySnapshot({ ...snapshot, seq: 11 }), false);
  t.ok(set.users.has('bob'));
  t.equal(set.applySnapshot({ ...snapshot, seq: 12 }), true, 'a later snapshot (an app presence() call) is as good as any');
  t.notOk(set.users.has('bob'));
});

t.test('a truncated snapshot keeps counts only; events move counts, not members', async (t) => {
  const set = new PresenceSet<Info>('connection');
  set.applySnapshot({ epoch: 'e1', offset: 0, seq: 5, stats: { connections: 5000, users: 4000, anonymous: 0 }, truncated: true });
  t.ok(set.truncated);
  set.apply(join(6, 'c_b1', 'bob', true));
  t.equal(set.users.size, 0, 'a partial list would lie');
  t.same(set.counts, { connections: 5001, users: 4001, anonymous: 0 });
});

t.test('before any snapshot or after reset, entries wait; too many make the set stale', async (t) => {
  const set = new PresenceSet<Info>('connection');
  set.applySnapshot(snapshot);
  set.reset();
  t.equal(set.position, undefined);
  let outcome = '';
  for (let seq = 11; seq < 11 + 10_001; seq++) outcome = set.apply(join(seq, `c_${seq}`, `u${seq}`, true));
  t.equal(outcome, 'stale');
  t.equal(set.applySnapshot(snapshot), 'stale', 'the snapshot applies, and says a fresh one is needed');
});
