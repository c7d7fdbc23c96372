import fc from 'fast-check';
import t from 'tap';
import { GapTracker } from '../../src/connection/gap-tracker.js';

t.test('consecutive lost offsets of a topic merge into one run', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', 'e1', 5, 'dropped');
  gaps.record('a', 'e1', 6, 'dropped');
  gaps.record('a', 'e1', 4, 'dropped');
  t.equal(gaps.size, 1);
  t.same(gaps.take(), { topic: 'a', epoch: 'e1', count: 3, from: 4, to: 6, reason: 'dropped' });
  t.equal(gaps.take(), undefined);
});

t.test('a run never spans an offset that was not lost, nor two epochs', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', 'e1', 5, 'dropped');
  gaps.record('a', 'e1', 7, 'dropped'); // 6 was delivered or is still queued
  gaps.record('a', 'e2', 8, 'dropped');
  t.same(gaps.peek(), [
    { topic: 'a', epoch: 'e1', count: 1, from: 5, to: 5, reason: 'dropped' },
    { topic: 'a', epoch: 'e1', count: 1, from: 7, to: 7, reason: 'dropped' },
    { topic: 'a', epoch: 'e2', count: 1, from: 8, to: 8, reason: 'dropped' },
  ]);
  gaps.record('a', 'e1', 8, 'dropped');
  t.equal(gaps.size, 3, 'extends the latest run of its epoch');
  t.same(gaps.peek()[1], { topic: 'a', epoch: 'e1', count: 2, from: 7, to: 8, reason: 'dropped' });
});

t.test('a loss between two runs joins them into the older notice', async (t) => {
  const gaps = new GapTracker();
  gaps.record('x', undefined, 1, 'dropped');
  gaps.record('a', 'e1', 7, 'dropped');
  gaps.record('a', 'e1', 5, 'conflated');
  gaps.record('a', 'e1', 6, 'conflated');
  t.same(gaps.peek(), [
    { topic: 'x', count: 1, from: 1, to: 1, reason: 'dropped' },
    { topic: 'a', epoch: 'e1', count: 3, from: 5, to: 7, reason: 'dropped' },
  ]);
  gaps.record('a', 'e1', 8, 'dropped');
  gaps.record('a', 'e1', 4, 'dropped');
  t.same(gaps.peek()[1], { topic: 'a', epoch: 'e1', count: 5, from: 4, to: 8, reason: 'dropped' }, 'still indexed at both ends');
});

t.test('property: notices are exactly the maximal runs of lost offsets', async (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 40 }), (offsets) => {
      const gaps = new GapTracker();
      for (const offset of offsets) gaps.record('a', undefined, offset, 'dropped');
      const lost = new Set(offsets);
      const runs: string[] = [];
      for (let offset = 1; offset <= 40; offset++) {
        if (lost.has(offset) && !lost.has(offset - 1)) {
          let end = offset;
          while (lost.has(end + 1)) end++;
          runs.push(`${offset}-${end}x${end - offset + 1}`);
        }
      }
      const notices = gaps.peek().map((gap) => `${gap.from}-${gap.to}x${gap.count}`);
      return notices.sort().join() === runs.sort().join();
    }),
  );
  t.pass();
});

t.test('notices come out oldest first; a run closed by take() is not extended', async (t) => {
  const gaps = new GapTracker();
  gaps.record('b', undefined, 1, 'dropped');
  gaps.record('a', undefined, 1, 'dropped');
  t.same(gaps.peek().map((gap) => gap.topic), ['b', 'a'], 'peek does not consume');
  t.same(gaps.take(), { topic: 'b', count: 1, from: 1, to: 1, reason: 'dropped' });
  gaps.record('b', undefined, 2, 'dropped');
  t.same(gaps.take(), { topic: 'a', count: 1, from: 1, to: 1, reason: 'dropped' });
  t.same(gaps.take(), { topic: 'b', count: 1, from: 2, to: 2, reason: 'dropped' }, 'a new notice');
});

t.test('a drop outranks a conflation in the reason', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', undefined, 1, 'conflated');
  t.equal(gaps.peek()[0]?.reason, 'conflated');
  gaps.record('a', undefined, 2, 'dropped');
  gaps.record('a', undefined, 3, 'conflated');
  t.same(gaps.take(), { topic: 'a', count: 3, from: 1, to: 3, reason: 'dropped' });
});

t.test('losses without offsets are counted without a range', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', undefined, undefined, 'dropped');
  gaps.record('a', undefined, undefined, 'dropped');
  t.same(gaps.take(), { topic: 'a', count: 2, reason: 'dropped' });
  gaps.record('b', undefined, undefined, 'dropped');
  gaps.record('b', undefined, 4, 'dropped');
  t.equal(gaps.size, 2, 'a loss with an offset is not merged into a count-only notice');
  gaps.clear();
  t.equal(gaps.size, 0);
});
