// The client is cut off while the broker keeps running (recovery from its history), and publishes wait in
// the bounded offline queue while nothing can be sent. (Broker restarts are in broker-restart.test.ts.)
import t from 'tap';
import { type Message, type RecoveryFailure } from '../../src/index.js';
import { broker, connect } from '../helpers/reconnect-fixtures.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { Inbox, delay, until } from '../helpers/wait.js';

t.test('a network cut while the broker runs: the subscriber recovers what was published meanwhile', async (t) => {
  const server = await broker(t, ['--history-size', '100']);
  const network = await startTcpProxy(server.port);
  t.teardown(() => network.close());
  const subscriber = connect(t, network.url);
  const publisher = connect(t, server.url);
  const messages = new Inbox<Message<{ n: number }>>();
  const failures = new Inbox<RecoveryFailure>();
  await subscriber.client.subscribe('room.*', messages.push, { onRecoveryFailed: failures.push });
  for (const n of [1, 2]) await publisher.client.publish('room.b', { n });
  await messages.atLeast(2);

  network.refuse(true);
  network.cut();
  await until(() => subscriber.client.state !== 'connected', 'the subscriber to notice');
  for (const n of [3, 4, 5, 6, 7]) await publisher.client.publish('room.b', { n }, { priority: n % 2 === 0 ? 'high' : 'normal' });
  network.refuse(false);
  await subscriber.client.whenConnected();
  await publisher.client.publish('room.b', { n: 8 });
  await messages.atLeast(8, 'the recovered and the live messages');
  await delay(100);
  t.same(messages.items.map((message) => message.data.n), [1, 2, 3, 4, 5, 6, 7, 8], 'recovered in offset order, before live ones, each once');
  t.same(failures.items, []);
  t.equal(subscriber.client.position('room.b')?.offset, 8);
});

t.test('the offline queue: bounded, and what waits too long is rejected loudly', async (t) => {
  const server = await broker(t);
  const { client } = connect(t, server.url, { sendQueue: { maxMessages: 3, timeoutMs: 800 } });
  await client.whenConnected();
  await server.kill();
  await until(() => client.state !== 'connected', 'the disconnect');
  const waiting = [1, 2, 3].map((n) => client.publish('room.q', { n }));
  const outcomes = waiting.map((publish) => publish.then(() => 'sent', (error: { code: string }) => error.code));
  await t.rejects(client.publish('room.q', { n: 4 }), { code: 'send_queue_full' }, 'over maxMessages: refused at once');
  t.same(await Promise.all(outcomes), ['send_timeout', 'send_timeout', 'send_timeout'], 'never dropped silently');
  t.same(client.queued, { messages: 0, bytes: 0 });

  await server.restart();
  await client.whenConnected();
  t.match(await client.publish('room.q', { n: 5 }), { offset: 1 }, 'the queue works again once connected');
});
