import t from 'tap';
import { PositionTracker } from '../src/positions.js';

t.test('in-order deliveries advance the contiguous position', async (t) => {
  const tracker = new PositionTracker();
  t.equal(tracker.position('a'), undefined, 'unknown before the first delivery');
  for (const offset of [41, 42, 43]) t.same(tracker.deliver('a', 'e1', offset), { status: 'new' });
  t.same(tracker.position('a'), { offset: 43, epoch: 'e1' });
  t.equal(tracker.size, 1);
});

t.test('an offset jump holds the position until the hole is filled (priorities reorder, protocol.md §6)', async (t) => {
  const tracker = new PositionTracker();
  tracker.deliver('a', 'e1', 10);
  tracker.deliver('a', 'e1', 13);
  tracker.deliver('a', 'e1', 12);
  t.same(tracker.position('a'), { offset: 10, epoch: 'e1' }, '11 has not arrived: the position stays at 10');
  tracker.deliver('a', 'e1', 11);
  t.same(tracker.position('a'), { offset: 13, epoch: 'e1' });
});

t.test('a gap covers its offsets so the position moves past them (protocol.md §8.3)', async (t) => {
  const tracker = new PositionTracker();
  tracker.deliver('a', 'e1', 117);
  tracker.deliver('a', 'e1', 132);
  tracker.cover('a', 'e1', 118, 131);
  t.same(tracker.position('a'), { offset: 132, epoch: 'e1' });
  tracker.cover('a', 'e2', 133, 140);
  t.same(tracker.position('a'), { offset: 132, epoch: 'e1' }, 'a gap of another epoch is ignored');
  tracker.cover('b', 'e1', 1, 5);
  t.equal(tracker.position('b'), undefined, 'a gap on an unseen topic starts nothing');
  tracker.deliver('a', 'e1', 140);
  tracker.cover('a', 'e1', 133, 139);
  t.same(tracker.position('a'), { offset: 140, epoch: 'e1' }, 'a gap that arrives after later messages closes the hole too');
});

t.test('replays overlapping what arrived are duplicates', async (t) => {
  const tracker = new PositionTracker();
  for (const offset of [5, 6, 8, 9]) tracker.deliver('a', 'e1', offset);
  t.same(tracker.position('a'), { offset: 6, epoch: 'e1' });
  // After a reconnect, since = 6: the broker replays 7, 8, 9, 10.
  t.same(tracker.deliver('a', 'e1', 7), { status: 'new' });
  t.same(tracker.deliver('a', 'e1', 8), { status: 'duplicate' });
  t.same(tracker.deliver('a', 'e1', 9), { status: 'duplicate' });
  t.same(tracker.deliver('a', 'e1', 10), { status: 'new' });
  t.same(tracker.deliver('a', 'e1', 5), { status: 'duplicate' });
  t.same(tracker.position('a'), { offset: 10, epoch: 'e1' });
});

t.test('an older offset than the first seen is owed too: the range starts lower', async (t) => {
  const tracker = new PositionTracker();
  tracker.deliver('a', 'e1', 45); // high priority overtook 43 and 44
  tracker.deliver('a', 'e1', 43);
  t.same(tracker.position('a'), { offset: 43, epoch: 'e1' }, 'since must not skip 44');
  tracker.deliver('a', 'e1', 44);
  t.same(tracker.position('a'), { offset: 45, epoch: 'e1' });
});

t.test('a seeded position counts everything up to it as handled', async (t) => {
  const tracker = new PositionTracker();
  tracker.seed('a', { offset: 41, epoch: 'e7' });
  t.same(tracker.position('a'), { offset: 41, epoch: 'e7' });
  t.same(tracker.deliver('a', 'e7', 40), { status: 'duplicate' });
  t.same(tracker.deliver('a', 'e7', 41), { status: 'duplicate' });
  t.same(tracker.deliver('a', 'e7', 42), { status: 'new' });
  t.same(tracker.position('a'), { offset: 42, epoch: 'e7' });
  tracker.cover('a', 'e7', 30, 45);
  t.same(tracker.position('a'), { offset: 45, epoch: 'e7' });
  tracker.seed('b', { offset: 0, epoch: 'e1' });
  tracker.deliver('b', 'e1', 1);
  t.same(tracker.position('b'), { offset: 1, epoch: 'e1' }, 'offset 0 means "before the first message"');
});

t.test('a new epoch resets the topic and says so (history was lost, protocol.md §8.1)', async (t) => {
  const tracker = new PositionTracker();
  tracker.deliver('a', 'old', 500);
  t.same(tracker.deliver('a', 'new', 3), { status: 'epoch_changed', previous: { offset: 500, epoch: 'old' } });
  t.same(tracker.position('a'), { offset: 3, epoch: 'new' });
  t.same(tracker.deliver('a', 'new', 4), { status: 'new' });
});

t.test('holes are bounded: past maxHoles the oldest is given up', async (t) => {
  const tracker = new PositionTracker({ maxHoles: 2 });
  for (const offset of [1, 3, 5]) tracker.deliver('a', 'e', offset);
  t.same(tracker.position('a'), { offset: 1, epoch: 'e' }, 'two holes are kept');
  tracker.deliver('a', 'e', 7);
  t.same(tracker.position('a'), { offset: 3, epoch: 'e' }, 'a third hole gives up the oldest (2)');
  tracker.deliver('a', 'e', 4);
  t.same(tracker.position('a'), { offset: 5, epoch: 'e' });
});

t.test('positions and forget', async (t) => {
  const tracker = new PositionTracker();
  tracker.deliver('a', 'e', 1);
  tracker.deliver('b', 'f', 9);
  t.same(Object.fromEntries(tracker.positions()), { a: { offset: 1, epoch: 'e' }, b: { offset: 9, epoch: 'f' } });
  tracker.forget('a');
  t.equal(tracker.position('a'), undefined);
  t.equal(tracker.size, 1);
});
