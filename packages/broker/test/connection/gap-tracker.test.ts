import t from 'tap';
import { GapTracker } from '../../src/connection/gap-tracker.js';

t.test('losses of a topic merge into one range with a count', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', 5, 'dropped');
  gaps.record('a', 3, 'dropped');
  gaps.record('a', 9, 'dropped');
  t.equal(gaps.size, 1);
  t.same(gaps.take(), { topic: 'a', count: 3, from: 3, to: 9, reason: 'dropped' });
  t.equal(gaps.take(), undefined);
});

t.test('topics come out oldest first', async (t) => {
  const gaps = new GapTracker();
  gaps.record('b', 1, 'dropped');
  gaps.record('a', 1, 'dropped');
  gaps.record('b', 2, 'dropped');
  t.same(gaps.peek().map((gap) => gap.topic), ['b', 'a'], 'peek does not consume');
  t.equal(gaps.take()?.topic, 'b');
  t.equal(gaps.take()?.topic, 'a');
});

t.test('a drop outranks a conflation in the reason', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', 1, 'conflated');
  t.equal(gaps.peek()[0]?.reason, 'conflated');
  gaps.record('a', 2, 'dropped');
  gaps.record('a', 3, 'conflated');
  t.same(gaps.take(), { topic: 'a', count: 3, from: 1, to: 3, reason: 'dropped' });
});

t.test('losses without offsets are counted without a range', async (t) => {
  const gaps = new GapTracker();
  gaps.record('a', undefined, 'dropped');
  gaps.record('a', undefined, 'dropped');
  t.same(gaps.take(), { topic: 'a', count: 2, reason: 'dropped' });
  gaps.record('b', undefined, 'dropped');
  gaps.record('b', 4, 'dropped');
  t.same(gaps.take(), { topic: 'b', count: 2, from: 4, to: 4, reason: 'dropped' });
  gaps.record('c', 1, 'dropped');
  gaps.clear();
  t.equal(gaps.size, 0);
});
