// Presence against a real broker process (protocol.md §13, §14.1): welcome's user and capability, and the
// members of a topic read with subscription.presence() / presenceStats(), grouped by user with typed info.
import t, { type Test } from 'tap';
import { type Client, createClient } from '../../src/index.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { TEST_JWT_SECRET, signTestJwt } from '../helpers/jwt.js';
import { delay } from '../helpers/wait.js';

interface Topics {
  'chat.*': { text: string };
  'news.*': string;
}
type Info = { name: string };

let broker: BrokerProcess;

t.before(async () => {
  // Small chunks: a listing of a dozen members with info travels chunked (protocol.md §13.2).
  broker = await startBroker(['--jwt-secret', TEST_JWT_SECRET, '--allow-anonymous', '--presence', 'chat.>', '--chunk-bytes', '512', '--max-message-bytes', '64KiB', '--presence-request-rate', '1000']);
});
t.teardown(() => broker?.stop());

function connect(t: Test, claims?: Record<string, unknown>): Client<Topics, Info> {
  const token = claims === undefined ? undefined : signTestJwt({ publish: ['>'], subscribe: ['>'], ...claims });
  const client = createClient<Topics, Info>({ url: broker.url, ...(token === undefined ? {} : { token }) });
  t.teardown(() => client.close());
  return client;
}

t.test('the broker says who the connection is and that it serves presence', async (t) => {
  const alice = connect(t, { sub: 'alice', info: { name: 'Alice' } });
  const anonymous = connect(t);
  await Promise.all([alice.whenConnected(), anonymous.whenConnected()]);
  t.equal(alice.user, 'alice');
  t.equal(anonymous.user, undefined);
});

t.test('presence() lists the exact subscribers grouped by user with their info; presenceStats() counts them', async (t) => {
  const alice1 = connect(t, { sub: 'alice', info: { name: 'Alice' } });
  const alice2 = connect(t, { sub: 'alice', info: { name: 'Alice' } });
  const bob = connect(t, { sub: 'bob' });
  const anonymous = connect(t);
  const monitor = connect(t, { sub: 'monitor' });
  await monitor.subscribe('chat.*', () => {});
  const subscriptions = [alice1, alice2, bob, anonymous].map((client) => client.subscribe('chat.room1', () => {}));
  await Promise.all(subscriptions);
  const snapshot = await subscriptions[2]!.presence();
  t.match(snapshot, { topic: 'chat.room1', counts: { connections: 4, users: 2, anonymous: 1 }, truncated: false });
  t.ok(snapshot.seq >= 4, 'at or after the four joins');
  t.same(snapshot.users, {
    alice: { [alice1.connectionId!]: { name: 'Alice' }, [alice2.connectionId!]: { name: 'Alice' } },
    bob: { [bob.connectionId!]: null },
  }, 'the wildcard monitor is not a member');
  t.same(snapshot.anonymous, { [anonymous.connectionId!]: null });
  t.match(await subscriptions[0]!.presenceStats(), { topic: 'chat.room1', connections: 4, users: 2, anonymous: 1, seq: snapshot.seq });

  subscriptions[1]!.unsubscribe();
  await bob.close();
  // Both leaves are the broker's to write after it hears of them: read (bounded) until they show.
  let after = await subscriptions[0]!.presenceStats();
  for (let attempt = 0; attempt < 50 && after.connections !== 2; attempt++) {
    await delay(50);
    after = await subscriptions[0]!.presenceStats();
  }
  t.match(after, { connections: 2, users: 1, anonymous: 1 }, 'an unsubscribe and a close leave');
  t.ok(after.seq > snapshot.seq);
  t.same(Object.keys((await subscriptions[3]!.presence()).users), ['alice']);
});

t.test('a listing larger than chunkBytes arrives in chunks and reads the same', async (t) => {
  const members = Array.from({ length: 12 }, (_, index) => connect(t, { sub: `user-${index}`, info: { name: `Member number ${index} of the room` } }));
  const subscriptions = members.map((client) => client.subscribe('chat.big', () => {}));
  await Promise.all(subscriptions);
  t.ok(members[0]!.limits!.chunkBytes === 512);
  const snapshot = await subscriptions[0]!.presence();
  t.equal(Object.keys(snapshot.users).length, 12);
  t.ok(JSON.stringify(snapshot.users).length > 512, 'more than one chunk of data');
  t.same(snapshot.users['user-7'], { [members[7]!.connectionId!]: { name: 'Member number 7 of the room' } });
});

t.test('refusals keep their codes: a topic without presence, a pattern', async (t) => {
  const alice = connect(t, { sub: 'alice' });
  const news = alice.subscribe('news.today', () => {});
  await news;
  await t.rejects(news.presence(), { code: 'presence_disabled' });
  const pattern = alice.subscribe('chat.*', () => {});
  await pattern;
  await t.rejects(pattern.presence(), { code: 'invalid_topic' });
});
