import t from 'tap';
import { RateMeter } from '../../src/console/rate-meter.js';
import { TopicRanking } from '../../src/console/topic-ranking.js';
import { TopicActivity } from '../../src/stats.js';

/** Busiest topics from closed windows, and rates from samples: both with an injected clock. */

t.test('the busiest topics of the last closed window, by publications per second', async (t) => {
  const activity = new TopicActivity();
  const ranking = new TopicRanking(activity, 0);
  for (let index = 0; index < 4; index++) activity.record('busy', 3);
  activity.record('quiet', 1);
  t.same(ranking.busiest(500, 10).topics, [], 'the first window is still open');
  const ranked = ranking.busiest(2000, 10);
  t.equal(ranked.windowSeconds, 2);
  t.same(ranked.topics, [
    { topic: 'busy', publicationsPerSecond: 2, deliveriesPerSecond: 6, subscribers: 3 },
    { topic: 'quiet', publicationsPerSecond: 0.5, deliveriesPerSecond: 0.5, subscribers: 1 },
  ]);
  t.same(ranking.busiest(2500, 1).topics.map((row) => row.topic), ['busy'], 'readers within the next window see the same one');
  t.same(ranking.busiest(3000, 10).topics, [], 'a window without publications');
});

t.test('topic activity is bounded: topics beyond the cap are counted as untracked', async (t) => {
  const activity = new TopicActivity();
  for (let index = 0; index < TopicActivity.maxTopics + 5; index++) activity.record(`t.${index}`, 1);
  activity.record('t.0', 2);
  const ended = activity.rotate();
  t.equal(ended.topics.size, TopicActivity.maxTopics);
  t.equal(ended.untracked, 5);
  t.same(ended.topics.get('t.0'), { publications: 2, deliveries: 3, subscribers: 2 });
  t.equal(activity.rotate().topics.size, 0, 'rotating starts an empty window');
});

t.test('rates come from the newest sample at least a window old', async (t) => {
  const meter = new RateMeter<'n'>(2000, 250);
  t.same(meter.rates(0, { n: 0 }), { n: 0 }, 'no rate from one sample');
  t.same(meter.rates(1000, { n: 100 }), { n: 100 });
  t.equal(Math.round(meter.rates(1100, { n: 110 }).n), 100, 'a reading too close to the last is not kept, but is measured');
  t.same(meter.rates(3000, { n: 300 }), { n: 100 });
  t.same(meter.rates(5000, { n: 300 }), { n: 0 }, 'no growth over the window');
  t.same(meter.rates(6000, { n: 250 }), { n: 0 }, 'a counter that went back (a reset) is not a negative rate');
});
