import t from 'tap';
import { type OrderedPublish, PublishOrder } from '../src/publish-order.js';

/** Publisher order across retries, on its own: no connection, no clock. */

function publishes(...specs: [number, string][]): OrderedPublish[] {
  return specs.map(([seq, topic]) => ({ seq, topic }));
}

function opened(list: readonly OrderedPublish[]): PublishOrder<OrderedPublish> {
  const order = new PublishOrder<OrderedPublish>();
  for (const publish of list) order.opened(publish);
  return order;
}

t.test('a later publish of the topic overtakes once it may have been applied; one refused for sure does not', async (t) => {
  const [a1, b2, a3, a4] = publishes([1, 'a'], [2, 'b'], [3, 'a'], [4, 'a']) as [OrderedPublish, OrderedPublish, OrderedPublish, OrderedPublish];
  const order = opened([a1, b2, a3, a4]);
  for (const publish of [a1, b2, a3, a4]) {
    t.ok(order.admit(publish), 'nothing waits for a retry: admitted');
    order.sent(publish);
  }
  t.notOk(order.overtaken(a1));
  t.ok(order.awaitingLater(a1), 'a3 and a4 are unanswered');
  order.ended(b2, true);
  t.notOk(order.overtaken(a1), 'b2 is another topic');
  order.ended(a3, false);
  t.notOk(order.overtaken(a1), 'a3 was refused for sure: not applied');
  t.ok(order.awaitingLater(a1), 'a4 still unanswered');
  order.ended(a4, true);
  t.ok(order.overtaken(a1), 'a4 may have been applied');
  t.notOk(order.awaitingLater(a1));
  t.notOk(order.overtaken(a4));
  order.sent(a1);
  t.notOk(order.awaitingLater(a4), 'a1 sent again after a4 is earlier, not later');
});

t.test('a publish waiting for its retry holds back the later ones of its topic, released in publish order when it goes', async (t) => {
  const [a1, a2, b3, a4] = publishes([1, 'a'], [2, 'a'], [3, 'b'], [4, 'a']) as [OrderedPublish, OrderedPublish, OrderedPublish, OrderedPublish];
  const order = opened([a1, a2, b3, a4]);
  order.sent(a1);
  order.ended(a1, false);
  order.retrying(a1);
  t.notOk(order.admit(a4), 'held');
  t.notOk(order.admit(a2), 'held');
  t.ok(order.admit(b3), 'another topic goes at once');
  t.same(order.held(), [a2, a4], 'in publish order, whatever the order they arrived in');
  t.ok(order.admit(a1), 'the retry itself is admitted');
  t.same(order.resent(a1), [a2, a4]);
  t.same(order.held(), []);
  t.same(order.resent(a1), [], 'released once');
});

t.test('settling a waiting retry releases what it held; settling a held publish forgets it', async (t) => {
  const [a1, a2, a3] = publishes([1, 'a'], [2, 'a'], [3, 'a']) as [OrderedPublish, OrderedPublish, OrderedPublish];
  const order = opened([a1, a2, a3]);
  order.sent(a1);
  order.ended(a1, false);
  order.retrying(a1);
  order.admit(a2);
  order.admit(a3);
  t.same(order.settled(a2, false), [], 'a held publish aborted');
  t.same(order.held(), [a3]);
  t.same(order.settled(a1, false), [a3], 'the retry failed for good: a3 goes');
  order.sent(a3);
  order.settled(a3, true);
  const a4 = { seq: 4, topic: 'a' };
  order.opened(a4);
  t.ok(order.admit(a4));
  order.sent(a4);
  t.notOk(order.overtaken(a4) || order.awaitingLater(a4), 'nothing later of its topic');
});

t.test('two retries of one topic: a publish between them waits for the earlier; one after both for both', async (t) => {
  const [a1, a2, a3, a4] = publishes([1, 'a'], [2, 'a'], [3, 'a'], [4, 'a']) as [OrderedPublish, OrderedPublish, OrderedPublish, OrderedPublish];
  const order = opened([a1, a2, a3, a4]);
  order.retrying(a1);
  order.retrying(a3);
  t.notOk(order.admit(a2));
  t.notOk(order.admit(a4));
  t.same(order.resent(a1), [a2, a4]);
  t.ok(order.admit(a2), 'only a1 was before it');
  t.notOk(order.admit(a4), 'a3 still waits before it');
  t.ok(order.admit(a3), 'its own retry does not hold it');
  t.same(order.resent(a3), [a4]);
  t.ok(order.admit(a4));
});
