import t from 'tap';
import { PositionTracker } from '../src/positions.js';
import { PresencePositions } from '../src/presence-positions.js';
import { type RegistryEffect, SubscriptionRegistry } from '../src/subscriptions.js';

function setup() {
  let id = 0;
  const positions = new PositionTracker();
  const registry = new SubscriptionRegistry<string>(() => ++id, positions);
  return { registry, positions };
}

/** The messages the effects say to send. */
function sends(effects: readonly RegistryEffect<string>[]) {
  return effects.flatMap((effect) => (effect.type === 'send' ? [effect.message] : []));
}

t.test('nothing is sent before the connection opens; open subscribes every held pattern once', async (t) => {
  const { registry } = setup();
  t.same(registry.add('s1', 'orders.*'), []);
  t.same(registry.add('s2', 'orders.*'), [], 'a second holder of the same pattern');
  t.same(registry.add('s3', 'alerts.>'), []);
  t.same(sends(registry.open()), [
    { op: 'subscribe', id: 1, pattern: 'orders.*' },
    { op: 'subscribe', id: 2, pattern: 'alerts.>' },
  ]);
  t.equal(registry.state('orders.*'), 'subscribing');
  t.same(registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'orders.*' }), [
    { type: 'subscribed', pattern: 'orders.*', locals: ['s1', 's2'] },
  ]);
  t.equal(registry.state('orders.*'), 'active');
});

t.test('while connected: a new pattern is subscribed at once; a held one is confirmed at once', async (t) => {
  const { registry } = setup();
  registry.open();
  t.same(sends(registry.add('s1', 'a.b')), [{ op: 'subscribe', id: 1, pattern: 'a.b' }]);
  t.same(registry.add('s2', 'a.b'), [], 'subscribing: the coming answer confirms both');
  t.same(registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'a.b' }), [{ type: 'subscribed', pattern: 'a.b', locals: ['s1', 's2'] }]);
  t.same(registry.add('s3', 'a.b'), [{ type: 'subscribed', pattern: 'a.b', locals: ['s3'], existing: true }], 'active: confirmed without a request');
});

t.test('the last holder leaving unsubscribes; unsubscribing twice is harmless', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'a.b');
  registry.add('s2', 'a.b');
  registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'a.b' });
  t.same(registry.remove('s1'), []);
  t.same(sends(registry.remove('s2')), [{ op: 'unsubscribe', id: 2, pattern: 'a.b' }]);
  t.same(registry.remove('s2'), []);
  t.equal(registry.state('a.b'), 'unsubscribing');
  t.same(registry.receiveUnsubscribed({ op: 'unsubscribed', id: 2, pattern: 'a.b' }), []);
  t.equal(registry.state('a.b'), undefined, 'forgotten');
  t.equal(registry.size, 0);
});

t.test('subscribe again while the unsubscribe is on its way: a new subscribe follows its answer', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'a.b');
  registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'a.b' });
  registry.remove('s1');
  t.same(registry.add('s2', 'a.b'), [], 'no already_subscribed race: wait for the unsubscribe');
  t.same(sends(registry.receiveUnsubscribed({ op: 'unsubscribed', id: 2, pattern: 'a.b' })), [{ op: 'subscribe', id: 3, pattern: 'a.b' }]);
  t.same(registry.receiveSubscribed({ op: 'subscribed', id: 3, pattern: 'a.b' }), [{ type: 'subscribed', pattern: 'a.b', locals: ['s2'] }]);
});

t.test('leaving before the answer: unsubscribed once it arrives', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'a.b');
  t.same(registry.remove('s1'), []);
  t.same(sends(registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'a.b' })), [{ op: 'unsubscribe', id: 2, pattern: 'a.b' }]);
});

t.test('after a reconnect every pattern is subscribed again, with since for the topics it matches', async (t) => {
  const { registry, positions } = setup();
  registry.add('s1', 'orders.>');
  registry.add('s2', 'orders.eu.*');
  registry.add('s3', 'prices.*');
  registry.open();
  registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'orders.>' });
  registry.receiveSubscribed({ op: 'subscribed', id: 2, pattern: 'orders.eu.*' });
  positions.deliver('orders.eu.1', 'e7', 41);
  positions.deliver('orders.us.9', 'e7', 3);
  positions.deliver('prices.AAPL', 'p1', 7);
  positions.deliver('other.x', 'e7', 1);
  registry.close();
  t.equal(registry.state('orders.>'), 'idle');
  const effects = registry.open();
  t.same(sends(effects), [
    { op: 'subscribe', id: 4, pattern: 'orders.>', since: { 'orders.eu.1': { offset: 41, epoch: 'e7' }, 'orders.us.9': { offset: 3, epoch: 'e7' } } },
    { op: 'subscribe', id: 5, pattern: 'orders.eu.*' },
    { op: 'subscribe', id: 6, pattern: 'prices.*', since: { 'prices.AAPL': { offset: 7, epoch: 'p1' } } },
  ], 'each topic is recovered through one pattern only');
  t.same(registry.receiveSubscribed({
    op: 'subscribed',
    id: 4,
    pattern: 'orders.>',
    recovery: { 'orders.eu.1': { status: 'recovered', epoch: 'e7', offset: 57 } },
  }), [{ type: 'subscribed', pattern: 'orders.>', locals: ['s1'], recovery: { 'orders.eu.1': { status: 'recovered', epoch: 'e7', offset: 57 } } }]);
});

t.test('a pattern added while others cover its topics asks no since for them', async (t) => {
  const { registry, positions } = setup();
  registry.open();
  registry.add('s1', 'a.>');
  registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'a.>' });
  positions.deliver('a.b', 'e', 5);
  positions.deliver('c.d', 'e', 5);
  t.same(sends(registry.add('s2', 'a.*')), [{ op: 'subscribe', id: 2, pattern: 'a.*' }]);
  positions.seed('z.1', { offset: 10, epoch: 'e' });
  t.same(sends(registry.add('s3', 'z.*')), [{ op: 'subscribe', id: 3, pattern: 'z.*', since: { 'z.1': { offset: 10, epoch: 'e' } } }], 'seeded positions are asked for');
});

t.test('a refused subscribe ends its holders; a retryable one keeps them for a retry', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'secret.*');
  registry.add('s2', 'busy.*');
  t.same(registry.receiveError({ op: 'error', id: 1, code: 'forbidden', message: 'no' }), [
    { type: 'failed', pattern: 'secret.*', locals: ['s1'], error: { code: 'forbidden', message: 'no' }, retryable: false },
  ]);
  t.equal(registry.state('secret.*'), undefined);
  t.same(registry.receiveError({ op: 'error', id: 2, code: 'unavailable', message: 'engine down', retryAfterMs: 100 }), [
    { type: 'failed', pattern: 'busy.*', locals: ['s2'], error: { code: 'unavailable', message: 'engine down', retryAfterMs: 100 }, retryable: true },
  ]);
  t.equal(registry.state('busy.*'), 'idle');
  t.same(sends(registry.retry('busy.*')), [{ op: 'subscribe', id: 3, pattern: 'busy.*' }]);
  t.same(registry.retry('busy.*'), [], 'not idle any more');
  t.equal(registry.receiveError({ op: 'error', id: 99, code: 'forbidden', message: 'x' }), undefined, 'not ours: the caller routes it');
});

t.test('already_subscribed counts as success; not_subscribed answers an unsubscribe', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'a.b');
  t.same(registry.receiveError({ op: 'error', id: 1, code: 'already_subscribed', message: 'dup' }), [{ type: 'subscribed', pattern: 'a.b', locals: ['s1'] }]);
  registry.remove('s1');
  t.same(registry.receiveError({ op: 'error', id: 2, code: 'not_subscribed', message: 'gone' }), []);
  t.equal(registry.size, 0);
});

t.test('the broker ending a pattern (unsubscribed without id) ends its holders', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'orders.>');
  registry.add('s2', 'orders.>');
  registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'orders.>' });
  t.same(registry.receiveUnsubscribed({ op: 'unsubscribed', pattern: 'orders.>', code: 'forbidden' }), [
    { type: 'ended', pattern: 'orders.>', locals: ['s1', 's2'], code: 'forbidden' },
  ]);
  t.same(registry.remove('s1'), [], 'its holders are gone');
  t.same(registry.receiveUnsubscribed({ op: 'unsubscribed', pattern: 'nothing.here' }), []);
});

t.test('answers to requests of a previous connection are ignored', async (t) => {
  const { registry } = setup();
  registry.open();
  registry.add('s1', 'a.b');
  registry.close();
  t.same(registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'a.b' }), []);
  t.equal(registry.state('a.b'), 'idle');
  t.same(sends(registry.open()), [{ op: 'subscribe', id: 2, pattern: 'a.b' }]);
});

t.test('routing: every holder of every matching pattern, nothing for others', async (t) => {
  const { registry } = setup();
  registry.add('all', '>');
  registry.add('eu', 'orders.eu.*');
  registry.add('eu2', 'orders.eu.*');
  registry.add('deep', 'orders.>');
  t.same(registry.match('orders.eu.1').sort(), ['all', 'deep', 'eu', 'eu2']);
  t.same(registry.match('orders.us.1').sort(), ['all', 'deep']);
  t.same(registry.match('orders').sort(), ['all']);
  t.same(registry.match('not a topic'), []);
  t.ok(registry.matchesAny('x'));
  registry.remove('all');
  t.notOk(registry.matchesAny('x'));
});

t.test('invalid patterns and double registration are caller bugs', async (t) => {
  const { registry } = setup();
  t.throws(() => registry.add('s1', 'a..b'), TypeError);
  registry.add('s1', 'a.b');
  t.throws(() => registry.add('s1', 'a.c'), TypeError);
});

t.test('presence: the widest level of a pattern is asked; a wider one later subscribes again, with since and seq', async (t) => {
  let id = 0;
  const positions = new PositionTracker();
  const presencePositions = new PresencePositions();
  const levels = new Map<string, 'user' | 'connection' | undefined>([['plain', undefined], ['users', 'user'], ['everyone', 'connection']]);
  const registry = new SubscriptionRegistry<string>(() => ++id, positions, {
    presencePositions,
    presenceLevel: (locals) => {
      const wanted = [...locals].map((local) => levels.get(local));
      return wanted.includes('connection') ? 'connection' : wanted.includes('user') ? 'user' : undefined;
    },
  });
  registry.open();
  t.same(sends(registry.add('plain', 'chat.room1')), [{ op: 'subscribe', id: 1, pattern: 'chat.room1' }]);
  t.same(sends(registry.add('users', 'chat.room1')), [], 'the answer to the plain subscribe comes first');
  const answered = registry.receiveSubscribed({ op: 'subscribed', id: 1, pattern: 'chat.room1' });
  t.same(answered.map((effect) => effect.type), ['subscribed', 'send'], 'confirmed, then asked again with presence');
  t.same(sends(answered), [{ op: 'unsubscribe', id: 2, pattern: 'chat.room1' }]);
  positions.deliver('chat.room1', 'e1', 7);
  presencePositions.record('chat.room1', { epoch: 'e1', offset: 6, seq: 12 });
  t.same(sends(registry.receiveUnsubscribed({ op: 'unsubscribed', id: 2, pattern: 'chat.room1' })), [
    { op: 'subscribe', id: 3, pattern: 'chat.room1', since: { 'chat.room1': { offset: 7, epoch: 'e1', seq: 12 } }, presence: 'user' },
  ]);
  registry.receiveSubscribed({ op: 'subscribed', id: 3, pattern: 'chat.room1' });
  t.same(sends(registry.add('everyone', 'chat.room1')), [{ op: 'unsubscribe', id: 4, pattern: 'chat.room1' }], 'active: user → connection');
  registry.receiveUnsubscribed({ op: 'unsubscribed', id: 4, pattern: 'chat.room1' });
  registry.receiveSubscribed({ op: 'subscribed', id: 5, pattern: 'chat.room1' });
  t.same(registry.add('plain2', 'chat.room1'), [{ type: 'subscribed', pattern: 'chat.room1', locals: ['plain2'], existing: true }], 'a narrower one changes nothing');
  t.same(registry.remove('everyone'), [], 'nor does the wide one leaving');
});

t.test('reserved root: a leading wildcard matches no user topic, for routing and for since', async (t) => {
  let id = 0;
  const positions = new PositionTracker();
  const registry = new SubscriptionRegistry<string>(() => ++id, positions, { reservedRoot: () => 'user' });
  registry.add('all', '>');
  registry.add('mine', 'user.alice');
  positions.deliver('user.alice', 'e', 3);
  positions.deliver('chat.x', 'e', 5);
  t.same(sends(registry.open()), [
    { op: 'subscribe', id: 1, pattern: '>', since: { 'chat.x': { offset: 5, epoch: 'e' } } },
    { op: 'subscribe', id: 2, pattern: 'user.alice', since: { 'user.alice': { offset: 3, epoch: 'e' } } },
  ]);
  t.same(registry.match('user.alice'), ['mine']);
  t.same(registry.match('chat.x'), ['all']);
});
