import t from 'tap';
import { GapDetector } from '../../src/engine/redis-delivery.js';
import { RedisKeyspace } from '../../src/engine/redis-keyspace.js';
import { RedisSubscriptions } from '../../src/engine/redis-subscriptions.js';

const keyspace = new RedisKeyspace({ prefix: 'sb:', buckets: undefined, wildcardChannelDepth: 2 });

t.test('subscriptions: channels are needed while any pattern needs them', async (t) => {
  const subscriptions = new RedisSubscriptions(keyspace);
  const star = subscriptions.add('orders.*');
  t.equal(subscriptions.add('orders.*'), star, 'adding twice is once');
  subscriptions.add('orders.>');
  subscriptions.add('orders.eu');
  t.same([...subscriptions.channels.keys()].sort(), ['sb:p:orders', 'sb:t:orders.eu']);
  t.equal(subscriptions.patternCount, 3);
  t.same([...subscriptions.match('orders.eu')].map((s) => s.pattern).sort(), ['orders.*', 'orders.>', 'orders.eu']);
  t.same(subscriptions.remove('orders.*'), [], 'orders.> still needs the prefix channel');
  t.same(subscriptions.remove('orders.>'), ['sb:p:orders']);
  t.same(subscriptions.remove('never'), []);
  t.equal(subscriptions.channelCount, 1);
});

t.test('gaps: an offset skipping ahead on a topic subscribed without a break is reported', async (t) => {
  const subscriptions = new RedisSubscriptions(keyspace);
  subscriptions.add('a');
  subscriptions.activateAll(1);
  const matches = subscriptions.match('a');
  const gaps = new GapDetector(10);
  t.equal(gaps.observe('a', 'e', 1, matches, 2, true), undefined, 'the first offset seen says nothing');
  t.equal(gaps.observe('a', 'e', 2, matches, 3, true), undefined, 'the next one');
  t.equal(gaps.observe('a', 'e', 2, matches, 4, true), undefined, 'a copy is no gap...');
  t.same(gaps.observe('a', 'e', 5, matches, 5, true), { epoch: 'e', from: 3, to: 4 }, '...and no progress either: 3 and 4 are missing');
  t.same(gaps.observe('a', 'f', 3, matches, 6, true), { epoch: 'f', from: 1, to: 2 }, 'a new epoch starts at 1');
  t.equal(gaps.observe('a', 'f', 5, matches, 7, false), undefined, 'not checked while the link is down');
});

t.test('gaps: not reported when the subscription broke or began after the last delivery, or the topic was forgotten', async (t) => {
  const subscriptions = new RedisSubscriptions(keyspace);
  subscriptions.add('a');
  subscriptions.add('b');
  const gaps = new GapDetector(1);
  subscriptions.activateAll(1);
  gaps.observe('a', 'e', 1, subscriptions.match('a'), 2, true);
  subscriptions.deactivateAll();
  subscriptions.activateAll(3);
  t.equal(gaps.observe('a', 'e', 3, subscriptions.match('a'), 4, true), undefined, 'resubscribed since offset 1: 2 may have been missed legitimately');
  gaps.observe('b', 'e', 1, subscriptions.match('b'), 5, true);
  t.equal(gaps.observe('a', 'e', 9, subscriptions.match('a'), 6, true), undefined, 'a was forgotten (limit 1) when b arrived');
  gaps.clear();
  t.equal(gaps.observe('a', 'e', 20, subscriptions.match('a'), 7, true), undefined, 'cleared: nothing to compare with');
});
