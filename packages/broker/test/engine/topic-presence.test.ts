import t from 'tap';
import type { PresenceEntry, PresenceOptions, StreamPosition } from '../../src/engine/engine.js';
import { TopicPresence, presenceWindowMs } from '../../src/engine/topic-presence.js';

const anchor: StreamPosition = { offset: 7, epoch: 'e1' };
const options = (eventRate = 0, size = 100, ttlMs = 60_000): PresenceOptions => ({ eventRate, history: { size, ttlMs } });
const t0 = 1_700_000_000_000;

type Step =
  | readonly ['join', node: string, connection: string, user?: string]
  | readonly ['leave', node: string, connection: string];

/** Applies steps one millisecond apart, uncapped; returns each step's outcome and entry flag. */
function run(presence: TopicPresence, steps: readonly Step[]): string[] {
  return steps.map((step, index) => {
    const now = t0 + index;
    const change =
      step[0] === 'join'
        ? presence.join(step[1], { connectionId: step[2], ...(step[3] === undefined ? {} : { user: step[3] }) }, anchor, options(), now)
        : presence.leave(step[1], step[2], 'left', anchor, options(), now);
    const entry = change.entries.at(-1);
    const flag = entry?.kind === 'join' ? `first=${entry.first}` : entry?.kind === 'leave' ? `last=${entry.last}` : '';
    return `${change.outcome}${flag === '' ? '' : ` ${flag}`}`;
  });
}

t.test('joins and leaves: outcomes, first/last and counters', async (t) => {
  const cases: { name: string; steps: Step[]; outcomes: string[]; counts: { connections: number; users: number; anonymous: number } }[] = [
    { name: 'one user, two connections', steps: [['join', 'A', 'c1', 'u'], ['join', 'B', 'c2', 'u']], outcomes: ['written first=true', 'written first=false'], counts: { connections: 2, users: 1, anonymous: 0 } },
    { name: 'a repeated join is unchanged', steps: [['join', 'A', 'c1', 'u'], ['join', 'A', 'c1', 'u']], outcomes: ['written first=true', 'unchanged'], counts: { connections: 1, users: 1, anonymous: 0 } },
    { name: 'the same id from another node is unchanged', steps: [['join', 'A', 'c1', 'u'], ['join', 'B', 'c1', 'v']], outcomes: ['written first=true', 'unchanged'], counts: { connections: 1, users: 1, anonymous: 0 } },
    { name: 'last out only with the last connection', steps: [['join', 'A', 'c1', 'u'], ['join', 'A', 'c2', 'u'], ['leave', 'A', 'c1'], ['leave', 'A', 'c2']], outcomes: ['written first=true', 'written first=false', 'written last=false', 'written last=true'], counts: { connections: 0, users: 0, anonymous: 0 } },
    { name: 'anonymous members are always first and last', steps: [['join', 'A', 'c1'], ['join', 'A', 'c2'], ['leave', 'A', 'c1']], outcomes: ['written first=true', 'written first=true', 'written last=true'], counts: { connections: 1, users: 0, anonymous: 1 } },
    { name: 'leaving a non-member is unchanged', steps: [['leave', 'A', 'c9']], outcomes: ['unchanged'], counts: { connections: 0, users: 0, anonymous: 0 } },
    { name: 'another node cannot remove a member', steps: [['join', 'A', 'c1', 'u'], ['leave', 'B', 'c1']], outcomes: ['written first=true', 'unchanged'], counts: { connections: 1, users: 1, anonymous: 0 } },
    { name: 'a repeated leave is unchanged', steps: [['join', 'A', 'c1', 'u'], ['leave', 'A', 'c1'], ['leave', 'A', 'c1']], outcomes: ['written first=true', 'written last=true', 'unchanged'], counts: { connections: 0, users: 0, anonymous: 0 } },
    { name: 'users counted apart', steps: [['join', 'A', 'c1', 'u'], ['join', 'A', 'c2', 'v'], ['join', 'B', 'c3'], ['join', 'B', 'c4', 'u']], outcomes: ['written first=true', 'written first=true', 'written first=true', 'written first=false'], counts: { connections: 4, users: 2, anonymous: 1 } },
  ];
  for (const c of cases) {
    const presence = new TopicPresence('room');
    t.same(run(presence, c.steps), c.outcomes, `${c.name}: outcomes`);
    t.same(presence.counts, c.counts, `${c.name}: counters`);
    t.equal(presence.memberList().length, c.counts.connections, `${c.name}: counters equal the member set`);
  }
});

t.test('entries get dense seq anchored at the stream position; unchanged writes none', async (t) => {
  const presence = new TopicPresence('room');
  t.same(presence.position(anchor), { offset: 7, epoch: 'e1', seq: 0 });
  const a = presence.join('A', { connectionId: 'c1', user: 'u', info: '{"n":1}' }, anchor, options(), t0);
  t.same(a.position, { offset: 7, epoch: 'e1', seq: 1 });
  t.match(a.entries, [{ topic: 'room', kind: 'join', seq: 1, offset: 7, epoch: 'e1', time: t0, member: { connectionId: 'c1', user: 'u', info: '{"n":1}' }, first: true }]);
  t.same(presence.join('A', { connectionId: 'c1' }, anchor, options(), t0).position.seq, 1, 'unchanged: the current position');
  const later = { offset: 9, epoch: 'e1' };
  const b = presence.leave('A', 'c1', 'disconnected', later, options(), t0 + 1);
  t.match(b.entries, [{ kind: 'leave', seq: 2, offset: 9, reason: 'disconnected', last: true }]);
});

t.test('a new epoch restarts seq and history; members stay', async (t) => {
  const presence = new TopicPresence('room');
  presence.join('A', { connectionId: 'c1', user: 'u' }, anchor, options(), t0);
  presence.join('A', { connectionId: 'c2', user: 'u' }, anchor, options(), t0);
  const next = { offset: 0, epoch: 'e2' };
  t.same(presence.position(next), { offset: 0, epoch: 'e2', seq: 0 });
  t.same(presence.counts, { connections: 2, users: 1, anonymous: 0 });
  t.match(presence.since(next, { epoch: 'e1', seq: 1 }, 10, t0), { recovered: false, recoveryFailure: 'epoch_mismatch' });
  const leave = presence.leave('A', 'c1', 'left', next, options(), t0 + 1);
  t.equal(leave.position.seq, 1);
});

t.test('the rate cap: entries up to the rate per window, the rest coalesced into one stats entry', async (t) => {
  // Each write: [ms after t0, expected outcome, expected entry kinds, expected flushAt offset].
  const cases: { name: string; rate: number; writes: [number, string, string[], number?][] }[] = [
    { name: 'no cap', rate: 0, writes: [[0, 'written', ['join']], [0, 'written', ['join']], [0, 'written', ['join']]] },
    { name: 'cap 2: the third in the window is coalesced', rate: 2, writes: [[0, 'written', ['join']], [10, 'written', ['join']], [20, 'coalesced', [], presenceWindowMs]] },
    {
      name: 'the first write of the next window flushes first',
      rate: 1,
      writes: [[0, 'written', ['join']], [1, 'coalesced', [], presenceWindowMs], [2, 'coalesced', [], presenceWindowMs], [presenceWindowMs, 'written', ['stats', 'join']]],
    },
    {
      name: 'the window starts at its first write',
      rate: 1,
      writes: [[500, 'written', ['join']], [1400, 'coalesced', [], 1500], [1500, 'written', ['stats', 'join']], [1600, 'coalesced', [], 2500]],
    },
  ];
  for (const c of cases) {
    const presence = new TopicPresence('room');
    c.writes.forEach(([at, outcome, kinds, flushAt], index) => {
      const change = presence.join('A', { connectionId: `c${index}` }, anchor, options(c.rate), t0 + at);
      t.equal(change.outcome, outcome, `${c.name}: write ${index} outcome`);
      t.same(change.entries.map((e) => e.kind), kinds, `${c.name}: write ${index} entries`);
      t.equal(change.flushAt, flushAt === undefined ? undefined : t0 + flushAt, `${c.name}: write ${index} flushAt`);
    });
  }
});

t.test('flush writes the pending stats entry only once its window ended, with counters and coalesced', async (t) => {
  const presence = new TopicPresence('room');
  const capped = options(1);
  presence.join('A', { connectionId: 'c1', user: 'u' }, anchor, capped, t0);
  presence.join('A', { connectionId: 'c2', user: 'v' }, anchor, capped, t0 + 1);
  presence.leave('A', 'c1', 'left', anchor, capped, t0 + 2);
  t.equal(presence.pendingFlush, true);
  t.same(presence.flush(anchor, capped, t0 + presenceWindowMs - 1), [], 'not before the window ends');
  const [stats] = presence.flush(anchor, capped, t0 + presenceWindowMs);
  t.match(stats, { kind: 'stats', seq: 2, coalesced: 2, counts: { connections: 1, users: 1, anonymous: 0 } });
  t.equal(presence.pendingFlush, false);
  t.same(presence.flush(anchor, capped, t0 + 5 * presenceWindowMs), [], 'nothing owed: nothing written');
});

t.test("the next window's first change writes the pending stats entry with the counters before it", async (t) => {
  const presence = new TopicPresence('room');
  presence.join('A', { connectionId: 'c1' }, anchor, options(1), t0);
  presence.join('A', { connectionId: 'c2' }, anchor, options(1), t0 + 1);
  const [stats, join] = presence.join('A', { connectionId: 'c3' }, anchor, options(1), t0 + presenceWindowMs).entries;
  t.match(stats, { kind: 'stats', seq: 2, coalesced: 1, counts: { connections: 2 } }, 'what seq 2 reflects: c1 and c2');
  t.match(join, { kind: 'join', seq: 3, member: { connectionId: 'c3' } });
});

t.test('every change is an entry or counted in a stats entry, under any interleaving', async (t) => {
  let seed = 42;
  const random = (n: number): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
  for (const rate of [0, 1, 3, 10]) {
    const presence = new TopicPresence('room');
    const entries: PresenceEntry[] = [];
    let changes = 0;
    let now = t0;
    for (let step = 0; step < 2000; step++) {
      now += random(40);
      const connection = `c${random(30)}`;
      const node = random(2) === 0 ? 'A' : 'B';
      const change =
        random(2) === 0
          ? presence.join(node, { connectionId: connection, ...(random(3) === 0 ? {} : { user: `u${random(5)}` }) }, anchor, options(rate), now)
          : presence.leave(node, connection, 'left', anchor, options(rate), now);
      if (change.outcome !== 'unchanged') changes++;
      entries.push(...change.entries);
      const counts = presence.counts;
      const members = presence.memberList();
      if (counts.connections !== members.length || counts.anonymous !== members.filter((m) => m.user === undefined).length || counts.users !== new Set(members.flatMap((m) => (m.user === undefined ? [] : [m.user]))).size) {
        t.fail(`rate ${rate}: counters differ from the member set at step ${step}`);
      }
    }
    entries.push(...presence.flush(anchor, options(rate), now + presenceWindowMs));
    const accounted = entries.reduce((sum, e) => sum + (e.kind === 'stats' ? e.coalesced : 1), 0);
    t.equal(accounted, changes, `rate ${rate}: entries + coalesced = changes`);
    t.same(entries.map((e) => e.seq), entries.map((_, i) => i + 1), `rate ${rate}: seq dense from 1`);
  }
});

t.test('since: continues after a position while history reaches it', async (t) => {
  // [history size, entries written, since seq, since epoch, expected seqs or failure]
  const cases: [number, number, number, string, number[] | string][] = [
    [10, 5, 0, 'e1', [1, 2, 3, 4, 5]],
    [10, 5, 3, 'e1', [4, 5]],
    [10, 5, 5, 'e1', []],
    [3, 5, 2, 'e1', [3, 4, 5]],
    [3, 5, 1, 'e1', 'expired'],
    [0, 5, 5, 'e1', []],
    [0, 5, 4, 'e1', 'expired'],
    [10, 5, 6, 'e1', 'epoch_mismatch'],
    [10, 5, -1, 'e1', 'epoch_mismatch'],
    [10, 5, 1.5, 'e1', 'epoch_mismatch'],
    [10, 5, 2, 'e0', 'epoch_mismatch'],
  ];
  for (const [size, written, seq, epoch, expected] of cases) {
    const presence = new TopicPresence('room');
    for (let i = 0; i < written; i++) presence.join('A', { connectionId: `c${i}` }, anchor, options(0, size), t0);
    const result = presence.since(anchor, { epoch, seq }, 100, t0);
    const name = `size ${size}, ${written} written, since ${epoch}:${seq}`;
    if (typeof expected === 'string') t.match(result, { recovered: false, entries: [], recoveryFailure: expected }, name);
    else t.same({ recovered: result.recovered, seqs: result.entries.map((e) => e.seq) }, { recovered: true, seqs: expected }, name);
    t.equal(result.position.seq, written, `${name}: position`);
  }
});

t.test('since: entries expire by TTL, and limit bounds the answer', async (t) => {
  const presence = new TopicPresence('room');
  for (let i = 0; i < 4; i++) presence.join('A', { connectionId: `c${i}` }, anchor, options(0, 10, 1000), t0 + i * 100);
  t.same(presence.since(anchor, { epoch: 'e1', seq: 1 }, 2, t0 + 1050).entries.map((e) => e.seq), [2, 3], 'the first expired; limit 2');
  t.match(presence.since(anchor, { epoch: 'e1', seq: 0 }, 10, t0 + 1050), { recovered: false, recoveryFailure: 'expired' }, 'since 0 needs seq 1');
});

t.test('leaveNode removes exactly one node’s members, through the cap', async (t) => {
  const presence = new TopicPresence('room');
  presence.join('A', { connectionId: 'a1', user: 'u' }, anchor, options(), t0);
  presence.join('B', { connectionId: 'b1', user: 'u' }, anchor, options(), t0);
  presence.join('B', { connectionId: 'b2' }, anchor, options(), t0);
  t.same(presence.nodes, ['A', 'B']);
  const entries = presence.leaveNode('B', 'expired', anchor, options(1), t0 + 5000);
  t.match(entries, [{ kind: 'leave', reason: 'expired', member: { connectionId: 'b1' }, last: false }]);
  t.equal(presence.pendingFlush, true, 'the second leave was coalesced');
  t.same(presence.membersOf('B'), []);
  t.same(presence.membersOf('A'), ['a1']);
  t.same(presence.nodes, ['A']);
  t.same(presence.counts, { connections: 1, users: 1, anonymous: 0 });
});
