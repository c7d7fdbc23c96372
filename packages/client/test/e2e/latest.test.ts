// Latest-value topics (protocol.md §8.6) through the SDK against a real broker process: the latest
// publication arrives first as an ordinary message, its position is the subscription's from then on, and
// after a network cut the resubscribe recovers from it with `since` (every missed message, not only the
// newest).
import t, { type Test } from 'tap';
import { type Client, type Message, type RecoveryFailure, type SubscribeAck, createClient } from '../../src/index.js';
import { broker, quick } from '../helpers/reconnect-fixtures.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { Inbox, until } from '../helpers/wait.js';

interface Topics {
  'prices.*': number;
  'tiles.*': number;
}

function connect(t: Test, url: string): Client<Topics> {
  const client = createClient<Topics>({ url, ...quick });
  t.teardown(() => client.close());
  return client;
}

t.test('the SDK sees the latest value first, then live ones, and resumes from it after a cut', async (t) => {
  const server = await broker(t, ['--namespaces', JSON.stringify({ 'prices.': { latest: true, historySize: 10 } })]);
  const network = await startTcpProxy(server.port);
  t.teardown(() => network.close());
  const publisher = connect(t, server.url);
  const subscriber = connect(t, network.url);
  for (const price of [101, 102, 103]) await publisher.publish('prices.AAPL', price);

  const messages = new Inbox<Message<number>>();
  const failures = new Inbox<RecoveryFailure>();
  const ack: SubscribeAck = await subscriber.subscribe('prices.AAPL', messages.push, { onRecoveryFailed: failures.push });
  t.match(ack, { pattern: 'prices.AAPL', latest: { offset: 3, replayed: true } });
  await messages.atLeast(1, 'the latest value');
  t.same(messages.items.map((message) => [message.offset, message.data]), [[3, 103]], 'the latest publication first, and only it of the past');
  t.same(subscriber.position('prices.AAPL'), { offset: 3, epoch: ack.latest?.epoch }, 'its position is the subscription\'s');
  await publisher.publish('prices.AAPL', 104);
  await messages.atLeast(2, 'a live one');

  network.refuse(true);
  network.cut();
  await until(() => subscriber.state !== 'connected', 'the subscriber to notice the cut');
  for (const price of [105, 106]) await publisher.publish('prices.AAPL', price);
  network.refuse(false);
  await subscriber.whenConnected();
  await publisher.publish('prices.AAPL', 107);
  await messages.atLeast(5, 'the recovered and the live');
  t.same(
    messages.items.map((message) => message.data),
    [103, 104, 105, 106, 107],
    'after the cut: both missed prices recovered with since (a latest-only resubscribe would skip 105), each once',
  );
  t.same(failures.items, []);

  const empty = new Inbox<Message<number>>();
  const fresh = await subscriber.subscribe('prices.NEW', empty.push);
  t.match(fresh, { latest: { offset: 0, replayed: false } }, 'an empty topic: nothing follows');
  await publisher.publish('prices.NEW', 1);
  await empty.atLeast(1);
  t.same(empty.items.map((message) => message.offset), [1]);
});

t.test('the latest publication expired: nothing follows, and the position is the topic\'s, so a resubscribe continues from it', async (t) => {
  const server = await broker(t, ['--namespaces', JSON.stringify({ 'tiles.': { latest: true, historySize: 10, historyTtlMs: 300 } })]);
  const publisher = connect(t, server.url);
  const subscriber = connect(t, server.url);
  const first = await publisher.publish('tiles.a', 1);
  const offset = first.offset ?? Number.NaN;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await fetch(`http://127.0.0.1:${server.port}/history?topic=tiles.a`);
    const body = (await answer.json()) as { publications?: unknown[] };
    if (answer.ok && body.publications?.length === 0) break;
    if (Date.now() > deadline) throw new Error(`history of tiles.a not expired: ${answer.status} ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const messages = new Inbox<Message<number>>();
  const ack = await subscriber.subscribe('tiles.a', messages.push);
  t.match(ack, { latest: { offset: first.offset, epoch: first.epoch, replayed: false } });
  t.same(subscriber.position('tiles.a'), { offset: first.offset, epoch: first.epoch }, 'seeded at the topic\'s position');
  await publisher.publish('tiles.a', 2);
  await messages.atLeast(1);
  t.same(messages.items.map((message) => [message.offset, message.data]), [[offset + 1, 2]]);
  t.same(subscriber.position('tiles.a'), { offset: offset + 1, epoch: first.epoch }, 'contiguous from the seeded position');
});
